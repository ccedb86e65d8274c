# An E01 export of a real file system is accepted by the tools courts use: ewfverify passes and
# reports the recorded MD5 and SHA-1, ewfinfo shows the case metadata (record values, overridden
# by options), Sleuth Kit reads the E01 and a raw split export (img_stat, img_cat | sha256sum,
# fls). The sample file system is byte for byte what samples/SHA256SUMS says.
source "$(dirname "$0")/../lib.sh"
for tool in ewfverify ewfinfo img_stat img_cat fls mke2fs debugfs; do
  command -v "$tool" >/dev/null || PATH="$PATH:/sbin:/usr/sbin" command -v "$tool" >/dev/null ||
    skip "$tool missing (ewf-tools, sleuthkit, e2fsprogs)"
done
bash "$CUSTODY_SOURCE_DIR/samples/make-fs-image.sh" fs-image.img || fail "make-fs-image.sh failed"
grep ' fs-image.img$' "$CUSTODY_SOURCE_DIR/samples/SHA256SUMS" | sha256sum -c --quiet ||
  fail "the sample file system is not the one samples/SHA256SUMS pins"
sha256=$(digest sha256 fs-image.img)

"$ACQUIRE" fs-image.img -o fs -q --case 2026-17 --evidence E-001 --examiner "J. Doe" \
  --description "USB stick, blue" --notes "seized at the harbour"
run "$EXPORT" fs.aff4 --format e01 -o fs --segment-size 1M --compression none --examiner "A. Witness"
expect_rc 0
expect_stdout "matches the recorded hash"
[ -f fs.E01 ] && [ -f fs.E02 ] || fail "1M segments of an uncompressed 4 MiB image: expected fs.E01, fs.E02, ..."

md5=$(json_field .record.hashes.md5 <("$INFO" --json fs.aff4))
sha1=$(json_field .record.hashes.sha1 <("$INFO" --json fs.aff4))
[ "$md5" = "$(digest md5 fs-image.img)" ] || fail "the record's MD5 is not the image's"
run ewfverify -q fs.E01
expect_rc 0
expect_stdout "MD5 hash stored in file:		$md5"
expect_stdout "MD5 hash calculated over data:		$md5"
expect_stdout "SHA1:	$sha1"
expect_stdout "ewfverify: SUCCESS"
run ewfinfo fs.E01
expect_rc 0
expect_stdout "Case number:		2026-17"
expect_stdout "Evidence number:	E-001"
expect_stdout "Examiner name:		A. Witness"
expect_stdout "Description:		USB stick, blue"
expect_stdout "Notes:			seized at the harbour"
expect_stdout "Software version used:	custody"
expect_stdout "File format:		EnCase 6"
grep -q "Read errors" "$WORK/stdout" && fail "an image without defects must have no acquiry errors"
# The acquisition date is the acquisition's (the record's end), not the time of the export.
finished=$(json_field .record.finished <("$INFO" --json fs.aff4))
expected_date=$(LC_ALL=C TZ=UTC date -d "$finished" '+%a %b %e %H:%M:%S %Y')
expect_stdout "Acquisition date:	$expected_date"

# Sleuth Kit on the E01: size, content, file system.
run img_stat fs.E01
expect_stdout "Image Type:		ewf"
expect_stdout "Size of data in bytes:	4194304"
expect_stdout "MD5 hash of data:	$md5"
[ "$(img_cat fs.E01 | sha256sum | cut -d' ' -f1)" = "$sha256" ] || fail "img_cat of the E01 is not the image"
run fls -r fs.E01
expect_rc 0
expect_stdout "README.txt"
expect_stdout "note.txt"
expect_stdout "long.txt"
[ "$(icat fs.E01 "$(awk '/note.txt/ {sub(":", "", $3); print $3}' "$WORK/stdout")")" = \
  "Meeting at the harbour, pier 4, Tuesday 06:00." ] || fail "icat of note.txt through the E01"

# ... and on a raw split export (fs.001, fs.002, ...).
run "$EXPORT" fs.aff4 -o fs --split 1M
expect_rc 0
[ -f fs.001 ] && [ -f fs.004 ] && [ ! -e fs.005 ] || fail "expected fs.001 ... fs.004"
run img_stat fs.001
expect_stdout "Image Type: raw"
expect_stdout "Size in bytes: 4194304"
expect_stdout "fs.004  (3145728 to 4194303)"
[ "$(img_cat fs.001 | sha256sum | cut -d' ' -f1)" = "$sha256" ] || fail "img_cat of the split set is not the image"
run fls -r fs.001
expect_stdout "long.txt"

# Compressed sets verify too; an existing set is not overwritten without --force.
run "$EXPORT" fs.aff4 --format e01 -o best --compression best
expect_rc 0
[ "$(stat -c %s best.E01)" -lt 1000000 ] || fail "--compression best should shrink a mostly empty file system"
run ewfverify -q best.E01
expect_stdout "ewfverify: SUCCESS"
run "$EXPORT" fs.aff4 --format e01 -o best
expect_rc 73
expect_stderr "--force"
run "$EXPORT" fs.aff4 --format e01 -o best --force --compression fast
expect_rc 0
