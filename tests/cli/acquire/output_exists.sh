# Existing evidence output is never overwritten without --force.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 100000
echo "earlier evidence" >out.raw
run "$ACQUIRE" --format raw src.bin -o out
expect_rc 73
expect_error_line
expect_stderr "--force"
[ "$(cat out.raw)" = "earlier evidence" ] || fail "existing image was touched"
[ ! -e out.acquisition.json ] || fail "record written despite refusal"
echo "earlier record" >only.acquisition.json
run "$ACQUIRE" --format raw src.bin -o only
expect_rc 73
[ ! -e only.raw ] || fail "image written despite an existing record"
run "$ACQUIRE" --format raw src.bin -o out --force
expect_rc 0
cmp -s src.bin out.raw || fail "--force did not replace the image"
