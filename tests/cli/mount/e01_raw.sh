# custody-mount of an E01 set and of a split raw image: the same bytes as the source, read by
# Sleuth Kit; the events go to a standalone custody log (--log, required: neither can hold one)
# and name the item by its evidence number and recorded hashes; a chunk of the E01 that fails its
# checksum gives EIO; a raw segment cut short while mounted gives EIO, never made-up bytes.
source "$(dirname "$0")/../lib.sh"
MOUNT="$CUSTODY_BIN/custody-mount"
EXPORT="$CUSTODY_BIN/custody-export"
LOG="$CUSTODY_BIN/custody-log"
[ -c /dev/fuse ] || skip "no /dev/fuse (FUSE 3 is needed)"
for tool in fusermount3 fls mke2fs debugfs; do
  command -v "$tool" >/dev/null || PATH="$PATH:/sbin:/usr/sbin" command -v "$tool" >/dev/null ||
    skip "$tool missing (fuse3, sleuthkit, e2fsprogs)"
done
PATH="$PATH:/sbin:/usr/sbin"
for dir in mnt bad; do
  mkdir "$dir"
  cleanup_hooks+=("fusermount3 -u -z $dir 2>/dev/null")
done
bash "$CUSTODY_SOURCE_DIR/samples/make-fs-image.sh" fs-image.img || fail "make-fs-image.sh failed"
"$ACQUIRE" fs-image.img -o fs -q --evidence E-17
"$EXPORT" fs.aff4 --format e01 -o phone --compression none -q
"$ACQUIRE" fs-image.img --format raw -o split --segment-size 1M -q --evidence E-18
md5=$(digest md5 fs-image.img)

# --- Where the events go: a standalone log for E01 and raw, the container's own for AFF4. ---
run "$MOUNT" phone.E01 mnt --purpose "triage"
expect_rc 64
expect_stderr "cannot hold a custody log"
expect_stderr "give --log FILE"
run "$MOUNT" fs.aff4 mnt --purpose "triage" --log other.log
expect_rc 64
expect_stderr "keeps its own custody log"
[ -e other.log ] && fail "a refused mount created a log"

# --- The E01 set. ---
run "$MOUNT" phone.E01 mnt --purpose "triage" --log phone.log
expect_rc 0
expect_stdout "mounted phone.E01 read-only at mnt/image.raw (4194304 bytes)"
expect_stdout "custody event 1 (accessed) recorded in phone.log"
cmp mnt/image.raw fs-image.img || fail "the mounted E01 differs from the source"
run fls -r mnt/image.raw
expect_stdout "note.txt"
run "$MOUNT" -u mnt
expect_rc 0
"$LOG" show --json phone.log >events.json
jq -e --arg md5 "$md5" '.events[0] | .action == "accessed" and .evidence.id == "E-17"
  and .evidence.image_hashes.md5 == $md5' events.json >/dev/null ||
  fail "the accessed event does not name the E01 by its evidence number and stored MD5"
jq -e '.events[1] | .action == "released" and .evidence.id == "E-17"
  and (.details.bytes_read | tonumber) >= 4194304' events.json >/dev/null ||
  fail "the released event of the E01"
run "$LOG" verify phone.log
expect_rc 0

# --- The split raw image, by its record. ---
run "$MOUNT" split.acquisition.json mnt --purpose "triage" --log split.log --json
expect_rc 0
expect_json custody-mount-result
jq -e '.size == 4194304 and .log == "split.log"' stdout >/dev/null || fail "--json of a raw mount"
cmp mnt/image.raw fs-image.img || fail "the mounted split raw image differs from the source"
# A segment cut short while mounted: the missing bytes are EIO, not zeros.
truncate -s 100000 split.004
if dd if=mnt/image.raw of=/dev/null bs=1M skip=3 count=1 iflag=direct status=none 2>dd.err; then
  fail "bytes of a cut segment were served"
fi
grep -q "Input/output error" dd.err || fail "a cut segment did not give EIO: $(cat dd.err)"
run "$MOUNT" -u mnt
expect_rc 0
"$LOG" show --json split.log >events.json
jq -e '.events[1] | .action == "released" and .evidence.id == "E-18"
  and (.details.damaged_reads | tonumber) >= 1
  and (.details.first_damage | contains("shorter than its record says"))' events.json >/dev/null ||
  fail "the released event of the raw image does not record the cut segment"

# --- A chunk of the E01 that fails its checksum: EIO. ---
cp phone.E01 damaged.E01
flip_byte damaged.E01 2000000
run "$MOUNT" damaged.E01 bad --purpose "damage" --log damaged.log
expect_rc 0
if cat bad/image.raw >/dev/null 2>cat.err; then fail "a damaged E01 chunk was served"; fi
grep -q "Input/output error" cat.err || fail "a damaged E01 chunk did not give EIO: $(cat cat.err)"
run "$MOUNT" -u bad
expect_rc 0
"$LOG" show --json damaged.log >events.json
jq -e '.events[1] | (.details.damaged_reads | tonumber) >= 1
  and (.details.first_damage | contains("fail their chunk checksum"))' events.json >/dev/null ||
  fail "the released event does not record the damaged E01 chunk"
exit 0
