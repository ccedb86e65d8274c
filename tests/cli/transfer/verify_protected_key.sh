# custody-verify of an encrypted package takes the receiver's key protected by a passphrase, with
# the same passphrase options as every other key (before, they served only --by-key, and such a
# key could not be used at all). A wrong or missing passphrase is a usage error (64) that says so.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
make_identities
make_source a.bin 100000
"$ACQUIRE" a.bin -o disk -q
"$PACK" disk.aff4 -o sealed.tar --key keys/witness.key --cert keys/witness.pem \
  --sending-authority BKA --legal-basis EIO --reference EIO-1 --encrypt-to keys/examiner.pem -q
receiver=(--trust keys/ca.pem --key keys/examiner-encrypted.key --cert keys/examiner.pem)

run "$VERIFY" sealed.tar.enc.json "${receiver[@]}" --passphrase-file keys/passphrase.txt
expect_rc 0
expect_stdout "INTACT: transfer package"
grep -qE '^  PASS  package' "$WORK/stdout" || fail "the package was not decrypted and checked"

KEYPASS="$(cat keys/passphrase.txt)" run "$VERIFY" sealed.tar.enc.json "${receiver[@]}" \
  --passphrase-env KEYPASS --json
expect_rc 0
jq -e '.intact' "$WORK/stdout" >/dev/null || fail "the JSON verdict is not intact"

echo 'not it' >wrong.txt
chmod 600 wrong.txt
run "$VERIFY" sealed.tar.enc.json "${receiver[@]}" --passphrase-file wrong.txt
expect_rc 64
expect_stderr "passphrase does not open"
run "$VERIFY" sealed.tar.enc.json "${receiver[@]}" </dev/null
expect_rc 64
expect_stderr "passphrase"
