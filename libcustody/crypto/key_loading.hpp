// SPDX-License-Identifier: Apache-2.0
// Where a signing key comes from, for Identity::load: a PEM or PKCS#12 file or a PKCS#11 token,
// each key source giving a private key and what certificates came with it; then the signer
// certificate and chain that go into every signature.
#pragma once

#include "crypto/openssl_ptr.hpp"
#include "crypto/pkcs11_token.hpp"

#include <custody/error.hpp>
#include <custody/identity.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

namespace custody::internal {

// A private key that can sign CMS in OpenSSL 3.0, its certificate, and the further certificates
// every signature carries (each once, never the signer's own).
struct SigningKey {
  EvpPkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  std::shared_ptr<TokenKey> token;  // the token behind `key`, for a PKCS#11 URI; else null
};

// Loads the key of `options.key_path` (PEM, plain or passphrase-protected, PKCS#12, or a key on
// a PKCS#11 token named by its URI, whose certificate may come from the token), refuses
// key types that cannot sign CMS, takes the certificate from `options.cert_path` (and the chain
// after it) or else from the PKCS#12 file, adds `options.chain_path`, and checks that the key
// matches the certificate. The errors are those of Identity::load, in that order.
Result<SigningKey> load_signing_key(const IdentityOptions& options);

// SHA-256, or a digest as strong as the curve (the pairing NIST SP 800-57 recommends).
const EVP_MD* digest_for(const EVP_PKEY* key);

}  // namespace custody::internal
