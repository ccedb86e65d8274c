# Crafted archives (path traversal, an absolute path, a symbolic link) are refused by
# custody-receive, and nothing is written outside or left behind.
source "$(dirname "$0")/../lib.sh"
RECEIVE="$CUSTODY_BIN/custody-receive"
command -v python3 >/dev/null || skip "python3 missing"
make_identities
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
python3 - <<'PY'
import io, tarfile
def bag(name, extra):
    with tarfile.open(name, "w", format=tarfile.PAX_FORMAT) as tar:
        def add(path, data):
            info = tarfile.TarInfo(path); info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("bag/bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        extra(tar, add)
bag("traversal.tar", lambda tar, add: add("bag/../../escaped.txt", b"x"))
bag("absolute.tar", lambda tar, add: add("/tmp/custody-absolute-test.txt", b"x"))
def link(tar, add):
    info = tarfile.TarInfo("bag/data/passwd"); info.type = tarfile.SYMTYPE; info.linkname = "/etc/passwd"
    tar.addfile(info)
bag("symlink.tar", link)
PY
for archive in traversal absolute symlink; do
  run "$RECEIVE" "$archive.tar" -o "out-$archive" "${receiver[@]}"
  expect_rc 1
  expect_stdout "refused"
  [ ! -e "out-$archive" ] || fail "$archive: released"
done
[ ! -e ../escaped.txt ] && [ ! -e /tmp/custody-absolute-test.txt ] || fail "a file escaped"
! ls -d .custody-receive-* 2>/dev/null || fail "a temporary directory was left behind"
