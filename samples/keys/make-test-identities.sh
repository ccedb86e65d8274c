#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes TEST-ONLY signing identities in DIR with stock openssl commands: a test CA, examiner and
# witness keys with certificates, an encrypted key, a PKCS#12 file, and certificates that are
# expired, not yet valid or issued by an unrelated CA. README.md beside this script describes
# each file. NEVER use these identities for real evidence: the keys are not secret.
#   usage: make-test-identities.sh DIR
# The commands double as the recipe for a lab without PKI, so they are written out plainly.
set -euo pipefail
dir=${1:?usage: make-test-identities.sh DIR}
mkdir -p -- "$dir"
cd -- "$dir"

# Private keys must never be readable by others, not even between creation and chmod.
umask 077

# Scratch space for the extension profiles, requests and openssl ca's database: DIR only gets
# the identities.
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# Runs a command whose success chatter ("Signature ok", "Using configuration from ...") would
# clutter the output; shows that output only if the command fails.
quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
}

# Idempotent: the files of an earlier run are replaced (and only those; DIR may hold more).
rm -f -- ca.key ca.pem examiner.key examiner.pem examiner-encrypted.key passphrase.txt \
  examiner.p12 witness.key witness.pem examiner-p384.key examiner-p384.pem expired.key \
  expired.pem not-yet-valid.key not-yet-valid.pem other-ca.key other-ca.pem other-examiner.key \
  other-examiner.pem no-signing.key no-signing.pem

# Certificate profiles. A CA certifies keys; a signer certificate signs (digitalSignature) and
# carries emailProtection, the extended key usage that CMS signature checks accept.
cat >"$work/extensions.cnf" <<'EOF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[signer]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[no_signing]
basicConstraints = critical, CA:false
keyUsage = critical, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# --- The test CA: an ECDSA P-256 key and a self-signed CA certificate (10 years). ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl req -new -x509 -key ca.key -subj "/CN=Custody Test CA/O=Custody Test Lab/C=DE" \
  -days 3650 -sha256 -config "$work/extensions.cnf" -extensions ca -out ca.pem

# Issues a signer certificate for KEY with SUBJECT from the test CA (2 years): a certificate
# request, then the CA signs it with the signer profile.
#   issue KEY CERT SUBJECT [CA_CERT CA_KEY]
issue() {
  local key=$1 cert=$2 subject=$3 ca_cert=${4:-ca.pem} ca_key=${5:-ca.key}
  openssl req -new -key "$key" -subj "$subject" -out "$work/request.csr"
  quietly openssl x509 -req -in "$work/request.csr" -CA "$ca_cert" -CAkey "$ca_key" \
    -days 730 -sha256 -extfile "$work/extensions.cnf" -extensions signer -out "$cert"
}

# --- The examiner: ECDSA P-256, certified by the test CA. ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out examiner.key
issue examiner.key examiner.pem "/CN=Test Examiner/O=Custody Test Lab/C=DE"

# --- A witness: RSA 3072, certified by the test CA. ---
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out witness.key
issue witness.key witness.pem "/CN=Test Witness/O=Custody Test Lab/C=DE"

# --- The examiner key encrypted with a passphrase (AES-256), and the passphrase in a file. ---
printf '%s\n' 'correct horse' >passphrase.txt
openssl pkey -in examiner.key -aes256 -passout file:passphrase.txt -out examiner-encrypted.key

# --- The examiner identity as PKCS#12: key, certificate and the CA certificate. ---
openssl pkcs12 -export -inkey examiner.key -in examiner.pem -certfile ca.pem \
  -name "Test Examiner" -passout file:passphrase.txt -out examiner.p12

# --- An ECDSA P-384 examiner. ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out examiner-p384.key
issue examiner-p384.key examiner-p384.pem "/CN=Test Examiner P-384/O=Custody Test Lab/C=DE"

# --- Certificates with chosen validity periods. OpenSSL 3.0's "openssl x509" can only make
# certificates valid from now, so these come from "openssl ca" with -startdate/-enddate and a
# minimal CA configuration (its database lives in the scratch directory). ---
touch "$work/index.txt"
cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = test_ca

[test_ca]
database = $work/index.txt
new_certs_dir = $work
rand_serial = yes
default_md = sha256
policy = any_subject
unique_subject = no
copy_extensions = none

[any_subject]
commonName = supplied
organizationName = optional
countryName = optional
EOF
#   issue_dated KEY CERT SUBJECT START END   (dates as YYYYMMDDHHMMSSZ)
issue_dated() {
  local key=$1 cert=$2 subject=$3 start=$4 end=$5
  openssl req -new -key "$key" -subj "$subject" -out "$work/request.csr"
  quietly openssl ca -batch -notext -config "$work/ca.cnf" -cert ca.pem -keyfile ca.key \
    -in "$work/request.csr" -startdate "$start" -enddate "$end" \
    -extfile "$work/extensions.cnf" -extensions signer -out "$cert"
}

# An expired certificate: valid during 2020 only.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key
issue_dated expired.key expired.pem "/CN=Test Examiner Expired/O=Custody Test Lab/C=DE" \
  20200101000000Z 20210101000000Z

# A certificate that is not yet valid: from 2099 on.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out not-yet-valid.key
issue_dated not-yet-valid.key not-yet-valid.pem \
  "/CN=Test Examiner Not Yet Valid/O=Custody Test Lab/C=DE" 20990101000000Z 21000101000000Z

# --- An unrelated second CA and a signer certified by it: its signatures must not be trusted
# by anyone who trusts only the test CA. ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other-ca.key
openssl req -new -x509 -key other-ca.key -subj "/CN=Unrelated Test CA/O=Elsewhere Test Lab/C=DE" \
  -days 3650 -sha256 -config "$work/extensions.cnf" -extensions ca -out other-ca.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other-examiner.key
issue other-examiner.key other-examiner.pem "/CN=Other Examiner/O=Elsewhere Test Lab/C=DE" \
  other-ca.pem other-ca.key

# --- A certificate of the test CA whose key may not sign (key usage keyAgreement only): custody
# refuses to sign with it, as a verifier would refuse the signature. ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out no-signing.key
openssl req -new -key no-signing.key -subj "/CN=Test Key Agreement Only/O=Custody Test Lab/C=DE" \
  -out "$work/request.csr"
quietly openssl x509 -req -in "$work/request.csr" -CA ca.pem -CAkey ca.key -days 730 -sha256 \
  -extfile "$work/extensions.cnf" -extensions no_signing -out no-signing.pem

# Keys (and what opens them) for the owner only; certificates are public.
chmod 600 ./*.key examiner.p12 passphrase.txt
chmod 644 ./*.pem
