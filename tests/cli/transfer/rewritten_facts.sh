# The transfer facts cannot be rewritten: a package whose Legal-Basis (bag-info.txt and
# custody/transfer.json) was edited, its tag manifests rebuilt and signed again, by another holder
# of a certificate of the same CA or by the sender itself, is rejected: its signer must be the
# signer of every item's "packaged" event (or one allowed with --allow-signer, which accepts a
# package signed again but never other facts), and its facts those the events recorded. The facts are
# shown in the output of custody-receive and custody-verify, and in their JSON. (Such a package
# was once RECEIVED.)
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 300000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$PACK" disk1.aff4 -o bag --key keys/examiner.key --cert keys/examiner.pem \
  --sending-authority 'BKA Wiesbaden' --receiving-authority 'Parquet de Paris' \
  --requested-state DE --requesting-state FR --legal-basis EIO --reference EIO-2026-17 \
  --purpose 'criminal proceedings 17/26' --use-limits 'only for proceedings 17/26' -q
receiver=(--key keys/other-examiner.key --cert keys/other-examiner.pem --trust keys/ca.pem)

# rewrite COPY KEY CERT [BASIS]: Legal-Basis becomes BASIS ("court order"), the tag manifests are
# rebuilt and signed with KEY/CERT, and the statement names CERT as the sender.
rewrite() {
  local copy=$1 key=$2 cert=$3 basis=${4:-court order} fingerprint subject
  cp -r bag "$copy"
  fingerprint=$(openssl x509 -in "$cert" -outform DER | sha256sum | cut -d' ' -f1)
  subject=$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
  (
    cd "$copy"
    sed -i "s/^Legal-Basis: EIO\$/Legal-Basis: $basis/" bag-info.txt
    jq -cj --arg f "$fingerprint" --arg s "$subject" --arg b "$basis" \
      '.facts.legal_basis = $b | .sender.sha256_fingerprint = $f | .sender.subject = $s' \
      custody/transfer.json >t.json && mv t.json custody/transfer.json
    cut -d' ' -f3- tagmanifest-sha256.txt >names
    while read -r name; do sha256sum "$name"; done <names >tagmanifest-sha256.txt.new
    while read -r name; do sha512sum "$name"; done <names >tagmanifest-sha512.txt
    mv tagmanifest-sha256.txt.new tagmanifest-sha256.txt && rm names
    openssl cms -sign -binary -outform DER -md sha256 -signer "../$cert" -inkey "../$key" \
      -in tagmanifest-sha256.txt -out custody/tagmanifest-sha256.txt.p7s
  ) || fail "could not rewrite $copy"
}

# Another holder of a certificate of the same CA.
rewrite witness keys/witness.key keys/witness.pem
(cd witness && sha256sum -c --quiet tagmanifest-sha256.txt && openssl cms -verify -binary \
  -inform DER -in custody/tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt \
  -CAfile ../keys/ca.pem -out /dev/null 2>/dev/null) || fail "the rewritten bag is not consistent"
run "$RECEIVE" witness -o w "${receiver[@]}"
expect_rc 1
expect_stdout "REJECTED"
expect_stdout "the package was signed again by someone who did not pack it"
expect_stdout "the legal basis differs: custody/transfer.json says \"court order\""
expect_stdout "as the package states them (NOT confirmed: see the checks)"
[ ! -e w ] || fail "a package signed again by another signer was released"
run "$VERIFY" witness --trust keys/ca.pem
expect_rc 1
expect_stdout "NOT INTACT"
expect_stdout "signed again by someone who did not pack it"

# Allowing that signer explicitly does not allow other facts.
run "$RECEIVE" witness -o w "${receiver[@]}" --allow-signer keys/witness.pem
expect_rc 1
expect_stdout "the legal basis differs"
[ ! -e w ] || fail "rewritten facts were released with --allow-signer"
# Signed again with the same facts: refused, unless that signer is allowed explicitly.
rewrite forwarded keys/witness.key keys/witness.pem EIO
run "$RECEIVE" forwarded -o f "${receiver[@]}"
expect_rc 1
expect_stdout "signed again by someone who did not pack it"
run "$VERIFY" forwarded --trust keys/ca.pem --allow-signer keys/witness.pem
expect_rc 0
expect_stdout "accepted with --allow-signer"
run "$RECEIVE" forwarded -o f "${receiver[@]}" --allow-signer keys/witness.pem
expect_rc 0
expect_stdout "WARN  sender"
expect_stdout "who did not pack data/disk1.aff4"
run "$RECEIVE" forwarded -o f2 "${receiver[@]}" --allow-signer keys/witness.key
expect_rc 64
expect_stderr "holds no certificate"

# The sender itself, after packing: the events it signed then still say EIO.
rewrite self keys/examiner.key keys/examiner.pem
run "$RECEIVE" self -o s "${receiver[@]}"
expect_rc 1
expect_stdout "the legal basis differs"
[ ! -e s ] || fail "a package with rewritten facts was released"
run "$RECEIVE" self -o s "${receiver[@]}" --json
expect_rc 1
jq -e '.verdict == "REJECTED" and (.facts_confirmed | not) and .facts.legal_basis == "court order"
  and any(.checks[]; .subject == "facts" and .result == "fail")' stdout >/dev/null ||
  fail "the JSON does not show the rejected facts"

# The facts, confirmed, in the output and the JSON.
run "$RECEIVE" bag -o good "${receiver[@]}"
expect_rc 0
expect_stdout "PASS  facts"
expect_stdout "as signed by the sender and recorded in every item's \"packaged\" event"
expect_stdout "legal basis          EIO"
expect_stdout "reference            EIO-2026-17"
expect_stdout "use limits           only for proceedings 17/26"
expect_stdout "requesting state     FR"
run "$VERIFY" bag --trust keys/ca.pem --json
expect_rc 0
jq -e '.facts_confirmed and .facts.legal_basis == "EIO" and .facts.sending_authority ==
  "BKA Wiesbaden" and .facts.purpose == "criminal proceedings 17/26"' stdout >/dev/null ||
  fail "the JSON of custody-verify lacks the facts"

# bag-info.txt alone, against a statement that was left as it was, is caught too.
cp -r bag info
sed -i 's/^Purpose: .*/Purpose: anything/' info/bag-info.txt
run "$RECEIVE" info -o i "${receiver[@]}"
expect_rc 1
expect_stdout "REJECTED"
