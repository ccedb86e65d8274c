# The progress line is for terminals only: redirected stderr stays clean.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3000000
run "$ACQUIRE" --format raw src.bin -o img
expect_rc 0
[ ! -s stderr ] || fail "stderr should be empty when it is not a terminal"
if command -v script >/dev/null; then
  # Under a pseudo-terminal the progress line appears (carriage returns on stderr).
  script -qec "$ACQUIRE --format raw src.bin -o tty --force >/dev/null" /dev/null >tty.out || true
  [ -f tty.raw ] || fail "acquisition under a terminal failed"
fi
