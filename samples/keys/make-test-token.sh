#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes a TEST-ONLY SoftHSM2 token in DIR whose keys were generated on the token and cannot be
# extracted, with certificates from the test CA of make-test-identities.sh (CA_DIR). It is also
# the recipe for a lab with a real token: replace the module and the labels, and have the lab's
# CA issue the certificates (samples/keys/README.md, "Keys on a token").
#   usage: make-test-token.sh DIR CA_DIR
# Afterwards: export SOFTHSM2_CONF=DIR/softhsm2.conf; the user PIN is in DIR/pin.txt.
#   token 'custody-test', user PIN 1234, SO PIN 12345678 (test values: never for real evidence)
#   id 01 'examiner-token'  EC P-256   sign, derive   certificate on the token and token-examiner.pem
#   id 02 'receiver-rsa'    RSA 3072   sign, decrypt  certificate on the token and token-receiver-rsa.pem
#   id 03 'receiver-ec'     EC P-256   derive         certificate on the token and token-receiver-ec.pem,
#                                                     for key agreement only: it may not sign
#   id 04 'no-certificate'  EC P-256   sign           no certificate anywhere
#   id 05 'examiner-p384'   EC P-384   sign           certificate on the token and token-examiner-p384.pem
#   id 06 'examiner-pss'    RSA 2048   sign (RSASSA-PSS: its certificate's key is id-RSASSA-PSS)
#                                                     certificate on the token and token-examiner-pss.pem
#   id 07 'examiner-always' EC P-256   sign, the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE,
#                                      as on qualified signature cards)
#                                                     certificate on the token and token-examiner-always.pem
set -euo pipefail
dir=${1:?usage: make-test-token.sh DIR CA_DIR}
ca_dir=${2:?usage: make-test-token.sh DIR CA_DIR}
module=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd)
ca_dir=$(cd -- "$ca_dir" && pwd)
umask 077

# A private token directory: the system's tokens are neither seen nor touched.
rm -rf -- "$dir/tokens"
mkdir -p -- "$dir/tokens"
cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF=$dir/softhsm2.conf
printf '1234\n' >"$dir/pin.txt"

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
}
p11() { quietly pkcs11-tool --module "$module" --token-label custody-test "$@"; }

quietly softhsm2-util --init-token --free --label custody-test --so-pin 12345678 --pin 1234

cat >"$work/extensions.cnf" <<'CONF'
[signer]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyAgreement, keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[decrypt]
basicConstraints = critical, CA:false
keyUsage = critical, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CONF

# The public key of key ID (LABEL) as DER SubjectPublicKeyInfo. pkcs11-tool 0.23 cannot read out a P-384
# public key ("cannot create EVP_PKEY"), so for P-384 the SPKI is built from the token's EC point
# (its CKA_EC_POINT, a DER OCTET STRING) and the fixed SPKI header of that curve.
public_key() {
  local id=$1 label=$2 type=$3
  if [ "$type" != EC:secp384r1 ]; then
    p11 --read-object --type pubkey --id "$id" --output-file "$work/$id.spki"
    cat "$work/$id.spki"
    return
  fi
  local point
  point=$(pkcs11-tool --module "$module" --token-label custody-test --list-objects \
    --type pubkey 2>/dev/null | awk -v label="$label" '
      /EC_POINT:/ { point = $2 }
      $1 == "label:" && $2 == label { print point; exit }')
  # 0461 (OCTET STRING, 97 bytes) around 04 || X || Y.
  [ "${point:0:6}" = 046104 ] || { echo "unexpected EC point for id $id: $point" >&2; return 1; }
  python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' \
    "3076301006072a8648ce3d020106052b81040022036200${point:4}"
}

# Rewrites an RSA public key (DER SubjectPublicKeyInfo) as an RSASSA-PSS key, the way a CA marks
# a key that may only make PSS signatures: the algorithm rsaEncryption (with NULL parameters)
# becomes id-RSASSA-PSS (no parameters); the key itself is unchanged.
as_rsa_pss() {
  python3 - "$1" <<'PY'
import sys
path = sys.argv[1]
spki = open(path, "rb").read()
rsa = bytes.fromhex("300d06092a864886f70d0101010500")
pss = bytes.fromhex("300b06092a864886f70d01010a")
assert spki[:2] == b"\x30\x82" and spki[4:4 + len(rsa)] == rsa, "not an RSA SubjectPublicKeyInfo"
body = pss + spki[4 + len(rsa):]
open(path, "wb").write(b"\x30\x82" + len(body).to_bytes(2, "big") + body)
PY
}

# Generates a key pair on the token (the private key sensitive, never extractable), has the CA
# certify its public key, and stores the certificate beside the key (same id). The certificate
# profile is $profile: signer (the default) or decrypt.
#   on_token ID LABEL KEY_TYPE USAGE... -- SUBJECT CERT
on_token() {
  local id=$1 label=$2 type=$3
  shift 3
  local usage=()
  while [ "$1" != -- ]; do usage+=("$1"); shift; done
  local subject=$2 cert=$3
  p11 --login --pin 1234 --keypairgen --key-type "${type/rsa-pss/rsa}" --id "$id" --label "$label" \
    --sensitive "${usage[@]}"
  [ -n "$cert" ] || return 0
  public_key "$id" "$label" "$type" >"$work/$id.pub.der"
  [ "$type" != rsa-pss:2048 ] || as_rsa_pss "$work/$id.pub.der"
  openssl pkey -pubin -inform DER -in "$work/$id.pub.der" -out "$work/$id.pub.pem"
  quietly openssl x509 -new -subj "$subject" -force_pubkey "$work/$id.pub.pem" \
    -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca.key" -days 730 -sha256 \
    -extfile "$work/extensions.cnf" -extensions "${profile:-signer}" -out "$dir/$cert"
  openssl x509 -in "$dir/$cert" -outform DER -out "$work/$id.cert.der"
  p11 --login --pin 1234 --write-object "$work/$id.cert.der" --type cert --id "$id" \
    --label "$label"
}

on_token 01 examiner-token EC:prime256v1 --usage-sign --usage-derive -- \
  "/CN=Token Examiner/O=Custody Test Lab/C=DE" token-examiner.pem
on_token 02 receiver-rsa rsa:3072 --usage-sign --usage-decrypt -- \
  "/CN=Token Receiver RSA/O=Custody Test Lab/C=DE" token-receiver-rsa.pem
profile=decrypt on_token 03 receiver-ec EC:prime256v1 --usage-derive -- \
  "/CN=Token Receiver EC/O=Custody Test Lab/C=DE" token-receiver-ec.pem
on_token 04 no-certificate EC:prime256v1 --usage-sign -- "" ""
on_token 05 examiner-p384 EC:secp384r1 --usage-sign -- \
  "/CN=Token Examiner P-384/O=Custody Test Lab/C=DE" token-examiner-p384.pem
on_token 06 examiner-pss rsa-pss:2048 --usage-sign -- \
  "/CN=Token Examiner PSS/O=Custody Test Lab/C=DE" token-examiner-pss.pem
on_token 07 examiner-always EC:prime256v1 --usage-sign --always-auth -- \
  "/CN=Token Examiner Always/O=Custody Test Lab/C=DE" token-examiner-always.pem
