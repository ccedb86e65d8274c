# The default output is an AFF4 container: every compression round-trips byte for byte, zero
# chunks are not stored, ZIP tools accept the volume, and the hashes match coreutils.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 5000001   # not a multiple of the chunk size, with a 1 MiB zero run
for method in snappy lz4 deflate none; do
  run "$ACQUIRE" src.bin -o "img-$method" --compression "$method" --case C1 --examiner "J. Doe"
  expect_rc 0
  expect_stdout "container img-$method.aff4"
  [ -f "img-$method.aff4" ] || fail "no container for $method"
  unzip -tq "img-$method.aff4" >/dev/null || fail "unzip -t rejects the $method container"
  python3 -c "import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)" \
    "img-$method.aff4" || fail "python zipfile rejects the $method container"
  "$EXPORT" "img-$method.aff4" -o - -q | cmp -s - src.bin || fail "$method export differs"
  run "$VERIFY" "img-$method.aff4"
  expect_rc 0
  expect_stdout "VERIFIED: img-$method.aff4 matches its acquisition record"
  expect_stdout "$(digest sha256 src.bin)  ok"
done
"$INFO" --json img-snappy.aff4 >info.json
jq -e '.size == 5000001 and .streams[0].compression == "snappy" and .streams[0].chunk_size == 32768' \
  info.json >/dev/null || fail "container info"
jq -e '.map.zero_bytes == 1048576' info.json >/dev/null || fail "the zero run should be mapped to aff4:Zero"
jq -e '.record.hashes.md5 == "'"$(digest md5 src.bin)"'"' info.json >/dev/null || fail "record md5"
jq -e '.linear_hashes.sha1 == "'"$(digest sha1 src.bin)"'"' info.json >/dev/null || fail "turtle sha1"
jq -e '[.case_metadata[] | select(.type == "CaseNotes") | .fields.examiner][0] == "J. Doe"' \
  info.json >/dev/null || fail "case metadata in the turtle"
