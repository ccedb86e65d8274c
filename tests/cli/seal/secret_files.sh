# Secret files: a passphrase file that others may read is refused like a key file (64), both say
# the file name once and what to do; a wrong passphrase says what to check next. A directory
# given as the key is named as a directory.
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 100000
"$ACQUIRE" src.bin -o c -q
want=$(digest sha256 c.aff4)

cp keys/passphrase.txt open.txt
chmod 644 open.txt
run "$SEAL" c.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-file open.txt
expect_rc 64
expect_stderr "the passphrase file open.txt is readable by other users (mode 0644)"
expect_stderr "chmod 600 open.txt, or use --allow-insecure-key-permissions"
[ "$(grep -o 'open.txt' stderr | wc -l)" -eq 2 ] || fail "the file name is repeated: $(cat stderr)"
run "$SEAL" c.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-file open.txt \
  --allow-insecure-key-permissions -q
expect_rc 0

cp keys/examiner.key loose.key
chmod 640 loose.key
run "$SEAL" c.aff4 --key loose.key --cert keys/examiner.pem
expect_rc 64
expect_stderr "the private key loose.key is readable by other users (mode 0640); chmod 600 loose.key"
[ "$(grep -o 'loose.key' stderr | wc -l)" -eq 2 ] || fail "the file name is repeated: $(cat stderr)"

printf 'wrong\n' >wrong.txt
chmod 600 wrong.txt
want=$(digest sha256 c.aff4)
run "$SEAL" c.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem --passphrase-file wrong.txt
expect_rc 64
expect_stderr "the passphrase does not open keys/examiner-encrypted.key; check the passphrase"
[ "$(digest sha256 c.aff4)" = "$want" ] || fail "a failed seal changed the container"

mkdir keydir
run "$SEAL" c.aff4 --key keydir --cert keys/examiner.pem
expect_rc 64
expect_stderr "keydir is a directory, not a file"
