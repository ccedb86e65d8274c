// SPDX-License-Identifier: Apache-2.0
// The court report: the result of a verification as one self-contained, printable HTML page (no
// external resources) for a prosecutor or a court, who are not forensic experts: the verdict in
// plain words, the evidence's identity and hashes, the acquisition and its defects, the seals and
// their signers, trusted times, the custody timeline, every check, and an appendix showing how to
// repeat the checks with standard tools.
#pragma once

#include <custody/error.hpp>
#include <custody/verification.hpp>

#include <string>
#include <vector>

namespace custody {

// The page. `evidence` is the file as the user named it.
std::string court_report_html(const VerificationReport& report, const std::string& evidence);

// Whether the page may be written to `path`, checked before the verification: never over the
// evidence (`evidence_paths`, by device and inode), into a directory that exists, and over an
// existing file only with `overwrite`. Errc::already_exists, Errc::cannot_create.
Result<void> check_court_report_output(const std::vector<std::string>& evidence_paths,
                                       const std::string& path,
                                       bool overwrite);

// Writes the page to `path` atomically. Errc::already_exists if it exists and !overwrite.
Result<void> write_court_report(const VerificationReport& report,
                                const std::string& evidence,
                                const std::string& path,
                                bool overwrite = false);

}  // namespace custody
