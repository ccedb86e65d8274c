# Every supported algorithm in one pass, checked against independent implementations.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 1234567
run "$ACQUIRE" --format raw src.bin -o all --hash md5,sha1,sha256,sha512,sha3-256,blake2b-512 --json
expect_rc 0
jq -e '.format == "custody-acquisition" and .version == 1' stdout >/dev/null || fail "--json record"
[ "$(jq -r .hashes.sha512 stdout)" = "$(digest sha512 src.bin)" ] || fail "sha512"
[ "$(jq -r '.hashes["blake2b-512"]' stdout)" = "$(b2sum src.bin | cut -d' ' -f1)" ] || fail "blake2b"
want=$(openssl dgst -sha3-256 -r src.bin | cut -d' ' -f1)
[ "$(jq -r '.hashes["sha3-256"]' stdout)" = "$want" ] || fail "sha3-256"
cmp -s stdout all.acquisition.json || fail "--json output differs from the record file"
