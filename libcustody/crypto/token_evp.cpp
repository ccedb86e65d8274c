// SPDX-License-Identifier: Apache-2.0
// RSA_METHOD and EC_KEY_METHOD callbacks onto a TokenKey. These APIs are deprecated in OpenSSL 3
// (in favour of providers) but present in every 3.x; this file alone is compiled with
// OPENSSL_SUPPRESS_DEPRECATED (libcustody/CMakeLists.txt), never in a unity batch.
#include "crypto/token_evp.hpp"

#include "crypto/certificate.hpp"
#include "crypto/openssl_util.hpp"

#include <fmt/format.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <utility>

namespace custody::internal {

namespace {

using TokenHandle = std::shared_ptr<TokenKey>;

// ex_data: the RSA or EC_KEY owns a heap copy of the shared TokenKey handle (freed with it); the
// EVP_PKEY holds a plain pointer, to find the token again for its error.
void free_token_handle(void* /*parent*/,
                       void* handle,
                       CRYPTO_EX_DATA* /*data*/,
                       int /*index*/,
                       long /*argl*/,
                       void* /*argp*/) {
  delete static_cast<TokenHandle*>(handle);
}

int rsa_index() {
  static const int index = RSA_get_ex_new_index(0, nullptr, nullptr, nullptr, free_token_handle);
  return index;
}

int ec_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, free_token_handle);
  return index;
}

int pkey_index() {
  static const int index = EVP_PKEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TokenKey* token_of(const RSA* rsa) {
  auto* handle = static_cast<TokenHandle*>(RSA_get_ex_data(rsa, rsa_index()));
  return handle != nullptr ? handle->get() : nullptr;
}

TokenKey* token_of(const EC_KEY* key) {
  auto* handle = static_cast<TokenHandle*>(EC_KEY_get_ex_data(key, ec_index()));
  return handle != nullptr ? handle->get() : nullptr;
}

Error unsupported_padding(const TokenKey& token, int padding) {
  return Error{
      Errc::unsupported,
      fmt::format("{}: RSA padding {} is not supported on a token", token.description(), padding),
      {},
      {},
      0,
      {}};
}

// Copies `result` into OpenSSL's buffer, left-padded with zeros to `width` when it is shorter
// (raw RSA results are numbers: a token may drop leading zero bytes).
int hand_over(const std::string& result, unsigned char* to, std::size_t width) {
  if (result.size() > width) {
    return -1;
  }
  const std::size_t pad = width - result.size();
  std::memset(to, 0, pad);
  std::memcpy(to + pad, result.data(), result.size());
  return static_cast<int>(width);
}

// One private RSA operation on the token: a signature (OpenSSL's private "encrypt") or a
// decryption, with the mechanism for OpenSSL's padding. Signatures and raw results are as long as
// the modulus; a padded decryption's plaintext is as long as it is.
int rsa_on_token(
    bool decrypt, int length, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  TokenKey* token = token_of(rsa);
  if (token == nullptr) {
    return -1;
  }
  const TokenMechanism mechanism = padding == RSA_PKCS1_PADDING ? TokenMechanism::rsa_pkcs
                                   : padding == RSA_NO_PADDING  ? TokenMechanism::rsa_x509
                                   : decrypt && padding == RSA_PKCS1_OAEP_PADDING
                                       ? TokenMechanism::rsa_pkcs_oaep
                                       : TokenMechanism{};
  if (mechanism == TokenMechanism{}) {
    token->set_error(unsupported_padding(*token, padding));
    return -1;
  }
  const std::string_view input(reinterpret_cast<const char*>(from),
                               static_cast<std::size_t>(length));
  auto result = decrypt ? token->decrypt(mechanism, input) : token->sign(mechanism, input);
  if (!result) {
    token->set_error(std::move(result.error()));
    return -1;
  }
  if (!decrypt || padding == RSA_NO_PADDING) {
    return hand_over(*result, to, static_cast<std::size_t>(RSA_size(rsa)));
  }
  std::memcpy(to, result->data(), result->size());
  return static_cast<int>(result->size());
}

int rsa_private_encrypt(
    int length, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  return rsa_on_token(false, length, from, to, rsa, padding);
}

int rsa_private_decrypt(
    int length, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  return rsa_on_token(true, length, from, to, rsa, padding);
}

ECDSA_SIG* ec_sign(const unsigned char* digest,
                   int length,
                   const BIGNUM* /*kinv*/,
                   const BIGNUM* /*r*/,
                   EC_KEY* key) {
  TokenKey* token = token_of(key);
  if (token == nullptr) {
    return nullptr;
  }
  auto signature = token->sign(
      TokenMechanism::ecdsa,
      std::string_view(reinterpret_cast<const char*>(digest), static_cast<std::size_t>(length)));
  if (!signature) {
    token->set_error(std::move(signature.error()));
    return nullptr;
  }
  // r || s, each as long as the group order.
  const std::size_t half = signature->size() / 2;
  const auto* bytes = reinterpret_cast<const unsigned char*>(signature->data());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || signature->size() % 2 != 0 ||
      ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return nullptr;
  }
  return sig;
}

int ec_compute_key(unsigned char** secret,
                   std::size_t* secret_length,
                   const EC_POINT* peer,
                   const EC_KEY* key) {
  TokenKey* token = token_of(key);
  const EC_GROUP* group = EC_KEY_get0_group(key);
  if (token == nullptr || group == nullptr) {
    return 0;
  }
  unsigned char* point = nullptr;
  const std::size_t point_length =
      EC_POINT_point2buf(group, peer, POINT_CONVERSION_UNCOMPRESSED, &point, nullptr);
  if (point_length == 0) {
    return 0;
  }
  const std::string peer_point(reinterpret_cast<const char*>(point), point_length);
  OPENSSL_free(point);
  const auto size = static_cast<std::size_t>((EC_GROUP_get_degree(group) + 7) / 8);
  auto shared = token->derive_ecdh(peer_point, size);
  if (!shared) {
    token->set_error(std::move(shared.error()));
    return 0;
  }
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(shared->size()));
  if (copy == nullptr) {
    return 0;
  }
  std::memcpy(copy, shared->data(), shared->size());
  OPENSSL_cleanse(shared->data(), shared->size());
  *secret = copy;
  *secret_length = shared->size();
  return 1;
}

// One method of each kind for every token key; never freed (keys may outlive any owner).
const RSA_METHOD* rsa_method() {
  static RSA_METHOD* const method = [] {
    RSA_METHOD* made = RSA_meth_dup(RSA_PKCS1_OpenSSL());
    if (made != nullptr) {
      RSA_meth_set1_name(made, "custody PKCS#11 token");
      RSA_meth_set_priv_enc(made, rsa_private_encrypt);
      RSA_meth_set_priv_dec(made, rsa_private_decrypt);
    }
    return made;
  }();
  return method;
}

const EC_KEY_METHOD* ec_method() {
  static EC_KEY_METHOD* const method = [] {
    EC_KEY_METHOD* made = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (made != nullptr) {
      int (*sign)(int, const unsigned char*, int, unsigned char*, unsigned int*, const BIGNUM*,
                  const BIGNUM*, EC_KEY*) = nullptr;
      EC_KEY_METHOD_get_sign(EC_KEY_OpenSSL(), &sign, nullptr, nullptr);
      EC_KEY_METHOD_set_sign(made, sign, nullptr, ec_sign);
      EC_KEY_METHOD_set_compute_key(made, ec_compute_key);
    }
    return made;
  }();
  return method;
}

// An RSA key; an RSASSA-PSS one (EVP_PKEY_RSA_PSS) when its certificate says so, so that OpenSSL
// pads PSS and the token does raw RSA.
Result<EvpPkeyPtr> rsa_token_pkey(const TokenHandle& token, const EVP_PKEY* public_key) {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  RSA* rsa = RSA_new();
  if (rsa == nullptr || rsa_method() == nullptr ||
      EVP_PKEY_get_bn_param(public_key, "n", &n) != 1 ||
      EVP_PKEY_get_bn_param(public_key, "e", &e) != 1 || RSA_set_method(rsa, rsa_method()) != 1 ||
      RSA_set0_key(rsa, n, e, nullptr) != 1) {
    BN_free(n);
    BN_free(e);
    RSA_free(rsa);
    return crypto_error("cannot prepare the token's RSA key");
  }
  RSA_set_ex_data(rsa, rsa_index(), new TokenHandle(token));
  EvpPkeyPtr pkey(EVP_PKEY_new());
  const int type = EVP_PKEY_is_a(public_key, "RSA-PSS") == 1 ? EVP_PKEY_RSA_PSS : EVP_PKEY_RSA;
  if (!pkey || EVP_PKEY_assign(pkey.get(), type, rsa) != 1) {
    RSA_free(rsa);
    return crypto_error("cannot prepare the token's RSA key");
  }
  return pkey;
}

Result<EvpPkeyPtr> ec_token_pkey(const TokenHandle& token, const EVP_PKEY* public_key) {
  const EC_KEY* public_ec = EVP_PKEY_get0_EC_KEY(public_key);
  EC_KEY* key = EC_KEY_new();
  if (public_ec == nullptr || key == nullptr || ec_method() == nullptr ||
      EC_KEY_set_method(key, ec_method()) != 1 ||
      EC_KEY_set_group(key, EC_KEY_get0_group(public_ec)) != 1 ||
      EC_KEY_set_public_key(key, EC_KEY_get0_public_key(public_ec)) != 1) {
    EC_KEY_free(key);
    return crypto_error("cannot prepare the token's EC key");
  }
  EC_KEY_set_ex_data(key, ec_index(), new TokenHandle(token));
  EvpPkeyPtr pkey(EVP_PKEY_new());
  if (!pkey || EVP_PKEY_assign_EC_KEY(pkey.get(), key) != 1) {
    EC_KEY_free(key);
    return crypto_error("cannot prepare the token's EC key");
  }
  return pkey;
}

// The token's public value (RSA modulus, EC point) as the certificate has it.
std::string certificate_public_value(EVP_PKEY* public_key, TokenKey::Type type) {
  if (type == TokenKey::Type::rsa) {
    BIGNUM* n = nullptr;
    if (EVP_PKEY_get_bn_param(public_key, "n", &n) != 1) {
      return {};
    }
    std::string modulus(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(modulus.data()));
    BN_free(n);
    return modulus;
  }
  unsigned char* point = nullptr;
  const std::size_t length = EVP_PKEY_get1_encoded_public_key(public_key, &point);
  std::string value(reinterpret_cast<const char*>(point), length);
  OPENSSL_free(point);
  return value;
}

// Without a public value on the token: sign a random challenge and verify it with the
// certificate's key.
Result<bool> test_signature_matches(EVP_PKEY* key, EVP_PKEY* public_key) {
  unsigned char challenge[32];
  RAND_bytes(challenge, sizeof challenge);
  EvpMdCtxPtr sign_context(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!sign_context ||
      EVP_DigestSignInit(sign_context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(sign_context.get(), nullptr, &length, challenge, sizeof challenge) != 1) {
    return false;
  }
  std::string signature(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  if (EVP_DigestSign(sign_context.get(), out, &length, challenge, sizeof challenge) != 1) {
    return false;
  }
  EvpMdCtxPtr verify_context(EVP_MD_CTX_new());
  return verify_context &&
         EVP_DigestVerifyInit(verify_context.get(), nullptr, EVP_sha256(), nullptr, public_key) ==
             1 &&
         EVP_DigestVerify(verify_context.get(), out, length, challenge, sizeof challenge) == 1;
}

}  // namespace

Result<EvpPkeyPtr> token_evp_pkey(const std::shared_ptr<TokenKey>& token, X509* cert) {
  EVP_PKEY* public_key = X509_get0_pubkey(cert);
  const bool rsa = token->type() == TokenKey::Type::rsa;
  const std::string subject = name_text(X509_get_subject_name(cert));
  const bool usable = public_key != nullptr && (rsa ? EVP_PKEY_is_a(public_key, "RSA") == 1 ||
                                                          EVP_PKEY_is_a(public_key, "RSA-PSS") == 1
                                                    : EVP_PKEY_is_a(public_key, "EC") == 1);
  if (!usable) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("the certificate of {} has no {} key, but {} is an {} key", subject,
                    rsa ? "RSA" : "EC", token->description(), rsa ? "RSA" : "EC"));
  }
  auto pkey = rsa ? rsa_token_pkey(token, public_key) : ec_token_pkey(token, public_key);
  CUSTODY_TRY(pkey);
  EVP_PKEY_set_ex_data(pkey->get(), pkey_index(), token.get());
  bool matches = false;
  if (!token->public_value().empty()) {
    matches = token->public_value() == certificate_public_value(public_key, token->type());
  } else if (token->can_sign()) {
    auto tested = test_signature_matches(pkey->get(), public_key);
    CUSTODY_TRY(tested);
    if (auto error = token->take_error()) {
      return tl::unexpected(std::move(*error));
    }
    matches = *tested;
  } else {
    matches = true;  // nothing to compare: the first decryption will tell
  }
  ERR_clear_error();
  if (!matches) {
    Error error{
        Errc::invalid_argument,
        fmt::format("{} does not match the certificate of {}", token->description(), subject),
        {},
        {},
        0,
        "give the certificate of this key with --cert, or leave --cert out to use the "
        "one the token holds with the key"};
    return tl::unexpected(std::move(error));
  }
  return pkey;
}

std::optional<Error> take_token_error(const EVP_PKEY* key) {
  auto* token = static_cast<TokenKey*>(EVP_PKEY_get_ex_data(key, pkey_index()));
  return token != nullptr ? token->take_error() : std::nullopt;
}

}  // namespace custody::internal
