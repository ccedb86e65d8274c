# After sealing, a changed chunk, a changed byte that no reader looks at (the old end record),
# and a member added later are each detected and named.
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 2000000
"$ACQUIRE" src.bin -o img -q
"$SEAL" img.aff4 --key keys/examiner.key --cert keys/examiner.pem -q
sealed=$(unzip -p img.aff4 custody/seal-1.json | jq .sealed_length)

cp img.aff4 chunk.aff4
flip_byte chunk.aff4 $(($(member_offset chunk.aff4 '/00000000$') + 1000))
run "$VERIFY" chunk.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "changed or disappeared after seal 1 was made"
expect_stdout "the first $sealed bytes of the file, which seal 1 covers, changed"

cp img.aff4 dead.aff4
flip_byte dead.aff4 $((sealed - 5))   # inside the old end record: read by nobody now
run "$VERIFY" dead.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "the first $sealed bytes of the file, which seal 1 covers, changed"

cp img.aff4 added.aff4
python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1], "a").writestr("custody/note.txt", "x")' added.aff4
run "$VERIFY" added.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "member custody/note.txt was added after seal 1 was made"


# Cutting the file back removes the seal: that is reported, and a failure when --trust is given.
head -c "$sealed" img.aff4 >cut.aff4
run "$VERIFY" cut.aff4
expect_rc 0
expect_stdout "the container is not sealed"
run "$VERIFY" cut.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "carries no seal"
run "$VERIFY" img.aff4 --trust no-such-ca.pem
expect_rc 66
expect_stderr "trust file not found"
