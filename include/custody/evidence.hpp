// SPDX-License-Identifier: Apache-2.0
// One way into verification: what the paths given on a command line are (identify_evidence), by
// their content, not by their names, grouped into the evidence items they form; and each item
// verified with the check for its kind, one report per item (verify_evidence).
#pragma once

#include <custody/error.hpp>
#include <custody/progress.hpp>
#include <custody/transfer.hpp>
#include <custody/verification.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custody {

enum class EvidenceKind : std::uint8_t {
  raw_record,        // the acquisition record of a raw image (NAME.acquisition.json)
  raw_image,         // the segment(s) of a raw image, with the record beside them that names them
  aff4_container,    // an AFF4 container (one volume)
  aff4_striped,      // the volumes of one AFF4 image striped over several files
  aff4_logical,      // an AFF4-L logical container
  e01_set,           // an E01 set (one or more of its segments)
  transfer_package,  // a custody-pack package: a tar or ZIP bag, or an encrypted package's index
  bag_directory,     // a bag directory (a package unpacked, or one custody-receive released)
  asic_e,            // an ASiC-E container (custody-export --format asic-e, or any CAdES ASiC-E)
};

// "raw record", "raw image", "AFF4 container", "striped AFF4 image", "AFF4-L logical container",
// "E01 set", "transfer package", "bag directory", "ASiC-E container".
const char* evidence_kind_name(EvidenceKind kind);

struct EvidenceItem {
  EvidenceKind kind = EvidenceKind::raw_record;
  // The paths as given that form this item, in the order given (a striped image: every volume).
  std::vector<std::string> paths;
  // raw_record and raw_image: the acquisition record (for raw_image the one found beside the
  // segments, which names them). Empty for the other kinds.
  std::string record;
};

// The evidence items that `paths` form, in the order of each item's first path. Detected by
// content: the EWF signature (E01), a ZIP that holds an AFF4 version.txt, information.turtle or
// container.description (AFF4; AFF4-L when version.txt says minor=1 or it holds
// custody/files.json), a ZIP or a tar whose bag holds bagit.txt (a transfer package), JSON with
// the format "custody-envelope" (an encrypted package's index; NAME is accepted when
// NAME.enc.json is such an index), JSON otherwise (an acquisition record), a directory holding
// bagit.txt, and a raw image file named by an acquisition record in its directory. The volumes
// of a striped image are one item, in any order: volumes that name each other (aff4:stored) or
// describe the same image. The segments of one E01 set (same name but for the extension) are one
// item, and so are a raw image's segments and its record.
// Errors (nothing is checked): Errc::not_found (a path does not exist), Errc::invalid_argument
// (a directory that is not a bag, a path given twice), Errc::unsupported (a file of no kind above:
// the message names it and lists what is accepted).
Result<std::vector<EvidenceItem>> identify_evidence(const std::vector<std::string>& paths);

// What a verification of evidence trusts and accepts.
struct EvidenceOptions {
  // Trust anchors, --accept-expired-signers, and for containers a "verified" event to record.
  VerifyOptions verify;
  // Transfer packages: the receiver's identity, to decrypt an encrypted package (may be null), and
  // the certificates that may sign a package whose items another signer packed.
  const Identity* receiver = nullptr;
  std::vector<std::string> allowed_signers;
};

// The outcome of one evidence item: a verification report, the checks of a transfer package or
// bag (verify_package: nothing released or recorded), or the Error that kept it from being checked
// (a missing segment, an unreadable container, ...).
struct EvidenceReport {
  EvidenceItem item;
  std::optional<VerificationReport> verification;  // every kind but packages and bags
  std::optional<ReceiveResult> package;            // transfer_package, bag_directory
  std::optional<Error> error;                      // could not be checked
  // Every check passed (the verdict INTACT).
  bool verified() const;
};

// The options with which verify_evidence checks a package or bag at `path` (verify_package).
PackageCheckOptions package_check_options(const std::string& path, const EvidenceOptions& options);

// Verifies each item with the check for its kind: verify_container (AFF4, striped, AFF4-L),
// verify_e01, verify_record (raw), verify_package (packages and bags). One report
// per item, in order; an item that cannot be checked keeps its Error and the others are still
// checked. Errc::cancelled (nothing more is checked) is the only Error returned.
Result<std::vector<EvidenceReport>> verify_evidence(const std::vector<EvidenceItem>& items,
                                                    const EvidenceOptions& options,
                                                    ProgressSink* progress = nullptr,
                                                    const CancelToken* cancel = nullptr);
// identify_evidence, then verify_evidence: the errors of identify_evidence are returned.
Result<std::vector<EvidenceReport>> verify_evidence(const std::vector<std::string>& paths,
                                                    const EvidenceOptions& options,
                                                    ProgressSink* progress = nullptr,
                                                    const CancelToken* cancel = nullptr);

// One report as its own JSON document: report_to_json (custody-verification) or
// receive_result_to_json (custody-package-verification); an item not checked has no document.
std::string evidence_report_to_json(const EvidenceReport& report, const EvidenceOptions& options);

// Several reports as one versioned JSON document, with a line break at the end:
//   {"format": "custody-verification-set", "version": 1, "verified": bool,
//    "items": [{"evidence": "AFF4 container", "paths": [...], "verdict": "verified" | "failed" |
//               "not checked", "report": {the item's own document}}   (checked)
//              {..., "verdict": "not checked", "error": {"code", "message", "path", "hint"}}]}
// "verified" is true only when every item was checked and verified.
std::string evidence_set_to_json(const std::vector<EvidenceReport>& reports,
                                 const EvidenceOptions& options);

}  // namespace custody
