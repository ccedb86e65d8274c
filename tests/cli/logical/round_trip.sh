#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Logical acquisition of a tree with odd names (space, newline, non-UTF-8 bytes, unicode), a hard
# link, symbolic links (one pointing outside), an empty file, a fifo and a 1 GiB sparse file:
# acquired, verified, listed, extracted back with content, mode and mtime; then one file's stored
# bytes are changed and custody-verify names that file.
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 missing"

mkdir -p tree/sub
printf 'hello' >"tree/a file.txt"
printf 'x' >"$(printf 'tree/new\nline')"
printf 'y' >"$(printf 'tree/bad\xff')"
echo unicode >tree/ネコ.txt
: >tree/empty
printf 'secret' >tree/sub/mode600 && chmod 600 tree/sub/mode600
touch -d '2001-02-03 04:05:06.123456789 UTC' tree/sub/mode600
ln "tree/a file.txt" tree/hard
ln -s "a file.txt" tree/sym
ln -s /etc/passwd tree/outside
mkfifo tree/fifo
truncate -s 1G tree/sparse
printf 'data in the middle' | dd of=tree/sparse bs=1 seek=500000000 conv=notrunc status=none

start=$(date +%s)
run "$ACQUIRE" --logical tree -o out --hash md5,sha256
expect_rc 0
expect_stdout "acquired 7 files"
[ $(($(date +%s) - start)) -lt 60 ] || fail "the sparse file was not fast"
[ "$(stat -c %s out.aff4)" -lt 1048576 ] || fail "the holes of the sparse file were stored"

run "$VERIFY" out.aff4
expect_rc 0
expect_stdout "VERIFIED"

run "$INFO" out.aff4
expect_rc 0
expect_stdout "tree/new%0Aline"
expect_stdout "tree/bad%FF"
expect_stdout "tree/ネコ.txt"
expect_stdout "tree/hard -> tree/a%20file.txt"
expect_stdout "(sparse)"
run "$INFO" --json out.aff4
expect_rc 0
jq -e '.files.entries | length == 13' stdout >/dev/null || fail "custody-info --json lists the entries"

run "$EXPORT" out.aff4 --files -o ex --no-record
expect_rc 0
expect_stderr "outside: symbolic link not recreated"
python3 - <<'PY' || fail "the extracted tree differs from the original"
import os, sys
for root, dirs, files in os.walk(b"tree"):
    for name in files:
        a = os.path.join(root, name); b = b"ex/" + a
        sa, sb = os.lstat(a), os.lstat(b) if os.path.lexists(b) else None
        if name == b"outside":
            assert sb is None, "outside link recreated"; continue
        assert sb is not None, a
        if os.path.islink(a):
            assert os.readlink(a) == os.readlink(b), a; continue
        assert (sa.st_mode & 0o7777) == (sb.st_mode & 0o7777), (a, oct(sa.st_mode), oct(sb.st_mode))
        assert sa.st_mtime_ns == sb.st_mtime_ns, a
        if os.path.isfile(a):
            assert open(a, "rb").read() == open(b, "rb").read(), a
assert os.stat(b"ex/tree/hard").st_ino == os.stat(b"ex/tree/a file.txt").st_ino, "hard link"
assert os.stat(b"ex/tree/sparse").st_blocks < 1024, "the extracted sparse file is not sparse"
PY

# Change one byte of one file's stored content: verify fails and names the file.
python3 - <<'PY'
import struct, zipfile
z = zipfile.ZipFile("out.aff4")
info = z.getinfo("tree/a%20file.txt")
with open("out.aff4", "r+b") as f:
    f.seek(info.header_offset + 26)
    name_length, extra_length = struct.unpack("<HH", f.read(4))
    at = info.header_offset + 30 + name_length + extra_length
    f.seek(at); byte = f.read(1); f.seek(at); f.write(bytes([byte[0] ^ 0x20]))
PY
run "$VERIFY" out.aff4
expect_rc 1
expect_stdout "FAILED"
expect_stdout "tree/a%20file.txt"
expect_stdout "CHANGED since acquisition"
echo "PASS"
