# A changed payload, manifest, bag-info, tag manifest, transfer statement or signature, a changed
# ciphertext or tag and an untrusted sender are each rejected, naming the problem, and a wrong
# receiver key is refused before decrypting (64); nothing is released: no output directory, no
# receipt.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 600000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
"$PACK" disk1.aff4 -o bag "${sender[@]}" -q

rejected() { # NAME EXPECTED-TEXT: receive copy NAME; it must be rejected, with nothing left
  run "$RECEIVE" "$1" -o "out-$1" "${receiver[@]}"
  expect_rc 1
  expect_stdout "REJECTED"
  expect_stdout "$2"
  [ ! -e "out-$1" ] && [ ! -e "out-$1.receipt.json" ] || fail "$1: something was released"
  ! ls -d .custody-receive-* 2>/dev/null || fail "$1: a temporary directory was left behind"
}
tamper() { # NAME FILE-IN-BAG: a copy of the bag with one byte of FILE changed
  cp -r bag "$1"
  flip_byte "$1/$2" $(($(stat -c %s "$1/$2") / 2))
}
tamper payload data/disk1.aff4
rejected payload "data/disk1.aff4"
tamper manifest manifest-sha256.txt
rejected manifest "manifest-sha256.txt"
tamper baginfo bag-info.txt
rejected baginfo "bag-info.txt"
tamper tagmanifest tagmanifest-sha256.txt
rejected tagmanifest "tagmanifest-sha256.txt"
tamper statement custody/transfer.json
rejected statement "custody/transfer.json"
tamper signature custody/tagmanifest-sha256.txt.p7s
rejected signature "sender"

run "$RECEIVE" bag -o untrusted --key keys/witness.key --cert keys/witness.pem --trust keys/other-ca.pem
expect_rc 1
expect_stdout "not vouched for by the given CAs"
[ ! -e untrusted ] || fail "an untrusted package was released"

"$PACK" disk1.aff4 -o sealed.tar "${sender[@]}" --encrypt-to keys/witness.pem --segment-size 1M -q
run "$RECEIVE" sealed.tar.enc.json -o wrong-key --key keys/other-examiner.key \
  --cert keys/other-examiner.pem --trust keys/ca.pem
expect_rc 64
expect_stderr "not encrypted to the certificate"
[ ! -e wrong-key ] || fail "released to a wrong key"
for part in sealed.tar.enc.000 sealed.tar.enc.000.p7m; do
  mkdir "t-$part" && cp sealed.tar.enc.* "t-$part/"
  flip_byte "t-$part/$part" $(($(stat -c %s "t-$part/$part") - 5))
  run "$RECEIVE" "t-$part/sealed.tar.enc.json" -o "out-$part" "${receiver[@]}"
  expect_rc 1
  expect_stdout "REJECTED"
  [ ! -e "out-$part" ] || fail "$part: released after tampering"
done
