// SPDX-License-Identifier: Apache-2.0
#include "internal/pipeline.hpp"

#include <custody/verification.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

namespace custody {

namespace {

Check failed_check(std::string name, std::string subject, std::string detail) {
  Check check;
  check.name = std::move(name);
  check.subject = std::move(subject);
  check.result = CheckResult::fail;
  check.detail = std::move(detail);
  return check;
}

void check_record_integrity(const LoadedRecord& loaded, VerificationReport& report) {
  Check check;
  check.name = "record";
  check.subject = std::filesystem::path(report.record_path).filename().string();
  check.algorithm = "sha256";
  check.expected = loaded.recorded_digest;
  check.actual = loaded.computed_digest;
  if (!loaded.digest_matches) {
    check.result = CheckResult::fail;
    check.detail =
        "the record was edited after acquisition (record_sha256 does not match its content)";
  }
  report.checks.push_back(std::move(check));
  if (loaded.record.status != AcquisitionStatus::complete) {
    report.checks.push_back(
        failed_check("acquisition", "image",
                     loaded.record.status == AcquisitionStatus::interrupted
                         ? "the acquisition was interrupted: the image is incomplete"
                         : fmt::format("the acquisition failed ({}): the image is incomplete",
                                       loaded.record.error)));
  }
}

// Sizes of the segment files as they are now; a size that differs from the record is a failed
// check (truncated or extended), a missing file is an error (nothing to check).
Result<std::vector<std::uint64_t>> check_segment_sizes(const std::vector<std::string>& paths,
                                                       VerificationReport& report) {
  std::vector<std::uint64_t> sizes;
  for (std::size_t index = 0; index < paths.size(); ++index) {
    struct stat status {};
    if (::stat(paths[index].c_str(), &status) != 0) {
      const int error = errno;
      auto failure = make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error,
                                    "image segment missing", paths[index], error);
      failure.value().hint = "put every image file named in the record next to the record";
      return failure;
    }
    const auto actual = static_cast<std::uint64_t>(status.st_size);
    const SegmentRecord& segment = report.record.segments[index];
    if (actual != segment.size) {
      Check check =
          failed_check("segment", segment.file,
                       fmt::format("size is {} bytes, the record says {} ({})", actual,
                                   segment.size, actual < segment.size ? "truncated" : "extended"));
      check.algorithm = "size";
      check.expected = std::to_string(segment.size);
      check.actual = std::to_string(actual);
      report.checks.push_back(std::move(check));
    }
    sizes.push_back(actual);
  }
  return sizes;
}

void compare(Check check, const std::string& actual, VerificationReport& report) {
  check.actual = actual;
  if (check.actual != check.expected) {
    check.result = CheckResult::fail;
    check.detail = fmt::format("{} mismatch (recorded {}, computed {})", check.algorithm,
                               check.expected, check.actual);
  }
  report.checks.push_back(std::move(check));
}

void compare_digests(const std::vector<std::unique_ptr<internal::DigestSink>>& sinks,
                     VerificationReport& report) {
  const auto& segments = report.record.segments;
  for (const auto& sink : sinks) {
    const std::string name(hash_name(sink->algorithm()));
    if (segments.size() > 1) {
      for (std::size_t index = 0; index < segments.size(); ++index) {
        auto expected = segments[index].hashes.find(sink->algorithm());
        if (expected != segments[index].hashes.end()) {
          compare(Check{"segment", segments[index].file, name, expected->second, {}, {}, {}},
                  sink->segment_digests().at(index), report);
        }
      }
    }
    compare(Check{"image", "image", name, report.record.hashes.at(sink->algorithm()), {}, {}, {}},
            sink->total_digest(), report);
  }
}

}  // namespace

Result<VerificationReport> verify_record(const std::string& record_path,
                                         ProgressSink* progress,
                                         const CancelToken* cancel) {
  auto loaded = load_record(record_path);
  CUSTODY_TRY(loaded);
  VerificationReport report;
  report.record_path = record_path;
  report.record = loaded->record;
  check_record_integrity(*loaded, report);

  const std::filesystem::path directory = std::filesystem::path(record_path).parent_path();
  std::vector<std::string> paths;
  for (const SegmentRecord& segment : report.record.segments) {
    const std::filesystem::path name(segment.file);
    if (name.has_parent_path() || name.empty() || name == "." || name == "..") {
      return make_error(Errc::corrupt, fmt::format("segment name \"{}\" in {} is not a plain "
                                                   "file name; refusing to read outside the "
                                                   "record's directory",
                                                   segment.file, record_path));
    }
    paths.push_back((directory / name).string());
  }
  auto sizes = check_segment_sizes(paths, report);
  CUSTODY_TRY(sizes);

  std::vector<HashAlgorithm> algorithms;
  for (const auto& entry : report.record.hashes) {
    algorithms.push_back(entry.first);
  }
  if (algorithms.empty()) {
    return make_error(Errc::corrupt, fmt::format("{} records no image hash", record_path));
  }
  auto sinks = internal::make_digest_sinks(algorithms, internal::SegmentLayout::sizes(*sizes));
  CUSTODY_TRY(sinks);
  auto source = open_concatenated_files(paths);
  CUSTODY_TRY(source);
  const auto hash_workers = internal::group_digest_sinks(*sinks);
  auto outcome = internal::run_pipeline(**source, internal::sink_pointers(hash_workers),
                                        (*source)->info().size.value_or(0), progress, cancel);
  CUSTODY_TRY(outcome);
  if (outcome->cancelled) {
    return make_error(Errc::cancelled, "verification was interrupted");
  }
  compare_digests(*sinks, report);
  report.verified = std::all_of(report.checks.begin(), report.checks.end(), [](const Check& check) {
    return check.result == CheckResult::pass;
  });
  return report;
}

std::string report_to_json(const VerificationReport& report) {
  using nlohmann::json;
  json checks = json::array();
  for (const Check& check : report.checks) {
    json item{{"check", check.name},
              {"subject", check.subject},
              {"result", check.result == CheckResult::pass ? "pass" : "fail"}};
    if (!check.algorithm.empty()) {
      item["algorithm"] = check.algorithm;
      item["expected"] = check.expected;
      item["actual"] = check.actual;
    }
    if (!check.detail.empty()) {
      item["detail"] = check.detail;
    }
    checks.push_back(std::move(item));
  }
  json out{{"format", "custody-verification"},
           {"version", 1},
           {"record", report.record_path},
           {"verdict", report.verified ? "verified" : "failed"},
           {"status", status_name(report.record.status)},
           {"image_size", report.record.image_size},
           {"segments", report.record.segments.size()},
           {"checks", checks}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
