// SPDX-License-Identifier: Apache-2.0
// Verification of a raw image against its acquisition record: every segment's presence and size,
// the hashes of each segment and of the whole image (all recorded algorithms in one pass), and the
// record's own integrity digest.
#pragma once

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/progress.hpp>
#include <custody/record.hpp>
#include <custody/seal.hpp>
#include <custody/verdict.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace custody {

// What a check is about. check_kind_name gives the name in the JSON report ("check") and in the
// text: "record", "acquisition", "segment", "image", "defects", "metadata", "member", "members",
// "container", "chunk", "block hash", "block hashes", "map hash", "seal", "timestamp",
// "custody log", "file", "files", "file list".
enum class CheckKind : std::uint8_t {
  record,        // the record's integrity digest (record_sha256), or a damaged record
  acquisition,   // the acquisition's status (interrupted, failed), a logical one's defects
  segment,       // a raw image's segment: size and hashes
  image,         // the whole image's hashes (or that it cannot be read)
  defects,       // sectors that could not be read at acquisition
  metadata,      // information.turtle against the record
  member,        // one ZIP member's CRC-32
  members,       // every member's CRC-32 (one line when all match)
  container,     // the container as a whole: unreadable, bytes after its end
  chunk,         // one damaged chunk (AFF4 or E01)
  block_hash,    // one AFF4 block hash
  block_hashes,  // a family of AFF4 block hashes that matched
  map_hash,      // an AFF4 map hash
  seal,          // a seal: signature, signer, covered bytes and members
  timestamp,     // a seal's RFC 3161 timestamp
  custody_log,   // the custody log: events, signatures, tree heads
  file,          // a file of a logical container
  files,         // every file of a logical container (one line)
  file_list,     // a logical container's file list against the record
};

const char* check_kind_name(CheckKind kind);

// The kind for IntegrityProblem::what ("member", "chunk", "block hash", "map hash").
CheckKind integrity_check_kind(std::string_view what);

// One line of a verification report.
struct Check {
  CheckKind kind = CheckKind::image;
  std::string subject;  // a file name or "image"
  std::string algorithm;
  std::string expected;
  std::string actual;
  Verdict verdict = Verdict::pass;
  std::string detail;  // plain-language explanation of a failure
  // A signature's outcome in the words of ETSI EN 319 102-1 (seals): "TOTAL-PASSED",
  // "TOTAL-FAILED" or "INDETERMINATE", and its sub-indication; empty for other checks.
  std::string etsi_indication;
  std::string etsi_sub_indication;
};

struct VerificationReport {
  std::string record_path;   // the record, or the (first) container
  std::string kind = "raw";  // "raw" or "aff4"
  bool has_record = true;    // false for a container made by another tool
  AcquisitionRecord record;
  bool verified = false;  // every check passed and the acquisition was complete
  std::vector<Check> checks;
  // Containers: the seals and the custody log as checked (for summaries and the court report).
  std::vector<SealReport> seals;
  std::vector<ArchiveReport> archives;  // archive time-stamps (custody-seal --renew)
  std::optional<LogVerification> custody_log;
  bool trust_given = false;         // --trust: signers were checked against CAs
  bool tsa_trust_given = false;     // --tsa-trust: timestamps were checked against CAs
  std::uint64_t custody_event = 0;  // the "verified" event recorded (0: none)
};

// Whether `check` is about who signed and handled the evidence (seals, their timestamps, the
// custody log) rather than about the image and its record.
bool is_custody_check(const Check& check);

// One check in plain words, naming what it is about once (a check not made: "SUBJECT: why"): "seal
// 3 was made by a signer that is not trusted here (...)", "segment disk.002: sha256 mismatch
// (...)", "the whole image: ...".
std::string describe_check(const Check& check);

// The standard words of a signature's check beside ours, for the end of its line: " [ETSI EN 319
// 102-1: TOTAL-PASSED]", " [ETSI EN 319 102-1: INDETERMINATE/TRY_LATER]"; empty for other checks.
std::string etsi_words(const Check& check);

// The verdict in plain words, for people who are not forensic experts: "INTACT: the image is
// unchanged since it was sealed by ... at ...; time confirmed by ...; 4 custody events; 2
// unreadable ranges recorded at acquisition" or "NOT INTACT: ...". One line.
std::string verification_summary(const VerificationReport& report);

// Verifies the image described by the record at `record_path`. Errors (could not check):
// Errc::not_found (record or a segment missing), Errc::corrupt / Errc::unsupported (record),
// Errc::io_error. Mismatches are not errors: they are failed checks in the report.
Result<VerificationReport> verify_record(const std::string& record_path,
                                         ProgressSink* progress = nullptr,
                                         const CancelToken* cancel = nullptr);

// What a verification trusts and accepts.
struct VerifyOptions {
  std::vector<std::string> trust_files;      // PEM CAs for the signers (--trust)
  std::vector<std::string> tsa_trust_files;  // PEM CAs of trusted TSAs (--tsa-trust)
  // Accept a seal whose signer's certificate has expired since, although no trusted time proves
  // that it was made before (its date is then only the signer's claim): a warning, not a failure.
  bool accept_expired_signers = false;
  // How the signers' revocation status is checked: embedded data, and online with --online.
  RevocationPolicy revocation;
  // Containers: record the outcome as a "verified" event in the container's custody log, signed
  // by the context's signer. Refused before any check when the container is kept read-only
  // (why_evidence_is_read_only) or the signer cannot sign.
  std::optional<EventContext> record;
};

// Verifies an AFF4 container (all volumes of a striped image): the CRC-32 of every member (a
// damaged chunk is named with its offsets), AFF4 block hashes where present, the linear hashes of
// the image against custody/acquisition.json and information.turtle, and the record's integrity.
// Errors (could not check): Errc::not_found, Errc::corrupt (the container cannot be read),
// Errc::unsupported, Errc::io_error. Mismatches are failed checks.
// Seals (custody-seal) are checked too: signature, signer chain against `trust_files` (PEM CA
// bundles; none given = signers reported as not trusted), the file's bytes and members against
// what each seal covers, and that no member was added or changed after a seal.
// A seal whose signer's certificate has expired since is a failure unless a trusted timestamp
// proves it was made before the expiry (or options.accept_expired_signers).
Result<VerificationReport> verify_container(const std::vector<std::string>& paths,
                                            const VerifyOptions& options,
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr);
Result<VerificationReport> verify_container(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files = {},
                                            const std::vector<std::string>& tsa_trust_files = {},
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr);

// Verifies an E01 set (any segment's name, usually NAME.E01) made by any tool: the MD5 and SHA-1
// it stores against the image read now, the chunk checksums, and its acquiry error list (a
// warning). kind "e01". Errors: Errc::not_found, Errc::corrupt (not an E01 libewf can open).
Result<VerificationReport> verify_e01(const std::string& path,
                                      ProgressSink* progress = nullptr,
                                      const CancelToken* cancel = nullptr);

// The report as versioned JSON ("format": "custody-verification", "version": 1): "checks" holds
// the checks made, "not_checked" (check, subject, detail) what was not covered.
std::string report_to_json(const VerificationReport& report);

}  // namespace custody
