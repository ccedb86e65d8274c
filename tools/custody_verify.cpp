// SPDX-License-Identifier: Apache-2.0
// custody-verify: re-hash an image and compare it with its acquisition record.
#include "common/check_lines.hpp"
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/container.hpp>
#include <custody/court_report.hpp>
#include <custody/custody_log.hpp>
#include <custody/evidence.hpp>
#include <custody/text.hpp>
#include <custody/transfer.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-verify";

std::string image_name(const VerificationReport& report) {
  if (report.kind != "raw" || report.record.segments.empty()) {
    return std::filesystem::path(report.record_path).filename().string();
  }
  const auto& segments = report.record.segments;
  if (segments.size() == 1) {
    return segments.front().file;
  }
  return fmt::format("{} ... {} ({} segments)", segments.front().file, segments.back().file,
                     segments.size());
}

void print_case_line(const AcquisitionRecord& record) {
  const CaseInfo& info = record.case_info;
  std::string line = fmt::format("  acquired  {} from {}", record.started, record.source.path);
  if (info.examiner) {
    line += fmt::format(" by {}", *info.examiner);
  }
  fmt::print("{}\n", line);
  if (info.case_number || info.evidence_number) {
    fmt::print("  evidence  {} (case {})\n", info.evidence_number.value_or("-"),
               info.case_number.value_or("-"));
  }
}

// The second line: which part failed, the image or who vouches for it.
void print_outcome(const VerificationReport& report) {
  if (report.verified) {
    fmt::print("VERIFIED: {} {}\n", image_name(report),
               report.has_record ? "matches its acquisition record"
                                 : "is intact (no custody record in it: its own checksums and "
                                   "hashes were checked)");
    return;
  }
  std::size_t failures = 0;
  bool image_failed = false;
  for (const Check& check : report.checks) {
    if (check.verdict == Verdict::fail) {
      ++failures;
      image_failed = image_failed || !is_custody_check(check);
    }
  }
  const std::string count = fmt::format("{} failed check{}", failures, failures == 1 ? "" : "s");
  if (image_failed || failures == 0) {
    fmt::print(
        "FAILED: {} {} ({})\n", image_name(report),
        report.has_record ? "does not match its acquisition record" : "is damaged or was altered",
        failures == 0 ? "the acquisition did not complete" : count);
  } else {
    fmt::print(
        "FAILED: {} {}, but who vouches for it does not check out ({} of its seals or "
        "custody log)\n",
        image_name(report), report.has_record ? "matches its acquisition record" : "is undamaged",
        count);
  }
}

void print_report(const VerificationReport& report, int verbose) {
  fmt::print("{}\n", verification_summary(report));
  print_outcome(report);
  if (report.has_record) {
    print_case_line(report.record);
  }
  if (report.kind != "raw") {
    fmt::print("  size      {} bytes ({})\n", report.record.image_size,
               format_bytes(report.record.image_size));
  } else {
    fmt::print("  size      {} bytes ({}) in {} segment{}\n", report.record.image_size,
               format_bytes(report.record.image_size), report.record.segments.size(),
               report.record.segments.size() == 1 ? "" : "s");
  }
  for (const Check& check : report.checks) {
    if (check.verdict == Verdict::not_checked) {
      continue;  // last, below
    }
    if (check.verdict == Verdict::fail) {
      fmt::print("  {}\n", describe_check(check));
    } else if (check.verdict == Verdict::warn && check.kind == CheckKind::custody_log &&
               check.subject != "custody log") {
      fmt::print("  warning: custody log {}: {}{}\n", check.subject, check.detail,
                 etsi_words(check));
    } else if (check.verdict == Verdict::warn) {
      fmt::print("  warning: {}{}\n", check.detail, etsi_words(check));
    } else if (check.kind == CheckKind::image) {
      fmt::print("  {:<9} {}  ok\n", check.algorithm, check.actual);
    } else if (is_custody_check(check)) {
      fmt::print("  {}: {}{}  ok\n", check.subject, check.detail, etsi_words(check));
    } else if (verbose > 0) {
      if (check.algorithm.empty()) {
        fmt::print("  {}: {}{}  ok\n", check_kind_name(check.kind), check.subject,
                   check.detail.empty() ? "" : " (" + check.detail + ")");
      } else {
        fmt::print("  {} {}: {} {}  ok\n", check_kind_name(check.kind), check.subject,
                   check.algorithm, check.actual);
      }
    }
  }
  // What was not checked, and why: a verdict is only as strong as what it covered.
  for (const Check& check : report.checks) {
    if (check.verdict == Verdict::not_checked) {
      fmt::print("  NOT CHECKED: {}\n", describe_check(check));
    }
  }
}

struct RecordArguments {
  IdentityArguments receiver;  // to decrypt an encrypted transfer package
  std::string report;          // --report FILE: the court report (HTML)
  bool force = false;
  bool record = false;
  IdentityArguments identity;
  bool accept_expired = false;               // --accept-expired-signers
  RevocationPolicy revocation;               // --online, --online-timeout
  std::vector<std::string> allowed_signers;  // --allow-signer: packages signed again
};

void print_package(const ReceiveResult& checked, const EvidenceItem& item) {
  const std::string& path = item.paths.front();
  const char* what = item.kind == EvidenceKind::asic_e ? "ASiC-E container"
                     : checked.received_bag            ? "received transfer package"
                                                       : "transfer package";
  fmt::print("{}: {} {} {}\n", checked.accepted ? "INTACT" : "NOT INTACT", what, path,
             !checked.accepted                   ? "fails"
             : item.kind == EvidenceKind::asic_e ? "passes every check"
             : checked.received_bag
                 ? "passes every check: each container is as it arrived, followed by its "
                   "\"received\" event and later signed events (nothing was recorded)"
                 : "passes every check (nothing was released or recorded)");
  print_check_lines(checked.checks, "  ", 20);
  if (!checked.package_id.empty()) {
    const TransferFacts& facts = checked.facts;
    fmt::print("  facts  {}\n", checked.facts_confirmed
                                    ? "as signed by the sender and recorded in every item's "
                                      "\"packaged\" event"
                                    : "as the package states them (NOT confirmed: see the "
                                      "checks)");
    for (const auto& [words, value] : transfer_fact_rows(facts)) {
      fmt::print("    {:<20} {}\n", words, value);
    }
  }
}

bool is_package(const EvidenceItem& item) {
  return item.kind == EvidenceKind::transfer_package || item.kind == EvidenceKind::bag_directory ||
         item.kind == EvidenceKind::asic_e;
}

bool is_container(const EvidenceItem& item) {
  return item.kind == EvidenceKind::aff4_container || item.kind == EvidenceKind::aff4_striped ||
         item.kind == EvidenceKind::aff4_logical;
}

// The options that cannot apply to these items: a usage error before anything is verified.
std::optional<Error> refused_options(const std::vector<EvidenceItem>& items,
                                     const RecordArguments& record) {
  const auto usage = [](std::string message, std::string hint) {
    return Error{Errc::invalid_argument, std::move(message), {}, {}, 0, std::move(hint)};
  };
  if (items.size() > 1 && !record.report.empty()) {
    return usage("--report writes the court report of one evidence item, but several were given",
                 "write a report for each item with its own custody-verify --report");
  }
  if (items.size() > 1 && record.record) {
    return usage(
        "--record records the verification of one container, but several evidence "
        "items were given",
        "verify (and record) each container with its own custody-verify --record");
  }
  const EvidenceItem& item = items.front();
  if (is_package(item) && !record.report.empty()) {
    return usage("--report is for containers, raw images and E01 sets, not for a transfer package",
                 "write a report for each container in the package");
  }
  if (is_package(item) && record.record) {
    return usage("--record needs an AFF4 container: a package has no custody log of its own",
                 "verify (and record) each container in the package");
  }
  if (record.record && !is_container(item)) {
    return usage("--record needs an AFF4 container: a raw image has no custody log",
                 "keep the event in a standalone log with custody-log add");
  }
  return std::nullopt;
}

// One evidence item: the output and the exit status custody-verify always had.
ExitCode finish_one(const EvidenceReport& outcome,
                    const EvidenceOptions& options,
                    const RecordArguments& record,
                    const CommonOptions& common,
                    bool signed_event) {
  if (outcome.error) {
    return report_error(k_tool, *outcome.error);
  }
  if (outcome.package) {
    if (common.json) {
      fmt::print("{}", evidence_report_to_json(outcome, options));
    } else if (!common.quiet || !outcome.package->accepted) {
      print_package(*outcome.package, outcome.item);
    }
    return outcome.package->accepted ? ExitCode::ok : ExitCode::verification_failed;
  }
  const VerificationReport& report = *outcome.verification;
  if (!common.json && (!common.quiet || !report.verified)) {
    print_report(report, common.verbose);
  }
  if (!record.report.empty()) {
    if (auto written =
            write_court_report(report, outcome.item.paths.front(), record.report, record.force);
        !written) {
      return report_error(k_tool, written.error());
    }
    if (!common.quiet && !common.json) {
      fmt::print("court report written to {}\n", record.report);
    }
  }
  if (report.custody_event != 0 && !common.quiet && !common.json) {
    fmt::print("recorded as custody event {}{}\n", report.custody_event,
               signed_event ? "" : " (unsigned: no --by-key given)");
  }
  // With --json, the report is the one document of this run: printed when nothing can fail.
  if (common.json) {
    fmt::print("{}", evidence_report_to_json(outcome, options));
  }
  return report.verified ? ExitCode::ok : ExitCode::verification_failed;
}

// Several evidence items: each one's verdict, then one line for all of them; with --json one
// custody-verification-set document. Exit status: 1 when any item was checked and is NOT
// INTACT; otherwise the status of the first item that could not be checked; otherwise 0.
ExitCode finish_several(const std::vector<EvidenceReport>& outcomes,
                        const EvidenceOptions& options,
                        const CommonOptions& common) {
  std::size_t intact = 0;
  std::size_t not_intact = 0;
  std::optional<ExitCode> unchecked;
  bool first = true;
  for (const EvidenceReport& outcome : outcomes) {
    if (outcome.error) {
      // Said on stderr as every error is, and counted; the other items are still checked.
      std::string line = fmt::format("{}: error: {}", k_tool, outcome.error->to_string());
      if (!outcome.error->hint.empty()) {
        line += "; " + outcome.error->hint;
      }
      fmt::print(stderr, "{}\n", line);
      unchecked = unchecked.value_or(exit_code_for(outcome.error->code));
    } else if (outcome.verified()) {
      ++intact;
    } else {
      ++not_intact;
    }
    if (common.json || (common.quiet && outcome.verified())) {
      continue;
    }
    if (!first) {
      fmt::print("\n");
    }
    first = false;
    if (outcome.error) {
      fmt::print("NOT CHECKED: {} {} could not be checked: {}\n",
                 evidence_kind_name(outcome.item.kind), fmt::join(outcome.item.paths, " "),
                 outcome.error->message);
    } else if (outcome.package) {
      print_package(*outcome.package, outcome.item);
    } else {
      print_report(*outcome.verification, common.verbose);
    }
  }
  const std::size_t not_checked = outcomes.size() - intact - not_intact;
  if (common.json) {
    fmt::print("{}", evidence_set_to_json(outcomes, options));
  } else if (!common.quiet || intact != outcomes.size()) {
    fmt::print("\n{} evidence items: {} INTACT, {} NOT INTACT{}\n", outcomes.size(), intact,
               not_intact, not_checked == 0 ? "" : fmt::format(", {} not checked", not_checked));
  }
  if (not_intact > 0) {
    return ExitCode::verification_failed;
  }
  return unchecked.value_or(ExitCode::ok);
}

ExitCode run(const std::vector<std::string>& paths,
             const std::vector<std::string>& trust,
             const std::vector<std::string>& tsa_trust,
             const RecordArguments& record,
             const CommonOptions& common) {
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  std::vector<std::string> all_trust = trust;
  all_trust.insert(all_trust.end(), tsa_trust.begin(), tsa_trust.end());
  // A trust file that is missing (66) or not a certificate (64) is the user's to fix, not a
  // verdict on the evidence.
  if (auto usable = check_trust_files(all_trust); !usable) {
    return report_error(k_tool, usable.error());
  }
  // What the paths are, by their content; nothing is read further before that is known.
  auto items = identify_evidence(paths);
  if (!items) {
    return report_error(k_tool, items.error());
  }
  if (auto refused = refused_options(*items, record)) {
    return report_error(k_tool, *refused);
  }
  // The report's file before the verification, which may take hours: over the evidence, into a
  // missing directory or over an old report without --force is said at once.
  if (!record.report.empty()) {
    if (auto usable = check_court_report_output(items->front().paths, record.report, record.force);
        !usable) {
      return report_error(k_tool, usable.error());
    }
  }
  // The keys before the verification, which may take hours: the receiver's, to decrypt a
  // package, and the verifier's (the library checks that it can sign and that the container may
  // be written to before the first check).
  std::optional<Identity> receiver;
  if (std::any_of(items->begin(), items->end(), is_package)) {
    // The passphrase options serve the one key a command loads: --key for a package (where
    // --record, and so --by-key, is refused), --by-key otherwise.
    auto loaded = load_identity_if_given(with_secrets_of(record.receiver, record.identity));
    if (!loaded) {
      return report_error(k_tool, loaded.error());
    }
    receiver = std::move(*loaded);
  }
  std::optional<Identity> verifier;
  if (record.record) {
    auto loaded = load_identity_if_given(record.identity);
    if (!loaded) {
      return report_error(k_tool, loaded.error());
    }
    verifier = std::move(*loaded);
  }
  EvidenceOptions options;
  options.verify =
      VerifyOptions{trust, tsa_trust, record.accept_expired, record.revocation, std::nullopt};
  if (record.record) {
    options.verify.record = EventContext{{}, verifier ? &*verifier : nullptr};
  }
  options.receiver = receiver ? &*receiver : nullptr;
  options.allowed_signers = record.allowed_signers;
  auto outcomes = verify_evidence(*items, options, &progress, &cancel);
  progress.finish();
  if (!outcomes) {
    return report_error(k_tool, outcomes.error());
  }
  if (outcomes->size() == 1) {
    return finish_one(outcomes->front(), options, record, common, verifier.has_value());
  }
  return finish_several(*outcomes, options, common);
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  std::vector<std::string> paths;
  std::vector<std::string> trust;
  std::vector<std::string> tsa_trust;
  CommonOptions common;
  CLI::App app{
      "Check evidence against what was recorded when it was acquired: for an AFF4 "
      "container the image's\nhashes, every member's checksum and any AFF4 block "
      "hashes, its seals and custody log; for a raw\nimage every segment's size and "
      "hashes and the record's own integrity; for an E01 set made by\nany tool its "
      "stored MD5/SHA-1 and chunk checksums; for a transfer package (or a received "
      "bag)\neverything custody-receive checks, without releasing or recording anything."};
  add_common_options(app, common, k_tool,
                     "  custody-verify /cases/17/disk1.aff4\n"
                     "  custody-verify /cases/17/disk2.acquisition.json\n"
                     "  custody-verify suspect.E01\n"
                     "  custody-verify disk1.aff4 disk2.aff4 suspect.E01\n"
                     "  custody-verify transfer.tar --trust sender-ca.pem --tsa-trust tsa-ca.pem\n"
                     "  custody-verify --json disk1.acquisition.json | jq .verdict");
  app.add_option("EVIDENCE", paths,
                 "One or more evidence items, each recognised by its content: an AFF4 container "
                 "(every volume of a striped image, in any order), the acquisition record of a "
                 "raw image (or the image beside it), an E01 set, or a transfer package (tar, "
                 "ZIP, a bag directory, NAME.enc.json); several items are verified one after "
                 "the other, with one exit status for all")
      ->required();
  app.add_option("--trust", trust,
                 "CA certificates (PEM) trusted to vouch for the signers of seals; repeatable")
      ->allow_extra_args(false)
      ->type_name("FILE");
  app.add_option("--tsa-trust", tsa_trust,
                 "CA certificates (PEM) trusted for timestamping authorities; repeatable")
      ->allow_extra_args(false)
      ->type_name("FILE");
  RecordArguments record;
  app.add_option("--report", record.report,
                 "Write a self-contained, printable HTML court report to FILE")
      ->type_name("FILE");
  app.add_flag("--force", record.force, "With --report: replace an existing report file");
  app.add_option("--key", record.receiver.key,
                 "An encrypted transfer package: the receiver's key (a file or a PKCS#11 URI), "
                 "to decrypt it for checking")
      ->type_name("FILE|URI");
  app.add_option("--cert", record.receiver.cert,
                 "The certificate of --key (a token key: default, the one stored with it)")
      ->type_name("FILE");
  app.add_flag("--record", record.record,
               "Record the verification as a \"verified\" event in the container's custody log");
  app.add_flag("--accept-expired-signers", record.accept_expired,
               "Accept seals whose signer's certificate has expired since, although no trusted "
               "timestamp proves they were made before (a warning instead of a failure)");
  add_online_options(app, record.revocation, "each seal's signer and a package's sender");
  app.add_option("--allow-signer", record.allowed_signers,
                 "A transfer package: accept it signed by this certificate although another "
                 "signer packed its items (signed again, e.g. by a forwarding authority)")
      ->type_name("CERT")
      ->allow_extra_args(false);
  add_identity_options(app, record.identity, "by-");
  return run_tool(app, argc, argv, [&] { return run(paths, trust, tsa_trust, record, common); });
}
