# custody-export --format asic-e: an ASiC-E (EN 319 162-1) with a CAdES B-T signature over its
# manifest, checked with stock tools (the mimetype at its fixed offsets, the manifest's digests,
# openssl cms and ts) and by custody-verify, which also verifies the container inside; a changed
# data object, an unlisted file and a B-B signature are caught; --without-images binds the image
# by its digests; a TSA that is down writes nothing; an output that is an input is refused.
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
make_identities
start_tsa normal
make_source src.bin 300000
"$ACQUIRE" src.bin -o disk1 -q
"$SEAL" disk1.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa "$TSA_URL" -q
signer=(--by-key keys/examiner.key --by-cert keys/examiner.pem --by-chain keys/ca.pem)
trusted=(--trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem)

run "$EXPORT" disk1.aff4 --format asic-e -o out.asice "${signer[@]}"
expect_rc 64
expect_stderr "CAdES B-T or better: give the TSA with --tsa"
[ ! -e out.asice ] || fail "an ASiC-E without a TSA was written"
run "$EXPORT" disk1.aff4 --format asic-e -o disk1.aff4 "${signer[@]}" --tsa "$TSA_URL" --force
expect_rc 73
cp disk1.aff4 before.aff4
run "$EXPORT" disk1.aff4 --format asic-e -o out.asice "${signer[@]}" --tsa "$TSA_URL" --json
expect_rc 0
expect_json custody-export-result
jq -e '.output_format == "asic-e" and .cades_level == "B-T" and (.data_objects | length) == 1
  and (.custody_events | length) == 1' stdout >/dev/null || fail "--json result"
[ "$(jq -r '.data_objects[0].sha256' stdout)" = "$(sha256sum before.aff4 | cut -d' ' -f1)" ] ||
  fail "the data object is not the container as it was"

# Stock: EN 319 162-1's fixed layout, the manifest's digests, the signature and its time-stamp.
python3 - out.asice <<'PY' || fail "the ASiC-E layout"
import base64, hashlib, struct, sys, zipfile, xml.etree.ElementTree as ET
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"PK\x03\x04", "no local header at 0"
method, = struct.unpack("<H", data[8:10]); name_len, extra_len = struct.unpack("<HH", data[26:30])
assert method == 0 and extra_len == 0 and data[30:38] == b"mimetype", "mimetype header"
assert data[38:38 + 31] == b"application/vnd.etsi.asic-e+zip", "mimetype content"
z = zipfile.ZipFile(sys.argv[1])
assert z.namelist()[0] == "mimetype"
assert all(i.compress_type == 0 for i in z.infolist()), "every entry stored"
ns = {"asic": "http://uri.etsi.org/02918/v1.2.1#", "ds": "http://www.w3.org/2000/09/xmldsig#"}
root = ET.fromstring(z.read("META-INF/ASiCManifest001.xml"))
assert root.find("asic:SigReference", ns).get("URI") == "META-INF/signature001.p7s"
refs = root.findall("asic:DataObjectReference", ns)
assert [r.get("URI") for r in refs] == ["disk1.aff4"], "data objects"
for r in refs:
    assert r.find("ds:DigestMethod", ns).get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#sha256"
    want = base64.b64decode(r.find("ds:DigestValue", ns).text)
    assert hashlib.sha256(z.read(r.get("URI"))).digest() == want, "digest of " + r.get("URI")
PY
mkdir stock && (cd stock && unzip -q ../out.asice 'META-INF/*')
openssl cms -verify -binary -inform DER -in stock/META-INF/signature001.p7s \
  -content stock/META-INF/ASiCManifest001.xml -CAfile keys/ca.pem -out /dev/null 2>/dev/null ||
  fail "openssl cms rejects the ASiC-E signature"
python3 "$CUSTODY_SOURCE_DIR/tests/support/cms_fields.py" stock/META-INF/signature001.p7s cms >cms.json
openssl ts -verify -data cms/signature-value.bin -in cms/timestamp-token.der -token_in \
  -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 || fail "openssl ts rejects the signature time-stamp"

run "$VERIFY" out.asice "${trusted[@]}"
expect_rc 0
expect_stdout "INTACT: ASiC-E container out.asice"
expect_stdout "PASS  disk1.aff4           INTACT: the image is unchanged since it was sealed"
expect_stdout "PASS  time                 CAdES B-T: existed at"

# A changed byte of the data object; a file the manifest does not list.
cp out.asice changed.asice
offset=$(python3 -c "import zipfile; i=zipfile.ZipFile('changed.asice').getinfo('disk1.aff4'); print(i.header_offset + 30 + len(i.filename) + 20 + 5000)")
flip_byte changed.asice "$offset"
run "$VERIFY" changed.asice "${trusted[@]}"
expect_rc 1
expect_stdout "is not the one the signed manifest lists: it was changed"
cp out.asice added.asice
python3 -c "import zipfile; zipfile.ZipFile('added.asice', 'a').writestr('extra.txt', 'planted')"
run "$VERIFY" added.asice "${trusted[@]}" --json
expect_rc 1
jq -e '.checks[] | select(.subject == "extra.txt") | .result == "fail"' stdout >/dev/null ||
  fail "an unlisted file was not caught"

# Without the images: the custody chain, the image bound by its digests.
run "$EXPORT" before.aff4 --format asic-e -o chain.asice "${signer[@]}" --tsa "$TSA_URL" \
  --without-images --no-record "${trusted[@]}"
expect_rc 0
unzip -p chain.asice before.aff4/court-report.html >report.html
grep -q 'INTACT' report.html || fail "the court report inside does not give the verdict"
grep -q 'NOT INTACT' report.html && fail "the court report inside says NOT INTACT"
run "$EXPORT" before.aff4 --format asic-e -o untrusted.asice "${signer[@]}" --tsa "$TSA_URL" \
  --without-images --no-record
expect_rc 0
expect_stderr "the court reports inside were made without --trust"
run "$EXPORT" before.aff4 --format asic-e -o images.asice "${signer[@]}" --tsa "$TSA_URL" \
  --no-record "${trusted[@]}"
expect_rc 64
expect_stderr "--trust and --tsa-trust are for the court reports of --without-images"
unzip -p chain.asice images.json >images.json
[ "$(jq -r '.containers[0].sha256' images.json)" = "$(sha256sum before.aff4 | cut -d' ' -f1)" ] ||
  fail "images.json does not bind the container by its SHA-256"
[ "$(jq -r '.containers[0].image_hashes.sha256' images.json)" = "$(sha256sum src.bin | cut -d' ' -f1)" ] ||
  fail "images.json does not carry the image's recorded SHA-256"
unzip -Z1 chain.asice >names.txt  # into a file: grep -q would end a pipe early (pipefail)
grep -qx 'before.aff4/custody/seal-1.p7s' names.txt || fail "the seal is not carried"
grep -qx 'before.aff4/case-uco.jsonld' names.txt || fail "no CASE/UCO"
grep -qx 'before.aff4/court-report.html' names.txt || fail "no court report"
run "$VERIFY" chain.asice "${trusted[@]}"
expect_rc 0

# A TSA that is down: nothing written, no partial file.
run "$EXPORT" disk1.aff4 --format asic-e -o down.asice "${signer[@]}" --tsa http://127.0.0.1:9/ \
  --tsa-timeout 2
expect_rc 74
expect_stderr "nothing was written"
ls down.asice* >left.txt 2>/dev/null || true
[ ! -s left.txt ] || fail "a failed export left a file: $(cat left.txt)"

# A link planted where the file being written could be (the name of an earlier version's partial
# file) never leads the export into the evidence: it used to truncate disk1.aff4 and copy it into
# itself without end.
before=$(sha256sum <disk1.aff4)
ln -s disk1.aff4 planted.asice.partial
run timeout 60 "$EXPORT" disk1.aff4 --format asic-e -o planted.asice "${signer[@]}" \
  --tsa "$TSA_URL" --no-record
expect_rc 0
[ "$(sha256sum <disk1.aff4)" = "$before" ] || fail "the export wrote into the evidence"
[ -L planted.asice.partial ] || fail "the planted link was touched"
exit 0
