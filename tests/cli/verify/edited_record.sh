# Editing the record by hand (here: the examiner) is detected even though the image is intact.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 100000
"$ACQUIRE" --format raw src.bin -o img --examiner "J. Doe" -q
sed 's/J. Doe/M. Allory/' img.acquisition.json >edited.json && mv edited.json img.acquisition.json
run "$VERIFY" img.acquisition.json
expect_rc 1
expect_stdout "edited after acquisition"
run "$INFO" img.acquisition.json
expect_rc 0
expect_stderr "warning:"
expect_stderr "edited after acquisition"
