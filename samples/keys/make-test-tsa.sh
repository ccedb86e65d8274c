#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes a TEST-ONLY RFC 3161 time-stamping authority (TSA) in DIR with stock openssl commands:
#   tsa-ca.key, tsa-ca.pem          the TSA's CA (ECDSA P-256, self-signed, 10 years)
#   tsa.key, tsa.pem                the TSA signer: extendedKeyUsage = critical, timeStamping
#   tsa.cnf, tsa-serial             the configuration (and serial file) for
#                                   openssl ts -reply -config DIR/tsa.cnf -queryfile Q -out R
#   other-tsa-ca.key, other-tsa-ca.pem, other-tsa.key, other-tsa.pem
#                                   an unrelated TSA CA and TSA: its tokens must not be trusted by
#                                   anyone who trusts only tsa-ca.pem (and vice versa)
# NEVER use this TSA for real evidence: the keys are not secret.
#   usage: make-test-tsa.sh DIR
set -euo pipefail
dir=${1:?usage: make-test-tsa.sh DIR}
mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd)  # tsa.cnf names its files by absolute path
cd -- "$dir"

umask 077
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
}

rm -f -- tsa-ca.key tsa-ca.pem tsa.key tsa.pem tsa.cnf tsa-serial other-tsa-ca.key \
  other-tsa-ca.pem other-tsa.key other-tsa.pem

# Profiles: a CA, and a TSA signer whose ONLY extended key usage is timeStamping, marked
# critical (RFC 3161 section 2.3; OpenSSL refuses tokens from anything else).
cat >"$work/extensions.cnf" <<'EOF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[tsa]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

#   make_tsa CA_STEM CA_SUBJECT TSA_STEM TSA_SUBJECT
make_tsa() {
  local ca=$1 ca_subject=$2 tsa=$3 tsa_subject=$4
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca.key"
  openssl req -new -x509 -key "$ca.key" -subj "$ca_subject" -days 3650 -sha256 \
    -config "$work/extensions.cnf" -extensions ca -out "$ca.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tsa.key"
  openssl req -new -key "$tsa.key" -subj "$tsa_subject" -out "$work/request.csr"
  quietly openssl x509 -req -in "$work/request.csr" -CA "$ca.pem" -CAkey "$ca.key" \
    -days 730 -sha256 -extfile "$work/extensions.cnf" -extensions tsa -out "$tsa.pem"
}

make_tsa tsa-ca "/CN=Custody Test TSA CA/O=Custody Test Lab/C=DE" \
  tsa "/CN=Custody Test TSA/O=Custody Test Lab/C=DE"
make_tsa other-tsa-ca "/CN=Unrelated Test TSA CA/O=Elsewhere Test Lab/C=DE" \
  other-tsa "/CN=Unrelated Test TSA/O=Elsewhere Test Lab/C=DE"

# The TSA configuration for "openssl ts -reply". default_tsa names the section that holds the
# settings: here the [tsa] section itself.
printf '01\n' >tsa-serial
cat >tsa.cnf <<EOF
[tsa]
default_tsa = tsa
serial = $dir/tsa-serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
certs = $dir/tsa-ca.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:0, microsecs:0
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF

chmod 600 ./*.key
chmod 644 ./*.pem tsa.cnf tsa-serial
