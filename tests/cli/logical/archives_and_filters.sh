#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A provider's disclosure as a zip and as a tar.gz: every file is listed with its hashes, the
# archive's own hash is recorded; filters leave files out and the record counts them.
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 missing"

python3 - <<'PY'
import tarfile, zipfile, io, time
with zipfile.ZipFile("disclosure.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("account/profile.json", '{"user": "x"}')
    z.writestr("account/messages/2024-01.txt", "old message\n")
    z.writestr("account/photos/ネコ.jpg", b"\xff\xd8" + bytes(5000))
    z.writestr("../evil.txt", "climbing")
with tarfile.open("disclosure.tar.gz", "w:gz") as t:
    for name, data, mtime in [("mail/a.eml", b"From: a\n", 1000000000),
                              ("mail/b.eml", b"From: b\n", 1700000000),
                              ("mail/tmp/c.tmp", b"scratch", 1700000000)]:
        info = tarfile.TarInfo(name); info.size = len(data); info.mtime = mtime
        t.addfile(info, io.BytesIO(data))
PY

run "$ACQUIRE" --logical disclosure.zip disclosure.tar.gz -o out --hash sha256
expect_rc 0
expect_stdout "acquired 7 files"
expect_stdout "$(digest sha256 disclosure.zip)"
expect_stdout "$(digest sha256 disclosure.tar.gz)"
run "$INFO" out.aff4
expect_stdout "disclosure.zip/account/photos/ネコ.jpg"
expect_stdout "disclosure.zip/%2E%2E/evil.txt"
expect_stdout "$(printf '{"user": "x"}' | sha256sum | cut -d' ' -f1)"
run "$VERIFY" out.aff4
expect_rc 0
run "$EXPORT" out.aff4 --files -o ex --no-record
expect_rc 0
[ -f "ex/disclosure.zip/%2E%2E/evil.txt" ] || fail "the '..' entry was not kept inside the output"
[ ! -e evil.txt ] && [ ! -e ex/evil.txt ] || fail "an archive entry climbed out"
cmp -s ex/disclosure.tar.gz/mail/b.eml <(printf 'From: b\n') || fail "b.eml differs"

# Filters: what is left out is counted in the record.
run "$ACQUIRE" --logical disclosure.tar.gz -o filtered --hash sha256 --exclude tmp \
  --newer-than 2020-01-01
expect_rc 0
expect_stdout "acquired 1 files"
unzip -p filtered.aff4 custody/acquisition.json >record.json
[ "$(jq .logical.excluded.older record.json)" = 1 ] || fail "older file not counted"
[ "$(jq .logical.excluded.excluded record.json)" = 1 ] || fail "excluded file not counted"
[ "$(jq -r '.logical.filters.exclude[0]' record.json)" = tmp ] || fail "filter not recorded"
[ "$(jq -r '.logical.filters.newer_than' record.json)" = 2020-01-01 ] || fail "date not recorded"
run "$ACQUIRE" --logical disclosure.zip -o included --include '*.json'
expect_rc 0
expect_stdout "acquired 1 files"
run "$ACQUIRE" --logical disclosure.zip -o bad --newer-than yesterday
expect_rc 64
expect_error_line
echo "PASS"
