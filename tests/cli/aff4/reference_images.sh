# The public AFF4 reference images (tests/data/aff4): each verifies, and exporting reproduces the
# expected hashes (tests/data/README.md); the striped pair reads as one image. The tools read
# copies in the scratch directory, never the committed files (tests/data/README.md).
source "$(dirname "$0")/../lib.sh"
[ -d "$TESTDATA/aff4/AFF4Std" ] || fail "reference images not found at $TESTDATA/aff4"
mkdir data && cp -r "$TESTDATA/aff4" data/
std=data/aff4/AFF4Std
check() { # expected-md5 expected-sha256 volumes...
  local md5=$1 sha=$2
  shift 2
  run "$VERIFY" "$@"
  expect_rc 0
  expect_stdout "VERIFIED"
  [ "$("$EXPORT" "$@" -o - -q --no-record | tee >(md5sum | cut -d' ' -f1 >md5.out) | sha256sum | cut -d' ' -f1)" = "$sha" ] ||
    fail "sha256 of $1"
  sleep 0.2
  [ "$(cat md5.out)" = "$md5" ] || fail "md5 of $1"
}
check dd6dbda282e27fd0d196abd95f5c3e58 d7d6df4534f06568eb90a06e252592c9b79378b95bb9a7e01db3a388feda6c13 "$std/Base-Linear.aff4"
check 1f1ae18d3610d3b4ad2d705e3af42f19 648d87d2e045334e750bda297f9c9a5f122b1c07ac673c16dcec46f5f18cd555 "$std/Base-Linear-ReadError.aff4"
check 54a02991ff289c238570893e2e16df86 c1c99315c2ff74e3f37247639e4f8bb2fb7c49ad09f9d6965ac567ce5e6e3c75 "$std/Base-Allocated.aff4"
check dd6dbda282e27fd0d196abd95f5c3e58 d7d6df4534f06568eb90a06e252592c9b79378b95bb9a7e01db3a388feda6c13 "$std/Striped/Base-Linear_1.aff4" "$std/Striped/Base-Linear_2.aff4"
# A read error recorded in the image is reported, not hidden.
run "$VERIFY" "$std/Base-Linear-ReadError.aff4"
expect_stdout "could not be read at acquisition"
run "$INFO" data/aff4/Errata/Base-ExabyteSparse.aff4
expect_rc 0
expect_stdout "9223372036854775296 bytes"
# The copies (writable) are unchanged: no tool appends to evidence it was only asked to read.
grep '  aff4/' "$TESTDATA/SHA256SUMS" >aff4.sha256
(cd data && sha256sum -c --quiet "$WORK/aff4.sha256") >"$WORK/stdout" 2>&1 ||
  fail "a tool wrote to a reference image it was only asked to read"
# And the committed test data is as committed: every file of tests/data against SHA256SUMS and
# the table of tests/data/README.md.
check_test_data
