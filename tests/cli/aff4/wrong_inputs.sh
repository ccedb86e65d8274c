# The record inside a container is not verified on its own; two unrelated containers are not
# taken for the volumes of one image (they are two evidence items, each verified on its own); a
# container with data in front of it is still read.
source "$(dirname "$0")/../lib.sh"
make_source a.bin 1000000
make_source b.bin 1000000 other
"$ACQUIRE" a.bin -o a -q
"$ACQUIRE" b.bin -o b -q
unzip -p a.aff4 custody/acquisition.json >a.json
run "$VERIFY" a.json
expect_rc 64
expect_stderr "verify the container instead"
run "$VERIFY" a.aff4 b.aff4
expect_rc 0
expect_stdout "VERIFIED: a.aff4 matches its acquisition record"
expect_stdout "VERIFIED: b.aff4 matches its acquisition record"
{ head -c 4096 /dev/zero; cat a.aff4; } >prefixed.aff4
run "$VERIFY" prefixed.aff4
expect_rc 0
