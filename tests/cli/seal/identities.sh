# Keys and certificates: an untrusted CA, a passphrase-protected key (file, environment, wrong
# passphrase), PKCS#12, and key file permissions. (Expired, not-yet-valid and non-signing
# certificates are refused before signing: invalid_signer_refused.sh.)
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 500000
for name in a d e f g; do cp src.bin "$name.bin"; "$ACQUIRE" "$name.bin" -o "$name" -q; done

"$SEAL" a.aff4 --key keys/other-examiner.key --cert keys/other-examiner.pem -q
run "$VERIFY" a.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "not by a key the given CAs vouch for"

printf 'wrong horse\n' >wrong.txt
chmod 600 wrong.txt
run "$SEAL" d.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-file wrong.txt
expect_rc 64
expect_stderr "passphrase does not open"
[ "$(unzip -l d.aff4 | grep -c seal-1)" -eq 0 ] || fail "a failed seal must not touch the container"
run "$SEAL" d.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-file keys/passphrase.txt
expect_rc 0
KEYPASS="$(cat keys/passphrase.txt)" run "$SEAL" e.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-env KEYPASS
expect_rc 0
run "$SEAL" f.aff4 --key keys/examiner.p12 --passphrase-file keys/passphrase.txt
expect_rc 0
run "$VERIFY" f.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "signer trusted"

cp keys/examiner.key loose.key
chmod 644 loose.key
run "$SEAL" g.aff4 --key loose.key --cert keys/examiner.pem
expect_rc 64
expect_stderr "readable by other users"
run "$SEAL" g.aff4 --key loose.key --cert keys/examiner.pem --allow-insecure-key-permissions
expect_rc 0
run "$SEAL" g.aff4
expect_rc 64
expect_stderr "--key is required"
