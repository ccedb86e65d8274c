# A token key that cannot be used is a clear usage error (64), or a device error (74) when no
# such token is present, with the next step; nothing is appended to the container, and --json
# gives the error document. The test token's private keys were generated on it and cannot be
# read out.
source "$(dirname "$0")/../lib.sh"
SEAL="$CUSTODY_BIN/custody-seal"
make_token
make_source src.bin 100000
"$ACQUIRE" src.bin -o disk -q
before=$(digest sha256 disk.aff4)
examiner="$TOKEN;object=examiner-token;type=private"
printf '9999\n' >wrong-pin.txt
chmod 600 wrong-pin.txt

# refused RC STDERR-TEXT SEAL-ARGUMENTS...: custody-seal fails with RC, says STDERR-TEXT, leaves
# the container as it was, and says the same in --json.
refused() {
  local rc=$1 text=$2
  shift 2
  run "$SEAL" disk.aff4 "$@"
  expect_rc "$rc"
  expect_stderr "$text"
  [ "$(digest sha256 disk.aff4)" = "$before" ] || fail "the container changed: $*"
  run "$SEAL" disk.aff4 "$@" --json
  expect_rc "$rc"
  expect_json custody-error
}

refused 64 "the PIN does not open token 'custody-test'" --key "$examiner" \
  --passphrase-file wrong-pin.txt
refused 64 "token 'custody-test' needs its PIN" --key "$examiner" </dev/null
refused 64 "(pin-value) would show in \`ps\`" --key "$examiner?pin-value=1234"
refused 64 "'objekt' is not an attribute RFC 7512 defines" \
  --key "$TOKEN;objekt=examiner-token" --passphrase-file "$PIN"
refused 64 "no private key on token 'custody-test' matches" \
  --key "$TOKEN;object=no-such-key" --passphrase-file "$PIN"
refused 64 "names a certificate (type=cert)" \
  --key "$TOKEN;object=examiner-token;type=cert" --passphrase-file "$PIN"
refused 64 "matches 7 private keys" --key "$TOKEN;type=private" --passphrase-file "$PIN"
refused 64 "the token holds no certificate for its private key 'no-certificate'" \
  --key "$TOKEN;object=no-certificate" --passphrase-file "$PIN"
refused 64 "does not match the certificate of C=DE,O=Custody Test Lab,CN=Test Examiner" \
  --key "$examiner" --cert keys/examiner.pem --passphrase-file "$PIN"
refused 64 "cannot use the PKCS#11 module $WORK/none.so: the file does not exist" \
  --key "$examiner" --pkcs11-module "$WORK/none.so" --passphrase-file "$PIN"
refused 64 "it is not a PKCS#11 module" --key "$examiner?module-path=$(ldconfig -p |
  awk '/libz\.so\.1 /{print $NF; exit}')" --passphrase-file "$PIN"
refused 74 "no token that pkcs11:token=absent;object=x names is present" \
  --key "pkcs11:token=absent;object=x" --passphrase-file "$PIN"
# The other tools refuse the same way, before they do anything.
run "$CUSTODY_BIN/custody-log" add disk.aff4 --action transferred --by-key "$examiner" \
  --passphrase-file wrong-pin.txt
expect_rc 64
expect_stderr "the PIN does not open"
[ "$(digest sha256 disk.aff4)" = "$before" ] || fail "custody-log add changed the container"

# The private keys cannot leave the token: never extractable, always sensitive, and reading one
# out is refused.
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label custody-test --list-objects --login \
  --pin 1234 >objects.txt 2>&1 || true
[ "$(grep -c '^Private Key Object' objects.txt)" -eq 7 ] || {
  cat objects.txt
  fail "expected 7 private keys on the token"
}
[ "$(grep -c 'sensitive, always sensitive, never extractable' objects.txt)" -eq 7 ] ||
  fail "a private key on the token is extractable"
if pkcs11-tool --module "$SOFTHSM_MODULE" --token-label custody-test --login --pin 1234 \
  --read-object --type privkey --id 01 --output-file key.der >/dev/null 2>&1 && [ -s key.der ]; then
  fail "the token gave out a private key"
fi

# A locked token. SoftHSM 2.6 never locks a PIN itself (it only sets "count low"), but honours
# the lock flag a real token sets after too many wrong PINs: set that flag in its token file.
python3 - token/tokens/*/token.object <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
# The token-flags attribute: type CKA_VENDOR_DEFINED + "SK", kind 2 (an unsigned long, big-endian).
marker = bytes.fromhex("0000000080005 34b".replace(" ", "")) + struct.pack(">Q", 2)
at = data.find(marker)
if at < 0:
    sys.exit("no token flags in " + path)
at += len(marker)
flags = struct.unpack(">Q", data[at:at + 8])[0] | 0x40000  # CKF_USER_PIN_LOCKED
data[at:at + 8] = struct.pack(">Q", flags)
open(path, "wb").write(data)
PY
refused 64 "token 'custody-test' is locked: too many wrong PINs" --key "$examiner" \
  --passphrase-file "$PIN"
expect_stderr "--init-pin --login --login-type so"

