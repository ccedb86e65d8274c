#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes a TEST-ONLY PKI with revocation services in DIR with stock openssl commands: a CA whose
# signer certificates point at an OCSP responder and a CRL on the loopback interface, for tests
# of CAdES B-LT signatures and of revocation checking (tests/support/revocation_pki.sh serves
# them). NEVER use it for real evidence: the keys are not secret.
#   usage: make-test-revocation-pki.sh DIR OCSP_PORT CRL_PORT
# In DIR:
#   ca.key, ca.pem               "Custody Revocation Test CA" (ECDSA P-256, self-signed, 10 years)
#   ca.cnf, index.txt, index.txt.attr, serial, crlnumber, newcerts/
#                                the CA's "openssl ca" database, so that later steps can revoke:
#                                  openssl ca -config DIR/ca.cnf -revoke DIR/NAME.pem
#                                  openssl ca -config DIR/ca.cnf -gencrl -out DIR/ca-crl.pem
#   ocsp.key, ocsp.pem           the OCSP responder (extendedKeyUsage OCSPSigning, ocsp-nocheck):
#                                  openssl ocsp -index DIR/index.txt -port OCSP_PORT
#                                    -rsigner DIR/ocsp.pem -rkey DIR/ocsp.key -CA DIR/ca.pem
#   good.key, good.pem           signers (ECDSA P-256, 2 years from yesterday) whose certificates
#   revoked-later.key, .pem      carry authorityInfoAccess OCSP http://127.0.0.1:OCSP_PORT/ and
#   revoked-early.key, .pem      crlDistributionPoints http://127.0.0.1:CRL_PORT/ca.crl; none is
#                                revoked yet: the names say what the tests do with them
#   unknown.key, unknown.pem     a signer whose certificate the CA signed but then dropped from
#                                index.txt: the OCSP responder answers "unknown" for it
#   ocsp-only.key, ocsp-only.pem a signer with the OCSP pointer but no CRL distribution point
#   crl-only.key, crl-only.pem   a signer with the CRL distribution point but no OCSP pointer
#   crl/ca.crl, ca-crl.pem       the CA's CRL (DER, as served; and PEM), next update in 30 days,
#                                nothing revoked yet
#   sub-ca.key, sub-ca.pem       "Custody Revocation Test Sub-CA", an intermediate CA the CA
#                                issued (its OCSP pointer and CRL distribution point are the
#                                CA's, so it is revoked like a signer: revoke_signer sub-ca)
#   sub-ca.cnf, sub-ca/          the sub-CA's "openssl ca" configuration and database
#   sub-signer.key, .pem         a signer the sub-CA issued, with only a CRL distribution point:
#                                http://127.0.0.1:CRL_PORT/sub-ca.crl
#   crl/sub-ca.crl               the sub-CA's CRL (DER), next update in 30 days, nothing revoked
#   sub-chain.pem                sub-ca.pem then ca.pem: the chain a sub-signer signs with
set -euo pipefail
usage='usage: make-test-revocation-pki.sh DIR OCSP_PORT CRL_PORT'
dir=${1:?$usage}
ocsp_port=${2:?$usage}
crl_port=${3:?$usage}
for port in "$ocsp_port" "$crl_port"; do
  if ! [[ $port =~ ^[1-9][0-9]{0,4}$ ]] || ((port > 65535)); then
    echo "make-test-revocation-pki.sh: not a TCP port: $port" >&2
    exit 2
  fi
done
mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd)  # ca.cnf names its files by absolute path: it is used from anywhere
cd -- "$dir"

# Private keys must never be readable by others, not even between creation and chmod.
umask 077

# Scratch space for the certificate requests: DIR only gets what the tests use.
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

signers=(good revoked-later revoked-early unknown ocsp-only crl-only)

# Idempotent: the files of an earlier run are replaced (and only those; DIR may hold more). An old
# index.txt would make openssl ca refuse the new certificates' serials or revoke stale ones.
rm -f -- ca.key ca.pem ca.cnf index.txt index.txt.attr index.txt.old index.txt.attr.old serial \
  serial.old crlnumber crlnumber.old ocsp.key ocsp.pem ca-crl.pem crl/ca.crl
for name in "${signers[@]}"; do rm -f -- "$name.key" "$name.pem"; done
rm -f -- sub-ca.key sub-ca.pem sub-ca.cnf sub-signer.key sub-signer.pem crl/sub-ca.crl sub-chain.pem
rm -rf -- newcerts sub-ca
mkdir -p newcerts crl sub-ca/newcerts

# The CA's database. Serials are random, so no serial of this run matches one of an earlier run
# (a stale answer or CRL can then never look right); the leading byte 0x40 keeps them positive
# 16-byte numbers. unique_subject = no: re-issuing a subject (a test may want to) is allowed.
touch index.txt
printf 'unique_subject = no\n' >index.txt.attr
printf '40%s\n' "$(openssl rand -hex 15)" >serial
printf '01\n' >crlnumber

# The configuration for "openssl ca", kept in DIR for the revocations and CRLs the tests make
# later. Its certificate profiles carry the ports: the services are found through the signer
# certificates, as a verifier would find them.
cat >ca.cnf <<EOF
# TEST-ONLY CA made by make-test-revocation-pki.sh: never use it for real evidence.
[ca]
default_ca = revocation_test_ca

[revocation_test_ca]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 730
default_crl_days = 30
policy = any_subject
unique_subject = no
copy_extensions = none
crl_extensions = crl_extensions

[any_subject]
commonName = supplied
organizationName = optional
countryName = optional

[req]
distinguished_name = empty_dn

[empty_dn]

[crl_extensions]
authorityKeyIdentifier = keyid:always

[ca_profile]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

# The responder signs OCSP responses on the CA's behalf (RFC 6960 section 4.2.2.2). ocsp-nocheck
# tells verifiers not to ask about the responder's own certificate.
[ocsp_profile]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[signer_profile]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$ocsp_port/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/ca.crl

[ocsp_only_profile]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$ocsp_port/

[crl_only_profile]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/ca.crl

# An intermediate CA: found revoked or not through the CA's own services, as a signer is.
[sub_ca_profile]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$ocsp_port/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/ca.crl
EOF

# The sub-CA's own database and configuration: it issues the sub-signer and signs its CRL.
touch sub-ca/index.txt
printf 'unique_subject = no\n' >sub-ca/index.txt.attr
printf '40%s\n' "$(openssl rand -hex 15)" >sub-ca/serial
printf '01\n' >sub-ca/crlnumber
cat >sub-ca.cnf <<EOF
# TEST-ONLY intermediate CA made by make-test-revocation-pki.sh: never use it for real evidence.
[ca]
default_ca = revocation_test_sub_ca

[revocation_test_sub_ca]
dir = $dir/sub-ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $dir/sub-ca.pem
private_key = $dir/sub-ca.key
default_md = sha256
default_days = 730
default_crl_days = 30
policy = any_subject
unique_subject = no
copy_extensions = none
crl_extensions = crl_extensions

[any_subject]
commonName = supplied
organizationName = optional
countryName = optional

[req]
distinguished_name = empty_dn

[empty_dn]

[crl_extensions]
authorityKeyIdentifier = keyid:always

[sub_signer_profile]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/sub-ca.crl
EOF

# Validity starts in the past, so that a signature made "now" falls well inside it even when the
# clocks of the test and of openssl differ by a few seconds; the CA starts a day before its
# signers, as a real CA would. (openssl req -x509 of OpenSSL 3.0 can only start now, hence
# openssl ca -selfsign.)
ca_start=$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)
start=$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)

# --- The CA: an ECDSA P-256 key and a self-signed CA certificate (10 years). ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl req -new -key ca.key -config ca.cnf \
  -subj "/CN=Custody Revocation Test CA/O=Custody Test Lab/C=DE" -out "$work/request.csr"
quietly openssl ca -batch -notext -config ca.cnf -selfsign -keyfile ca.key \
  -in "$work/request.csr" -startdate "$ca_start" -days 3650 -extensions ca_profile -out ca.pem

# Issues a certificate from the CA (or the CA of CONFIG) with PROFILE (a section of the
# configuration) for a new key NAME.key: NAME.pem, valid from yesterday for 2 years.
#   issue NAME SUBJECT PROFILE [CONFIG]
issue() {
  local name=$1 subject=$2 profile=$3 config=${4:-ca.cnf}
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key"
  openssl req -new -key "$name.key" -config "$config" -subj "$subject" -out "$work/request.csr"
  quietly openssl ca -batch -notext -config "$config" -in "$work/request.csr" \
    -startdate "$start" -days 730 -extensions "$profile" -out "$name.pem"
}

issue ocsp "/CN=Custody Revocation Test OCSP Responder/O=Custody Test Lab/C=DE" ocsp_profile
issue good "/CN=Good Signer/O=Custody Test Lab/C=DE" signer_profile
issue revoked-later "/CN=Later Revoked Signer/O=Custody Test Lab/C=DE" signer_profile
issue revoked-early "/CN=Early Revoked Signer/O=Custody Test Lab/C=DE" signer_profile
issue unknown "/CN=Unknown Signer/O=Custody Test Lab/C=DE" signer_profile
issue ocsp-only "/CN=OCSP Only Signer/O=Custody Test Lab/C=DE" ocsp_only_profile
issue crl-only "/CN=CRL Only Signer/O=Custody Test Lab/C=DE" crl_only_profile
issue sub-ca "/CN=Custody Revocation Test Sub-CA/O=Custody Test Lab/C=DE" sub_ca_profile
issue sub-signer "/CN=Sub-CA Signer/O=Custody Test Lab/C=DE" sub_signer_profile sub-ca.cnf
cat sub-ca.pem ca.pem >sub-chain.pem

# --- The "unknown" signer: a genuine certificate of the CA that its database does not know (as
# after a lost database or a certificate the CA never recorded). The responder answers unknown
# for serials missing from index.txt; the CRL cannot list it either. ---
unknown_serial=$(openssl x509 -in unknown.pem -noout -serial)
unknown_serial=${unknown_serial#serial=}
awk -F '\t' -v serial="$unknown_serial" '$4 != serial' index.txt >"$work/index.txt"
cat "$work/index.txt" >index.txt
rm -f -- "newcerts/$unknown_serial.pem"
if grep -qF "$unknown_serial" index.txt; then
  echo "make-test-revocation-pki.sh: could not drop the unknown signer from index.txt" >&2
  exit 1
fi

# --- The CRL, nothing revoked yet (next update in 30 days): PEM for openssl verify -CRLfile,
# DER as the CRL distribution point serves it (RFC 5280 section 4.2.1.13). ---
quietly openssl ca -batch -config ca.cnf -gencrl -out ca-crl.pem
openssl crl -in ca-crl.pem -outform DER -out crl/ca.crl
quietly openssl ca -batch -config sub-ca.cnf -gencrl -out "$work/sub-ca-crl.pem"
openssl crl -in "$work/sub-ca-crl.pem" -outform DER -out crl/sub-ca.crl

# Keys for the owner only; certificates, CRLs and the configuration are public.
chmod 600 ./*.key
chmod 644 ./*.pem ca.cnf sub-ca.cnf crl/ca.crl crl/sub-ca.crl
chmod 755 crl
