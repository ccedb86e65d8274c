// SPDX-License-Identifier: Apache-2.0
// The Identity class: a signing key with its certificate, loaded through key_loading.cpp, checked
// that it may sign now, and signing detached CMS SignedData.
#include "crypto/certificate.hpp"
#include "crypto/cms_verify.hpp"
#include "crypto/identity_access.hpp"
#include "crypto/key_loading.hpp"
#include "crypto/openssl_util.hpp"
#include "crypto/token_evp.hpp"

#include <custody/identity.hpp>

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <optional>
#include <utility>

namespace custody {

struct Identity::Impl {
  internal::EvpPkeyPtr key;
  internal::X509Ptr cert;
  std::vector<internal::X509Ptr> chain;
  std::vector<internal::X509Ptr> signer_anchors;  // IdentityOptions::signer_trust_files
  CertificateFacts facts;
  const EVP_MD* digest = nullptr;
  std::shared_ptr<internal::TokenKey> token;  // for a key on a PKCS#11 token
};

Identity::Identity(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Identity::Identity(Identity&&) noexcept = default;
Identity& Identity::operator=(Identity&&) noexcept = default;
Identity::~Identity() = default;

const CertificateFacts& Identity::certificate() const {
  return m_impl->facts;
}

EVP_PKEY* internal::IdentityAccess::key(const Identity& identity) {
  return identity.m_impl->key.get();
}

X509* internal::IdentityAccess::certificate(const Identity& identity) {
  return identity.m_impl->cert.get();
}

Result<Identity> Identity::load(const IdentityOptions& options) {
  ERR_clear_error();
  if (options.key_path.empty()) {
    return make_error(Errc::invalid_argument, "no private key given");
  }
  // A --trust file that is missing or holds no certificate is the user's to fix (not found, or a
  // usage error), as for the tools that check signatures.
  CUSTODY_TRY(check_trust_files(options.signer_trust_files));
  auto signing = internal::load_signing_key(options);
  CUSTODY_TRY(signing);
  auto anchors = internal::read_trust_anchors(options.signer_trust_files);
  CUSTODY_TRY(anchors);

  auto impl = std::make_unique<Impl>();
  impl->key = std::move(signing->key);
  impl->cert = std::move(signing->cert);
  impl->chain = std::move(signing->chain);
  impl->token = std::move(signing->token);
  impl->signer_anchors = std::move(*anchors);
  impl->facts = internal::certificate_facts(impl->cert.get());
  // From the certificate's key, which the private key matches: a token key's curve is not
  // always visible through OpenSSL.
  impl->digest = internal::digest_for(X509_get0_pubkey(impl->cert.get()));
  ERR_clear_error();
  return Identity(std::move(impl));
}

Result<void> Identity::check_can_sign() const {
  X509* cert = m_impl->cert.get();
  const CertificateFacts& facts = m_impl->facts;
  const auto refuse = [&](const std::string& why, const char* hint) {
    Error error{Errc::invalid_argument,
                fmt::format("cannot sign as {}: {}; a signature made with it would never verify",
                            common_name(facts.subject), why),
                {},
                {},
                0,
                hint};
    return tl::unexpected(std::move(error));
  };
  if (m_impl->token && !m_impl->token->can_sign()) {
    return refuse(fmt::format("the token does not let its {} sign (CKA_SIGN is false)",
                              m_impl->token->description()),
                  "nothing was signed or changed; use the token's signing key");
  }
  constexpr const char* k_renew =
      "nothing was signed or changed; sign with a certificate that is valid now (ask the CA to "
      "renew it)";
  // X509_cmp_current_time: negative if the time lies in the past, positive if in the future.
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return refuse(fmt::format("its certificate is not valid before {}", facts.not_before), k_renew);
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return refuse(fmt::format("its certificate expired on {}", facts.not_after), k_renew);
  }
  // The purpose the verifier checks (chain_problem): a key usage that allows signing, and
  // emailProtection or no extended key usage.
  if (X509_check_purpose(cert, X509_PURPOSE_SMIME_SIGN, 0) != 1) {
    ERR_clear_error();
    return refuse(
        "its certificate does not allow signing documents (key usage must include "
        "digitalSignature or nonRepudiation, extended key usage emailProtection or "
        "none)",
        "nothing was signed or changed; use the signing certificate your CA issued "
        "for this key");
  }
  if (!m_impl->signer_anchors.empty()) {
    auto untrusted = internal::stack_view(m_impl->chain);
    CUSTODY_TRY(untrusted);
    const std::string problem =
        internal::chain_problem(cert, m_impl->signer_anchors, untrusted->get(), std::nullopt);
    if (!problem.empty()) {
      return refuse(
          fmt::format("its certificate does not chain to the given --trust CAs ({})", problem),
          "nothing was signed or changed; give the CA that issued the signer's "
          "certificate, and its intermediates with --chain");
    }
  }
  ERR_clear_error();
  return {};
}

// OpenSSL's reason, or the token's when the key is on a token (a wrong PIN for a key that asks
// for it at every signature, a token pulled out).
namespace {
tl::unexpected<Error> signing_failure(const EVP_PKEY* key, std::string_view what) {
  if (auto token_error = internal::take_token_error(key)) {
    ERR_clear_error();
    return tl::unexpected(std::move(*token_error));
  }
  return internal::crypto_error(what);
}
}  // namespace

Result<std::string> Identity::sign_detached(std::string_view content) const {
  ERR_clear_error();
  auto chain = internal::stack_view(m_impl->chain);
  CUSTODY_TRY(chain);
  // Partial: the signer is added with our choice of digest, which CMS_sign would not take.
  constexpr unsigned int k_flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
  internal::CmsPtr cms(CMS_sign(nullptr, nullptr, chain->get(), nullptr, k_flags));
  if (!cms) {
    return internal::crypto_error("cannot start a CMS signature");
  }
  // signingTime is added by default; S/MIME capabilities mean nothing for evidence. CMS_CADES
  // adds the ESS signing-certificate-v2 attribute (the signer certificate's hash, with the
  // signature's digest), which CAdES baseline B-B requires: it binds the signature to this one
  // certificate, not to any certificate of the same key. A key whose
  // certificate is RSASSA-PSS signs PSS: its padding must be set on the signer's context
  // (CMS_KEY_PARAM makes it now) before the signature algorithm is written, or the SignerInfo
  // says rsaEncryption over a PSS signature and no verifier accepts it.
  const bool pss = EVP_PKEY_is_a(X509_get0_pubkey(m_impl->cert.get()), "RSA-PSS") == 1;
  CMS_SignerInfo* signer =
      CMS_add1_signer(cms.get(), m_impl->cert.get(), m_impl->key.get(), m_impl->digest,
                      CMS_BINARY | CMS_NOSMIMECAP | CMS_CADES | (pss ? CMS_KEY_PARAM : 0U));
  if (signer == nullptr) {
    return signing_failure(m_impl->key.get(), "cannot add the signer to the CMS signature");
  }
  if (pss) {
    EVP_PKEY_CTX* context = CMS_SignerInfo_get0_pkey_ctx(signer);
    if (context == nullptr || EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(context, RSA_PSS_SALTLEN_DIGEST) <= 0) {
      return signing_failure(m_impl->key.get(), "cannot set RSASSA-PSS on the signature");
    }
  }
  internal::ViewState state;
  auto data = internal::view_bio(content, state);
  CUSTODY_TRY(data);
  // CMS_BINARY: the bytes as they are, no line-end canonicalisation.
  if (CMS_final(cms.get(), data->get(), nullptr, CMS_DETACHED | CMS_BINARY) != 1) {
    return signing_failure(m_impl->key.get(), "cannot sign");
  }
  const int length = i2d_CMS_ContentInfo(cms.get(), nullptr);
  if (length <= 0) {
    return internal::crypto_error("cannot encode the CMS signature");
  }
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_CMS_ContentInfo(cms.get(), &out) != length) {
    return internal::crypto_error("cannot encode the CMS signature");
  }
  return der;
}

}  // namespace custody
