# An E01 made by ewfacquire (several segments, compressed and not) is imported: every segment is
# found, the stored MD5 and SHA-1 are checked against what is read, its header values are kept in
# the record and default the case fields, and the container holds exactly the image.
source "$(dirname "$0")/../lib.sh"
command -v ewfacquire >/dev/null || skip "ewfacquire missing (ewf-tools)"
make_source disk.img 4194304
sha256=$(digest sha256 disk.img)
ewfacquire -u -q -t peer -c none -d sha1 -S 1MiB -C CASE-9 -D "laptop disk" -e "E. Xaminer" \
  -E EV-9 -N "from the lab" disk.img >ewfacquire.log 2>&1 || fail "ewfacquire failed: $(cat ewfacquire.log)"
[ -f peer.E02 ] || fail "ewfacquire should have written several segments"
nsegments=$(ls peer.E0* | wc -l)

run "$ACQUIRE" --from-image peer.E01 -o imported.aff4
expect_rc 0
expect_stdout "imported e01 image, $nsegments files: peer.E01 ... peer.E0$nsegments"
expect_stdout "stored md5     $(digest md5 disk.img)  matches"
expect_stdout "stored sha1    $(digest sha1 disk.img)  matches"
expect_stdout "case_number               CASE-9"
record=$("$INFO" --json imported.aff4)
jq -e --arg sha "$sha256" '.record.hashes.sha256 == $sha' <<<"$record" >/dev/null || fail "sha256 of the import"
jq -e '.record.imported_from | .format == "e01" and .hashes_match == true and
  (.files | length) > 1 and .headers.examiner_name == "E. Xaminer" and
  .headers.acquiry_software_version == "20140813" and (.headers | has("acquiry_date"))' \
  <<<"$record" >/dev/null || fail "imported_from in the record: $(jq -c .record.imported_from <<<"$record")"
jq -e '.record.case | .case_number == "CASE-9" and .evidence_number == "EV-9" and .examiner == "E. Xaminer"' \
  <<<"$record" >/dev/null || fail "case fields default to the E01's header values"
run "$VERIFY" imported.aff4
expect_rc 0
[ "$("$EXPORT" imported.aff4 -o - 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$sha256" ] ||
  fail "the container does not hold the image"

# Compressed, as raw output, options override the header values; giving any segment works.
ewfacquire -u -q -t fast -c fast -d sha1 -C CASE-9 disk.img >ewfacquire.log 2>&1 || fail "ewfacquire -c fast"
run "$ACQUIRE" --from-image fast.E01 -o raw --format raw --case OURS
expect_rc 0
cmp -s raw.raw disk.img || fail "raw import of a compressed E01 differs from the disk"
[ "$(json_field .case.case_number raw.acquisition.json)" = OURS ] || fail "--case overrides the header value"
[ "$(json_field .imported_from.headers.case_number raw.acquisition.json)" = CASE-9 ] || fail "header kept"

# Usage: exactly one of SOURCE and --from-image; a missing image.
run "$ACQUIRE" disk.img --from-image peer.E01 -o both
expect_rc 64
run "$ACQUIRE" --from-image nothere.E01 -o none
expect_rc 66
expect_error_line
