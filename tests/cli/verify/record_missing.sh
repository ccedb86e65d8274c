source "$(dirname "$0")/../lib.sh"
run "$VERIFY" nothing-here.acquisition.json
expect_rc 66
expect_error_line
expect_stderr "nothing-here.acquisition.json"
