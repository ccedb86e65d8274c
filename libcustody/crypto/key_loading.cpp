// SPDX-License-Identifier: Apache-2.0
// Key loading: a PEM or PKCS#12 key file becomes a signing key with its certificate and chain;
// key types that cannot sign CMS are refused here, not at the first signature.
#include "crypto/key_loading.hpp"

#include "crypto/certificate.hpp"
#include "crypto/openssl_util.hpp"
#include "crypto/pkcs11_uri.hpp"
#include "crypto/secret_input.hpp"
#include "crypto/token_evp.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace custody::internal {

namespace {

using Pkcs12Ptr = std::unique_ptr<PKCS12, OpenSslFree<PKCS12_free>>;

constexpr std::size_t k_max_key_file = 1024 * 1024;

// What a key source gives: the private key, and the certificates that came with it.
struct LoadedKey {
  EvpPkeyPtr key;
  X509Ptr cert;                 // from a PKCS#12 file
  std::vector<X509Ptr> extras;  // further certificates of a PKCS#12 file
};

bool is_pkcs12_name(const std::string& path) {
  const std::string name = lower(path);
  return name.ends_with(".p12") || name.ends_with(".pfx");
}

// Opens the MAC of a PKCS#12 file: without a password when it has none (or ""), else with the
// passphrase, which `secret` then holds. The password for PKCS12_parse: null for none.
Result<const char*> pkcs12_password(PKCS12* p12, const IdentityOptions& options, Secret& secret) {
  const std::string& path = options.key_path;
  // A PKCS#12 file may have no password at all ("" or none): try that before asking.
  const bool has_mac = PKCS12_mac_present(p12) == 1;
  const bool opens_without =
      has_mac && (PKCS12_verify_mac(p12, nullptr, 0) == 1 || PKCS12_verify_mac(p12, "", 0) == 1);
  ERR_clear_error();
  if (opens_without || (!has_mac && options.passphrase.kind == PassphraseSource::Kind::none)) {
    return nullptr;
  }
  CUSTODY_TRY(
      obtain_passphrase(options.passphrase, path, options.allow_insecure_key_permissions, secret));
  const char* password = secret.text().c_str();
  if (has_mac && PKCS12_verify_mac(p12, password, static_cast<int>(secret.text().size())) != 1) {
    ERR_clear_error();
    return wrong_passphrase(path);
  }
  return password;
}

Result<LoadedKey> load_pkcs12(const std::string& bytes, const IdentityOptions& options) {
  const std::string& path = options.key_path;
  const auto* der = reinterpret_cast<const unsigned char*>(bytes.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &der, static_cast<long>(bytes.size())));
  if (!p12) {
    return make_error(Errc::corrupt, fmt::format("{} is neither a PEM private key nor a PKCS#12 "
                                                 "file: {}",
                                                 path, openssl_errors()));
  }
  Secret secret;
  auto password = pkcs12_password(p12.get(), options, secret);
  CUSTODY_TRY(password);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* extras = nullptr;
  if (PKCS12_parse(p12.get(), *password, &key, &cert, &extras) != 1) {
    auto error = make_error(
        Errc::corrupt, fmt::format("cannot read the PKCS#12 file {}: {}", path, openssl_errors()));
    error.value().hint =
        "PKCS#12 files from old tools may use RC2 or 3DES, which OpenSSL 3.0 reads only with "
        "its legacy provider: re-export the identity with current algorithms";
    return error;
  }
  LoadedKey loaded{EvpPkeyPtr(key), X509Ptr(cert), {}};
  const X509StackPtr owned_extras(extras);
  while (sk_X509_num(owned_extras.get()) > 0) {
    loaded.extras.emplace_back(sk_X509_shift(owned_extras.get()));
  }
  if (!loaded.key) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the PKCS#12 file {} holds no private key", path));
  }
  return loaded;
}

Result<LoadedKey> load_pem_key(const std::string& bytes, const IdentityOptions& options) {
  const std::string& path = options.key_path;
  PassphraseRequest request;
  request.source = &options.passphrase;
  request.key_path = &path;
  request.allow_insecure = options.allow_insecure_key_permissions;
  BioPtr bio = memory_bio(bytes);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, passphrase_callback, &request,
                                                  nullptr, nullptr)
                     : nullptr);
  if (key) {
    ERR_clear_error();
    return LoadedKey{std::move(key), nullptr, {}};
  }
  if (request.error) {
    ERR_clear_error();
    return tl::unexpected(std::move(*request.error));
  }
  if (request.asked) {
    ERR_clear_error();
    return wrong_passphrase(path);
  }
  return make_error(Errc::corrupt,
                    fmt::format("{} holds no PEM private key: {}", path, openssl_errors()));
}

// The key source of a key file: PEM or PKCS#12, read as a secret file and wiped after parsing.
Result<LoadedKey> load_key_file(const IdentityOptions& options) {
  const std::string& key_path = options.key_path;
  auto bytes = read_secret_file(key_path, "private key", k_max_key_file,
                                options.allow_insecure_key_permissions);
  CUSTODY_TRY(bytes);
  // PEM is text; anything else is taken for PKCS#12 (DER), whatever its name.
  const bool pkcs12 = is_pkcs12_name(key_path) || bytes->find("-----BEGIN") == std::string::npos;
  auto loaded = pkcs12 ? load_pkcs12(*bytes, options) : load_pem_key(*bytes, options);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return loaded;
}

// Keys that cannot make a CMS signature in OpenSSL 3.0 are refused at load, not at the first
// signature.
Result<void> check_key_type(const EVP_PKEY* key, const std::string& path) {
  if (EVP_PKEY_is_a(key, "EC") || EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
    return {};
  }
  const std::string type = key_type(key);
  if (type == "Ed25519" || type == "Ed448") {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} cannot sign CMS in OpenSSL 3.0: use ECDSA P-256/P-384 or RSA "
                                  "({})",
                                  type, path));
  }
  if (type == "X25519" || type == "X448") {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is a key-agreement key and cannot sign: use ECDSA "
                                  "P-256/P-384 or RSA ({})",
                                  type, path));
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("{} keys are not supported for signing: use ECDSA P-256/P-384 or "
                                "RSA ({})",
                                type, path));
}

// Appends the certificates of `path` to `chain`.
Result<void> append_certificates(const std::string& path,
                                 std::string_view what,
                                 std::vector<X509Ptr>& chain) {
  auto certificates = read_certificate_file(path, what);
  CUSTODY_TRY(certificates);
  std::move(certificates->begin(), certificates->end(), std::back_inserter(chain));
  return {};
}

// The signer's certificate: the first of `options.cert_path`, whose further certificates join
// `chain` (a "fullchain" file), or else the one that came with the key. `origin` names where it
// came from.
Result<X509Ptr> signer_certificate(const IdentityOptions& options,
                                   LoadedKey& loaded,
                                   std::vector<X509Ptr>& chain,
                                   std::string& origin) {
  origin = options.key_path;
  if (!options.cert_path.empty()) {
    auto certificates = read_certificate_file(options.cert_path, "signer certificate");
    CUSTODY_TRY(certificates);
    X509Ptr cert = std::move(certificates->front());
    std::move(certificates->begin() + 1, certificates->end(), std::back_inserter(chain));
    origin = options.cert_path;
    return cert;
  }
  if (loaded.cert) {
    return std::move(loaded.cert);
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("no certificate for the private key {}: give the certificate "
                                "file",
                                options.key_path));
}

// CMS refuses a certificate added twice: keep each once, and the signer's only as signer.
std::vector<X509Ptr> distinct_chain(std::vector<X509Ptr> certificates, const X509* signer) {
  std::vector<X509Ptr> chain;
  for (X509Ptr& cert : certificates) {
    const auto same = [&](const X509Ptr& other) { return X509_cmp(other.get(), cert.get()) == 0; };
    if (X509_cmp(cert.get(), signer) != 0 && std::none_of(chain.begin(), chain.end(), same)) {
      chain.push_back(std::move(cert));
    }
  }
  return chain;
}

// The certificate the token holds with its key.
Result<X509Ptr> token_certificate(const TokenKey& token) {
  const std::string& der = token.certificate_der();
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(der.empty() ? nullptr : d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (!cert) {
    ERR_clear_error();
    Error error{Errc::invalid_argument,
                fmt::format("the token holds no certificate for its {}", token.description()),
                {},
                {},
                0,
                "give the key's certificate with --cert (or the matching --...-cert option), or "
                "store it on the token with the key's id (pkcs11-tool --write-object CERT --type "
                "cert --id ID)"};
    return tl::unexpected(std::move(error));
  }
  return cert;
}

// A key on a PKCS#11 token: the certificate from the options or else from the token.
Result<SigningKey> load_token_signing_key(const IdentityOptions& options) {
  std::vector<X509Ptr> chain;
  X509Ptr cert;
  if (!options.cert_path.empty()) {
    auto certificates = read_certificate_file(options.cert_path, "signer certificate");
    CUSTODY_TRY(certificates);
    cert = std::move(certificates->front());
    std::move(certificates->begin() + 1, certificates->end(), std::back_inserter(chain));
  }
  auto token = open_token_key(options);
  CUSTODY_TRY(token);
  if (!cert) {
    auto stored = token_certificate(**token);
    CUSTODY_TRY(stored);
    cert = std::move(*stored);
  }
  if (!options.chain_path.empty()) {
    CUSTODY_TRY(append_certificates(options.chain_path, "certificate chain", chain));
  }
  auto key = token_evp_pkey(*token, cert.get());
  CUSTODY_TRY(key);
  SigningKey signing{std::move(*key), std::move(cert), {}, std::move(*token)};
  signing.chain = distinct_chain(std::move(chain), signing.cert.get());
  return signing;
}

}  // namespace

Result<SigningKey> load_signing_key(const IdentityOptions& options) {
  if (is_pkcs11_uri(options.key_path)) {
    return load_token_signing_key(options);
  }
  const std::string& key_path = options.key_path;
  auto loaded = load_key_file(options);
  CUSTODY_TRY(loaded);
  CUSTODY_TRY(check_key_type(loaded->key.get(), key_path));

  SigningKey signing{std::move(loaded->key), nullptr, {}, nullptr};
  std::vector<X509Ptr> chain = std::move(loaded->extras);
  std::string cert_origin;
  auto cert = signer_certificate(options, *loaded, chain, cert_origin);
  CUSTODY_TRY(cert);
  signing.cert = std::move(*cert);
  if (!options.chain_path.empty()) {
    CUSTODY_TRY(append_certificates(options.chain_path, "certificate chain", chain));
  }
  if (X509_check_private_key(signing.cert.get(), signing.key.get()) != 1) {
    ERR_clear_error();
    return make_error(
        Errc::invalid_argument,
        fmt::format("the private key {} does not match the certificate in {} ({})", key_path,
                    cert_origin, name_text(X509_get_subject_name(signing.cert.get()))));
  }
  signing.chain = distinct_chain(std::move(chain), signing.cert.get());
  return signing;
}

const EVP_MD* digest_for(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    const std::string curve = ec_curve_name(key);
    if (curve == "P-384") {
      return EVP_sha384();
    }
    if (curve == "P-521") {
      return EVP_sha512();
    }
  }
  return EVP_sha256();
}

}  // namespace custody::internal
