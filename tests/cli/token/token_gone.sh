# A token that goes away while custody-acquire images (simulated by deleting the SoftHSM2 token's
# files under the running tool: its key handle becomes invalid) is a device error, 74. The
# acquisition is complete and kept; the message gives the image's SHA-256 and how to finish, and
# finishing that way, with the token back, gives an intact, sealed container.
source "$(dirname "$0")/../lib.sh"
SEAL="$CUSTODY_BIN/custody-seal"
make_token
examiner="$TOKEN;object=examiner-token;type=private"
cp -a token/tokens token-backup
head -c 2000000 /dev/urandom >src.bin
mkfifo source.fifo
"$ACQUIRE" source.fifo -o disk --seal-key "$examiner" --passphrase-file "$PIN" \
  >stdout 2>stderr &
acquire_pid=$!
exec 3>source.fifo
head -c 1000000 src.bin >&3
sleep 0.5
rm -rf token/tokens # the token is gone: the tool has logged in, the seal is still to come
tail -c +1000001 src.bin >&3
exec 3>&-
set +e
wait "$acquire_pid"
RC=$?
set -e
expect_rc 74
expect_stderr "the acquisition itself is complete and kept in disk.aff4 (image SHA-256 $(digest sha256 src.bin))"
expect_stderr "custody-log add disk.aff4 --action acquired --by-key"
grep -q "internal error\|Sanitizer" stderr && fail "internal error or sanitizer report"

# Finish by hand with the token back.
rm -rf token/tokens && cp -a token-backup token/tokens
run "$CUSTODY_BIN/custody-log" add disk.aff4 --action acquired --by-key "$examiner" \
  --passphrase-file "$PIN" --notes "recorded after the token failed at the end of the acquisition"
expect_rc 0
run "$SEAL" disk.aff4 --key "$examiner" --passphrase-file "$PIN"
expect_rc 0
run "$VERIFY" disk.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT: the image is unchanged since it was sealed by Token Examiner"
cmp -s <("$CUSTODY_BIN/custody-export" disk.aff4 -o - -q --no-record) src.bin ||
  fail "the image differs from the source"
