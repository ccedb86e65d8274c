# One flipped byte in a stored chunk: verify fails, names the chunk, its container bytes and the
# image bytes it holds; export refuses to call the result good.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3000000
"$ACQUIRE" src.bin -o img -q
bevy=$(member_offset img.aff4 '/00000000$')
flip_byte img.aff4 $((bevy + 40000))   # inside chunk 1 (chunks are 32 KiB, stored raw here)
run "$VERIFY" img.aff4
expect_rc 1
expect_stdout "FAILED: img.aff4 does not match its acquisition record"
expect_stdout "chunk 1 (bevy 0, entry 1)"
expect_stdout "image bytes 32768..65536"
expect_stdout "sha256 mismatch"
run "$EXPORT" img.aff4 -o out.raw
expect_rc 1
expect_stderr "does not match the hash recorded"
