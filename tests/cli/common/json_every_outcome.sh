# --json: every tool prints exactly one JSON document on stdout in every outcome: its result, a
# failed verification, and every error (missing file, usage mistake, bad key, refused output),
# as a custody-error document carrying the exit status. (export printed text, log prove/head with
# -o printed nothing, a missing file gave an empty stdout.) Packages: tests/cli/transfer.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 300000

# acquire: the record; an error; a usage mistake (with a suggestion on stderr).
run "$ACQUIRE" src.bin -o c --json --seal-key keys/examiner.key --seal-cert keys/examiner.pem
expect_rc 0
expect_json custody-acquisition
run "$ACQUIRE" missing.bin -o m --json
expect_rc 66
expect_json custody-error
run "$ACQUIRE" src.bin -o c2 --json --hahs sha256
expect_rc 64
expect_json custody-error
expect_stderr "did you mean --hash?"
run "$ACQUIRE" src.bin -o c --json
expect_rc 73
expect_json custody-error
run "$ACQUIRE" src.bin -o e --json --seal-key keys/expired.key --seal-cert keys/expired.pem
expect_rc 64
expect_json custody-error

# info
run "$INFO" c.aff4 --json
expect_rc 0
expect_json custody-container-info
run "$INFO" missing.aff4 --json
expect_rc 66
expect_json custody-error
mkdir folder
run "$INFO" folder --json
[ "$RC" -ne 0 ] || fail "a directory is not evidence"
expect_json custody-error

# verify: intact, failed, errors, a trust file that is not a certificate.
run "$VERIFY" c.aff4 --json --trust keys/ca.pem
expect_rc 0
expect_json custody-verification
cp c.aff4 broken.aff4
flip_byte broken.aff4 5000
run "$VERIFY" broken.aff4 --json
expect_rc 1
expect_json custody-verification
run "$VERIFY" missing.aff4 --json
expect_rc 66
expect_json custody-error
run "$VERIFY" c.aff4 --json --trust keys/examiner.key
expect_rc 64
expect_json custody-error
expect_stderr "is not a certificate file"
if grep -q "PEM routines\|error:0" stderr; then fail "an OpenSSL error dump reached the user"; fi
run "$VERIFY" c.aff4 --json --report c.aff4 --force
expect_rc 73
expect_json custody-error

# export: the result, a mismatch, errors.
run "$EXPORT" c.aff4 -o out.raw --json
expect_rc 0
expect_json custody-export-result
jq -e '.bytes == 300000 and .matches_record == true and .custody_event > 0' stdout >/dev/null ||
  fail "export result document"
run "$EXPORT" c.aff4 -o - --json
expect_rc 64
expect_json custody-error
run "$EXPORT" missing.aff4 -o x.raw --json
expect_rc 66
expect_json custody-error
run "$EXPORT" c.aff4 --case-uco chain.jsonld --json
expect_rc 0
expect_json custody-export-result

# seal: the result; a wrong passphrase; an offline timestamp attached.
run "$SEAL" c.aff4 --key keys/witness.key --cert keys/witness.pem --json
expect_rc 0
expect_json custody-seal-result
printf 'wrong\n' >wrong.txt
chmod 600 wrong.txt
run "$SEAL" c.aff4 --key keys/examiner-encrypted.key --cert keys/examiner.pem \
  --passphrase-file wrong.txt --json
expect_rc 64
expect_json custody-error
run "$SEAL" c.aff4 --add-timestamp missing.tsr --json
[ "$RC" -ne 0 ] || fail "attaching a missing reply"
expect_json custody-error

# log: every subcommand.
run "$LOG" add c.aff4 --action transferred --by-key keys/examiner.key --by-cert keys/examiner.pem --json
expect_rc 0
expect_json custody-log-added
run "$LOG" show c.aff4 --json
expect_rc 0
expect_json custody-log-listing
run "$LOG" verify c.aff4 --trust keys/ca.pem --json
expect_rc 0
expect_json custody-log-verification
run "$LOG" prove c.aff4 --event 1 -o e1.proof.json --json
expect_rc 0
expect_json custody-log-written
run "$LOG" head c.aff4 -o head.json --json
expect_rc 0
expect_json custody-log-written
run "$LOG" check-proof e1.proof.json --trust keys/ca.pem --json
expect_rc 0
expect_json custody-proof-check
run "$LOG" prove c.aff4 --event 1 -o e1.proof.json --json
expect_rc 73
expect_json custody-error
run "$LOG" show missing.aff4 --json
expect_rc 66
expect_json custody-error
run "$LOG" shwo c.aff4 --json
expect_rc 64
expect_json custody-error
expect_stderr "did you mean show?"
