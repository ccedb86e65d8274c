# custody-seal --renew on a received transfer package: each container gets an archive time-stamp
# that states the package's tag files too, so the sender's signature stays proven after the
# sender's certificate is revoked (or its own token's TSA can no longer be trusted); the received
# bag still verifies; a package file (which cannot grow) and a bag nobody received are refused.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
start_tsa normal
start_revocation_pki
make_identities
make_source src.bin 100000
cp src.bin other.bin
"$ACQUIRE" src.bin -o img -q
"$ACQUIRE" other.bin -o other -q
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
facts=(--sending-authority BKA --legal-basis EIO --reference EIO-2026-7)
checks=(--trust pki/ca.pem --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem)

# A sender whose signature has no time-stamp of its own (B-B, no token).
for name in img other; do
  run "$PACK" "$name.aff4" -o "$name.tar" --key pki/revoked-later.key \
    --cert pki/revoked-later.pem --chain pki/ca.pem "${facts[@]}"
  expect_rc 0
  run "$RECEIVE" "$name.tar" -o "recv-$name" --key keys/witness.key --cert keys/witness.pem \
    "${checks[@]}"
  expect_rc 0
done

# --- Refused: a package file, and a bag directory nobody received. ---
before=$(sha256sum <img.tar)
run "$SEAL" img.tar --renew --tsa "$TSA_URL" --key keys/witness.key --cert keys/witness.pem
expect_rc 64
expect_stderr "is a package file, which cannot grow without breaking the sender's signature"
expect_stderr "receive it (custody-receive), then renew the directory"
[ "$(sha256sum <img.tar)" = "$before" ] || fail "the refused package file changed"
run "$SEAL" img.tar --renew --tsa "$TSA_URL" --key keys/witness.key --cert keys/witness.pem --json
expect_rc 64
expect_json custody-error
mkdir unreceived
tar -xf img.tar -C unreceived
bag=$(find unreceived -name bagit.txt -printf '%h\n')
run "$SEAL" "$bag" --renew --tsa "$TSA_URL" --key keys/witness.key --cert keys/witness.pem
expect_rc 64
expect_stderr "holds no \"received\" event of package"

# --- Renewal of the received bag. ---
run "$SEAL" recv-img --renew --tsa "$TSA_URL" --key keys/witness.key --cert keys/witness.pem
expect_rc 0
expect_stdout "renewed recv-img/data/img.aff4 (archive time-stamp 1)"
expect_stdout "and the package's tag files (the sender's signature and its token)"
unzip -p recv-img/data/img.aff4 custody/archive-1.json >archive.json
[ "$(jq -r '.package.files[] | select(.name == "custody/tagmanifest-sha256.txt.p7s") | .sha256' \
  archive.json)" = "$(sha256sum <recv-img/custody/tagmanifest-sha256.txt.p7s | cut -d' ' -f1)" ] ||
  fail "the archive manifest does not state the sender's signature: $(cat archive.json)"
openssl ts -verify -data archive.json -in <(unzip -p recv-img/data/img.aff4 custody/archive-1.tsr) \
  -token_in -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 || fail "openssl ts rejects the renewal"
last=$(unzip -l recv-img/data/img.aff4 | grep -o 'custody/log/event-[0-9]*\.json' | sort -V | tail -1)
unzip -p recv-img/data/img.aff4 "$last" | jq -e '.action == "renewed" and
  (.details.package_id | startswith("urn:uuid:"))' >/dev/null || fail "no 'renewed' event naming the package"
run "$SEAL" recv-img --renew --tsa "$TSA_URL" --key keys/witness.key --cert keys/witness.pem --json
expect_rc 0
expect_json custody-seal-renew-package-result
jq -e '.containers | length == 1 and .[0].archive == 2' stdout >/dev/null ||
  fail "--json: the renewals: $(cat stdout)"

# --- The sender revoked later: the renewed package passes, naming the renewal; the other fails. ---
sleep 1.1
revoke_signer revoked-later
run "$VERIFY" recv-img "${checks[@]}" --online
expect_rc 0
expect_stdout "INTACT: received transfer package recv-img"
expect_stdout "archive time-stamp 1 in data/img.aff4"
expect_stdout "(the package has no token of its own; proven by archive time-stamp 1 in data/img.aff4"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
run "$VERIFY" recv-other "${checks[@]}" --online
expect_rc 1
expect_stdout "the sender's certificate was revoked on"
expect_stdout "INDETERMINATE/REVOKED_NO_POE"
exit 0
