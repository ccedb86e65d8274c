source "$(dirname "$0")/../lib.sh"
printf '{"format": "custody-acquisition", "version": 1, "status": ' >broken.json
run "$VERIFY" broken.json
expect_rc 65
expect_error_line
expect_stderr "not valid JSON"
head -c 100 /dev/urandom >random.json
run "$VERIFY" random.json
expect_rc 65
make_source src.bin 1000
"$ACQUIRE" --format raw src.bin -o img -q
jq '.version = 7' img.acquisition.json >future.json
run "$VERIFY" future.json
expect_rc 65
expect_stderr "version 7 is not supported"
jq 'del(.image)' img.acquisition.json >noimage.json
run "$VERIFY" noimage.json
expect_rc 65
expect_stderr "missing member \"image\""
