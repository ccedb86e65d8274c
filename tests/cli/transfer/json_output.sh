# --json prints exactly one JSON document on stdout in every outcome: custody-pack (success, also
# for a container whose name needs escaping, and errors), custody-receive (received, rejected,
# errors, usage errors) and custody-verify of a package (intact, not intact, errors). Each result
# document has its documented format and version; errors are custody-error documents with the
# exit code. (custody-receive --json printed text, custody-verify --json of a package too, and
# custody-pack wrote a name with a quote unescaped.)
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 200000
"$ACQUIRE" a.bin -o 'disk "1"' -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem --sending-authority 'BKA "Wiesbaden"'
  --legal-basis EIO --reference EIO-1)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)

# one_json JQ-FILTER: stdout is exactly one JSON document, and JQ-FILTER holds for it.
one_json() {
  [ "$(jq -s 'length' "$WORK/stdout" 2>/dev/null)" = 1 ] || fail "stdout is not one JSON document"
  jq -e "$1" "$WORK/stdout" >/dev/null || fail "the JSON document fails: $1"
}
error_json() { # EXIT-CODE: a custody-error document with that exit code
  one_json ".format == \"custody-error\" and .version == 1 and .exit_code == $1"
}

run "$PACK" 'disk "1".aff4' -o transfer.tar "${sender[@]}" --json
expect_rc 0
one_json '.format == "custody-pack-result" and .version == 1 and .items[0].payload ==
  "data/disk \"1\".aff4" and .facts.sending_authority == "BKA \"Wiesbaden\"" and
  (.items[0].sha256 | length) == 64 and .files == ["transfer.tar"] and .sender.subject != null'
run "$PACK" missing.aff4 -o x.tar "${sender[@]}" --json
expect_rc 66
error_json 66
run "$PACK" 'disk "1".aff4' -o y.tar --key keys/nothere.key --cert keys/examiner.pem --json
expect_rc 66
error_json 66
run "$PACK" 'disk "1".aff4' -o y.tar --key keys/witness.key --cert keys/examiner.pem --json
expect_rc 64
error_json 64
run "$PACK" 'disk "1".aff4' -o y.tar "${sender[@]}" --requested-state GER --json
expect_rc 64
error_json 64
run "$PACK" 'disk "1".aff4' -o transfer.tar "${sender[@]}" --json
expect_rc 73
error_json 73
run "$PACK" --json --no-such-option
expect_rc 64
error_json 64

run "$RECEIVE" transfer.tar -o got "${receiver[@]}" --json
expect_rc 0
one_json '.format == "custody-receive-result" and .version == 1 and .verdict == "RECEIVED" and
  .received and .output == "got" and .receipt.path == "got.receipt.json" and
  .receipt.signature == "got.receipt.json.p7s" and .facts_confirmed and
  .items[0].received_event > 0 and .items[0].path == "got/data/disk \"1\".aff4" and
  all(.checks[]; .result != "fail")'
mkdir bad && tar xf transfer.tar -C bad && echo extra >bad/transfer/NOTE.txt
run "$RECEIVE" bad/transfer -o rejected "${receiver[@]}" --json
expect_rc 1
one_json '.verdict == "REJECTED" and (.received | not) and .output == null and .receipt == null and
  any(.checks[]; .subject == "NOTE.txt" and .result == "fail")'
run "$RECEIVE" nothere.tar -o r2 "${receiver[@]}" --json
expect_rc 66
error_json 66
run "$RECEIVE" transfer.tar -o r3 --key keys/witness.key --cert keys/examiner.pem \
  --trust keys/ca.pem --json
expect_rc 64
error_json 64
run "$RECEIVE" transfer.tar -o got "${receiver[@]}" --json
expect_rc 73
error_json 73
run "$RECEIVE" transfer.tar --json
expect_rc 64
error_json 64

run "$VERIFY" transfer.tar --trust keys/ca.pem --json
expect_rc 0
one_json '.format == "custody-package-verification" and .version == 1 and .verdict == "INTACT" and
  .intact and (.received_bag | not) and .package == "transfer.tar" and .facts_confirmed'
run "$VERIFY" bad/transfer --trust keys/ca.pem --json
expect_rc 1
one_json '.verdict == "NOT INTACT" and (.intact | not)'
run "$VERIFY" got --trust keys/ca.pem --json
expect_rc 0
one_json '.verdict == "INTACT" and .received_bag'
run "$VERIFY" nothere.tar --trust keys/ca.pem --json
expect_rc 66
error_json 66
"$PACK" 'disk "1".aff4' -o sealed.tar "${sender[@]}" --encrypt-to keys/witness.pem -q
run "$VERIFY" sealed.tar.enc.json --trust keys/ca.pem --key keys/other-examiner.key \
  --cert keys/other-examiner.pem --json
expect_rc 64
error_json 64
run "$VERIFY" sealed.tar.enc.json --trust keys/ca.pem --key keys/witness.key \
  --cert keys/witness.pem --json
expect_rc 0
one_json '.verdict == "INTACT"'
run "$VERIFY" transfer.tar --trust keys/ca.pem --report r.html --json
expect_rc 64
error_json 64
[ ! -e r.html ] || fail "a court report was written for a package"
run "$VERIFY" transfer.tar --trust keys/witness.key --json
expect_rc 64
error_json 64
