# custody-verify also checks a transfer package (as custody-receive does, without releasing or
# recording anything) and an E01 set made by any tool (its stored MD5 and SHA-1).
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
make_identities
make_source src.bin 614400   # whole sectors: ewfacquire mis-stores a partial last sector
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$PACK" img.aff4 -o transfer.tar --key keys/examiner.key --cert keys/examiner.pem -q
run "$VERIFY" transfer.tar --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT: transfer package transfer.tar passes every check"
[ ! -e transfer ] && ! ls .custody-receive-* 2>/dev/null || fail "checking released something"
cp transfer.tar bad.tar
flip_byte bad.tar $(($(stat -c %s bad.tar) / 2))
run "$VERIFY" bad.tar --trust keys/ca.pem
expect_rc 1
expect_stdout "NOT INTACT"

"$PACK" img.aff4 -o sealed.zip --key keys/examiner.key --cert keys/examiner.pem -q \
  --encrypt-to keys/witness.pem
run "$VERIFY" sealed.zip.enc.json --trust keys/ca.pem
expect_rc 1
expect_stdout "give the receiver's key and certificate"
run "$VERIFY" sealed.zip.enc.json --trust keys/ca.pem --key keys/witness.key --cert keys/witness.pem
expect_rc 0

command -v ewfacquire >/dev/null || skip "ewfacquire missing (ewf-tools)"
ewfacquire -u -t theirs -c none -d sha1 src.bin >/dev/null 2>&1 || fail "ewfacquire failed"
run "$VERIFY" theirs.E01
expect_rc 0
expect_stdout "INTACT: the image matches the hashes stored in the E01"
expect_stdout "$(digest md5 src.bin)  ok"
cp theirs.E01 damaged.E01
flip_byte damaged.E01 $(($(stat -c %s damaged.E01) / 2))
run "$VERIFY" damaged.E01
expect_rc 1
expect_stdout "NOT INTACT"
