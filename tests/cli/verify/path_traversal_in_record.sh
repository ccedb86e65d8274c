# A record whose segment name points outside its directory is refused, not followed.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 1000
"$ACQUIRE" --format raw src.bin -o img -q
jq '.image.segments[0].file = "../../etc/passwd"' img.acquisition.json >evil.json
run "$VERIFY" evil.json
expect_rc 65
expect_stderr "not a plain file name"
