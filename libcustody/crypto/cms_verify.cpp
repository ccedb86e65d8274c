// SPDX-License-Identifier: Apache-2.0
// Checking detached CMS signatures: the signature value over the content, and, apart from it,
// each signer's chain to the trust anchors at the signing time; trust files and chain checks.
#include "crypto/cms_verify.hpp"

#include "crypto/certificate.hpp"
#include "crypto/openssl_util.hpp"

#include <custody/identity.hpp>

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509v3.h>

#include <climits>
#include <ctime>
#include <iterator>
#include <utility>

namespace custody {

namespace internal {

Result<std::vector<X509Ptr>> read_trust_anchors(const std::vector<std::string>& paths) {
  std::vector<X509Ptr> anchors;
  for (const std::string& path : paths) {
    auto certificates = read_certificate_file(path, "trust anchors");
    CUSTODY_TRY(certificates);
    std::move(certificates->begin(), certificates->end(), std::back_inserter(anchors));
  }
  return anchors;
}

std::string chain_problem(X509* signer,
                          const std::vector<X509Ptr>& anchors,
                          STACK_OF(X509) * untrusted,
                          std::optional<std::time_t> when) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  if (!store || !context) {
    return "cannot check the chain: " + openssl_errors();
  }
  for (const X509Ptr& anchor : anchors) {
    // Adds a reference; a certificate listed twice in the bundles is no error.
    X509_STORE_add_cert(store.get(), anchor.get());
  }
  ERR_clear_error();
  if (X509_STORE_CTX_init(context.get(), store.get(), signer, untrusted) != 1 ||
      X509_STORE_CTX_set_default(context.get(), "smime_sign") != 1) {
    return "cannot check the chain: " + openssl_errors();
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
    return "cannot check the chain: " + openssl_errors();
  }
  ERR_clear_error();
  return X509_verify_cert_error_string(error);
}

}  // namespace internal

namespace {

using internal::CmsPtr;
using internal::DrainedErrors;
using internal::X509Ptr;

constexpr const char* k_signer_not_found =
    "the signer's certificate is neither in the signature nor among the trust anchors";

// The DER of a detached SignedData, and nothing else: no bytes after it, no other CMS type, no
// embedded content.
Result<CmsPtr> parse_detached_signature(std::string_view cms_der) {
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
  return cms;
}

// The ESS signing-certificate attribute (`nid`: v2, as CAdES baseline signatures carry, or v1)
// of `signer`, decoded into `out`. False when the attribute is there but cannot be decoded.
template <typename Ess>
bool ess_attribute(CMS_SignerInfo* signer,
                   int nid,
                   Ess* (*decode)(Ess**, const unsigned char**, long),
                   Ess*& out) {
  const int index = CMS_signed_get_attr_by_NID(signer, nid, -1);
  if (index < 0) {
    return true;
  }
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(signer, index), 0);
  if (value == nullptr || value->type != V_ASN1_SEQUENCE) {
    return false;
  }
  const unsigned char* der = value->value.sequence->data;
  out = decode(nullptr, &der, value->value.sequence->length);
  return out != nullptr;
}

// Whether each signer's ESS signing-certificate attribute, when it has one, names the certificate
// the signature was checked with, and no other certificate of the same key. CMS_verify's own
// check (CMS_CADES) would also demand a trusted chain, which is judged apart (judge_signers).
// Signatures made before custody added the attribute have none, and pass.
bool signers_named_by_ess(CMS_ContentInfo* cms) {
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  for (int i = 0; i < sk_CMS_SignerInfo_num(signers); ++i) {
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(signers, i);
    X509* cert = nullptr;
    CMS_SignerInfo_get0_algs(signer, nullptr, &cert, nullptr, nullptr);
    ESS_SIGNING_CERT* v1 = nullptr;
    ESS_SIGNING_CERT_V2* v2 = nullptr;
    bool named =
        ess_attribute(signer, NID_id_smime_aa_signingCertificate, d2i_ESS_SIGNING_CERT, v1) &&
        ess_attribute(signer, NID_id_smime_aa_signingCertificateV2, d2i_ESS_SIGNING_CERT_V2, v2);
    if (named && cert != nullptr && (v1 != nullptr || v2 != nullptr)) {
      const internal::X509ViewPtr chain(sk_X509_new_null());
      named = chain && sk_X509_push(chain.get(), cert) > 0 &&
              OSSL_ESS_check_signing_certs(v1, v2, chain.get(), 0) > 0;
    }
    ESS_SIGNING_CERT_free(v1);
    ESS_SIGNING_CERT_V2_free(v2);
    if (!named) {
      return false;
    }
  }
  return true;
}

// Whether the signature value verifies over `content` with the signer's public key, and the
// signer's certificate is the one its ESS attribute names (when it has one): only the
// cryptography, with OpenSSL's errors in `errors` to say why not.
Result<bool> signature_verifies(CMS_ContentInfo* cms,
                                STACK_OF(X509) * anchors,
                                std::string_view content,
                                DrainedErrors& errors) {
  internal::ViewState state;
  auto data = internal::view_bio(content, state);
  CUSTODY_TRY(data);
  // CMS_NO_SIGNER_CERT_VERIFY: trust is judged separately (judge_signers), so that "untrusted
  // signer" and "invalid signature" stay apart.
  const bool valid = CMS_verify(cms, anchors, nullptr, data->get(), nullptr,
                                CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
  errors = internal::drain_errors();
  if (valid && !signers_named_by_ess(cms)) {
    ERR_clear_error();
    errors.text = "the ESS signing-certificate attribute names another certificate";
    errors.codes.emplace_back(ERR_LIB_ESS, 0);
    return false;
  }
  return valid;
}

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

// Why `signer` is not trusted, or an empty string. At the signing time: a certificate that
// expired since still verifies. Without a signing time, only the present time is left.
std::string trust_problem(X509* signer,
                          const std::vector<X509Ptr>& anchors,
                          STACK_OF(X509) * carried,
                          std::optional<std::time_t> signed_at) {
  if (signer == nullptr) {
    return k_signer_not_found;
  }
  if (anchors.empty()) {
    return "no trust anchors given";
  }
  return internal::chain_problem(signer, anchors, carried, signed_at);
}

// Whether the signing time lies within the validity of `signer`; false without either.
bool valid_at(X509* signer, std::optional<std::time_t> signed_at) {
  if (signer == nullptr || !signed_at) {
    return false;
  }
  // X509_cmp_time: -1 if the certificate's time is at or before `at`, 1 if after.
  std::time_t at = *signed_at;
  return X509_cmp_time(X509_get0_notBefore(signer), &at) == -1 &&
         X509_cmp_time(X509_get0_notAfter(signer), &at) == 1;
}

// The trust verdicts over every signer: each must pass, and the report describes the first.
void judge_signers(CMS_ContentInfo* cms,
                   const std::vector<X509Ptr>& anchors,
                   SignatureCheck& check) {
  STACK_OF(CMS_SignerInfo)* signer_infos = CMS_get0_SignerInfos(cms);
  const internal::X509StackPtr carried(CMS_get1_certs(cms));
  ERR_clear_error();
  check.chain_trusted = true;
  check.valid_at_signing_time = true;
  for (int i = 0; i < sk_CMS_SignerInfo_num(signer_infos); ++i) {
    CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signer_infos, i);
    X509* signer = nullptr;
    CMS_SignerInfo_get0_algs(signer_info, nullptr, &signer, nullptr, nullptr);
    const std::optional<std::time_t> signed_at = signing_time_of(signer_info);
    if (i == 0 && signer != nullptr) {
      check.signer = internal::certificate_facts(signer);
    }
    if (i == 0 && signed_at) {
      check.signing_time = internal::rfc3339(*signed_at);
    }
    const std::string problem = trust_problem(signer, anchors, carried.get(), signed_at);
    if (!problem.empty() && check.chain_trusted) {
      check.chain_trusted = false;
      check.trust_problem = problem;
    }
    check.valid_at_signing_time = check.valid_at_signing_time && valid_at(signer, signed_at);
  }
  ERR_clear_error();
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
    return k_signer_not_found;
  }
  if (errors.has_library(ERR_LIB_ESS)) {
    return "the signature names another certificate than the one it carries (ESS "
           "signing-certificate): the signer's certificate was swapped";
  }
  return "the signature does not verify: " + errors.text;
}

// The plain-language summary of the first thing that failed; empty if all is well.
std::string failure_detail(const SignatureCheck& check, const DrainedErrors& errors) {
  if (!check.signature_valid) {
    return signature_failure(errors);
  }
  if (!check.chain_trusted) {
    return fmt::format("the content matches the signature, but the signer is not trusted: {}",
                       check.trust_problem);
  }
  if (check.signing_time.empty()) {
    return "the signature carries no signing time: the certificate chain was checked at the "
           "present time";
  }
  if (!check.valid_at_signing_time) {
    return "the signing time lies outside the signer certificate's validity";
  }
  return {};
}

}  // namespace

Result<SignatureCheck> verify_detached(std::string_view cms_der,
                                       std::string_view content,
                                       const std::vector<std::string>& trust_files) {
  ERR_clear_error();
  auto cms = parse_detached_signature(cms_der);
  CUSTODY_TRY(cms);
  auto anchors = internal::read_trust_anchors(trust_files);
  CUSTODY_TRY(anchors);
  // The anchors also serve to find a signer certificate that the signature does not carry.
  auto anchor_stack = internal::stack_view(*anchors);
  CUSTODY_TRY(anchor_stack);

  SignatureCheck check;
  if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms->get())) <= 0) {
    check.trust_problem = "the signature has no signer";
    check.detail = "the signature has no signer";
    return check;
  }
  CMS_set1_signers_certs(cms->get(), anchor_stack->get(), 0);
  ERR_clear_error();

  DrainedErrors errors;
  auto valid = signature_verifies(cms->get(), anchor_stack->get(), content, errors);
  CUSTODY_TRY(valid);
  check.signature_valid = *valid;
  judge_signers(cms->get(), *anchors, check);
  check.detail = failure_detail(check, errors);
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
