# custody-mount of a logical (AFF4-L) container: its file tree with recorded sizes, modes, times,
# symlinks and hardlinks; every file's content through the mount matches the hash recorded at
# acquisition; the files opened are named in the "released" event; a damaged file gives EIO (none
# of it is served) and is counted.
source "$(dirname "$0")/../lib.sh"
MOUNT="$CUSTODY_BIN/custody-mount"
LOG="$CUSTODY_BIN/custody-log"
[ -c /dev/fuse ] || skip "no /dev/fuse (FUSE 3 is needed)"
command -v fusermount3 >/dev/null || skip "fusermount3 missing (fuse3)"
for dir in mnt bad; do
  mkdir "$dir"
  cleanup_hooks+=("fusermount3 -u -z $dir 2>/dev/null")
done

mkdir -p case/docs case/empty
printf 'Meeting at the harbour.\n' >case/docs/note.txt
head -c 300000 /dev/urandom >case/docs/photo.jpg
printf 'x' >'case/docs/name with spaces %.txt'
ln -s docs/note.txt case/latest
ln case/docs/note.txt case/note-again.txt
chmod 0640 case/docs/note.txt
touch -d '2024-05-01 12:00:00 UTC' case/docs/photo.jpg
"$ACQUIRE" --logical case -o files -q

run "$MOUNT" files.aff4 mnt --purpose "review of the disclosure" --json
expect_rc 0
expect_json custody-mount-result
jq -e '.files == 8 and .left_out == 0 and .accessed_event == 2' stdout >/dev/null ||
  fail "--json of a logical mount: $(cat stdout)"

# The tree and the recorded metadata.
[ -d mnt/case/empty ] || fail "an empty folder is missing"
[ "$(readlink mnt/case/latest)" = docs/note.txt ] || fail "the symlink's target"
[ "$(stat -c %a mnt/case/docs/note.txt)" = 640 ] || fail "the recorded mode"
[ "$(stat -c %Y mnt/case/docs/photo.jpg)" = "$(date -d '2024-05-01 12:00:00 UTC' +%s)" ] ||
  fail "the recorded modification time"
[ "$(stat -c %s mnt/case/docs/photo.jpg)" = 300000 ] || fail "the recorded size"
cmp mnt/case/note-again.txt case/docs/note.txt || fail "the hardlink's content"

# Every file's content through the mount against the hash recorded at acquisition.
unzip -p files.aff4 custody/files.json >files.json
jq -r '.entries[] | select(.type == "file") | [.hashes.sha256, .path] | @tsv' files.json >expected.tsv
[ "$(wc -l <expected.tsv)" -eq 3 ] || fail "expected 3 regular files in the file list"
while IFS=$'\t' read -r sha256 encoded; do
  path=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$encoded")
  [ "$(sha256sum <"mnt/$path" | cut -d' ' -f1)" = "$sha256" ] ||
    fail "$path through the mount does not match its recorded SHA-256"
done <expected.tsv

# Read-only.
if (echo x >>mnt/case/docs/note.txt) 2>write.err; then fail "a file of the mount was written"; fi
grep -q "Read-only file system" write.err || fail "writing did not give EROFS: $(cat write.err)"

run "$MOUNT" -u mnt
expect_rc 0
"$LOG" show --json files.aff4 >events.json
jq -e '.events[-1] | .action == "released" and (.details.files_opened | tonumber) >= 3
  and (.details.files_opened_list | contains("case/docs/photo.jpg"))
  and (.details.files_opened_list | contains("case/docs/name%20with%20spaces%20%25.txt"))
  and .details.damaged_reads == "0"' events.json >/dev/null ||
  fail "the released event does not name the files opened"

# A damaged file: EIO for all of it, the others still served, counted in the released event.
cp files.aff4 damaged.aff4
offset=$(python3 - damaged.aff4 <<'EOF'
import struct, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    info = archive.getinfo("case/docs/photo.jpg")
with open(sys.argv[1], "rb") as raw:
    raw.seek(info.header_offset)
    header = raw.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
print(info.header_offset + 30 + name_length + extra_length + 150000)
EOF
)
flip_byte damaged.aff4 "$offset"
run "$MOUNT" damaged.aff4 bad --purpose "damage"
expect_rc 0
if head -c 10 bad/case/docs/photo.jpg >/dev/null 2>read.err; then
  fail "the first bytes of a damaged file were served"
fi
grep -q "Input/output error" read.err || fail "a damaged file did not give EIO: $(cat read.err)"
cmp bad/case/docs/note.txt case/docs/note.txt || fail "an intact file beside a damaged one"
run "$MOUNT" -u bad
expect_rc 0
"$LOG" show --json damaged.aff4 >events.json
jq -e '.events[-1] | .action == "released" and (.details.damaged_reads | tonumber) >= 1
  and (.details.first_damage | contains("case/docs/photo.jpg does not match its recorded hash"))' \
  events.json >/dev/null || fail "the released event does not record the damaged file"

# --- An AFF4-L container made elsewhere (pyaff4's reference image): its file tree. ---
cp "$CUSTODY_SOURCE_DIR/tests/data/aff4/AFF4-L/dream.aff4" dream.aff4
run "$MOUNT" dream.aff4 mnt --purpose "reference"
expect_rc 0
cmp mnt/test_images/AFF4-L/dream.txt "$CUSTODY_SOURCE_DIR/tests/data/aff4/AFF4-L/dream.txt" ||
  fail "dream.txt through the mount of pyaff4's container"
run "$MOUNT" -u mnt
expect_rc 0
exit 0
