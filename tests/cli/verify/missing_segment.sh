source "$(dirname "$0")/../lib.sh"
make_source src.bin 2500000
"$ACQUIRE" --format raw src.bin -o img --segment-size 1M -q
rm img.002
run "$VERIFY" img.acquisition.json
expect_rc 66
expect_error_line
expect_stderr "image segment missing"
expect_stderr "img.002"
