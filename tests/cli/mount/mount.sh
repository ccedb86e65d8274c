# custody-mount: a sealed container of a real ext2 file system served read-only through FUSE and
# read by Sleuth Kit (fls, icat) and by a loop mount; every kind of change refused with EROFS; the
# signed "accessed" and "released" events with their fields, and the seal still intact; two
# mounts at once; a damaged chunk gives EIO (never wrong bytes); kill -9 leaves an access that
# custody-verify says never ended; refusals that mount and record nothing.
source "$(dirname "$0")/../lib.sh"
MOUNT="$CUSTODY_BIN/custody-mount"
SEAL="$CUSTODY_BIN/custody-seal"
LOG="$CUSTODY_BIN/custody-log"
[ -c /dev/fuse ] || skip "no /dev/fuse (FUSE 3 is needed)"
for tool in fusermount3 fls icat mke2fs debugfs python3; do
  command -v "$tool" >/dev/null || PATH="$PATH:/sbin:/usr/sbin" command -v "$tool" >/dev/null ||
    skip "$tool missing (fuse3, sleuthkit, e2fsprogs, python3)"
done
PATH="$PATH:/sbin:/usr/sbin"
make_identities
KEY=(--by-key keys/examiner.key --by-cert keys/examiner.pem)

# Every mount point of this test is unmounted at the end, whatever happened.
for dir in mnt mnt2 bad fs; do
  mkdir "$dir"
  cleanup_hooks+=("umount $dir 2>/dev/null; fusermount3 -u -z $dir 2>/dev/null")
done

# events CONTAINER: the custody log's events as JSON (custody-log show --json).
events() {
  "$LOG" show --json "$1" >events.json || fail "custody-log show failed"
}

bash "$CUSTODY_SOURCE_DIR/samples/make-fs-image.sh" fs-image.img || fail "make-fs-image.sh failed"
"$ACQUIRE" fs-image.img -o fs -q
"$SEAL" fs.aff4 --key keys/examiner.key --cert keys/examiner.pem -q

# --- Refusals: nothing mounted, nothing recorded. ---
before=$(sha256sum fs.aff4)
run "$MOUNT" fs.aff4 mnt "${KEY[@]}"
expect_rc 64
expect_stderr "--purpose is required"
echo wrong >wrong.txt
run "$MOUNT" fs.aff4 mnt --by-key keys/examiner-encrypted.key --by-cert keys/examiner.pem \
  --passphrase-file wrong.txt --purpose "analysis"
expect_rc 64
touch not-empty.txt
run "$MOUNT" fs.aff4 . --purpose "analysis"
expect_rc 64
expect_stderr "is not empty"
run "$MOUNT" fs-image.img mnt --purpose "analysis"
expect_rc 65
# Evidence kept read-only cannot record the access, so it is not mounted at all.
cp fs.aff4 kept.aff4
chmod 444 kept.aff4
run "$MOUNT" kept.aff4 mnt --purpose "analysis" --json
expect_rc 74
expect_json custody-error
jq -e '.error.message | contains("nothing was mounted")' stdout >/dev/null ||
  fail "--json: the refusal of read-only evidence"
[ "$before" = "$(sha256sum fs.aff4)" ] || fail "a refused mount changed the container"
mountpoint -q mnt && fail "a refused mount left something mounted"

# --- The mount: the image, Sleuth Kit, a loop mount of the file system inside. ---
run "$MOUNT" fs.aff4 mnt "${KEY[@]}" --purpose "file system analysis" --legal-reference "EIO 2026/17"
expect_rc 0
expect_stdout "mounted fs.aff4 read-only at mnt/image.raw (4194304 bytes)"
expect_stdout "custody event 3 (accessed) recorded"
cmp mnt/image.raw fs-image.img || fail "the mounted image differs from the source"
run fls -r mnt/image.raw
expect_rc 0
expect_stdout "note.txt"
inode=$(awk '/note.txt/ {sub(":", "", $3); print $3}' "$WORK/stdout")
[ "$(icat mnt/image.raw "$inode")" = "Meeting at the harbour, pier 4, Tuesday 06:00." ] ||
  fail "icat of note.txt through the mount"
if [ "$(id -u)" -eq 0 ] && mount -o ro,loop mnt/image.raw fs 2>loop.err; then
  [ "$(cat fs/docs/note.txt)" = "Meeting at the harbour, pier 4, Tuesday 06:00." ] ||
    fail "note.txt through a loop mount of the mounted image"
  umount fs
else
  echo "note: no loop mount here ($(cat loop.err 2>/dev/null)); fls and icat read the image"
fi

# --- Every kind of change is refused with EROFS. ---
python3 - mnt <<'EOF' || fail "a change to the mount was not refused with EROFS"
import errno, os, sys
mnt = sys.argv[1]
image = os.path.join(mnt, "image.raw")
attempts = {
    "open for writing": lambda: os.open(image, os.O_WRONLY),
    "create": lambda: os.open(os.path.join(mnt, "new"), os.O_CREAT | os.O_WRONLY, 0o644),
    "truncate": lambda: os.truncate(image, 0),
    "rename": lambda: os.rename(image, os.path.join(mnt, "other")),
    "unlink": lambda: os.unlink(image),
    "mkdir": lambda: os.mkdir(os.path.join(mnt, "dir")),
    "chmod": lambda: os.chmod(image, 0o666),
    "chown": lambda: os.chown(image, 1, 1),
    "utime": lambda: os.utime(image, (0, 0)),
    "setxattr": lambda: os.setxattr(image, "user.note", b"x"),
    "symlink": lambda: os.symlink("image.raw", os.path.join(mnt, "link")),
}
bad = []
for name, attempt in attempts.items():
    try:
        attempt()
        bad.append(f"{name}: allowed")
    except OSError as error:
        if error.errno != errno.EROFS:
            bad.append(f"{name}: {errno.errorcode.get(error.errno)} instead of EROFS")
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF

# --- A second mount of the same container at the same time. ---
run "$MOUNT" fs.aff4 mnt2 "${KEY[@]}" --purpose "second opinion" --json
expect_rc 0
expect_json custody-mount-result
jq -e '.accessed_event == 4 and .size == 4194304 and .signed == true' stdout >/dev/null ||
  fail "--json: the second mount"
head -c 65536 mnt2/image.raw | cmp - <(head -c 65536 fs-image.img) || fail "the second mount's bytes"
run "$MOUNT" -u mnt2
expect_rc 0
run "$MOUNT" -u mnt
expect_rc 0
expect_stdout "unmounted mnt"
mountpoint -q mnt && fail "still mounted after custody-mount -u"

# --- The events: signed, with their facts; the seal still holds. ---
events fs.aff4
jq -e '.events[2] | .action == "accessed" and .signed and .purpose == "file system analysis"
  and .legal.reference == "EIO 2026/17" and .details.access == "mount"
  and (.details.mountpoint | endswith("/mnt")) and .evidence.image_hashes.sha256 != null' \
  events.json >/dev/null || fail "the accessed event and its fields"
accessed_id=$(jq -r '.events[2].event_id' events.json)
jq -e --arg id "$accessed_id" '[.events[] | select(.action == "released"
  and .details.accessed_id == $id)] | length == 1 and (.[0] | .signed
  and (.details.bytes_read | tonumber) >= 4194304 and (.details.chunks_read | tonumber) == 128
  and .details.damaged_reads == "0")' events.json >/dev/null ||
  fail "the released event of the first mount and its fields"
run "$VERIFY" fs.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT"
grep -q "never ended" "$WORK/stdout" && fail "a finished access was reported as never ended"

# --- kill -9 of the daemon: the accessed event stays, and custody-verify points it out. ---
run "$MOUNT" fs.aff4 mnt "${KEY[@]}" --purpose "interrupted"
expect_rc 0
pid=$(findmnt -n -o SOURCE mnt)
kill -9 "${pid#custody:}"
fusermount3 -u -z mnt
run "$VERIFY" fs.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "never ended: no \"released\" event names it"
run "$LOG" show fs.aff4
expect_stdout "NOT RELEASED: no \"released\" event closes this access"
events fs.aff4
jq -e '[.events[] | select(.unreleased)] | length == 1 and .[0].purpose == "interrupted"' \
  events.json >/dev/null || fail "custody-log show --json does not mark the unreleased access"

# --- A damaged chunk: EIO for the reader, counted in the released event. ---
make_source src.bin 3000000
"$ACQUIRE" src.bin -o damaged -q
bevy=$(member_offset damaged.aff4 '/00000000$')
flip_byte damaged.aff4 $((bevy + 40000))  # inside chunk 1 (32 KiB chunks, stored raw here)
run "$MOUNT" damaged.aff4 bad --purpose "damage"
expect_rc 0
expect_stderr "recorded UNSIGNED"
dd if=bad/image.raw of=chunk0 bs=32768 count=1 status=none || fail "chunk 0 is intact and readable"
cmp chunk0 <(head -c 32768 src.bin) || fail "chunk 0 served wrong bytes"
if dd if=bad/image.raw of=chunk1 bs=32768 skip=1 count=1 status=none 2>dd.err; then
  fail "a damaged chunk was served"
fi
grep -q "Input/output error" dd.err || fail "a damaged chunk did not give EIO: $(cat dd.err)"
run "$MOUNT" -u bad
expect_rc 0
events damaged.aff4
jq -e '.events[-1] | .action == "released" and (.details.damaged_reads | tonumber) >= 1
  and (.details.first_damage | contains("chunk 1 (bevy 0, entry 1)"))' events.json >/dev/null ||
  fail "the released event does not record the damaged read"

# --- A striped image (Evimetry's reference): both volumes give one image, its SHA-1 the
# reference's. ---
cp "$CUSTODY_SOURCE_DIR"/tests/data/aff4/AFF4Std/Striped/Base-Linear_*.aff4 .
run "$MOUNT" Base-Linear_2.aff4 Base-Linear_1.aff4 bad --purpose "striped"
expect_rc 0
[ "$(sha1sum <bad/image.raw | cut -d' ' -f1)" = 7d3d27f667f95f7ec5b9d32121622c0f4b60b48d ] ||
  fail "the striped image through the mount is not the reference's"
run "$MOUNT" -u bad
expect_rc 0

# --- The AFF4 reference image that claims 8 EiB (Evimetry's errata): served, its reads counted
# without memory that grows with the claimed size. ---
cp "$CUSTODY_SOURCE_DIR/tests/data/aff4/Errata/Base-ExabyteSparse.aff4" sparse.aff4
run "$MOUNT" sparse.aff4 bad --purpose "sparse"
expect_rc 0
expect_stdout "(9223372036854775296 bytes)"
dd if=bad/image.raw of=/dev/null bs=4096 count=4 skip=1000000000 status=none ||
  fail "a read far into the sparse image failed"
run "$MOUNT" -u bad
expect_rc 0
events sparse.aff4
jq -e '.events[-1] | .action == "released" and .details.damaged_reads == "0"
  and (.details.chunks_read | tonumber) >= 1' events.json >/dev/null ||
  fail "the released event of the sparse image"
exit 0
