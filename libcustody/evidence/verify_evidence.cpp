// SPDX-License-Identifier: Apache-2.0
// verify_evidence: each evidence item checked with the function for its kind, one report per item,
// and the reports of several items as one versioned JSON document.
#include <custody/asic.hpp>
#include <custody/evidence.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace custody {

namespace {

Result<VerificationReport> verify_item(const EvidenceItem& item,
                                       const EvidenceOptions& options,
                                       ProgressSink* progress,
                                       const CancelToken* cancel) {
  switch (item.kind) {
    case EvidenceKind::aff4_container:
    case EvidenceKind::aff4_striped:
    case EvidenceKind::aff4_logical:
      return verify_container(item.paths, options.verify, progress, cancel);
    case EvidenceKind::e01_set:
      return verify_e01(item.paths.front(), progress, cancel);
    case EvidenceKind::raw_record:
    case EvidenceKind::raw_image:
      return verify_record(item.record, progress, cancel);
    case EvidenceKind::transfer_package:
    case EvidenceKind::bag_directory:
    case EvidenceKind::asic_e:
      break;
  }
  return make_error(Errc::internal, "not a kind verify_item checks");
}

}  // namespace

bool EvidenceReport::verified() const {
  if (error) {
    return false;
  }
  return verification ? verification->verified : package && package->accepted;
}

PackageCheckOptions package_check_options(const std::string& path, const EvidenceOptions& options) {
  PackageCheckOptions check;
  check.input = path;
  check.trust = options.verify.trust_files;
  check.tsa_trust = options.verify.tsa_trust_files;
  check.accept_expired_signers = options.verify.accept_expired_signers;
  check.revocation = options.verify.revocation;
  check.allowed_signers = options.allowed_signers;
  return check;
}

Result<std::vector<EvidenceReport>> verify_evidence(const std::vector<EvidenceItem>& items,
                                                    const EvidenceOptions& options,
                                                    ProgressSink* progress,
                                                    const CancelToken* cancel) {
  std::vector<EvidenceReport> reports;
  for (const EvidenceItem& item : items) {
    if (cancel != nullptr && cancel->cancelled()) {
      return make_error(Errc::cancelled, "verification was interrupted");
    }
    EvidenceReport report;
    report.item = item;
    if (item.kind == EvidenceKind::asic_e) {
      auto checked =
          verify_asic_e(item.paths.front(), package_check_options(item.paths.front(), options));
      if (checked) {
        report.package = std::move(*checked);
      } else {
        report.error = std::move(checked).error();
      }
    } else if (item.kind == EvidenceKind::transfer_package ||
               item.kind == EvidenceKind::bag_directory) {
      auto checked = verify_package(package_check_options(item.paths.front(), options),
                                    options.receiver, progress, cancel);
      if (checked) {
        report.package = std::move(*checked);
      } else {
        report.error = std::move(checked).error();
      }
    } else {
      auto verified = verify_item(item, options, progress, cancel);
      if (verified) {
        report.verification = std::move(*verified);
      } else {
        report.error = std::move(verified).error();
      }
    }
    if (report.error && report.error->code == Errc::cancelled) {
      return tl::unexpected(*report.error);
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

Result<std::vector<EvidenceReport>> verify_evidence(const std::vector<std::string>& paths,
                                                    const EvidenceOptions& options,
                                                    ProgressSink* progress,
                                                    const CancelToken* cancel) {
  auto items = identify_evidence(paths);
  CUSTODY_TRY(items);
  return verify_evidence(*items, options, progress, cancel);
}

std::string evidence_report_to_json(const EvidenceReport& report, const EvidenceOptions& options) {
  if (report.verification) {
    return report_to_json(*report.verification);
  }
  if (report.package) {
    return receive_result_to_json(*report.package,
                                  package_check_options(report.item.paths.front(), options));
  }
  return {};
}

std::string evidence_set_to_json(const std::vector<EvidenceReport>& reports,
                                 const EvidenceOptions& options) {
  using nlohmann::ordered_json;
  const auto text_or_null = [](const std::string& text) {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
  };
  ordered_json items = ordered_json::array();
  for (const EvidenceReport& report : reports) {
    ordered_json item;
    item["evidence"] = evidence_kind_name(report.item.kind);
    item["paths"] = report.item.paths;
    item["verdict"] = report.error ? "not checked" : report.verified() ? "verified" : "failed";
    if (report.error) {
      item["error"] = ordered_json{{"code", errc_name(report.error->code)},
                                   {"message", report.error->message},
                                   {"path", text_or_null(report.error->path)},
                                   {"hint", text_or_null(report.error->hint)}};
    } else {
      item["report"] = ordered_json::parse(evidence_report_to_json(report, options));
    }
    items.push_back(std::move(item));
  }
  const bool verified =
      !reports.empty() && std::all_of(reports.begin(), reports.end(),
                                      [](const EvidenceReport& r) { return r.verified(); });
  ordered_json document;
  document["format"] = "custody-verification-set";
  document["version"] = 1;
  document["verified"] = verified;
  document["items"] = std::move(items);
  return document.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace custody
