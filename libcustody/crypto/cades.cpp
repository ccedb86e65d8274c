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

// One certificate of the signer's chain whose revocation status a validator needs: each but a
// self-signed root (a trust anchor is trusted as it is), with what is known of its status.
struct ChainLink {
  X509* cert = nullptr;
  X509* issuer = nullptr;  // null: its issuer's certificate is not in the signature
  bool is_signer = false;
  std::string ca_name;  // the CA's common name; empty for the signer
  std::vector<CertificateStatus> statuses;

  std::string label() const {
    return is_signer ? "the signer's certificate" : "the certificate of CA " + ca_name;
  }
  // Starts the words about this link's missing status: "no revocation data (B-LT) for CA X: ".
  std::string shortfall_prefix() const {
    return is_signer ? "no revocation data (B-LT): "
                     : fmt::format("no revocation data (B-LT) for CA {}: ", ca_name);
  }
};

std::vector<ChainLink> chain_links(const internal::SignerCertificates& certs) {
  std::vector<ChainLink> links;
  const std::size_t end = certs.ends_at_root ? certs.chain.size() - 1 : certs.chain.size();
  for (std::size_t i = 0; i < end; ++i) {
    ChainLink link;
    link.cert = certs.chain[i].get();
    link.issuer = i + 1 < certs.chain.size() ? certs.chain[i + 1].get() : nullptr;
    link.is_signer = i == 0;
    if (!link.is_signer) {
      link.ca_name = signer_name(link.cert);
    }
    links.push_back(std::move(link));
  }
  return links;
}

bool complete(const std::vector<ChainLink>& links) {
  return !links.empty() && std::all_of(links.begin(), links.end(), [](const ChainLink& link) {
    return !link.statuses.empty();
  });
}

tl::unexpected<Error> revoked_certificate(const ChainLink& link, const CertificateStatus& status) {
  const std::string whose =
      link.is_signer
          ? fmt::format("the certificate of {}", signer_name(link.cert))
          : fmt::format("the certificate of CA {}, which vouches for the signer,", link.ca_name);
  Error error{Errc::invalid_argument,
              fmt::format("{} was revoked on {} ({}); a signature made with it would not be "
                          "accepted",
                          whose, status.revoked_at, internal::describe_status_source(status)),
              {},
              {},
              0,
              "nothing was signed or changed; sign with a certificate that is not revoked"};
  return tl::unexpected(std::move(error));
}

// One piece of revocation data given at signing, filed under the certificate of the chain it is
// about. `origin` names it in errors.
Result<void> add_given_status(const std::string& data,
                              const std::string& origin,
                              std::vector<ChainLink>& links) {
  std::optional<Error> first_problem;
  for (ChainLink& link : links) {
    if (link.issuer == nullptr) {
      continue;
    }
    auto status = internal::status_from_data(data, link.cert, link.issuer);
    if (status) {
      link.statuses.push_back(std::move(*status));
      return {};
    }
    if (!first_problem) {
      first_problem = status.error();  // about the signer first: the likeliest intent
    }
  }
  if (!first_problem) {
    return make_error(Errc::invalid_argument,
                      fmt::format("cannot use the revocation data {}: the certificate of the "
                                  "signer's issuer is not in the signature; give it with --chain",
                                  origin));
  }
  first_problem->message =
      fmt::format("the revocation data {}: {}", origin, first_problem->message);
  return tl::unexpected(std::move(*first_problem));
}

// The revocation files of an offline lab and the data already in hand, each filed under the
// certificate it is about.
Result<void> add_given_statuses(const CadesOptions& options, std::vector<ChainLink>& links) {
  for (const std::string& path : options.revocation_files) {
    auto data = internal::read_small_file(path, k_max_revocation_file);
    CUSTODY_TRY(data);
    CUSTODY_TRY(add_given_status(*data, path, links));
  }
  for (const std::string& der : options.revocation_der) {
    CUSTODY_TRY(add_given_status(der, "in hand", links));
  }
  return {};
}

// B-LT: asks the network for the status of one certificate of the chain. A revoked one is
// refused; one that cannot be had costs the level, said in `shortfalls`.
Result<void> fetch_link_status(ChainLink& link,
                               unsigned timeout_seconds,
                               std::vector<std::string>& shortfalls) {
  if (link.issuer == nullptr) {
    shortfalls.push_back(link.shortfall_prefix() +
                         fmt::format("the certificate of {} is not in the signature (give it "
                                     "with --chain)",
                                     link.is_signer ? "the signer's issuer" : "its issuer"));
    return {};
  }
  auto fetched = internal::fetch_status(link.cert, link.issuer, timeout_seconds);
  if (!fetched) {
    shortfalls.push_back(link.shortfall_prefix() + fetched.error().message);
  } else if (fetched->kind == CertificateStatus::Kind::revoked) {
    return revoked_certificate(link, *fetched);
  } else if (fetched->kind == CertificateStatus::Kind::unknown) {
    // Proves nothing either way: a validator would still have to ask.
    shortfalls.push_back(link.shortfall_prefix() +
                         fmt::format("{} does not know {}", fetched->issuer, link.label()));
  } else {
    link.statuses.push_back(std::move(*fetched));
  }
  return {};
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

// "CA X: " before the words about a CA of the chain; nothing before the signer's.
std::string link_prefix(const ChainLink& link) {
  return link.is_signer ? std::string() : fmt::format("CA {}: ", link.ca_name);
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

// The statuses into SignedData.crls: B-LT once every certificate of the chain has one (B-B stays
// B-B: revocation data without a proof of existence is no level of its own).
Result<void> embed_statuses(const std::vector<ChainLink>& links, CadesSignature& signature) {
  std::vector<CertificateStatus> statuses;
  for (const ChainLink& link : links) {
    for (const CertificateStatus& status : link.statuses) {
      // "CRL of T by X: not revoked", "OCSP response of T by Y: CA Z not revoked".
      signature.revocation.push_back(fmt::format(
          "{}: {}{}", internal::describe_status_source(status),
          link.is_signer ? "" : fmt::format("CA {} ", link.ca_name), status_words(status)));
      signature.revocation_der.push_back(status.der);
      statuses.push_back(status);
    }
  }
  auto embedded = internal::embed_revocation_data(signature.der, statuses);
  CUSTODY_TRY(embedded);
  signature.der = std::move(*embedded);
  if (signature.level == "B-T") {
    if (complete(links)) {
      signature.level = "B-LT";
    }
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
  std::vector<ChainLink> links = chain_links(*certs);

  // Files first: a revoked signer (or CA) is refused before anything asks the network.
  CUSTODY_TRY(add_given_statuses(options, links));
  for (const ChainLink& link : links) {
    for (const CertificateStatus& status : link.statuses) {
      if (status.kind == CertificateStatus::Kind::revoked) {
        return revoked_certificate(link, status);
      }
    }
  }
  if (!options.earlier_tsa_problem.empty()) {
    signature.timestamp_problem = options.earlier_tsa_problem;
  } else if (!options.tsa_url.empty()) {
    CUSTODY_TRY(add_signature_timestamp(options, signature));
  }
  const bool timestamped = signature.level == "B-T";
  if (timestamped && certs->self_signed) {
    signature.shortfalls.push_back(
        "no revocation data (B-LT): the signer's certificate is self-signed, so no CA "
        "publishes its status");
  }
  for (ChainLink& link : links) {
    if (!timestamped || !link.statuses.empty()) {
      continue;
    }
    if (options.fetch_revocation) {
      CUSTODY_TRY(fetch_link_status(link, options.fetch_timeout, signature.shortfalls));
    } else if (options.earlier_shortfalls.empty()) {
      // (An earlier signature of the step already said why, in the shortfalls carried over.)
      signature.shortfalls.push_back(link.shortfall_prefix() +
                                     "none was given, and fetching it is off");
    }
  }
  if (std::any_of(links.begin(), links.end(),
                  [](const ChainLink& link) { return !link.statuses.empty(); })) {
    CUSTODY_TRY(embed_statuses(links, signature));
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

// The chain's statuses as the embedded data tells them, each piece checked and filed under the
// certificate it is about; unusable pieces are skipped (they prove nothing either way).
void add_embedded_statuses(std::string_view cms_der, std::vector<ChainLink>& links) {
  auto found = internal::embedded_revocation_data(cms_der);
  if (!found) {
    return;
  }
  for (const auto* list : {&found->crls, &found->ocsp_responses}) {
    for (const std::string& der : *list) {
      for (ChainLink& link : links) {
        if (link.issuer == nullptr) {
          continue;
        }
        if (auto status = internal::status_from_data(der, link.cert, link.issuer)) {
          link.statuses.push_back(std::move(*status));
          break;
        }
      }
    }
  }
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

// Whether the statuses settle the certificate's status at `when`: revoked, or good then.
bool decisive(const std::vector<CertificateStatus>& statuses, const std::string& when) {
  return std::any_of(statuses.begin(), statuses.end(), [&](const CertificateStatus& status) {
    return status.kind == CertificateStatus::Kind::revoked ||
           (status.kind == CertificateStatus::Kind::good && covers(status, when));
  });
}

// Asks online for the status of `link` when the embedded data does not settle it and `policy`
// allows; returns what stood in the way (empty: nothing did).
std::string ask_online(ChainLink& link, const std::string& when, const RevocationPolicy& policy) {
  if (decisive(link.statuses, when)) {
    return {};
  }
  if (!policy.online) {
    return "not asked online (--online not given)";
  }
  if (link.issuer == nullptr) {
    return fmt::format("cannot ask online: the certificate of {} is not in the signature",
                       link.is_signer ? "the signer's issuer" : "the CA's issuer");
  }
  auto fetched = internal::fetch_status(link.cert, link.issuer, policy.timeout);
  if (!fetched) {
    return "asked online: " + fetched.error().message;
  }
  link.statuses.push_back(std::move(*fetched));
  return {};
}

// A CA of the signer's chain revoked: fine when the signature is proven to exist before; else
// INDETERMINATE/REVOKED_CA_NO_POE (EN 319 102-1 5.6.2.4: a CA's revocation never fails a
// signature outright, it leaves it unproven).
bool judge_revoked_ca(const ChainLink& link,
                      const CertificateStatus& revoked,
                      EtsiValidation& validation) {
  if (!validation.proof_time.empty() && validation.proof_time < revoked.revoked_at) {
    validation.revocation += fmt::format(
        "; CA {}: revoked on {} ({}), after the signature was proven to exist at {}", link.ca_name,
        revoked.revoked_at, internal::describe_status_source(revoked), validation.proof_time);
    return true;
  }
  validation.revoked_at = revoked.revoked_at;
  validation.revocation +=
      fmt::format("; CA {}: revoked on {} ({})", link.ca_name, revoked.revoked_at,
                  internal::describe_status_source(revoked));
  set_indication(validation, "INDETERMINATE", "REVOKED_CA_NO_POE",
                 validation.proof_time.empty()
                     ? fmt::format("the certificate of CA {}, which vouches for the signer, was "
                                   "revoked on {}, and no trusted time proves the signature was "
                                   "made before",
                                   link.ca_name, revoked.revoked_at)
                     : fmt::format("the certificate of CA {}, which vouches for the signer, was "
                                   "revoked on {}, before the signature's proven time {}",
                                   link.ca_name, revoked.revoked_at, validation.proof_time));
  return false;
}

// Decides on the revocation status of one certificate of the chain; returns false when that
// already settles the indication (failed or indeterminate). The words go to
// validation.revocation, the signer's first, then each CA's after "; CA name: ".
bool judge_revocation(const ChainLink& link,
                      const std::string& when,
                      const std::string& fetch_problem,
                      EtsiValidation& validation) {
  const std::vector<CertificateStatus>& statuses = link.statuses;
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
  if (revoked != nullptr && !link.is_signer) {
    return judge_revoked_ca(link, *revoked, validation);
  }
  const std::string before = link.is_signer ? "" : validation.revocation + "; ";
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
    validation.revocation = fmt::format("{}{}not revoked ({})", before, link_prefix(link),
                                        internal::describe_status_source(*good));
    return true;
  }
  const bool unknown = std::any_of(statuses.begin(), statuses.end(), [](const auto& status) {
    return status.kind == CertificateStatus::Kind::unknown;
  });
  std::string why = unknown ? "the OCSP responder does not know " + link.label()
                    : !statuses.empty()
                        ? fmt::format("the revocation data {}is older than the signature ({})",
                                      link.is_signer ? "" : "about " + link.label() + " ", when)
                        : "no revocation data for " + link.label();
  if (!fetch_problem.empty()) {
    why += "; " + fetch_problem;
  }
  validation.revocation = before + why;
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
  std::vector<ChainLink> links = chain_links(*certs);
  add_embedded_statuses(cms_der, links);
  if (complete(links) && validation.level == "B-T") {
    validation.level = "B-LT";
  }
  // The time the status must speak for: the proven time, else the signer's own claim.
  const std::string when =
      !validation.proof_time.empty() ? validation.proof_time : check.signing_time;

  bool settled_by_revocation = false;
  if (certs->self_signed) {
    validation.revocation = "not applicable: the signer's certificate is self-signed";
  } else {
    // The signer first: its own revocation is the stronger finding.
    for (ChainLink& link : links) {
      const std::string fetch_problem = ask_online(link, when, policy);
      if (!judge_revocation(link, when, fetch_problem, validation)) {
        settled_by_revocation = true;
        break;
      }
    }
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
