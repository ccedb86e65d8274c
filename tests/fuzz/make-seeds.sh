#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the seed corpora of the fuzz harnesses in OUT/<harness>/ from the test data (tests/data) and
# from files the tools produce (small containers with every compression, seals, custody logs,
# proofs, transfer packages as tar, zip, directory and encrypted). Not committed: regenerate.
#   usage: tests/fuzz/make-seeds.sh TOOLS_DIR OUT
# TOOLS_DIR holds custody-acquire & co. (a gcc build, e.g. build/ci/tools).
set -euo pipefail
bin=$(cd "${1:?usage: make-seeds.sh TOOLS_DIR OUT}" && pwd)
out=$(mkdir -p "${2:?usage: make-seeds.sh TOOLS_DIR OUT}" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
testdata="$source_dir/tests/data"  # read only
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"
for harness in zip turtle codec aff4 record custody_log proof bagit cms envelope_index extract \
  logical_manifest; do
  mkdir -p "$out/$harness"
done

# sections ZIP [REGEX]: the members of ZIP (matching REGEX) as "@@ name\n<bytes>" sections.
sections() {
  local zip=$1 re=${2:-.} name
  unzip -Z1 "$zip" | grep -E -- "$re" | while IFS= read -r name; do
    printf '@@ %s\n' "$name"
    unzip -p "$zip" "$name"
    printf '\n'
  done
}

bash "$source_dir/samples/keys/make-test-identities.sh" keys >/dev/null 2>&1
openssl enc -aes-128-ctr -pass pass:seed -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c 40000 >src.bin || true
head -c 8192 /dev/zero >>src.bin
key=(--seal-key keys/examiner.key --seal-cert keys/examiner.pem)
for compression in snappy lz4 deflate none; do
  "$bin/custody-acquire" src.bin -o "c-$compression" -q --compression "$compression" \
    --chunk-size 4096 "${key[@]}" --case 17 --evidence E1 --jurisdiction DE >/dev/null
done
"$bin/custody-acquire" src.bin -o raw -q --format raw >/dev/null
"$bin/custody-seal" c-snappy.aff4 --key keys/witness.key --cert keys/witness.pem -q >/dev/null
"$bin/custody-log" add c-snappy.aff4 --action stored --by-key keys/examiner.key \
  --by-cert keys/examiner.pem --notes 'shelf 4' -q >/dev/null
"$bin/custody-log" prove c-snappy.aff4 --event 2 -o inclusion.json >/dev/null
"$bin/custody-log" prove c-snappy.aff4 --from 1 -o consistency.json >/dev/null
"$bin/custody-log" head c-snappy.aff4 -o head.json >/dev/null

# Containers: whole, and as sections (the aff4 harness builds the ZIP itself).
for c in c-*.aff4; do
  cp "$c" "$out/zip/$c"
  cp "$c" "$out/aff4/$c"
  sections "$c" >"$out/aff4/$c.sections"
  sections "$c" '^custody/(log/|acquisition)' >"$out/custody_log/$c.sections"
  unzip -p "$c" information.turtle >"$out/turtle/$c.turtle"
  unzip -p "$c" custody/acquisition.json >"$out/record/$c.json"
  for p7s in $(unzip -Z1 "$c" | grep -E '\.p7s$'); do
    unzip -p "$c" "$p7s" >"$out/cms/$c.$(echo "$p7s" | tr / _)"
  done
done
cp raw.acquisition.json "$out/record/"
mkdir -p files && echo "a file" >files/a.txt
"$bin/custody-acquire" --logical files -o logical -q
unzip -p logical.aff4 custody/files.json >"$out/logical_manifest/files.json"
cp inclusion.json consistency.json head.json "$out/proof/"
for f in "$testdata"/aff4/AFF4-L/*.aff4 "$testdata"/aff4/AFF4-L/*.zip; do
  cp "$f" "$out/zip/"
done
for f in "$testdata"/aff4/AFF4Std/*.aff4; do
  unzip -p "$f" information.turtle >"$out/turtle/$(basename "$f").turtle" 2>/dev/null || true
  # The structure without the bevies' bulk.
  sections "$f" '(information.turtle|/map|/idx|/index|idx$|index$)' >"$out/aff4/$(basename "$f").sections" 2>/dev/null || true
done

# Chunks: codec byte, chunk-size byte (log2), then the compressed chunk.
python3 - "$out/codec" <<'PY'
import os, sys, zlib
out = sys.argv[1]
data = bytes(range(256)) * 16 + b"\0" * 4096
for i, (method, blob) in enumerate([(3, zlib.compress(data)[2:-4]), (4, zlib.compress(data)),
                                    (0, data[:4096]), (1, b"\x80\x40" + b"\0" * 8),
                                    (2, b"\x1f\x00\x01\x00" * 4)]):
    with open(os.path.join(out, f"chunk-{i}"), "wb") as f:
        f.write(bytes([method, 13]) + blob)
PY

# Transfer packages.
facts=(--sending-authority BKA --receiving-authority Paris --requested-state DE
  --requesting-state FR --legal-basis EIO --reference EIO-1 --key keys/examiner.key
  --cert keys/examiner.pem)
cp c-none.aff4 p.aff4
"$bin/custody-pack" p.aff4 -o pkg.tar "${facts[@]}" -q >/dev/null
"$bin/custody-pack" p.aff4 -o pkg.zip "${facts[@]}" -q >/dev/null
"$bin/custody-pack" p.aff4 -o pkgdir "${facts[@]}" -q >/dev/null
"$bin/custody-pack" p.aff4 -o sealed.tar "${facts[@]}" --encrypt-to keys/witness.pem -q >/dev/null
cp pkg.tar pkg.zip "$out/extract/"
cp pkg.zip "$out/zip/"
cp sealed.tar.enc.json "$out/envelope_index/"
for f in sealed.tar.enc.*.p7m; do cp "$f" "$out/cms/"; done
cp pkgdir/custody/*.p7s "$out/cms/" 2>/dev/null || true
(cd pkgdir && find . -type f ! -path './data/*' | sed 's|^\./||' | sort | while IFS= read -r f; do
  printf '@@ %s\n' "$f"; cat "$f"; printf '\n'; done
  printf '@@ data/p.aff4\nx\n') >"$out/bagit/package.sections"
for bag in "$testdata"/bagit-conformance/v1.0/*/*/ "$testdata"/bagit-conformance/v0.97/*/*/; do
  [ -d "$bag" ] || continue
  name=$(basename "$bag")
  (cd "$bag" && find . -type f | sed 's|^\./||' | sort | while IFS= read -r f; do
    [ "$(stat -c %s "$f")" -le 65536 ] || continue
    printf '@@ %s\n' "$f"; cat "$f"; printf '\n'; done) >"$out/bagit/conformance-$name.sections" || true
done
for harness in "$out"/*/; do
  echo "$(basename "$harness"): $(find "$harness" -type f | wc -l) seeds"
done
