# Export never writes over the container it reads, --force or not: the same name, a hard link, a
# symbolic link, a split segment name, an E01 segment name, standard output appended to the
# container, the CASE/UCO file, and custody-verify's court report over the evidence.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 2000000
"$ACQUIRE" src.bin -o c -q
want=$(digest sha256 c.aff4)

unchanged() {
  [ "$(digest sha256 c.aff4)" = "$want" ] || fail "the container was changed by: $*"
}
refused() {
  run "$@"
  expect_rc 73
  expect_stderr "refusing to write"
  expect_stderr "custody never writes over its input"
  unchanged "$@"
}

refused "$EXPORT" c.aff4 -o c.aff4 --force --no-record
ln c.aff4 hard.raw
refused "$EXPORT" c.aff4 -o hard.raw --force --no-record
ln -s c.aff4 soft.raw
refused "$EXPORT" c.aff4 -o soft.raw --force --no-record
ln c.aff4 split.003
refused "$EXPORT" c.aff4 -o split --split 1M --force --no-record
[ ! -e split.001 ] || fail "a split segment was written before the refusal"
ln c.aff4 e.E01
refused "$EXPORT" c.aff4 -o e --format e01 --force --no-record
refused "$EXPORT" c.aff4 --case-uco c.aff4 --force
refused "$VERIFY" c.aff4 --report c.aff4 --force

set +e
"$EXPORT" c.aff4 -o - --no-record >>c.aff4 2>stderr
RC=$?
set -e
expect_rc 73
expect_stderr "refusing to write standard output: it is the same file as c.aff4"
unchanged "export to standard output appended to the container"

run "$EXPORT" c.aff4 -o out.raw --no-record -q
expect_rc 0
cmp -s out.raw src.bin || fail "export to another name"
