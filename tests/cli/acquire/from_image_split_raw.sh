# Raw images made elsewhere: a single file, and a split set NAME.001, NAME.002, ... read in order.
# A missing middle segment is refused with its name (exit 66); a later segment is not a start.
source "$(dirname "$0")/../lib.sh"
make_source disk.img 3500000
sha256=$(digest sha256 disk.img)
split -b 1M -d -a 3 --numeric-suffixes=1 disk.img part.
[ -f part.004 ] || fail "split did not make four parts"

run "$ACQUIRE" --from-image part.001 -o split --format raw
expect_rc 0
expect_stdout "imported split-raw image, 4 files: part.001 ... part.004"
cmp -s split.raw disk.img || fail "the split set was not read in order"
jq -e '.imported_from | .format == "split-raw" and (.files | map(.size)) == [1048576,1048576,1048576,354272]' \
  split.acquisition.json >/dev/null || fail "imported_from files"

run "$ACQUIRE" --from-image disk.img -o single
expect_rc 0
expect_stdout "imported raw image, 1 file: disk.img"
[ "$(json_field .record.hashes.sha256 <("$INFO" --json single.aff4))" = "$sha256" ] || fail "single raw import"

run "$ACQUIRE" --from-image part.003 -o late
expect_rc 64
expect_stderr "part.001"

mv part.002 elsewhere.bin
run "$ACQUIRE" --from-image part.001 -o gap
expect_rc 66
expect_stderr "segment part.002 is missing"
[ ! -e gap.aff4 ] || fail "nothing may be written for a set with a gap"
