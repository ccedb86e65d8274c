// SPDX-License-Identifier: Apache-2.0
// CAdES baseline levels B-T and B-LT on our signatures, and their validation in the words of
// EN 319 102-1 (cades.hpp).
#include "core/posix_file.hpp"
#include "crypto/certificate.hpp"
#include "crypto/openssl_util.hpp"
#include "crypto/revocation.hpp"

#include <custody/cades.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace custody {

namespace cades_detail {

using internal::CertificateStatus;

constexpr std::size_t k_max_revocation_file = 32 * 1024 * 1024;

Result<internal::CmsPtr> parse_cms(std::string_view der) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  internal::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &in, static_cast<long>(der.size())));
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    ERR_clear_error();
    return make_error(Errc::corrupt, "not a CMS SignedData signature");
  }
  return cms;
}

std::string signer_name(X509* cert) {
  return common_name(internal::name_text(X509_get_subject_name(cert)));
}

tl::unexpected<Error> revoked_signer(X509* cert, const CertificateStatus& status) {
  Error error{
      Errc::invalid_argument,
      fmt::format("the certificate of {} was revoked on {} ({}); a signature made with "
                  "it would not be accepted",
                  signer_name(cert), status.revoked_at, internal::describe_status_source(status)),
      {},
      {},
      0,
      "nothing was signed or changed; sign with a certificate that is not revoked"};
  return tl::unexpected(std::move(error));
}

// One piece of revocation data given at signing, checked to be about the signer. `origin` names
// it in errors.
Result<CertificateStatus> status_about_signer(const std::string& data,
                                              const std::string& origin,
                                              X509* cert,
                                              X509* issuer) {
  if (issuer == nullptr) {
    return make_error(Errc::invalid_argument,
                      fmt::format("cannot use the revocation data {}: the certificate of the "
                                  "signer's issuer is not in the signature; give it with --chain",
                                  origin));
  }
  auto status = internal::status_from_data(data, cert, issuer);
  if (!status) {
    Error error = status.error();
    error.message = fmt::format("the revocation data {}: {}", origin, error.message);
    return tl::unexpected(std::move(error));
  }
  return status;
}

// The revocation files of an offline lab and the data already in hand, each checked to be about
// the signer.
Result<std::vector<CertificateStatus>> statuses_given(const CadesOptions& options,
                                                      X509* cert,
                                                      X509* issuer) {
  std::vector<CertificateStatus> statuses;
  for (const std::string& path : options.revocation_files) {
    auto data = internal::read_small_file(path, k_max_revocation_file);
    CUSTODY_TRY(data);
    auto status = status_about_signer(*data, path, cert, issuer);
    CUSTODY_TRY(status);
    statuses.push_back(std::move(*status));
  }
  for (const std::string& der : options.revocation_der) {
    auto status = status_about_signer(der, "in hand", cert, issuer);
    CUSTODY_TRY(status);
    statuses.push_back(std::move(*status));
  }
  return statuses;
}

std::string status_words(const CertificateStatus& status) {
  switch (status.kind) {
    case CertificateStatus::Kind::good:
      return "not revoked";
    case CertificateStatus::Kind::revoked:
      return "revoked on " + status.revoked_at;
    case CertificateStatus::Kind::unknown:
      break;
  }
  return "unknown to the responder";
}

// Adds the signature time-stamp (B-T). A TSA that fails costs the level, never the signature.
Result<void> add_signature_timestamp(const CadesOptions& options, CadesSignature& signature) {
  auto value = signature_value_of(signature.der);
  CUSTODY_TRY(value);
  auto request = make_timestamp_request(*value);
  CUSTODY_TRY(request);
  FreshTimestamp fresh = obtain_timestamp(options.tsa_url, *request, *value, options.tsa_timeout);
  if (fresh.token.empty()) {
    signature.timestamp_problem = fresh.problem;
    signature.shortfalls.push_back("no signature time-stamp (B-T): " + fresh.problem);
    return {};
  }
  auto stamped = attach_timestamp_token(signature.der, fresh.token);
  CUSTODY_TRY(stamped);
  signature.der = std::move(*stamped);
  signature.level = "B-T";
  signature.timestamp_time = fresh.time;
  return {};
}

// B-LT: the statuses into SignedData.crls (B-B stays B-B: revocation data without a proof of
// existence is no level of its own).
Result<void> embed_statuses(const std::vector<CertificateStatus>& statuses,
                            CadesSignature& signature) {
  auto embedded = internal::embed_revocation_data(signature.der, statuses);
  CUSTODY_TRY(embedded);
  signature.der = std::move(*embedded);
  for (const CertificateStatus& status : statuses) {
    signature.revocation.push_back(
        fmt::format("{}: {}", internal::describe_status_source(status), status_words(status)));
    signature.revocation_der.push_back(status.der);
  }
  if (signature.level == "B-T") {
    signature.level = "B-LT";
  } else {
    signature.shortfalls.push_back(
        "the revocation data is embedded, but without a signature time-stamp the signature "
        "stays B-B (give --tsa)");
  }
  return {};
}

}  // namespace cades_detail

using namespace cades_detail;

Result<CadesSignature> extend_signature(std::string cms_der, const CadesOptions& options) {
  ERR_clear_error();
  CadesSignature signature;
  signature.der = std::move(cms_der);
  auto cms = parse_cms(signature.der);
  CUSTODY_TRY(cms);
  auto certs = internal::signer_certificates(cms->get());
  CUSTODY_TRY(certs);
  X509* cert = certs->signer.get();
  X509* issuer = certs->issuer.get();

  // Files first: a revoked signer is refused before anything asks the network.
  auto statuses = statuses_given(options, cert, issuer);
  CUSTODY_TRY(statuses);
  for (const CertificateStatus& status : *statuses) {
    if (status.kind == CertificateStatus::Kind::revoked) {
      return revoked_signer(cert, status);
    }
  }
  if (!options.earlier_tsa_problem.empty()) {
    signature.timestamp_problem = options.earlier_tsa_problem;
  } else if (!options.tsa_url.empty()) {
    CUSTODY_TRY(add_signature_timestamp(options, signature));
  }
  const bool timestamped = signature.level == "B-T";
  if (statuses->empty() && timestamped && options.fetch_revocation) {
    if (certs->self_signed) {
      signature.shortfalls.push_back(
          "no revocation data (B-LT): the signer's certificate is self-signed, so no CA "
          "publishes its status");
    } else if (issuer == nullptr) {
      signature.shortfalls.push_back(
          "no revocation data (B-LT): the certificate of the signer's issuer is not in the "
          "signature (give it with --chain)");
    } else if (auto fetched = internal::fetch_status(cert, issuer, options.fetch_timeout)) {
      if (fetched->kind == CertificateStatus::Kind::revoked) {
        return revoked_signer(cert, *fetched);
      }
      if (fetched->kind == CertificateStatus::Kind::unknown) {
        // Proves nothing either way: a validator would still have to ask.
        signature.shortfalls.push_back(
            fmt::format("no revocation data (B-LT): {} does not know the signer's certificate",
                        fetched->issuer));
      } else {
        statuses->push_back(std::move(*fetched));
      }
    } else {
      signature.shortfalls.push_back("no revocation data (B-LT): " + fetched.error().message);
    }
  }
  if (!statuses->empty()) {
    CUSTODY_TRY(embed_statuses(*statuses, signature));
  }
  for (const std::string& shortfall : options.earlier_shortfalls) {
    if (std::find(signature.shortfalls.begin(), signature.shortfalls.end(), shortfall) ==
        signature.shortfalls.end()) {
      signature.shortfalls.push_back(shortfall);
    }
  }
  return signature;
}

CadesOptions options_after(const CadesOptions& options,
                           const std::vector<std::string>& revocation_der,
                           const std::vector<std::string>& shortfalls,
                           const std::string& timestamp_problem) {
  CadesOptions next = options;
  next.revocation_files.clear();
  next.revocation_der = revocation_der;
  next.fetch_revocation = false;  // asked once already, or not to be asked
  next.earlier_shortfalls = shortfalls;
  next.earlier_tsa_problem = timestamp_problem;
  return next;
}

namespace cades_detail {

// The signer's status as the embedded data tells it, each piece checked; unusable pieces are
// skipped (they prove nothing either way).
std::vector<CertificateStatus> embedded_statuses(std::string_view cms_der,
                                                 X509* cert,
                                                 X509* issuer) {
  std::vector<CertificateStatus> statuses;
  auto found = internal::embedded_revocation_data(cms_der);
  if (!found || issuer == nullptr) {
    return statuses;
  }
  for (const auto* list : {&found->crls, &found->ocsp_responses}) {
    for (const std::string& der : *list) {
      if (auto status = internal::status_from_data(der, cert, issuer)) {
        statuses.push_back(std::move(*status));
      }
    }
  }
  return statuses;
}

// Whether `status` tells the signer's status at `time`: issued at or after it, or issued before
// it with a next update promised after it (the issuer's own schedule vouches for the gap).
bool covers(const CertificateStatus& status, const std::string& time) {
  if (status.this_update >= time) {
    return true;
  }
  return !status.next_update.empty() && status.next_update >= time;
}

void set_indication(EtsiValidation& validation,
                    const char* indication,
                    const char* sub_indication,
                    std::string detail) {
  validation.indication = indication;
  validation.sub_indication = sub_indication;
  validation.detail = std::move(detail);
}

// The proof of existence from the signature time-stamp, if one is embedded and trusted.
void read_signature_timestamp(std::string_view cms_der,
                              const std::vector<std::string>& tsa_trust,
                              EtsiValidation& validation) {
  auto token = timestamp_token_of(cms_der);
  if (!token || !*token) {
    return;
  }
  validation.level = "B-T";
  auto value = signature_value_of(cms_der);
  auto check = value ? verify_timestamp(**token, *value, tsa_trust)
                     : Result<TimestampCheck>(tl::unexpected(value.error()));
  if (check && check->imprint_matches && check->signature_valid) {
    validation.proof_time = check->time;
    validation.proof = fmt::format("signature time-stamp by {}", check->tsa_subject);
  }
}

// Decides on the signer's revocation status; returns false when that already settles the
// indication (failed or indeterminate).
bool judge_revocation(const std::vector<CertificateStatus>& statuses,
                      const std::string& when,
                      const std::string& fetch_problem,
                      EtsiValidation& validation) {
  const CertificateStatus* revoked = nullptr;
  const CertificateStatus* good = nullptr;
  for (const CertificateStatus& status : statuses) {
    if (status.kind == CertificateStatus::Kind::revoked &&
        (revoked == nullptr || status.revoked_at < revoked->revoked_at)) {
      revoked = &status;
    } else if (status.kind == CertificateStatus::Kind::good && covers(status, when)) {
      good = &status;
    }
  }
  if (revoked != nullptr) {
    validation.revoked_at = revoked->revoked_at;
    validation.revocation = fmt::format("revoked on {} ({})", revoked->revoked_at,
                                        internal::describe_status_source(*revoked));
    if (validation.proof_time.empty()) {
      set_indication(validation, "INDETERMINATE", "REVOKED_NO_POE",
                     fmt::format("the signer's certificate was revoked on {}, and no trusted "
                                 "time proves the signature was made before",
                                 revoked->revoked_at));
      return false;
    }
    if (validation.proof_time >= revoked->revoked_at) {
      set_indication(validation, "TOTAL-FAILED", "REVOKED",
                     fmt::format("the signer's certificate was revoked on {}, before the "
                                 "signature's proven time {}",
                                 revoked->revoked_at, validation.proof_time));
      return false;
    }
    validation.revocation += fmt::format(", after the signature was proven to exist at {} ({})",
                                         validation.proof_time, validation.proof);
    return true;
  }
  if (good != nullptr) {
    validation.revocation =
        fmt::format("not revoked ({})", internal::describe_status_source(*good));
    return true;
  }
  const bool unknown = std::any_of(statuses.begin(), statuses.end(), [](const auto& status) {
    return status.kind == CertificateStatus::Kind::unknown;
  });
  std::string why = unknown ? "the OCSP responder does not know the signer's certificate"
                    : !statuses.empty()
                        ? fmt::format("the revocation data is older than the signature ({})", when)
                        : "no revocation data for the signer's certificate";
  if (!fetch_problem.empty()) {
    why += "; " + fetch_problem;
  }
  validation.revocation = why;
  set_indication(validation, "INDETERMINATE", "TRY_LATER", why);
  return false;
}

}  // namespace cades_detail

std::string etsi_words(const std::string& indication, const std::string& sub_indication) {
  if (indication.empty()) {
    return {};
  }
  return fmt::format(" [ETSI EN 319 102-1: {}{}{}]", indication, sub_indication.empty() ? "" : "/",
                     sub_indication);
}

std::string etsi_words(const EtsiValidation& validation) {
  return etsi_words(validation.indication, validation.sub_indication);
}

Result<EtsiValidation> validate_signature(std::string_view cms_der,
                                          const SignatureCheck& check,
                                          const std::vector<std::string>& tsa_trust,
                                          const std::string& external_proof_time,
                                          const std::string& external_proof,
                                          const RevocationPolicy& policy) {
  ERR_clear_error();
  EtsiValidation validation;
  validation.level = "B-B";
  auto cms = parse_cms(cms_der);
  CUSTODY_TRY(cms);
  read_signature_timestamp(cms_der, tsa_trust, validation);
  if (!external_proof_time.empty() &&
      (validation.proof_time.empty() || external_proof_time < validation.proof_time)) {
    validation.proof_time = external_proof_time;
    validation.proof = external_proof;
  }
  if (!check.signature_valid) {
    set_indication(validation, "TOTAL-FAILED", "HASH_FAILURE",
                   "the signature does not match what it signs");
    return validation;
  }
  auto certs = internal::signer_certificates(cms->get());
  if (!certs) {
    set_indication(validation, "INDETERMINATE", "NO_SIGNING_CERTIFICATE_FOUND",
                   certs.error().message);
    return validation;
  }
  X509* cert = certs->signer.get();
  X509* issuer = certs->issuer.get();
  std::vector<CertificateStatus> statuses = embedded_statuses(cms_der, cert, issuer);
  if (!statuses.empty() && validation.level == "B-T") {
    validation.level = "B-LT";
  }
  // The time the status must speak for: the proven time, else the signer's own claim.
  const std::string when =
      !validation.proof_time.empty() ? validation.proof_time : check.signing_time;

  bool settled_by_revocation = false;
  if (certs->self_signed) {
    validation.revocation = "not applicable: the signer's certificate is self-signed";
  } else {
    std::string fetch_problem;
    const auto decisive = [&] {
      return std::any_of(statuses.begin(), statuses.end(), [&](const CertificateStatus& status) {
        return status.kind == CertificateStatus::Kind::revoked ||
               (status.kind == CertificateStatus::Kind::good && covers(status, when));
      });
    };
    if (!decisive()) {
      if (!policy.online) {
        fetch_problem = "not asked online (--online not given)";
      } else if (issuer == nullptr) {
        fetch_problem =
            "cannot ask online: the certificate of the signer's issuer is not in the signature";
      } else if (auto fetched = internal::fetch_status(cert, issuer, policy.timeout)) {
        statuses.push_back(std::move(*fetched));
      } else {
        fetch_problem = "asked online: " + fetched.error().message;
      }
    }
    settled_by_revocation = !judge_revocation(statuses, when, fetch_problem, validation);
  }
  if (settled_by_revocation) {
    return validation;
  }
  if (!check.chain_trusted) {
    set_indication(validation, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND",
                   check.trust_problem.empty() ? "the signer is not trusted" : check.trust_problem);
    return validation;
  }
  if (!check.signer.not_after.empty() && check.signer.not_after < utc_now() &&
      (validation.proof_time.empty() || validation.proof_time > check.signer.not_after)) {
    set_indication(validation, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE",
                   fmt::format("the signer's certificate expired on {}, and no trusted time "
                               "proves the signature was made before",
                               check.signer.not_after));
    return validation;
  }
  validation.indication = "TOTAL-PASSED";
  return validation;
}

}  // namespace custody
