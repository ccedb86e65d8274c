// SPDX-License-Identifier: Apache-2.0
// Verification of a raw image against its acquisition record: every segment's presence and size,
// the hashes of each segment and of the whole image (all recorded algorithms in one pass), and the
// record's own integrity digest.
#pragma once

#include <custody/error.hpp>
#include <custody/progress.hpp>
#include <custody/record.hpp>

#include <string>
#include <vector>

namespace custody {

enum class CheckResult : std::uint8_t { pass, fail };

// One line of a verification report.
struct Check {
  std::string name;     // "record", "segment", "image"
  std::string subject;  // a file name or "image"
  std::string algorithm;
  std::string expected;
  std::string actual;
  CheckResult result = CheckResult::pass;
  std::string detail;  // plain-language explanation of a failure
};

struct VerificationReport {
  std::string record_path;
  AcquisitionRecord record;
  bool verified = false;  // every check passed and the acquisition was complete
  std::vector<Check> checks;
};

// Verifies the image described by the record at `record_path`. Errors (could not check):
// Errc::not_found (record or a segment missing), Errc::corrupt / Errc::unsupported (record),
// Errc::io_error. Mismatches are not errors: they are failed checks in the report.
Result<VerificationReport> verify_record(const std::string& record_path,
                                         ProgressSink* progress = nullptr,
                                         const CancelToken* cancel = nullptr);

// The report as versioned JSON ("format": "custody-verification", "version": 1).
std::string report_to_json(const VerificationReport& report);

}  // namespace custody
