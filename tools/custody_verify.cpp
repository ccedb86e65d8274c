// SPDX-License-Identifier: Apache-2.0
// custody-verify: re-hash an image and compare it with its acquisition record.
#include "common/tool_main.hpp"

#include <custody/text.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-verify";

std::string image_name(const VerificationReport& report) {
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

void print_report(const VerificationReport& report, int verbose) {
  if (report.verified) {
    fmt::print("VERIFIED: {} matches its acquisition record\n", image_name(report));
  } else {
    std::size_t failures = 0;
    for (const Check& check : report.checks) {
      failures += check.result == CheckResult::fail ? 1 : 0;
    }
    fmt::print("FAILED: {} does not match its acquisition record ({} failed check{})\n",
               image_name(report), failures, failures == 1 ? "" : "s");
  }
  print_case_line(report.record);
  fmt::print("  size      {} bytes ({}) in {} segment{}\n", report.record.image_size,
             format_bytes(report.record.image_size), report.record.segments.size(),
             report.record.segments.size() == 1 ? "" : "s");
  for (const Check& check : report.checks) {
    if (check.result == CheckResult::fail && check.name == "image") {
      fmt::print("  whole image: {}\n", check.detail);
    } else if (check.result == CheckResult::fail) {
      fmt::print("  {} {}: {}\n", check.name, check.subject, check.detail);
    } else if (check.name == "image") {
      fmt::print("  {:<9} {}  ok\n", check.algorithm, check.actual);
    } else if (verbose > 0) {
      fmt::print("  {} {}: {} {}  ok\n", check.name, check.subject, check.algorithm, check.actual);
    }
  }
}

ExitCode run(const std::string& record_path, const CommonOptions& common) {
  const CancelToken& cancel = install_interrupt_handler();
  ConsoleProgress progress(!common.quiet);
  auto report = verify_record(record_path, &progress, &cancel);
  progress.finish();
  if (!report) {
    return report_error(k_tool, report.error());
  }
  if (common.json) {
    fmt::print("{}", report_to_json(*report));
  } else if (!common.quiet || !report->verified) {
    print_report(*report, common.verbose);
  }
  return report->verified ? ExitCode::ok : ExitCode::verification_failed;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  std::string record;
  CommonOptions common;
  CLI::App app{
      "Re-read a raw image and check it against its acquisition record: every segment's\n"
      "size and hashes, the whole image's hashes, and the record's own integrity."};
  add_common_options(app, common, k_tool,
                     "  custody-verify /cases/17/disk1.acquisition.json\n"
                     "  custody-verify --json disk1.acquisition.json | jq .verdict");
  app.add_option("RECORD", record, "Acquisition record (NAME.acquisition.json)")->required();
  return run_tool(app, argc, argv, [&] { return run(record, common); });
}
