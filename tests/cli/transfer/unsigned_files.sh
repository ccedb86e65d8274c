# Every byte custody-receive releases is covered by the sender's signature. A file added at the top
# of a signed bag (NOTE.txt), under custody/ (custody/extra.json), an empty directory, or a
# tagmanifest-sha512.txt that lists more than the signed tag manifest rejects the package, naming
# it (as a directory, a tar and a zip), and nothing is released; custody-verify says NOT INTACT;
# the stock check of custody-pack(1) finds the same files. (NOTE.txt was once released as
# RECEIVED with every check PASS.)
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 300000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem --sending-authority BKA
  --legal-basis EIO --reference EIO-1)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
"$PACK" disk1.aff4 -o bag "${sender[@]}" -q

# The stock check of custody-pack(1): files that no signed manifest lists (nothing when all are).
stock_unsigned() {
  (cd "$1" &&
    find . -type f | sed 's|^\./||' | LC_ALL=C sort >"$WORK/files" &&
    { printf '%s\n' tagmanifest-sha256.txt tagmanifest-sha512.txt \
      custody/tagmanifest-sha256.txt.p7s custody/tagmanifest-sha256.txt.p7s.tsr
      cut -d' ' -f3- tagmanifest-sha256.txt manifest-sha256.txt; } |
    LC_ALL=C sort -u >"$WORK/signed" &&
    LC_ALL=C comm -23 "$WORK/files" "$WORK/signed" &&
    { cut -d' ' -f3- tagmanifest-sha512.txt | diff - <(cut -d' ' -f3- tagmanifest-sha256.txt) >&2 ||
      echo tagmanifest-sha512.txt; })
}

# The bag as packed passes, and the stock check prints nothing.
[ -z "$(stock_unsigned bag)" ] || fail "the stock check lists files of a clean bag"
run "$VERIFY" bag --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT"

rejected() { # PACKAGE NAME: receiving PACKAGE is refused naming NAME, and nothing is released
  run "$RECEIVE" "$1" -o "out-$2" "${receiver[@]}"
  expect_rc 1
  expect_stdout "REJECTED"
  expect_stdout "FAIL  $3"
  [ ! -e "out-$2" ] && [ ! -e "out-$2.receipt.json" ] || fail "$1: something was released"
  ! ls -d .custody-receive-* 2>/dev/null || fail "$1: a temporary directory was left behind"
}

n=0
for extra in NOTE.txt custody/extra.json; do
  n=$((n + 1))
  cp -r bag "b$n"
  echo 'not signed by the sender' >"b$n/$extra"
  rejected "b$n" "dir$n" "$extra"
  expect_stdout "the sender's signature does not cover it"
  run "$VERIFY" "b$n" --trust keys/ca.pem
  expect_rc 1
  expect_stdout "NOT INTACT"
  expect_stdout "$extra"
  [ "$(stock_unsigned "b$n")" = "$extra" ] || fail "the stock check does not find $extra"
  # The same bag as a tar and as a zip.
  mkdir "t$n" && cp -r "b$n" "t$n/p$n"
  tar cf "p$n.tar" -C "t$n" "p$n"
  rejected "p$n.tar" "tar$n" "$extra"
  bsdtar --format zip -cf "z$n.zip" -C "t$n" "p$n"
  rejected "z$n.zip" "zip$n" "$extra"
done

# An empty directory the sender did not sign.
cp -r bag empty
mkdir empty/custody/more
rejected empty empty "custody/more/"

# A tagmanifest-sha512.txt that lists one more file (with its right hash), which the signed
# tagmanifest-sha256.txt does not.
cp -r bag longer
echo 'hidden' >longer/hidden.txt
(cd longer && sha512sum hidden.txt >>tagmanifest-sha512.txt)
rejected longer longer "tagmanifest-sha512.txt"
expect_stdout "FAIL  hidden.txt"
[ -n "$(stock_unsigned longer)" ] || fail "the stock check does not find hidden.txt"
