# An output that IS the source is refused before anything is opened for writing, --force or not:
# the same name, a hard link, a symbolic link, a bind mount, a raw segment name (NAME.001), the
# record file, standard input redirected from the output, a logical source file or folder. The
# source stays byte-identical and no output appears. (It once truncated the source to 0 bytes and
# recorded an empty, "complete" image that verified as INTACT.)
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3000000
want=$(digest sha256 src.bin)

# refused SOURCE_FILE ARGS...: the tool exits 73, names the refusal, and SOURCE_FILE is unchanged.
refused() {
  local source=$1
  shift
  run "$ACQUIRE" "$@"
  expect_rc 73
  expect_stderr "refusing to write"
  expect_stderr "custody never writes over its input"
  [ "$(digest sha256 "$source")" = "$want" ] || fail "the source was changed by: $*"
}

cp src.bin same.raw
refused same.raw same.raw -o same --format raw --force
[ ! -e same.acquisition.json ] || fail "a record was written for a refused acquisition"
cp src.bin same.aff4
refused same.aff4 same.aff4 -o same --force
refused same.aff4 same.aff4 -o same.aff4 --force

ln src.bin hard.aff4
refused src.bin src.bin -o hard --force
ln -s src.bin soft.raw
refused src.bin src.bin -o soft --format raw --force
mkdir sub
ln -s ../src.bin sub/linked.aff4
refused src.bin src.bin -o sub/linked --force

# A segment of a split raw image: segment 2 would be written after segment 1.
cp src.bin seg.002
refused seg.002 seg.002 -o seg --format raw --segment-size 1M --force
[ ! -e seg.001 ] || fail "segment 1 was written before the refusal"
# The record file of a raw image.
cp src.bin rec.acquisition.json
refused rec.acquisition.json rec.acquisition.json -o rec --format raw --force
# Standard input redirected from the output file.
cp src.bin piped.raw
set +e
"$ACQUIRE" - -o piped --format raw --force <piped.raw >stdout 2>stderr
RC=$?
set -e
expect_rc 73
expect_stderr "it is the same file as standard input"
[ "$(digest sha256 piped.raw)" = "$want" ] || fail "standard input's file was changed"

# --from-image: an output that is one of the imported image's files.
cp src.bin imported.001
cp src.bin imported.002
refused imported.002 --from-image imported.001 -o imported --format raw --force

# --resume: the container to continue is the source.
cp src.bin resumed.aff4
refused resumed.aff4 resumed.aff4 -o resumed --resume

# Logical: the container over a source file, or inside a source folder (a new file there would
# alter the evidence and be read back into it).
mkdir tree
cp src.bin tree/evidence.aff4
refused tree/evidence.aff4 --logical tree/evidence.aff4 -o tree/evidence --force
refused tree/evidence.aff4 --logical tree -o tree/evidence --force
run "$ACQUIRE" --logical tree -o tree/new
expect_rc 73
expect_stderr "it lies inside tree, which is being read"
[ ! -e tree/new.aff4 ] || fail "a container was created inside the source folder"

# A bind mount of the source over another name (root only).
if [ "$(id -u)" -eq 0 ]; then
  cp src.bin bound.bin
  : >bound.aff4
  if mount --bind bound.bin bound.aff4 2>/dev/null; then
    cleanup_hooks+=("umount $WORK/bound.aff4")
    refused bound.bin bound.bin -o bound --force
    umount bound.aff4
  fi
fi

# The same commands with another output work.
run "$ACQUIRE" same.raw -o elsewhere --format raw -q
expect_rc 0
cmp -s same.raw elsewhere.raw || fail "acquisition to another name"
