// SPDX-License-Identifier: Apache-2.0
#include "aff4/logical_detect.hpp"
#include "core/pipeline.hpp"
#include "zip/zip.hpp"

#include <custody/container.hpp>
#include <custody/custody_log.hpp>
#include <custody/import.hpp>
#include <custody/logical.hpp>
#include <custody/seal.hpp>
#include <custody/text.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace custody {

namespace {

Check failed_check(CheckKind kind, std::string subject, std::string detail) {
  Check check;
  check.kind = kind;
  check.subject = std::move(subject);
  check.verdict = Verdict::fail;
  check.detail = std::move(detail);
  return check;
}

void check_record_integrity(const LoadedRecord& loaded, VerificationReport& report) {
  Check check;
  check.kind = CheckKind::record;
  check.subject = std::filesystem::path(report.record_path).filename().string();
  check.algorithm = "sha256";
  check.expected = loaded.recorded_digest;
  check.actual = loaded.computed_digest;
  if (!loaded.digest_matches) {
    check.verdict = Verdict::fail;
    check.detail =
        "the record was edited after acquisition (record_sha256 does not match its content)";
  }
  report.checks.push_back(std::move(check));
  if (loaded.record.status != AcquisitionStatus::complete) {
    report.checks.push_back(
        failed_check(CheckKind::acquisition, "image",
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
          failed_check(CheckKind::segment, segment.file,
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
    check.verdict = Verdict::fail;
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
          compare(Check{CheckKind::segment,
                        segments[index].file,
                        name,
                        expected->second,
                        {},
                        {},
                        {},
                        {},
                        {}},
                  sink->segment_digests().at(index), report);
        }
      }
    }
    compare(Check{CheckKind::image,
                  "image",
                  name,
                  report.record.hashes.at(sink->algorithm()),
                  {},
                  {},
                  {},
                  {},
                  {}},
            sink->total_digest(), report);
  }
}

// A verified image that had unreadable sectors must say so.
void add_record_defect_check(VerificationReport& report) {
  const AcquisitionRecord& record = report.record;
  if (record.defects.empty()) {
    return;
  }
  std::uint64_t sectors = 0;
  std::string ranges;
  for (const Defect& defect : record.defects) {
    const std::uint64_t first = defect.offset / defect.sector_size;
    const std::uint64_t count = (defect.length + defect.sector_size - 1) / defect.sector_size;
    sectors += count;
    if (ranges.size() < 400) {
      ranges += fmt::format("{}{}-{}", ranges.empty() ? "" : ", ", first, first + count - 1);
    }
  }
  Check check;
  check.kind = CheckKind::defects;
  check.subject = "image";
  check.verdict = Verdict::warn;
  check.detail = fmt::format(
      "{} sectors could not be read at acquisition and are filled with {} "
      "in the image (sectors {})",
      sectors, record.defect_fill, ranges);
  report.checks.push_back(std::move(check));
}

// What the verification did not cover, and why, as checks with Verdict::not_checked after all
// the others: a verdict is only as strong as what it covered.
void add_not_checked(VerificationReport& report) {
  const auto not_checked = [&](CheckKind kind, std::string subject, std::string why) {
    report.checks.push_back(
        Check{kind, std::move(subject), {}, {}, {}, Verdict::not_checked, std::move(why), {}, {}});
  };
  if (report.kind != "aff4") {
    not_checked(CheckKind::seal, "seals and custody log",
                fmt::format("{} has neither (an AFF4 container has)",
                            report.kind == "e01" ? "an E01" : "a raw image"));
    return;
  }
  if (!report.seals.empty() && !report.trust_given) {
    not_checked(CheckKind::seal, "who signed the seals",
                "no --trust CA given, so signers are not checked");
  }
  const bool timestamps = !report.archives.empty() ||
                          std::any_of(report.seals.begin(), report.seals.end(),
                                      [](const SealReport& seal) { return seal.has_timestamp; });
  if (timestamps && !report.tsa_trust_given) {
    not_checked(CheckKind::timestamp, "which TSA gave the trusted time", "no --tsa-trust CA given");
  }
  // A signer's revocation status that nothing settled: the seal is checked, its signer's
  // certificate may still have been revoked.
  for (const SealReport& seal : report.seals) {
    if (seal.etsi.sub_indication == "TRY_LATER") {
      not_checked(CheckKind::seal, fmt::format("revocation of the signer of seal {}", seal.number),
                  seal.etsi.revocation);
    }
  }
}

}  // namespace

Result<VerificationReport> verify_record(const std::string& record_path,
                                         ProgressSink* progress,
                                         const CancelToken* cancel) {
  auto loaded = load_record(record_path);
  CUSTODY_TRY(loaded);
  if (loaded->record.image_format != "raw") {
    const std::string container =
        loaded->record.container ? loaded->record.container->file : std::string("its container");
    return make_error(Errc::invalid_argument,
                      fmt::format("{} describes an image inside an AFF4 container; verify the "
                                  "container instead (custody-verify {})",
                                  record_path, container));
  }
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
  add_record_defect_check(report);
  add_not_checked(report);
  report.verified = std::all_of(report.checks.begin(), report.checks.end(),
                                [](const Check& check) { return check.verdict != Verdict::fail; });
  return report;
}

const char* check_kind_name(CheckKind kind) {
  switch (kind) {
    case CheckKind::record:
      return "record";
    case CheckKind::acquisition:
      return "acquisition";
    case CheckKind::segment:
      return "segment";
    case CheckKind::image:
      return "image";
    case CheckKind::defects:
      return "defects";
    case CheckKind::metadata:
      return "metadata";
    case CheckKind::member:
      return "member";
    case CheckKind::members:
      return "members";
    case CheckKind::container:
      return "container";
    case CheckKind::chunk:
      return "chunk";
    case CheckKind::block_hash:
      return "block hash";
    case CheckKind::block_hashes:
      return "block hashes";
    case CheckKind::map_hash:
      return "map hash";
    case CheckKind::seal:
      return "seal";
    case CheckKind::timestamp:
      return "timestamp";
    case CheckKind::custody_log:
      return "custody log";
    case CheckKind::file:
      return "file";
    case CheckKind::files:
      return "files";
    case CheckKind::file_list:
      return "file list";
  }
  return "check";
}

CheckKind integrity_check_kind(std::string_view what) {
  if (what == "chunk") {
    return CheckKind::chunk;
  }
  if (what == "block hash") {
    return CheckKind::block_hash;
  }
  if (what == "map hash") {
    return CheckKind::map_hash;
  }
  return CheckKind::member;
}

namespace {

Check make_check(CheckKind kind, std::string subject, Verdict verdict, std::string detail) {
  Check check;
  check.kind = kind;
  check.subject = std::move(subject);
  check.verdict = verdict;
  check.detail = std::move(detail);
  return check;
}

// The hashes the image must have: the custody record's, and information.turtle's (which must
// agree).
DigestSet expected_hashes(const VerificationReport& report,
                          const ContainerInfo& info,
                          std::vector<Check>& checks) {
  DigestSet expected = report.has_record ? report.record.hashes : DigestSet{};
  for (const auto& [algorithm, hex] : info.linear_hashes) {
    auto known = expected.find(algorithm);
    if (known == expected.end()) {
      expected[algorithm] = hex;
    } else if (known->second != hex) {
      checks.push_back(make_check(CheckKind::metadata, "information.turtle", Verdict::fail,
                                  fmt::format("{} in information.turtle ({}) differs from the "
                                              "custody record ({})",
                                              hash_name(algorithm), hex, known->second)));
    }
  }
  return expected;
}

void add_defect_checks(const ContainerInfo& info, VerificationReport& report) {
  const ContainerMapSummary& map = info.map;
  if (map.unreadable_bytes > 0) {
    std::string ranges;
    for (const auto& [offset, length] : map.unreadable_ranges) {
      if (ranges.size() > 400) {
        ranges += ", ...";
        break;
      }
      ranges += fmt::format("{}{}..{}", ranges.empty() ? "" : ", ", offset, offset + length);
    }
    report.checks.push_back(
        make_check(CheckKind::defects, "image", Verdict::warn,
                   fmt::format("{} bytes could not be read at acquisition and are filled with the "
                               "UNREADABLEDATA pattern (bytes {})",
                               map.unreadable_bytes, ranges)));
  }
  if (map.unknown_bytes > 0) {
    report.checks.push_back(make_check(
        CheckKind::defects, "image", Verdict::warn,
        fmt::format("{} bytes were not acquired (UnknownData: e.g. unallocated space left out)",
                    map.unknown_bytes)));
  }
}

}  // namespace

namespace {

// When the AFF4 structure cannot be read, the ZIP layer may still say which member was damaged.
// Returns the report if some member's CRC-32 fails, the original error otherwise.
Result<VerificationReport> verify_unreadable_container(const std::vector<std::string>& paths,
                                                       Error open_error) {
  VerificationReport report;
  report.record_path = paths.front();
  report.kind = "aff4";
  report.has_record = false;
  for (const std::string& path : paths) {
    auto zip = internal::ZipReader::open(path);
    if (!zip) {
      return tl::unexpected(std::move(open_error));
    }
    for (const internal::ZipMember& member : zip->members()) {
      auto crc = zip->compute_crc32(member);
      if (!crc || *crc != member.crc32) {
        report.checks.push_back(make_check(
            CheckKind::member, member.name, Verdict::fail,
            crc ? fmt::format("bytes {}..{} of {} changed (CRC-32 recorded {:08x}, computed "
                              "{:08x})",
                              member.data_offset, member.data_offset + member.compressed_size, path,
                              member.crc32, *crc)
                : crc.error().message));
      }
    }
  }
  if (report.checks.empty()) {
    return tl::unexpected(std::move(open_error));
  }
  report.checks.insert(report.checks.begin(),
                       make_check(CheckKind::container, paths.front(), Verdict::fail,
                                  "cannot be read as an AFF4 image: " + open_error.to_string()));
  return report;
}

}  // namespace

namespace {

// Trusted time of a seal: an RFC 3161 token over its signature.
void add_timestamp_check(const SealReport& seal,
                         bool tsa_anchors_given,
                         VerificationReport& report) {
  const std::string name = fmt::format("timestamp of seal {}", seal.number);
  if (!seal.has_timestamp) {
    report.checks.push_back(make_check(CheckKind::timestamp, name, Verdict::warn,
                                       fmt::format("seal {} is not timestamped: its time is the "
                                                   "signer's own claim",
                                                   seal.number)));
    return;
  }
  const TimestampCheck& stamp = seal.timestamp;
  if (!seal.timestamp_problem.empty()) {
    report.checks.push_back(make_check(CheckKind::timestamp, name, Verdict::fail,
                                       "unreadable: " + seal.timestamp_problem));
  } else if (!stamp.imprint_matches) {
    report.checks.push_back(make_check(CheckKind::timestamp, name, Verdict::fail,
                                       "the timestamp is not over this seal's signature"));
  } else if (!stamp.signature_valid && tsa_anchors_given) {
    report.checks.push_back(
        make_check(CheckKind::timestamp, name, Verdict::fail,
                   fmt::format("the timestamp is not signed by a TSA the given CAs vouch for ({})",
                               stamp.detail)));
  } else if (!stamp.signature_valid) {
    report.checks.push_back(make_check(
        CheckKind::timestamp, name, Verdict::warn,
        fmt::format("timestamped {} by {}, but that TSA is not trusted here; give its CA with "
                    "--tsa-trust",
                    stamp.time, stamp.tsa_subject)));
  } else if (!report.record.finished.empty() && stamp.time < report.record.finished) {
    report.checks.push_back(
        make_check(CheckKind::timestamp, name, Verdict::fail,
                   fmt::format("the trusted time {} is before the acquisition ended ({})",
                               stamp.time, report.record.finished)));
  } else {
    report.checks.push_back(make_check(
        CheckKind::timestamp, name, Verdict::pass,
        fmt::format("existed at {} (trusted time by {})", stamp.time, stamp.tsa_subject)));
  }
}

// An archive time-stamp (custody-seal --renew): the bytes it covers, and its token.
void add_archive_check(const ArchiveReport& archive,
                       bool tsa_anchors_given,
                       VerificationReport& report) {
  const std::string name = fmt::format("archive time-stamp {}", archive.number);
  const TimestampCheck& stamp = archive.timestamp;
  const auto add = [&](Verdict verdict, std::string detail) {
    report.checks.push_back(make_check(CheckKind::timestamp, name, verdict, std::move(detail)));
  };
  if (!archive.manifest_readable || !archive.has_token) {
    add(Verdict::fail, "unreadable: " + archive.problem);
  } else if (!archive.prefix_matches) {
    add(Verdict::fail,
        fmt::format("the first {} bytes of the file, which it covers, changed after it was made",
                    archive.covered_length));
  } else if (!archive.problem.empty()) {
    add(Verdict::fail, archive.problem);
  } else if (!stamp.imprint_matches) {
    add(Verdict::fail, "its token is not over its archive manifest");
  } else if (!stamp.signature_valid && tsa_anchors_given) {
    add(Verdict::fail,
        fmt::format("its token is not signed by a TSA the given CAs vouch for ({})", stamp.detail));
  } else if (!stamp.signature_valid) {
    add(Verdict::warn, fmt::format("renewed {} by {}, but that TSA is not trusted here; give its "
                                   "CA with --tsa-trust",
                                   stamp.time, stamp.tsa_subject));
  } else {
    add(Verdict::pass,
        fmt::format("the first {} bytes (every seal, event, tree head and time-stamp in them) "
                    "existed at {} (trusted time by {})",
                    archive.covered_length, stamp.time, stamp.tsa_subject));
  }
}

// The earliest trusted archive time-stamp that covers `member` (custody-seal --renew): the proof
// that a custody event's or tree head's signature existed then. Event signatures have no
// time-stamp of their own (a tree head's token covers the events' bytes, not their signatures).
std::pair<std::string, std::string> archive_proof_of(const std::vector<ArchiveReport>& archives,
                                                     const std::string& member) {
  std::pair<std::string, std::string> proof;
  for (const ArchiveReport& archive : archives) {
    const auto& covered = archive.covered_members;
    if (archive_proves(archive) &&
        std::find(covered.begin(), covered.end(), member) != covered.end() &&
        (proof.first.empty() || archive.timestamp.time < proof.first)) {
      proof = {archive.timestamp.time,
               fmt::format("archive time-stamp custody/archive-{}.tsr by {}", archive.number,
                           archive.timestamp.tsa_subject)};
    }
  }
  return proof;
}

// The revocation of every signer of the custody log (events and tree heads), per EN 319 102-1:
// a signer revoked before a signature's proven time, or revoked with nothing to prove the
// signature came first, fails that event; a status nothing settles is said once.
void add_log_signer_revocation(const LogVerification& log,
                               const VerifyOptions& options,
                               VerificationReport& report) {
  struct Signed {
    std::string subject, member;
    const std::string* bytes;
    const std::string* signature;
  };
  std::vector<Signed> signatures;
  for (const LoggedEvent& event : log.log.events) {
    if (event.signature && event.parse_problem.empty()) {
      signatures.push_back({fmt::format("event {}", event.number),
                            fmt::format("custody/log/event-{}.p7s", event.number), &event.bytes,
                            &*event.signature});
    }
  }
  for (const LoggedHead& head : log.log.heads) {
    if (head.signature && head.parse_problem.empty()) {
      signatures.push_back({fmt::format("tree head {}", head.number),
                            fmt::format("custody/log/head-{}.p7s", head.number), &head.bytes,
                            &*head.signature});
    }
  }
  std::string unsettled;
  std::size_t unsettled_count = 0;
  for (const Signed& item : signatures) {
    auto check = verify_detached(*item.signature, *item.bytes, options.trust_files);
    if (!check || !check->signature_valid) {
      continue;  // the log's own checks said so
    }
    const auto [proof_time, proof] = archive_proof_of(report.archives, item.member);
    auto etsi = validate_signature(*item.signature, *check, options.tsa_trust_files, proof_time,
                                   proof, options.revocation);
    if (!etsi) {
      continue;
    }
    const std::string signer = common_name(check->signer.subject);
    const auto add = [&](Verdict verdict, std::string detail) {
      Check added = make_check(CheckKind::custody_log, item.subject, verdict, std::move(detail));
      added.etsi_indication = etsi->indication;
      added.etsi_sub_indication = etsi->sub_indication;
      report.checks.push_back(std::move(added));
    };
    if (etsi->sub_indication == "REVOKED") {
      add(Verdict::fail, fmt::format("signed by {}, whose certificate was revoked on {}, before "
                                     "the signature's proven time {}",
                                     signer, etsi->revoked_at, etsi->proof_time));
    } else if (etsi->sub_indication == "REVOKED_NO_POE" &&
               check->signing_time >= etsi->revoked_at) {
      // By its own date the signature was made with a revoked key.
      add(Verdict::fail, fmt::format("signed by {} on {}, by its own date after its certificate "
                                     "was revoked on {}",
                                     signer, check->signing_time, etsi->revoked_at));
    } else if (etsi->sub_indication == "REVOKED_NO_POE") {
      // A record of handling, dated before the revocation, that nothing proves: said, and not
      // passed; a seal in the same position fails, since the verdict names its signer.
      add(Verdict::warn,
          fmt::format("signed by {} on {}, and the certificate was revoked on {}, later; no "
                      "trusted time proves the signature came first (custody-seal --renew "
                      "time-stamps the log's signatures)",
                      signer, check->signing_time, etsi->revoked_at));
    } else if (etsi->sub_indication == "REVOKED_CA_NO_POE" &&
               check->signing_time >= etsi->revoked_at) {
      add(Verdict::fail, fmt::format("signed by {} on {}, by its own date after: {}", signer,
                                     check->signing_time, etsi->detail));
    } else if (etsi->sub_indication == "REVOKED_CA_NO_POE") {
      add(Verdict::warn, fmt::format("signed by {} on {}; {} (custody-seal --renew time-stamps "
                                     "the log's signatures)",
                                     signer, check->signing_time, etsi->detail));
    } else if (etsi->sub_indication == "TRY_LATER") {
      ++unsettled_count;
      if (unsettled.empty()) {
        unsettled = etsi->revocation;
      }
    }
  }
  if (unsettled_count > 0) {
    report.checks.push_back(Check{CheckKind::custody_log,
                                  "revocation of the custody log's signers",
                                  {},
                                  {},
                                  {},
                                  Verdict::not_checked,
                                  fmt::format("{} signature{}: {}", unsettled_count,
                                              unsettled_count == 1 ? "" : "s", unsettled),
                                  "INDETERMINATE",
                                  "TRY_LATER"});
  }
}

// Failures and warnings of the custody log one by one; its passes as one line.
void add_custody_log_checks(const LogVerification& log, VerificationReport& report) {
  for (const LogCheck& check : log.checks) {
    if (check.verdict == Verdict::pass && check.subject != "log") {
      continue;
    }
    if (check.subject == k_log_revocation_subject) {
      continue;  // judged here, by add_log_signer_revocation
    }
    report.checks.push_back(make_check(CheckKind::custody_log,
                                       check.subject == "log" ? "custody log" : check.subject,
                                       check.verdict, check.detail));
  }
}

// Whether a trusted RFC 3161 timestamp proves that `seal` existed while its signer's certificate
// was valid: only then does a certificate that has expired since not matter.
// The proof may be the seal's token, the time-stamp inside its signature (CAdES B-T) or an
// archive time-stamp that covers it (custody-seal --renew): the earliest trusted one.
bool time_proven_before_expiry(const SealReport& seal) {
  const TimestampCheck& stamp = seal.timestamp;
  const std::string& not_after = seal.signature.signer.not_after;
  if (not_after.empty()) {
    return false;
  }
  if (!seal.etsi.proof_time.empty() && seal.etsi.proof_time <= not_after) {
    return true;
  }
  return seal.has_timestamp && seal.timestamp_problem.empty() && stamp.imprint_matches &&
         stamp.signature_valid && stamp.time <= not_after;
}

// The checks of one seal whose signature matches and whose signer is not revoked.
void seal_checks_of(const SealReport& seal,
                    const std::string& subject,
                    const std::string& signer,
                    bool anchors_given,
                    bool accept_expired,
                    const std::string& now,
                    VerificationReport& report);

// `anchors_given`: the user named the CAs to trust, so a signer outside them is a failure, not
// a warning. `accept_expired`: the user accepts seals whose signer's certificate has expired since
// on the signer's own word for the seal's date (custody-verify --accept-expired-signers).
void add_seal_checks(const std::vector<SealReport>& seals,
                     bool anchors_given,
                     bool accept_expired,
                     VerificationReport& report) {
  if (seals.empty()) {
    // Seals are appended, so cutting a file back removes them: their absence is worth saying,
    // and a failure when the user asked to check signers.
    report.checks.push_back(make_check(
        CheckKind::seal, "container", anchors_given ? Verdict::fail : Verdict::warn,
        anchors_given ? "--trust was given, but the container carries no seal: nobody vouches "
                        "for it (a seal can be removed by cutting the file back)"
                      : "the container is not sealed: nobody has signed for it (custody-seal)"));
    return;
  }
  const std::string now = utc_now();
  for (const SealReport& seal : seals) {
    const std::string subject =
        seal.signature.signer.subject.empty()
            ? fmt::format("seal {}", seal.number)
            : fmt::format("seal {} ({})", seal.number, seal.signature.signer.subject);
    const std::string signer = common_name(seal.signature.signer.subject);
    const auto fail = [&](std::string detail) {
      report.checks.push_back(
          make_check(CheckKind::seal, subject, Verdict::fail, std::move(detail)));
    };
    if (!seal.detail.empty()) {
      fail(fmt::format("seal {} cannot be read: {}", seal.number, seal.detail));
      continue;
    }
    if (!seal.signature.signature_valid) {
      fail(fmt::format("the signature of seal {} does not match its manifest: forged or damaged",
                       seal.number));
      continue;
    }
    const std::size_t first_check = report.checks.size();
    const auto stamp_etsi = [&] {
      for (std::size_t i = first_check; i < report.checks.size(); ++i) {
        report.checks[i].etsi_indication = seal.etsi.indication;
        report.checks[i].etsi_sub_indication = seal.etsi.sub_indication;
      }
    };
    if (seal.etsi.sub_indication == "REVOKED") {
      fail(
          fmt::format("seal {} was made by {}, whose certificate was revoked on {}, before the "
                      "seal's proven time {}",
                      seal.number, signer, seal.etsi.revoked_at, seal.etsi.proof_time));
      stamp_etsi();
      continue;
    }
    if (seal.etsi.sub_indication == "REVOKED_NO_POE") {
      fail(
          fmt::format("seal {} was made by {}, whose certificate was revoked on {}, and no "
                      "trusted time proves the seal was made before (a timestamped seal proves "
                      "it with --tsa-trust)",
                      seal.number, signer, seal.etsi.revoked_at));
      stamp_etsi();
      continue;
    }
    if (seal.etsi.sub_indication == "REVOKED_CA_NO_POE") {
      // Nothing vouches any more for who the signer was: the verdict cannot name them.
      fail(fmt::format("seal {} was made by {}: {}", seal.number, signer, seal.etsi.detail));
      stamp_etsi();
      continue;
    }
    seal_checks_of(seal, subject, signer, anchors_given, accept_expired, now, report);
    stamp_etsi();
  }
}

// The checks of one seal whose signature matches and whose signer is not revoked.
void seal_checks_of(const SealReport& seal,
                    const std::string& subject,
                    const std::string& signer,
                    bool anchors_given,
                    bool accept_expired,
                    const std::string& now,
                    VerificationReport& report) {
  const auto fail = [&](std::string detail) {
    report.checks.push_back(make_check(CheckKind::seal, subject, Verdict::fail, std::move(detail)));
  };
  {
    bool ok = true;
    if (!seal.file_prefix_matches) {
      fail(
          fmt::format("the first {} bytes of the file, which seal {} covers, changed after "
                      "sealing (this includes bytes no reader looks at, such as old directory "
                      "records)",
                      seal.sealed_length, seal.number));
      ok = false;
    }
    for (const std::string& name : seal.changed_members) {
      fail(fmt::format("member {} changed or disappeared after seal {} was made", name,
                       seal.number));
      ok = false;
    }
    for (const std::string& name : seal.added_members) {
      fail(fmt::format("member {} was added after seal {} was made", name, seal.number));
      ok = false;
    }
    if (!seal.after_acquisition) {
      fail(fmt::format("seal {} is dated {}, before the acquisition ended", seal.number,
                       seal.sealed_at));
      ok = false;
    }
    if (!seal.signature.valid_at_signing_time) {
      fail(
          fmt::format("seal {} was made with a certificate that was not valid at the time "
                      "(signed {}; the certificate of {} is valid from {} to {})",
                      seal.number, seal.sealed_at, signer, seal.signature.signer.not_before,
                      seal.signature.signer.not_after));
      ok = false;
    } else if (!seal.signature.chain_trusted && anchors_given) {
      fail(fmt::format("seal {} was made by a signer that is not trusted here ({}: {})",
                       seal.number, signer, seal.signature.trust_problem));
      return;
    } else if (!seal.signature.chain_trusted) {
      report.checks.push_back(
          make_check(CheckKind::seal, subject, Verdict::warn,
                     fmt::format("seal {} is correctly signed by {}, but the signer is not "
                                 "checked ({}); give the signer's CA with --trust",
                                 seal.number, signer, seal.signature.trust_problem)));
      return;
    } else if (seal.signature.signer.not_after < now && !time_proven_before_expiry(seal)) {
      // Trusted at the date the seal claims, but that date is the signer's own word: a key that
      // outlived its certificate could have made the seal later and backdated it.
      const std::string why = fmt::format(
          "seal {} was made by {}, whose certificate has expired (on {}), and no trusted time "
          "proves that the seal was made before; its date, {}, is the signer's own claim",
          seal.number, signer, seal.signature.signer.not_after, seal.sealed_at);
      if (accept_expired) {
        report.checks.push_back(make_check(CheckKind::seal, subject, Verdict::warn,
                                           why + " (accepted with --accept-expired-signers)"));
      } else {
        fail(why + "; if you accept that claim, verify with --accept-expired-signers");
      }
      return;
    }
    if (ok) {
      report.checks.push_back(make_check(
          CheckKind::seal, subject, Verdict::pass,
          fmt::format("signed {}, signer trusted, nothing changed since{}", seal.sealed_at,
                      // (Unsettled, it is said whole on its NOT CHECKED line instead.)
                      seal.etsi.sub_indication != "TRY_LATER" &&
                              (seal.etsi.revocation.find("revoked") == 0 ||
                               seal.etsi.revocation.find("not revoked") == 0)
                          ? "; signer " + seal.etsi.revocation
                          : "")));
    }
  }
}

// A logical (AFF4-L) container: the file list against the record, every file's content against
// its recorded hashes (the changed file is named), and every member's CRC-32.
Result<void> check_logical_files(const std::string& path, VerificationReport& report) {
  auto container = LogicalContainer::open(path);
  CUSTODY_TRY(container);
  const LogicalContainer& logical = **container;
  if (report.has_record && report.record.logical) {
    const std::string& bytes = logical.manifest_bytes();
    auto digest = hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())),
                             std::array{HashAlgorithm::sha256});
    CUSTODY_TRY(digest);
    compare(Check{CheckKind::file_list,
                  k_logical_manifest_member,
                  "sha256",
                  report.record.logical->manifest_sha256,
                  {},
                  {},
                  {},
                  {},
                  {}},
            digest->at(HashAlgorithm::sha256), report);
  }
  std::uint64_t checked = 0;
  for (const LogicalEntry& entry : logical.manifest().entries) {
    if (entry.type != LogicalEntryType::file) {
      continue;
    }
    const std::string shown = encode_logical_path(entry.path);
    if (entry.member.empty()) {
      report.checks.push_back(make_check(CheckKind::file, shown, Verdict::warn,
                                         "not taken at acquisition: " + entry.error));
      continue;
    }
    std::vector<HashAlgorithm> algorithms;
    for (const auto& [algorithm, hex] : entry.hashes) {
      algorithms.push_back(algorithm);
    }
    auto hashes = logical.hash_file(entry, algorithms);
    if (!hashes) {
      report.checks.push_back(make_check(CheckKind::file, shown, Verdict::fail,
                                         "cannot be read: " + hashes.error().message));
      continue;
    }
    for (const auto& [algorithm, expected] : entry.hashes) {
      const std::string& actual = hashes->at(algorithm);
      Check check{CheckKind::file,
                  shown,
                  std::string(hash_name(algorithm)),
                  expected,
                  actual,
                  expected == actual ? Verdict::pass : Verdict::fail,
                  {},
                  {},
                  {}};
      if (check.verdict == Verdict::fail) {
        check.detail = fmt::format(
            "the file's content CHANGED since acquisition ({} recorded "
            "{}, computed {})",
            check.algorithm, expected, actual);
      }
      report.checks.push_back(std::move(check));
    }
    ++checked;
    if (!entry.error.empty()) {
      report.checks.push_back(make_check(CheckKind::file, shown, Verdict::warn,
                                         "incomplete at acquisition: " + entry.error));
    }
  }
  report.checks.push_back(make_check(CheckKind::files, fmt::format("{} files", checked),
                                     Verdict::pass,
                                     "every file checked against its recorded hashes"));
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  bool members_ok = true;
  for (const internal::ZipMember& member : zip->members()) {
    auto crc = zip->compute_crc32(member);
    if (!crc || *crc != member.crc32) {
      members_ok = false;
      report.checks.push_back(make_check(
          CheckKind::member, member.name, Verdict::fail,
          crc ? fmt::format("bytes {}..{} changed (CRC-32 recorded {:08x}, computed {:08x})",
                            member.data_offset, member.data_offset + member.compressed_size,
                            member.crc32, *crc)
              : crc.error().message));
    }
  }
  if (members_ok) {
    report.checks.push_back(make_check(CheckKind::members,
                                       fmt::format("{} members", zip->members().size()),
                                       Verdict::pass, "CRC-32 of every member matches"));
  }
  if (!logical.manifest().defects.empty()) {
    report.checks.push_back(make_check(
        CheckKind::acquisition, "defects", Verdict::warn,
        fmt::format("{} entr{} could not be taken completely at acquisition (see custody-info)",
                    logical.manifest().defects.size(),
                    logical.manifest().defects.size() == 1 ? "y" : "ies")));
  }
  return {};
}

// Seals (with their timestamps) and the custody log of a container, physical or logical.
Result<void> add_custody_checks(const std::vector<std::string>& paths,
                                const VerifyOptions& options,
                                VerificationReport& report,
                                ProgressSink* progress,
                                const CancelToken* cancel) {
  auto checks = check_seals_and_archives(paths, options.trust_files, options.tsa_trust_files,
                                         progress, cancel, options.revocation);
  CUSTODY_TRY(checks);
  report.seals = checks->seals;
  report.archives = checks->archives;
  report.trust_given = !options.trust_files.empty();
  report.tsa_trust_given = !options.tsa_trust_files.empty();
  add_seal_checks(report.seals, report.trust_given, options.accept_expired_signers, report);
  for (const SealReport& seal : report.seals) {
    add_timestamp_check(seal, report.tsa_trust_given, report);
  }
  for (const ArchiveReport& archive : report.archives) {
    add_archive_check(archive, report.tsa_trust_given, report);
  }
  auto log = verify_custody_log(paths.front(), options.trust_files, options.tsa_trust_files);
  CUSTODY_TRY(log);
  add_custody_log_checks(*log, report);
  add_log_signer_revocation(*log, options, report);
  report.custody_log = std::move(*log);
  return {};
}

Result<VerificationReport> verify_logical_container(const std::vector<std::string>& paths,
                                                    const VerifyOptions& options,
                                                    ProgressSink* progress,
                                                    const CancelToken* cancel) {
  auto zip = internal::ZipReader::open(paths.front());
  CUSTODY_TRY(zip);
  VerificationReport report;
  report.record_path = paths.front();
  report.kind = "aff4";
  report.has_record = false;
  if (const internal::ZipMember* member = zip->find("custody/acquisition.json")) {
    auto text = zip->read_member(*member, std::size_t{16} << 20U);
    CUSTODY_TRY(text);
    auto loaded = parse_record(*text);
    if (loaded) {
      report.has_record = true;
      report.record = loaded->record;
      check_record_integrity(*loaded, report);
      report.checks.front().subject = "custody/acquisition.json";
    } else {
      report.checks.push_back(
          make_check(CheckKind::record, "custody/acquisition.json", Verdict::fail,
                     "the custody record is damaged: " + loaded.error().message));
    }
  }
  if (auto files = check_logical_files(paths.front(), report); !files) {
    if (files.error().code != Errc::corrupt) {
      return tl::unexpected(files.error());
    }
    report.checks.push_back(make_check(CheckKind::container, paths.front(), Verdict::fail,
                                       "cannot be read: " + files.error().message));
  }
  CUSTODY_TRY(add_custody_checks(paths, options, report, progress, cancel));
  add_not_checked(report);
  report.verified = std::none_of(report.checks.begin(), report.checks.end(),
                                 [](const Check& c) { return c.verdict == Verdict::fail; });
  return report;
}

}  // namespace

Result<VerificationReport> verify_container(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files,
                                            ProgressSink* progress,
                                            const CancelToken* cancel) {
  return verify_container(paths,
                          VerifyOptions{trust_files, tsa_trust_files, false, {}, std::nullopt},
                          progress, cancel);
}

namespace {

// Every check of a physical or logical container; records nothing.
// The report of an AFF4 container as far as its custody record goes; a container without a
// readable record is described by what the container itself says.
VerificationReport container_report(const std::string& path, const ContainerInfo& info) {
  VerificationReport report;
  report.record_path = path;
  report.kind = "aff4";
  report.has_record = info.custody_record.has_value();
  if (report.has_record) {
    auto loaded = parse_record(*info.custody_record);
    if (loaded) {
      report.record = loaded->record;
      check_record_integrity(*loaded, report);
      report.checks.front().subject = "custody/acquisition.json";
    } else {
      // Verify the rest all the same: the member checks say which bytes changed.
      report.has_record = false;
      report.checks.push_back(
          make_check(CheckKind::record, "custody/acquisition.json", Verdict::fail,
                     "the custody record is damaged: " + loaded.error().message));
    }
  }
  if (!report.has_record) {
    report.record.image_format = "aff4";
    report.record.source.path = info.image_properties.count("diskDeviceName") != 0
                                    ? info.image_properties.at("diskDeviceName")
                                    : std::string("unknown");
  }
  report.record.image_size = info.size;
  return report;
}

// The image's linear hashes, all algorithms in one pass, against those recorded.
Result<void> check_image_hashes(Container& container,
                                VerificationReport& report,
                                ProgressSink* progress,
                                const CancelToken* cancel) {
  const ContainerInfo& info = container.info();
  DigestSet expected = expected_hashes(report, info, report.checks);
  std::vector<HashAlgorithm> algorithms;
  for (const auto& entry : expected) {
    algorithms.push_back(entry.first);
  }
  if (algorithms.empty()) {
    report.checks.push_back(make_check(CheckKind::image, "image", Verdict::warn,
                                       "the container records no linear hash of the image; its "
                                       "block hashes and checksums are checked instead"));
    return {};
  }
  auto sinks = internal::make_digest_sinks(algorithms, internal::SegmentLayout::single());
  CUSTODY_TRY(sinks);
  const auto workers = internal::group_digest_sinks(*sinks);
  auto source = container.image_source(0, info.size);
  auto outcome = internal::run_pipeline(*source, internal::sink_pointers(workers), info.size,
                                        progress, cancel);
  if (!outcome && outcome.error().code == Errc::corrupt) {
    // Damage that stops reading is a failed check; the member checks locate it.
    report.checks.push_back(make_check(CheckKind::image, "image", Verdict::fail,
                                       "the image cannot be read: " + outcome.error().message));
    return {};
  }
  CUSTODY_TRY(outcome);
  if (outcome->cancelled) {
    return make_error(Errc::cancelled, "verification was interrupted");
  }
  for (const auto& sink : *sinks) {
    const std::string name(hash_name(sink->algorithm()));
    compare(
        Check{CheckKind::image, "image", name, expected.at(sink->algorithm()), {}, {}, {}, {}, {}},
        sink->total_digest(), report);
  }
  return {};
}

// Every member's bytes against its CRC-32, naming damaged chunks; then the AFF4 block hashes,
// where the producer wrote them.
Result<void> check_stored_bytes(Container& container,
                                VerificationReport& report,
                                ProgressSink* progress,
                                const CancelToken* cancel) {
  auto problems = container.check_members(progress, cancel);
  CUSTODY_TRY(problems);
  for (const IntegrityProblem& problem : *problems) {
    report.checks.push_back(make_check(integrity_check_kind(problem.what), problem.subject,
                                       Verdict::fail, problem.detail));
  }
  if (problems->empty()) {
    report.checks.push_back(make_check(CheckKind::members,
                                       fmt::format("{} members", container.info().members.size()),
                                       Verdict::pass, "CRC-32 of every member matches"));
  }
  std::vector<std::string> checked;
  auto block_problems = container.check_block_hashes(checked);
  CUSTODY_TRY(block_problems);
  for (const IntegrityProblem& problem : *block_problems) {
    report.checks.push_back(make_check(integrity_check_kind(problem.what), problem.subject,
                                       Verdict::fail, problem.detail));
  }
  for (const std::string& what : checked) {
    report.checks.push_back(make_check(CheckKind::block_hashes, what, Verdict::pass, ""));
  }
  return {};
}

Result<VerificationReport> check_container(const std::vector<std::string>& paths,
                                           const VerifyOptions& options,
                                           ProgressSink* progress,
                                           const CancelToken* cancel) {
  if (paths.size() == 1 && internal::is_logical_container_file(paths.front())) {
    return verify_logical_container(paths, options, progress, cancel);
  }
  auto container = Container::open(paths);
  if (!container && container.error().code == Errc::corrupt) {
    return verify_unreadable_container(paths, std::move(container).error());
  }
  CUSTODY_TRY(container);
  const ContainerInfo& info = (*container)->info();
  VerificationReport report = container_report(paths.front(), info);
  CUSTODY_TRY(check_image_hashes(**container, report, progress, cancel));
  CUSTODY_TRY(check_stored_bytes(**container, report, progress, cancel));
  CUSTODY_TRY(add_custody_checks(paths, options, report, progress, cancel));
  if (info.trailing_bytes > 0) {
    report.checks.push_back(make_check(
        CheckKind::container, paths.front(), Verdict::warn,
        fmt::format("{} bytes follow the end of the container (an interrupted append, or added "
                    "later); they are not part of what was verified",
                    info.trailing_bytes)));
  }
  add_defect_checks(info, report);
  add_not_checked(report);
  report.verified = std::none_of(report.checks.begin(), report.checks.end(),
                                 [](const Check& c) { return c.verdict == Verdict::fail; });
  return report;
}

// --record, before hours of hashing: the container may be written to, the verifier can sign.
Result<void> check_recording(const std::string& container, const EventContext& context) {
  if (std::string why = why_evidence_is_read_only(container); !why.empty()) {
    return tl::unexpected(Error{Errc::invalid_argument,
                                "cannot record the verification in the container: " + why,
                                container,
                                {},
                                0,
                                "verify without --record, and record the result in a standalone "
                                "log with custody-log add --action verified"});
  }
  return check_event_context(context);
}

// The "verified" event: the outcome and how many checks failed or warned.
Result<void> record_verification(const std::string& container,
                                 const EventContext& context,
                                 VerificationReport& report) {
  EventDraft draft = context.draft;
  draft.action = "verified";
  draft.tool_name = "custody-verify";
  std::size_t failed = 0;
  std::size_t warned = 0;
  std::size_t made = 0;
  for (const Check& check : report.checks) {
    failed += check.verdict == Verdict::fail ? 1 : 0;
    warned += check.verdict == Verdict::warn ? 1 : 0;
    made += check.verdict != Verdict::not_checked ? 1 : 0;
  }
  draft.details = {{"result", report.verified ? "verified" : "failed"},
                   {"checks", std::to_string(made)},
                   {"failed", std::to_string(failed)},
                   {"warnings", std::to_string(warned)}};
  auto added = append_custody_event(container, draft, context.signer);
  CUSTODY_TRY(added);
  report.custody_event = added->sequence;
  return {};
}

}  // namespace

Result<VerificationReport> verify_container(const std::vector<std::string>& paths,
                                            const VerifyOptions& options,
                                            ProgressSink* progress,
                                            const CancelToken* cancel) {
  if (options.record && !paths.empty()) {
    CUSTODY_TRY(check_recording(paths.front(), *options.record));
  }
  auto report = check_container(paths, options, progress, cancel);
  CUSTODY_TRY(report);
  if (options.record && !paths.empty()) {
    CUSTODY_TRY(record_verification(paths.front(), *options.record, *report));
  }
  return report;
}

std::string report_to_json(const VerificationReport& report) {
  using nlohmann::json;
  json checks = json::array();
  json not_checked = json::array();
  for (const Check& check : report.checks) {
    if (check.verdict == Verdict::not_checked) {
      not_checked.push_back(json{{"check", check_kind_name(check.kind)},
                                 {"subject", check.subject},
                                 {"detail", check.detail}});
      continue;
    }
    json item{{"check", check_kind_name(check.kind)},
              {"subject", check.subject},
              {"result", verdict_name(check.verdict)}};
    if (!check.algorithm.empty()) {
      item["algorithm"] = check.algorithm;
      item["expected"] = check.expected;
      item["actual"] = check.actual;
    }
    if (!check.detail.empty()) {
      item["detail"] = check.detail;
    }
    if (!check.etsi_indication.empty()) {
      item["etsi"] = json{{"indication", check.etsi_indication},
                          {"sub_indication", check.etsi_sub_indication}};
    }
    checks.push_back(std::move(item));
  }
  json seals = json::array();
  for (const SealReport& seal : report.seals) {
    const CertificateFacts& signer = seal.signature.signer;
    json item{{"number", seal.number},
              {"signature_valid", seal.signature.signature_valid},
              {"signer_trusted", seal.signature.chain_trusted},
              {"sealed_at", seal.sealed_at},
              {"signer", json{{"subject", signer.subject},
                              {"issuer", signer.issuer},
                              {"serial", signer.serial},
                              {"not_before", signer.not_before},
                              {"not_after", signer.not_after},
                              {"sha256_fingerprint", signer.sha256_fingerprint}}},
              {"timestamped", seal.has_timestamp}};
    if (seal.has_timestamp) {
      item["timestamp"] = json{{"time", seal.timestamp.time},
                               {"tsa", seal.timestamp.tsa_subject},
                               {"tsa_trusted", seal.timestamp.signature_valid}};
    }
    const EtsiValidation& etsi = seal.etsi;
    item["etsi"] =
        json{{"indication", etsi.indication},
             {"sub_indication", etsi.sub_indication},
             {"cades_level", etsi.level},
             {"proof_of_existence", etsi.proof_time.empty()
                                        ? json(nullptr)
                                        : json{{"time", etsi.proof_time}, {"by", etsi.proof}}},
             {"revocation", etsi.revocation},
             {"revoked_at", etsi.revoked_at.empty() ? json(nullptr) : json(etsi.revoked_at)},
             {"detail", etsi.detail}};
    seals.push_back(std::move(item));
  }
  json archives = json::array();
  for (const ArchiveReport& archive : report.archives) {
    archives.push_back(json{{"number", archive.number},
                            {"covered_length", archive.covered_length},
                            {"covered_bytes_match", archive.prefix_matches},
                            {"time", archive.timestamp.time},
                            {"tsa", archive.timestamp.tsa_subject},
                            {"tsa_trusted", archive.timestamp.signature_valid},
                            {"proves", archive_proves(archive)}});
  }
  json out{{"format", "custody-verification"},
           {"version", 1},
           {"kind", report.kind},
           {"record", report.record_path},
           {"verdict", report.verified ? "verified" : "failed"},
           {"summary", verification_summary(report)},
           {"seals", seals},
           {"archives", archives},
           {"custody_events",
            report.custody_log ? json(report.custody_log->log.events.size()) : json(nullptr)},
           {"status", status_name(report.record.status)},
           {"image_size", report.record.image_size},
           {"segments", report.record.segments.size()},
           {"checks", checks},
           {"not_checked", not_checked}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody

namespace custody {

namespace {

// The last seal whose signature is valid: the one the verdict names. Null if none.
const SealReport* last_valid_seal(const VerificationReport& report) {
  const SealReport* last = nullptr;
  for (const SealReport& seal : report.seals) {
    if (seal.signature.signature_valid) {
      last = &seal;
    }
  }
  return last;
}

std::string seal_phrase(const VerificationReport& report) {
  const SealReport* last = last_valid_seal(report);
  if (last == nullptr) {
    if (report.kind == "e01") {
      return "the image matches the hashes stored in the E01 by the tool that made it";
    }
    return report.kind == "aff4" ? "the image matches the hashes recorded at acquisition; nobody "
                                   "has sealed the container"
                                 : "the image matches the hashes recorded at acquisition";
  }
  return fmt::format(
      "the image is unchanged since it was sealed by {} at {}{}",
      common_name(last->signature.signer.subject), last->sealed_at,
      last->signature.chain_trusted ? " (signer trusted)" : " (signer not checked against a CA)");
}

// The time phrase names its seal when that is not the seal the verdict names (a later seal
// without a timestamp): "time confirmed ... for seal 1" must not read as the later seal's time.
std::string time_phrase(const VerificationReport& report) {
  const SealReport* named = last_valid_seal(report);
  const auto which = [named](const SealReport& seal) {
    return named == nullptr || named == &seal ? std::string()
                                              : fmt::format(" for seal {}", seal.number);
  };
  for (const SealReport& seal : report.seals) {
    if (seal.has_timestamp && seal.timestamp.imprint_matches && seal.timestamp.signature_valid) {
      return fmt::format("time confirmed by {} at {}{}", common_name(seal.timestamp.tsa_subject),
                         seal.timestamp.time, which(seal));
    }
  }
  for (const SealReport& seal : report.seals) {
    if (seal.has_timestamp && seal.timestamp.imprint_matches) {
      return fmt::format("timestamped {} by {}, a TSA not checked against a CA{}",
                         seal.timestamp.time, common_name(seal.timestamp.tsa_subject), which(seal));
    }
  }
  return report.seals.empty() ? std::string() : "no trusted time (the seal is not timestamped)";
}

std::string events_phrase(const VerificationReport& report) {
  if (!report.custody_log) {
    return {};
  }
  const auto& events = report.custody_log->log.events;
  const auto unsigned_events = static_cast<std::size_t>(std::count_if(
      events.begin(), events.end(), [](const LoggedEvent& e) { return !e.signature; }));
  if (events.empty()) {
    return "no custody events";
  }
  return fmt::format("{} custody event{}{}", events.size(), events.size() == 1 ? "" : "s",
                     unsigned_events == 0 ? "" : fmt::format(" ({} unsigned)", unsigned_events));
}

std::string defects_phrase(const VerificationReport& report) {
  std::uint64_t bytes = 0;
  for (const Defect& defect : report.record.defects) {
    bytes += defect.length;
  }
  if (report.record.defects.empty()) {
    return report.has_record ? "no unreadable sectors recorded" : std::string();
  }
  return fmt::format("{} unreadable range{} ({} bytes) recorded at acquisition",
                     report.record.defects.size(), report.record.defects.size() == 1 ? "" : "s",
                     bytes);
}

}  // namespace

std::string etsi_words(const Check& check) {
  return etsi_words(check.etsi_indication, check.etsi_sub_indication);
}

bool is_custody_check(const Check& check) {
  return check.kind == CheckKind::seal || check.kind == CheckKind::timestamp ||
         check.kind == CheckKind::custody_log;
}

std::string describe_check(const Check& check) {
  if (check.verdict == Verdict::not_checked) {
    return check.subject + ": " + check.detail;  // "seals and custody log: a raw image has neither"
  }
  // These details are whole clauses that name their subject already.
  const bool whole_clause = (check.kind == CheckKind::seal && check.verdict != Verdict::pass) ||
                            check.kind == CheckKind::acquisition ||
                            check.kind == CheckKind::defects;
  if (whole_clause && !check.detail.empty()) {
    return check.detail + etsi_words(check);
  }
  const std::string name = check_kind_name(check.kind);
  std::string what;
  if (check.kind == CheckKind::image && check.subject == "image") {
    what = "the whole image";
  } else if (check.kind == CheckKind::custody_log) {
    what = check.subject == "custody log" ? "the custody log" : "custody log " + check.subject;
  } else if (check.subject.empty() || check.subject == name) {
    what = name;
  } else if (check.subject.starts_with(name) || check.kind == CheckKind::members ||
             check.kind == CheckKind::files) {
    what = check.subject;  // "timestamp of seal 1", "15 members"
  } else {
    what = name + " " + check.subject;  // "segment disk.002", "file data/report.pdf"
  }
  return (check.detail.empty() ? what : what + ": " + check.detail) + etsi_words(check);
}

std::string verification_summary(const VerificationReport& report) {
  if (!report.verified) {
    std::vector<const Check*> failures;
    for (const Check& check : report.checks) {
      if (check.verdict == Verdict::fail) {
        failures.push_back(&check);
      }
    }
    if (failures.empty()) {
      return fmt::format("NOT INTACT: the acquisition did not complete ({})",
                         status_name(report.record.status));
    }
    // The image and its record first: when only who-signed-what failed, say that the image
    // itself is unchanged, so that nobody reads "NOT INTACT" as "the evidence was altered".
    const bool image_unchanged = std::all_of(failures.begin(), failures.end(),
                                             [](const Check* c) { return is_custody_check(*c); });
    std::string text =
        fmt::format("NOT INTACT: {}{}", image_unchanged ? "the image is unchanged, but " : "",
                    describe_check(*failures.front()));
    if (failures.size() > 1) {
      text += fmt::format("; and {} more problem{}", failures.size() - 1,
                          failures.size() == 2 ? "" : "s");
    }
    return text;
  }
  std::string text = "INTACT: " + seal_phrase(report);
  for (const std::string& phrase :
       {time_phrase(report), events_phrase(report), defects_phrase(report)}) {
    if (!phrase.empty()) {
      text += "; " + phrase;
    }
  }
  return text;
}

}  // namespace custody

namespace custody {

Result<VerificationReport> verify_e01(const std::string& path,
                                      ProgressSink* progress,
                                      const CancelToken* cancel) {
  auto source = open_image_file(path);
  CUSTODY_TRY(source);
  const ImportRecord before = (*source)->import_record();
  std::vector<HashAlgorithm> algorithms{HashAlgorithm::md5, HashAlgorithm::sha1,
                                        HashAlgorithm::sha256};
  auto digests = hash_source(**source, algorithms, progress, cancel);
  CUSTODY_TRY(digests);
  const ImportRecord after = (*source)->import_record();
  VerificationReport report;
  report.record_path = path;
  report.kind = "e01";
  report.has_record = false;
  report.record.hashes = *digests;
  report.record.image_format = "e01";
  report.record.image_size = (*source)->info().size.value_or(0);
  for (const ByteRange& range : after.acquiry_errors) {
    report.record.defects.push_back(
        Defect{range.offset, range.length, 512, 0, "listed as unreadable by the E01's maker"});
  }
  if (after.claimed_hashes.empty()) {
    report.checks.push_back(make_check(CheckKind::image, "image", Verdict::warn,
                                       "the E01 stores no hash to compare with"));
  }
  for (const auto& [algorithm, claimed] : after.claimed_hashes) {
    Check check = make_check(CheckKind::image, "image", Verdict::pass, "");
    check.algorithm = std::string(hash_name(algorithm));
    check.expected = claimed;
    auto now = digests->find(algorithm);
    check.actual = now == digests->end() ? std::string() : now->second;
    if (check.actual != claimed) {
      check.verdict = Verdict::fail;
      check.detail = fmt::format("the E01 stores {} {}, the image read now gives {}",
                                 check.algorithm, claimed, check.actual);
    }
    report.checks.push_back(std::move(check));
  }
  for (const ByteRange& bad : after.checksum_errors) {
    report.checks.push_back(make_check(
        CheckKind::chunk, fmt::format("bytes {}..{}", bad.offset, bad.offset + bad.length),
        Verdict::fail, "the chunk's checksum fails: the E01 was damaged or altered there"));
  }
  if (!after.acquiry_errors.empty()) {
    report.checks.push_back(
        make_check(CheckKind::defects, "image", Verdict::warn,
                   fmt::format("{} range(s) were listed as unreadable by the E01's maker",
                               after.acquiry_errors.size())));
  }
  (void)before;
  add_not_checked(report);
  report.verified = std::none_of(report.checks.begin(), report.checks.end(),
                                 [](const Check& c) { return c.verdict == Verdict::fail; });
  return report;
}

}  // namespace custody
