#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The end-to-end sample: acquire the sample disk into an AFF4 container (through a read-only loop
# device when run as root), inspect it, verify it, check it with stock tools, export it, acquire
# again as a raw image from a pipe into segments, and show that a single changed byte is caught
# and located.
#   usage: samples/demo.sh [BIN_DIR]    (BIN_DIR defaults to build/release/tools)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../build/release/tools}" && pwd)
work=$(cd "$here/.." && pwd)/build/demo
export PATH="$bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$work" && mkdir -p "$work/evidence" && cd "$work"

step "1. The evidence: a deterministic sample disk (test data, not from a real case)"
"$here/make-sample-disk.sh" sample-disk.img
show sha256sum -c --ignore-missing "$here/SHA256SUMS"

step "2. Acquire it into an AFF4 container (the default format)"
source=sample-disk.img
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null &&
  loop=$(losetup -f --show -r sample-disk.img 2>/dev/null); then
  trap 'losetup -d "$loop"' EXIT
  echo "(attached read-only as $loop, so it is imaged as a block device)"
  source=$loop
else
  echo "(not root or no loop device: imaging the file itself)"
fi
show custody-acquire "$source" -o evidence/disk1 --case DEMO-2026-17 --evidence E-001 \
  --examiner "Demo Examiner" --description "sample disk" --notes "seal bag 0042" \
  --location "Demo lab, room 3" --jurisdiction DE --legal-basis warrant --legal-reference "AG 4 Gs 17/26"

step "3. What the container holds"
show custody-info evidence/disk1.aff4

step "4. Verify it: image hashes, every member's checksum, the record"
show custody-verify evidence/disk1.aff4

step "5. Seal it with trusted time: the examiner signs what the container is (TEST identities)"
bash "$here/keys/make-test-identities.sh" keys
# A stand-in time-stamping authority on this machine only (openssl ts behind a loopback server).
tsa_args=()
tsa_trust=()
if command -v python3 >/dev/null; then
  bash "$here/keys/make-test-tsa.sh" tsa
  python3 "$here/../tests/support/test_tsa.py" tsa/tsa.cnf normal >tsa.port 2>/dev/null &
  tsa_pid=$!
  for _ in $(seq 100); do grep -q '^port ' tsa.port 2>/dev/null && break; sleep 0.05; done
  tsa_args=(--tsa "http://127.0.0.1:$(awk '/^port /{print $2}' tsa.port)/")
  tsa_trust=(--tsa-trust tsa/tsa-ca.pem)
fi
show custody-seal evidence/disk1.aff4 --key keys/examiner.key --cert keys/examiner.pem "${tsa_args[@]}"
show custody-verify evidence/disk1.aff4 --trust keys/ca.pem "${tsa_trust[@]}"
mkdir -p stock && (cd stock && unzip -qo ../evidence/disk1.aff4 'custody/seal-*')
show openssl cms -verify -binary -inform DER -in stock/custody/seal-1.p7s \
  -content stock/custody/seal-1.json -CAfile keys/ca.pem -out /dev/null

step "6. The custody log: every hand that touches the evidence signs an event"
# acquire recorded "acquired" (unsigned: no key was given to it), the seal recorded "sealed".
show custody-log add evidence/disk1.aff4 --action transferred --by-key keys/witness.key \
  --by-cert keys/witness.pem --role courier --organisation "Demo Police" --jurisdiction DE \
  --purpose "to the central authority" --bag-seal A-100234 "${tsa_args[@]}"
[ -n "${tsa_pid:-}" ] && kill "$tsa_pid" 2>/dev/null
show custody-log show evidence/disk1.aff4
show custody-log verify evidence/disk1.aff4 --trust keys/ca.pem "${tsa_trust[@]}"
# One event, provable to someone who sees nothing else of the case file:
show custody-log prove evidence/disk1.aff4 --event 3 -o evidence/event3.proof.json
show custody-log check-proof evidence/event3.proof.json --trust keys/ca.pem "${tsa_trust[@]}"
# The receiver keeps the tree head; the log can only grow from it.
show custody-log head evidence/disk1.aff4 -o evidence/head.json
# Stock tools: an event's signature over its exact bytes.
(cd stock && unzip -qo ../evidence/disk1.aff4 'custody/log/*')
show openssl cms -verify -binary -inform DER -in stock/custody/log/event-3.p7s \
  -content stock/custody/log/event-3.json -CAfile keys/ca.pem -out /dev/null
# An event edited in place ("courier" -> "courieR") is caught and named.
cp evidence/disk1.aff4 edited-log.aff4
at=$(custody-info --json edited-log.aff4 |
  jq '[.members[] | select(.name == "custody/log/event-3.json")][0].offset')
within=$(unzip -p edited-log.aff4 custody/log/event-3.json | grep -bo courier | cut -d: -f1)
printf 'R' | dd of=edited-log.aff4 bs=1 seek=$((at + within + 6)) conv=notrunc status=none
set +e
custody-log verify edited-log.aff4 --trust keys/ca.pem
status=$?
set -e
echo "custody-log verify exit status: $status"
[ "$status" -eq 1 ]

step "7. Anyone can check it with stock tools: unzip, jq, sha256sum"
unzip -tq evidence/disk1.aff4
want=$(unzip -p evidence/disk1.aff4 custody/acquisition.json | jq -r .hashes.sha256)
got=$(custody-export evidence/disk1.aff4 -o - -q | sha256sum | cut -d' ' -f1)
echo "recorded sha256:          $want"
echo "exported image sha256sum: $got"
[ "$want" = "$got" ] && echo "match"

step "8. Export the image as a raw file for any court tool"
show custody-export evidence/disk1.aff4 -o evidence/disk1-export.raw

step "9. Raw acquisition from a pipe into 2 MiB segments, and verify"
cat sample-disk.img | show custody-acquire --format raw - -o evidence/piped --segment-size 2M -q
show custody-verify evidence/piped.acquisition.json
echo "cat evidence/piped.0* | sha256sum:"
cat evidence/piped.0* | sha256sum

step "10. One changed byte is caught and located (exit status 1)"
cp evidence/disk1.aff4 tampered.aff4
offset=$(custody-info --json tampered.aff4 |
  jq '[.members[] | select(.name | test("/00000000$"))][0].offset')
printf 'X' | dd of=tampered.aff4 bs=1 seek=$((offset + 100000)) conv=notrunc status=none
set +e
custody-verify tampered.aff4
status=$?
set -e
echo "custody-verify exit status: $status"
[ "$status" -eq 1 ]

step "11. A failing disk: exactly the bad sectors are filled and reported (exit status 3)"
fuse=$bin/../tests/faulty_fuse
if [ "$(id -u)" -eq 0 ] && [ -e /dev/fuse ] && [ -x "$fuse" ]; then
  mkdir -p failing
  # Test helper: serves sample-disk.img with sectors 2048-2055 and 10000 failing with EIO.
  "$fuse" sample-disk.img 2048-2055,10000 failing -f -o ro 2>/dev/null &
  fuse_pid=$!
  for _ in $(seq 50); do [ -e failing/disk.img ] && break; sleep 0.1; done
  set +e
  show custody-acquire failing/disk.img -o evidence/failing --retries 1 -q
  status=$?
  set -e
  echo "custody-acquire exit status: $status (3 = completed with recorded defects)"
  show custody-verify evidence/failing.aff4
  umount -l failing 2>/dev/null || true
  kill "$fuse_pid" 2>/dev/null || true
else
  echo "(skipped: needs root, /dev/fuse and the test helper $fuse)"
fi

# ---- E01 export ------------------------------------------------------------------------------
step "12. E01 for EnCase, FTK and The Sleuth Kit: a real file system leaves as an EWF set"
if command -v ewfverify >/dev/null && command -v img_stat >/dev/null && command -v fls >/dev/null; then
  "$here/make-fs-image.sh" fs-image.img
  show sha256sum -c --ignore-missing "$here/SHA256SUMS"
  show custody-acquire fs-image.img -o evidence/fs --case DEMO-2026-17 --evidence E-002 \
    --examiner "J. Doe (TEST)" --description "sample ext2 file system" -q
  show custody-export evidence/fs.aff4 --format e01 -o evidence/fs --compression best
  show ewfverify -q evidence/fs.E01
  show img_stat evidence/fs.E01
  echo "img_cat evidence/fs.E01 | sha256sum:"
  img_cat evidence/fs.E01 | sha256sum
  show fls -r evidence/fs.E01
  show custody-acquire --from-image evidence/fs.E01 -o evidence/fs-reimported -q
  echo "(the E01's stored MD5 and SHA-1 matched on import)"
else
  echo "(skipped: needs ewf-tools and sleuthkit)"
fi

step "13. A transfer package to another state: signed, encrypted, received, receipt confirmed"
# The TEST "examiner" plays the sending authority, the TEST "witness" the receiving one.
show custody-pack evidence/disk1.aff4 -o evidence/transfer.tar --key keys/examiner.key \
  --cert keys/examiner.pem --sending-authority "Demo Police (DE)" \
  --receiving-authority "Demo Prosecutor (FR)" --requested-state DE --requesting-state FR \
  --legal-basis EIO --reference EIO-DEMO-17 --purpose "criminal proceedings DEMO-17" \
  --encrypt-to keys/witness.pem
ls evidence/transfer.tar.enc.*
show custody-receive evidence/transfer.tar.enc.json -o received --key keys/witness.key \
  --cert keys/witness.pem --trust keys/ca.pem
show custody-log import-receipt evidence/disk1.aff4 received.receipt.json --trust keys/ca.pem \
  --by-key keys/examiner.key --by-cert keys/examiner.pem
# One changed byte of ciphertext in transit: rejected, nothing released.
mkdir -p courier && cp evidence/transfer.tar.enc.* courier/
printf 'X' | dd of=courier/transfer.tar.enc.000 bs=1 seek=1000 conv=notrunc status=none
set +e
custody-receive courier/transfer.tar.enc.json -o received-tampered --key keys/witness.key \
  --cert keys/witness.pem --trust keys/ca.pem
status=$?
set -e
echo "custody-receive exit status: $status; received-tampered exists: $([ -e received-tampered ] && echo yes || echo no)"
[ "$status" -eq 1 ] && [ ! -e received-tampered ]

step "14. One verdict for court: a printable report and the chain in CASE/UCO"
show custody-verify evidence/disk1.aff4 --trust keys/ca.pem "${tsa_trust[@]}" \
  --report evidence/disk1-report.html
show custody-export evidence/disk1.aff4 --case-uco evidence/disk1-chain.jsonld
jq -r '."@graph"[] | select(."@type" == "case-investigation:InvestigativeAction")
  | "\(."uco-action:startTime"."@value")  \(."uco-core:name")"' evidence/disk1-chain.jsonld
if command -v chromium >/dev/null; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --user-data-dir="$work/chromium" --print-to-pdf="$work/evidence/disk1-report.pdf" \
    "file://$work/evidence/disk1-report.html" >/dev/null 2>&1 &&
    echo "(the report printed to PDF: evidence/disk1-report.pdf)"
fi

# --- 15. logical acquisition ---------------------------------------------------------
step "15. Logical acquisition: a folder and a provider's zip, file by file, with per-file hashes"
mkdir -p share/Finance share/tmp
printf 'invoice 17\n' >share/Finance/invoice-17.txt
printf 'scratch\n' >share/tmp/cache.tmp
python3 -c 'import zipfile; z = zipfile.ZipFile("disclosure.zip", "w"); z.writestr("account/profile.json", "{}"); z.close()'
show custody-acquire --logical share disclosure.zip -o evidence/files --exclude '*.tmp' \
  --examiner "Demo Examiner"
show custody-info evidence/files.aff4
show custody-verify evidence/files.aff4
show custody-export evidence/files.aff4 --files -o files-out
# --- end of 15 -----------------------------------------------------------------------------------

step "16. A seal from a key that never leaves its token (a TEST SoftHSM2 token, PIN from a file)"
if command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null; then
  bash "$here/keys/make-test-token.sh" token keys
  export SOFTHSM2_CONF=$work/token/softhsm2.conf
  # The keys were generated on the token and cannot be read out ("never extractable"); the
  # TEST PIN on pkcs11-tool's command line is fine here, never with a real token.
  pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label custody-test --login \
    --pin 1234 --list-objects --type privkey 2>/dev/null | grep -E 'label|Access' || true
  show custody-seal evidence/disk1.aff4 \
    --key 'pkcs11:token=custody-test;object=examiner-token;type=private' \
    --passphrase-file token/pin.txt
  show custody-verify evidence/disk1.aff4 --trust keys/ca.pem "${tsa_trust[@]}"
else
  echo "(skipped: needs softhsm2 and opensc)"
fi

step "17. Signatures a foreign court's validator accepts: CAdES B-LT, a revoked signer caught, ASiC-E, a renewal"
if command -v python3 >/dev/null; then
  # A TEST CA with an OCSP responder and a CRL server on this machine only, and the test TSA.
  cleanup_hooks=()
  fail() {
    echo "demo: $*" >&2
    exit 1
  }
  skip() { fail "$*"; }
  CUSTODY_SOURCE_DIR=$(cd "$here/.." && pwd)
  # shellcheck source=../tests/support/revocation_pki.sh
  source "$here/../tests/support/revocation_pki.sh"
  start_revocation_pki
  python3 "$here/../tests/support/test_tsa.py" tsa/tsa.cnf normal >tsa2.port 2>/dev/null &
  tsa_pid=$!
  for _ in $(seq 100); do grep -q '^port ' tsa2.port 2>/dev/null && break; sleep 0.05; done
  tsa_url="http://127.0.0.1:$(awk '/^port /{print $2}' tsa2.port)/"
  # The seal carries its time-stamp and the signer's OCSP response: B-LT, checkable offline.
  show custody-seal evidence/disk1.aff4 --key pki/good.key --cert pki/good.pem --chain pki/ca.pem \
    --tsa "$tsa_url"
  show custody-verify evidence/disk1.aff4 --trust keys/ca.pem --trust pki/ca.pem \
    --tsa-trust tsa/tsa-ca.pem
  # A signer whose key was compromised on 1 January 2025 sealed later: caught (exit status 1).
  custody-acquire sample-disk.img -o evidence/disk2 -q
  show custody-seal evidence/disk2.aff4 --key pki/revoked-early.key --cert pki/revoked-early.pem \
    --chain pki/ca.pem --tsa "$tsa_url" --no-revocation-fetch
  revoke_signer revoked-early 20250101000000Z
  show custody-verify evidence/disk2.aff4 --trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem --online ||
    echo "(exit status $?: the revoked signer is caught)"
  # For e-CODEX: an ASiC-E with the container and a CAdES signature over its manifest.
  show custody-export evidence/disk1.aff4 --format asic-e -o evidence/DEMO-2026-17.asice \
    --by-key pki/good.key --by-cert pki/good.pem --by-chain pki/ca.pem --tsa "$tsa_url"
  show custody-verify evidence/DEMO-2026-17.asice --trust keys/ca.pem --trust pki/ca.pem \
    --tsa-trust tsa/tsa-ca.pem
  # The receiving authority keeps the package of step 13 for years: a renewal time-stamps each
  # container and the sender's signature, which then stays proven after the sender's
  # certificate expires or is revoked.
  show custody-seal received --renew --tsa "$tsa_url" --key keys/witness.key --cert keys/witness.pem
  show custody-verify received --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
  kill "$tsa_pid" 2>/dev/null
  stop_ocsp
  stop_crl_server
else
  echo "(skipped: needs python3 for the test TSA and CRL server)"
fi

step "18. Examination through custody-mount: any tool reads the evidence, the access is recorded"
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && command -v fls >/dev/null &&
  [ -f evidence/fs.aff4 ]; then
  mkdir -p mnt
  show custody-mount evidence/fs.aff4 mnt --by-key keys/examiner.key --by-cert keys/examiner.pem \
    --purpose "file system analysis (TEST)" --legal-reference "DEMO-2026-17"
  show fls -r mnt/image.raw
  show custody-mount -u mnt
  # The two events: who opened it, when and why; how much was read when it was released.
  custody-log show evidence/fs.aff4 | tail -n 8
else
  echo "(skipped: needs /dev/fuse, fuse3 and sleuthkit)"
fi

step "Demo complete: evidence in $work/evidence"
