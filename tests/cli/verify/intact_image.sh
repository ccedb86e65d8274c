source "$(dirname "$0")/../lib.sh"
make_source src.bin 3500000
"$ACQUIRE" --format raw src.bin -o img --segment-size 1M --examiner "J. Doe" --case 17 -q
run "$VERIFY" img.acquisition.json
expect_rc 0
expect_stdout "VERIFIED: img.001 ... img.004 (4 segments) matches its acquisition record"
expect_stdout "by J. Doe"
expect_stdout "$(digest sha256 src.bin)  ok"
run "$VERIFY" -q img.acquisition.json
expect_rc 0
expect_no_stdout
# The record can be verified from another working directory: segments are found beside it.
mkdir elsewhere && cd elsewhere
run "$VERIFY" ../img.acquisition.json
expect_rc 0
