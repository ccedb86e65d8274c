// SPDX-License-Identifier: Apache-2.0
// A token key as an EVP_PKEY that OpenSSL's CMS code signs and decrypts with unchanged: the
// public half comes from the certificate, and the private operations are RSA_METHOD and
// EC_KEY_METHOD callbacks that call the token. OpenSSL 3.0 runs such "foreign" keys through its
// legacy code paths, the same ones a PKCS#11 engine uses, with no engine and no provider (Debian
// 12 has no pkcs11-provider, and its engine is deprecated).
#pragma once

#include "crypto/openssl_ptr.hpp"
#include "crypto/pkcs11_token.hpp"

#include <custody/error.hpp>

#include <openssl/x509.h>

#include <memory>
#include <optional>

namespace custody::internal {

// The key of `token` with the public key of `cert`, after checking that they belong together
// (the token's RSA modulus or EC point, else a test signature): Errc::invalid_argument if not.
Result<EvpPkeyPtr> token_evp_pkey(const std::shared_ptr<TokenKey>& token, X509* cert);

// The reason the token behind `key` gave for the last failed operation, taken once; nullopt for
// keys that are not on a token, or when the token reported nothing.
std::optional<Error> take_token_error(const EVP_PKEY* key);

}  // namespace custody::internal
