source "$(dirname "$0")/../lib.sh"
make_source src.bin 1000
run "$ACQUIRE" --format raw src.bin -o no/such/dir/out
expect_rc 73
expect_error_line
expect_stderr "output directory does not exist"
