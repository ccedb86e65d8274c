# Unreadable ranges of a container (aff4:UnreadableData in the AFF4 reference image with read
# errors) become the E01's acquiry error list, in sectors, and the E01 still verifies with the
# image's published hashes. Importing that E01 brings the ranges back as defects that say the
# source image reported them (exit 3, the bytes and hashes unchanged).
source "$(dirname "$0")/../lib.sh"
for tool in ewfverify ewfinfo img_cat; do
  command -v "$tool" >/dev/null || skip "$tool missing (ewf-tools, sleuthkit)"
done
# A copy: the committed test data is never handed to a tool (tests/data/README.md).
cp "$TESTDATA/aff4/AFF4Std/Base-Linear-ReadError.aff4" reference.aff4 ||
  fail "AFF4 reference image missing from tests/data"
reference=reference.aff4

run "$EXPORT" "$reference" --format e01 -o readerror --case RE-1 --no-record
expect_rc 0
expect_stdout "acquiry error  sectors 30720-32767 (2048 sectors"
expect_stdout "acquiry error  sectors 174080-176127 (2048 sectors"
run ewfinfo readerror.E01
expect_stdout "total number: 2"
expect_stdout "at sector(s): 30720 - 32767 number: 2048"
expect_stdout "at sector(s): 174080 - 176127 number: 2048"
expect_stdout "Case number:		RE-1"
expect_stdout "Examiner name:		Administrator"  # from the reference image's AFF4 case objects
run ewfverify -q readerror.E01
expect_stdout "MD5 hash calculated over data:		1f1ae18d3610d3b4ad2d705e3af42f19"
expect_stdout "SHA1:	67e245a640e2784ead30c1ff1a3f8d237b58310f"
expect_stdout "ewfverify: SUCCESS"

run "$ACQUIRE" --from-image readerror.E01 -o back --hash sha256
expect_rc 3
expect_stderr "could not read sectors 30720-32767, sectors 174080-176127"
expect_stdout "648d87d2e045334e750bda297f9c9a5f122b1c07ac673c16dcec46f5f18cd555"
record=$("$INFO" --json back.aff4)
jq -e '.record.defects | map([.first_sector, .sectors]) == [[30720,2048],[174080,2048]]' <<<"$record" >/dev/null ||
  fail "the acquiry errors must come back as the record's defects"
jq -e '.record.defects | all(.reason | test("source image"))' <<<"$record" >/dev/null ||
  fail "each defect must say that the source image reported it"
jq -e '.record.imported_from.hashes_match == true and (.record.hashes | has("md5") and has("sha1"))' \
  <<<"$record" >/dev/null || fail "the stored MD5 and SHA-1 must be checked even with --hash sha256"
