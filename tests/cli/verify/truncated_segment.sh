source "$(dirname "$0")/../lib.sh"
make_source src.bin 2500000
"$ACQUIRE" --format raw src.bin -o img -q
truncate -s 2000000 img.raw
run "$VERIFY" img.acquisition.json
expect_rc 1
expect_stdout "size is 2000000 bytes, the record says 2500000 (truncated)"
truncate -s 2600000 img.raw
run "$VERIFY" img.acquisition.json
expect_rc 1
expect_stdout "(extended)"
