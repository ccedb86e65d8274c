# An empty source gives an empty image and the hashes of the empty message.
source "$(dirname "$0")/../lib.sh"
: >empty.bin
run "$ACQUIRE" --format raw empty.bin -o empty --hash sha256
expect_rc 0
[ -f empty.raw ] && [ ! -s empty.raw ] || fail "expected an empty image file"
[ "$(json_field .hashes.sha256 empty.acquisition.json)" = \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" ] || fail "empty hash"
