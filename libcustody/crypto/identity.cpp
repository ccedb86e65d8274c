// SPDX-License-Identifier: Apache-2.0
// Identities (key and certificate) and detached CMS signatures: loading keys safely, checking
// a signer can sign, signing, and verifying signatures against trust anchors.
#include "crypto/certificate.hpp"
#include "crypto/identity_access.hpp"
#include "crypto/key_loading.hpp"
#include "crypto/openssl_ptr.hpp"
#include "crypto/openssl_util.hpp"

#include <custody/identity.hpp>

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <iterator>
#include <optional>
#include <utility>

namespace custody {

namespace {

using internal::BioPtr;
using internal::CmsPtr;
using internal::crypto_error;
using internal::drain_errors;
using internal::DrainedErrors;
using internal::rfc3339;
using internal::stack_view;
using internal::view_bio;
using internal::ViewState;
using internal::X509Ptr;
using internal::X509StackPtr;
using internal::X509StoreCtxPtr;
using internal::X509StorePtr;

// The signingTime attribute of `signer_info`, if any.
std::optional<std::time_t> signing_time_of(CMS_SignerInfo* signer_info) {
  const int index = CMS_signed_get_attr_by_NID(signer_info, NID_pkcs9_signingTime, -1);
  if (index < 0) {
    return std::nullopt;
  }
  X509_ATTRIBUTE* attribute = CMS_signed_get_attr(signer_info, index);
  ASN1_TYPE* value = attribute != nullptr ? X509_ATTRIBUTE_get0_type(attribute, 0) : nullptr;
  if (value == nullptr ||
      (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME)) {
    return std::nullopt;
  }
  std::tm broken_down{};
  if (ASN1_TIME_to_tm(value->value.utctime, &broken_down) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return ::timegm(&broken_down);
}

// Chains `signer` to `anchors` at `when`, with the certificates the signature carries as
// untrusted intermediates. Returns the problem, or an empty string when trusted.
std::string chain_problem(X509* signer,
                          const std::vector<X509Ptr>& anchors,
                          STACK_OF(X509) * untrusted,
                          std::optional<std::time_t> when) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  if (!store || !context) {
    return "cannot check the chain: " + internal::openssl_errors();
  }
  for (const X509Ptr& anchor : anchors) {
    // Adds a reference; a certificate listed twice in the bundles is no error.
    X509_STORE_add_cert(store.get(), anchor.get());
  }
  ERR_clear_error();
  if (X509_STORE_CTX_init(context.get(), store.get(), signer, untrusted) != 1 ||
      X509_STORE_CTX_set_default(context.get(), "smime_sign") != 1) {
    return "cannot check the chain: " + internal::openssl_errors();
  }
  // The purpose CMS_verify uses: emailProtection or no extended key usage passes, codeSigning
  // alone does not (docs/crypto-notes.md).
  if (when) {
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context.get()), *when);
  }
  if (X509_verify_cert(context.get()) == 1) {
    return {};
  }
  const int error = X509_STORE_CTX_get_error(context.get());
  if (error == X509_V_OK) {
    return "cannot check the chain: " + internal::openssl_errors();
  }
  ERR_clear_error();
  return X509_verify_cert_error_string(error);
}

// Plain words for why CMS_verify said no.
std::string signature_failure(const DrainedErrors& errors) {
  if (errors.has(ERR_LIB_CMS, CMS_R_CONTENT_VERIFY_ERROR)) {
    return "the content does not match the signature: it was changed after signing, or it is not "
           "the content that was signed";
  }
  if (errors.has(ERR_LIB_CMS, CMS_R_VERIFICATION_FAILURE)) {
    return "the signature value does not verify with the signer's public key: the signature was "
           "altered";
  }
  if (errors.has(ERR_LIB_CMS, CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)) {
    return "the signer's certificate is neither in the signature nor among the trust anchors";
  }
  return "the signature does not verify: " + errors.text;
}

}  // namespace

struct Identity::Impl {
  internal::EvpPkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  std::vector<X509Ptr> signer_anchors;  // IdentityOptions::signer_trust_files
  CertificateFacts facts;
  const EVP_MD* digest = nullptr;
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

  auto impl = std::make_unique<Impl>();
  impl->key = std::move(signing->key);
  impl->cert = std::move(signing->cert);
  impl->chain = std::move(signing->chain);
  for (const std::string& path : options.signer_trust_files) {
    auto anchors = internal::read_certificate_file(path, "trust anchors");
    CUSTODY_TRY(anchors);
    std::move(anchors->begin(), anchors->end(), std::back_inserter(impl->signer_anchors));
  }
  impl->facts = internal::certificate_facts(impl->cert.get());
  impl->digest = internal::digest_for(impl->key.get());
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
    auto untrusted = stack_view(m_impl->chain);
    CUSTODY_TRY(untrusted);
    const std::string problem =
        chain_problem(cert, m_impl->signer_anchors, untrusted->get(), std::nullopt);
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

Result<std::string> Identity::sign_detached(std::string_view content) const {
  ERR_clear_error();
  auto chain = stack_view(m_impl->chain);
  CUSTODY_TRY(chain);
  // Partial: the signer is added with our choice of digest, which CMS_sign would not take.
  constexpr unsigned int k_flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
  CmsPtr cms(CMS_sign(nullptr, nullptr, chain->get(), nullptr, k_flags));
  if (!cms) {
    return crypto_error("cannot start a CMS signature");
  }
  // signingTime is added by default; S/MIME capabilities mean nothing for evidence.
  if (CMS_add1_signer(cms.get(), m_impl->cert.get(), m_impl->key.get(), m_impl->digest,
                      CMS_BINARY | CMS_NOSMIMECAP) == nullptr) {
    return crypto_error("cannot add the signer to the CMS signature");
  }
  ViewState state;
  auto data = view_bio(content, state);
  CUSTODY_TRY(data);
  // CMS_BINARY: the bytes as they are, no line-end canonicalisation.
  if (CMS_final(cms.get(), data->get(), nullptr, CMS_DETACHED | CMS_BINARY) != 1) {
    return crypto_error("cannot sign");
  }
  const int length = i2d_CMS_ContentInfo(cms.get(), nullptr);
  if (length <= 0) {
    return crypto_error("cannot encode the CMS signature");
  }
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_CMS_ContentInfo(cms.get(), &out) != length) {
    return crypto_error("cannot encode the CMS signature");
  }
  return der;
}

Result<SignatureCheck> verify_detached(std::string_view cms_der,
                                       std::string_view content,
                                       const std::vector<std::string>& trust_files) {
  ERR_clear_error();
  const auto* der = reinterpret_cast<const unsigned char*>(cms_der.data());
  const unsigned char* const der_end = der + cms_der.size();
  CmsPtr cms(cms_der.size() <= LONG_MAX
                 ? d2i_CMS_ContentInfo(nullptr, &der, static_cast<long>(cms_der.size()))
                 : nullptr);
  if (!cms) {
    return make_error(Errc::corrupt,
                      fmt::format("not a CMS signature (DER): {}", internal::openssl_errors()));
  }
  if (der != der_end) {
    return make_error(Errc::corrupt,
                      fmt::format("{} bytes follow the CMS signature", der_end - der));
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return make_error(Errc::corrupt, "a CMS message, but not a signature (SignedData)");
  }
  if (CMS_is_detached(cms.get()) != 1) {
    return make_error(Errc::unsupported,
                      "the CMS signature embeds its content: a detached signature was expected");
  }

  std::vector<X509Ptr> anchors;
  for (const std::string& path : trust_files) {
    auto certificates = internal::read_certificate_file(path, "trust anchors");
    CUSTODY_TRY(certificates);
    std::move(certificates->begin(), certificates->end(), std::back_inserter(anchors));
  }
  // The anchors also serve to find a signer certificate that the signature does not carry.
  auto anchor_stack = stack_view(anchors);
  CUSTODY_TRY(anchor_stack);

  SignatureCheck check;
  STACK_OF(CMS_SignerInfo)* signer_infos = CMS_get0_SignerInfos(cms.get());
  const int signer_count = sk_CMS_SignerInfo_num(signer_infos);
  if (signer_count <= 0) {
    check.trust_problem = "the signature has no signer";
    check.detail = "the signature has no signer";
    return check;
  }
  CMS_set1_signers_certs(cms.get(), anchor_stack->get(), 0);
  ERR_clear_error();

  ViewState state;
  auto data = view_bio(content, state);
  CUSTODY_TRY(data);
  // CMS_NO_SIGNER_CERT_VERIFY: only the cryptography here; trust is judged below, separately,
  // so that "untrusted signer" and "invalid signature" stay apart.
  check.signature_valid = CMS_verify(cms.get(), anchor_stack->get(), nullptr, data->get(), nullptr,
                                     CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
  const DrainedErrors errors = drain_errors();

  const X509StackPtr carried(CMS_get1_certs(cms.get()));
  ERR_clear_error();
  // Every signer must pass; the report describes the first.
  check.chain_trusted = true;
  check.valid_at_signing_time = true;
  for (int i = 0; i < signer_count; ++i) {
    CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signer_infos, i);
    X509* signer = nullptr;
    CMS_SignerInfo_get0_algs(signer_info, nullptr, &signer, nullptr, nullptr);
    const std::optional<std::time_t> signed_at = signing_time_of(signer_info);
    if (i == 0) {
      if (signer != nullptr) {
        check.signer = internal::certificate_facts(signer);
      }
      if (signed_at) {
        check.signing_time = rfc3339(*signed_at);
      }
    }
    std::string problem;
    if (signer == nullptr) {
      problem = "the signer's certificate is neither in the signature nor among the trust anchors";
    } else if (anchors.empty()) {
      problem = "no trust anchors given";
    } else {
      // At the signing time: a certificate that expired since still verifies. Without a
      // signing time, only the present time is left.
      problem = chain_problem(signer, anchors, carried.get(), signed_at);
    }
    if (!problem.empty() && check.chain_trusted) {
      check.chain_trusted = false;
      check.trust_problem = problem;
    }
    // X509_cmp_time: -1 if the certificate's time is at or before `at`, 1 if after.
    std::time_t at = signed_at.value_or(0);
    const bool in_validity = signer != nullptr && signed_at &&
                             X509_cmp_time(X509_get0_notBefore(signer), &at) == -1 &&
                             X509_cmp_time(X509_get0_notAfter(signer), &at) == 1;
    check.valid_at_signing_time = check.valid_at_signing_time && in_validity;
  }
  ERR_clear_error();

  if (!check.signature_valid) {
    check.detail = signature_failure(errors);
  } else if (!check.chain_trusted) {
    check.detail = fmt::format(
        "the content matches the signature, but the signer is not trusted: "
        "{}",
        check.trust_problem);
  } else if (check.signing_time.empty()) {
    check.detail =
        "the signature carries no signing time: the certificate chain was checked at the present "
        "time";
  } else if (!check.valid_at_signing_time) {
    check.detail = "the signing time lies outside the signer certificate's validity";
  }
  return check;
}

Result<void> check_trust_files(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    auto certificates = internal::read_certificate_file(path, "trust anchors");
    if (!certificates) {
      Error error = std::move(certificates).error();
      if (error.code == Errc::corrupt) {
        error.code = Errc::invalid_argument;
        error.message = fmt::format(
            "{} is not a certificate file: it holds no certificate in "
            "PEM or DER",
            path);
        error.hint =
            "give the CA's certificate (for example ca.pem), not a key, a request or a "
            "signature";
      } else if (error.code == Errc::not_found) {
        error.message = "trust file not found";
        error.hint = "give the PEM file of the CA that issued the signers' certificates";
      }
      return tl::unexpected(std::move(error));
    }
  }
  return {};
}

}  // namespace custody
