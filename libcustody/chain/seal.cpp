// SPDX-License-Identifier: Apache-2.0
// Seals (custody-seal): a signed manifest of the container's bytes up to the seal, appended as
// members, with its RFC 3161 timestamp; and the check of every seal of a container.
#include "chain/archive_timestamp.hpp"
#include "chain/custody_log_writer.hpp"
#include "chain/file_digests.hpp"
#include "core/canonical_json.hpp"
#include "core/pipeline.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "zip/zip.hpp"

#include <custody/hash.hpp>
#include <custody/record.hpp>
#include <custody/seal.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace custody {

namespace {

using internal::digest_file;
using internal::FileDigests;
using nlohmann::json;

// Another appender (a custody event being recorded) holds the lock for moments: wait for it.
constexpr unsigned k_lock_wait_seconds = 120;

constexpr std::size_t k_small_limit = std::size_t{16} << 20U;

std::string seal_name(unsigned number, const char* suffix) {
  return fmt::format("custody/seal-{}.{}", number, suffix);
}

unsigned next_seal_number(const internal::ZipReader& zip) {
  unsigned number = 1;
  while (zip.find(seal_name(number, "json")) != nullptr) {
    ++number;
  }
  return number;
}

json image_facts(const internal::ZipReader& zip) {
  json image = json::object();
  if (const internal::ZipMember* member = zip.find("custody/acquisition.json")) {
    if (auto text = zip.read_member(*member, k_small_limit)) {
      if (auto loaded = parse_record(*text)) {
        json hashes = json::object();
        for (const auto& [algorithm, hex] : loaded->record.hashes) {
          hashes[std::string(hash_name(algorithm))] = hex;
        }
        image = json{{"size", loaded->record.image_size},
                     {"hashes", hashes},
                     {"acquisition_finished", loaded->record.finished}};
      }
    }
  }
  return image;
}

// The seal manifest: what the file was up to `sealed_length` (its SHA-256 and each member's),
// what it holds, when and by whom it was sealed.
json seal_manifest(const internal::ZipReader& zip,
                   const std::string& path,
                   const FileDigests& digests,
                   std::uint64_t sealed_length,
                   unsigned number,
                   const CertificateFacts& signer) {
  json members = json::array();
  for (const internal::ZipMember& member : zip.members()) {
    members.push_back(json{{"name", member.name},
                           {"size", member.compressed_size},
                           {"sha256", digests.members.at(member.name)}});
  }
  return json{
      {"format", k_seal_manifest_format},
      {"version", 1},
      {"seal_number", number},
      {"container", std::filesystem::path(path).filename().string()},
      {"sealed_length", sealed_length},
      {"sealed_sha256", digests.prefixes.at(sealed_length)},
      {"members", members},
      {"image", image_facts(zip)},
      {"sealed_at", utc_now()},
      {"signer",
       json{{"subject", signer.subject}, {"sha256_fingerprint", signer.sha256_fingerprint}}},
  };
}

// The timestamp request of seal `result.number` (to --tsq-out), and the TSA's token as its .tsr
// member, or the request as its .tsq member when no token came.
Result<void> add_timestamp_members(internal::ZipWriter& writer,
                                   const SealOptions& options,
                                   const std::string& signature,
                                   SealResult& result) {
  auto request = make_timestamp_request(signature);
  CUSTODY_TRY(request);
  if (!options.tsq_out.empty()) {
    auto written = internal::write_file_atomically(options.tsq_out, request->der, false);
    if (!written && written.error().code == Errc::already_exists) {
      // custody-seal has no --force: an old request is the user's to move away.
      Error error = written.error();
      error.hint = "choose another file for --tsq-out, or move the old request away";
      return tl::unexpected(std::move(error));
    }
    CUSTODY_TRY(written);
  }
  // A TSA that is down or slow must not cost the seal: it is written, "not timestamped". One
  // that failed for the signature time-stamp is not asked again.
  if (!options.tsa_url.empty() && result.timestamp_problem.empty()) {
    FreshTimestamp fresh =
        obtain_timestamp(options.tsa_url, *request, signature, options.tsa_timeout);
    if (!fresh.token.empty()) {
      if (result.timestamp_time.empty()) {
        result.timestamp_time = fresh.time;
      }
      result.timestamped = true;
      CUSTODY_TRY(
          writer.add_member(seal_name(result.number, "tsr"),
                            std::as_bytes(std::span(fresh.token.data(), fresh.token.size()))));
    } else {
      result.timestamp_problem = fresh.problem;
    }
  }
  // The request is kept whenever a reply may come later, so --add-timestamp can check it.
  if (!result.timestamped) {
    CUSTODY_TRY(
        writer.add_member(seal_name(result.number, "tsq"),
                          std::as_bytes(std::span(request->der.data(), request->der.size()))));
  }
  return {};
}

}  // namespace

Result<SealResult> seal_container(const std::string& path,
                                  const Identity& identity,
                                  const SealOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel) {
  CUSTODY_TRY(identity.check_can_sign());
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  if (zip->end_offset() != zip->file_size()) {
    return make_error(Errc::corrupt,
                      fmt::format("{} has {} bytes after its end; seal only a complete container "
                                  "(if an append was interrupted, check it with custody-verify; "
                                  "the next custody-log add closes it again)",
                                  path, zip->file_size() - zip->end_offset()));
  }
  const std::uint64_t sealed_length = zip->end_offset();
  auto digests = digest_file(*zip, {sealed_length}, progress, cancel);
  CUSTODY_TRY(digests);
  const unsigned number = next_seal_number(*zip);

  // RFC 8785 form for our data: sorted keys, no whitespace, integers only, UTF-8.
  const std::string bytes = internal::canonical_json(
      seal_manifest(*zip, path, *digests, sealed_length, number, identity.certificate()));
  auto signed_bytes = identity.sign_detached(bytes);
  CUSTODY_TRY(signed_bytes);
  CadesOptions cades;
  cades.tsa_url = options.tsa_url;
  cades.tsa_timeout = options.tsa_timeout;
  cades.revocation_files = options.revocation_files;
  cades.fetch_revocation = options.fetch_revocation;
  auto extended = extend_signature(std::move(*signed_bytes), cades);
  CUSTODY_TRY(extended);
  const std::string* signature = &extended->der;

  std::string volume = zip->comment();
  while (!volume.empty() && volume.back() == '\0') {
    volume.pop_back();
  }
  auto writer = internal::ZipWriter::open_for_append(path, {}, k_lock_wait_seconds);
  CUSTODY_TRY(writer);
  SealResult result;
  result.number = number;
  result.manifest_member = seal_name(number, "json");
  result.signature_member = seal_name(number, "p7s");
  result.sealed_length = sealed_length;
  result.sealed_sha256 = digests->prefixes.at(sealed_length);
  result.level = extended->level;
  result.revocation = extended->revocation;
  result.shortfalls = extended->shortfalls;
  if (!options.tsa_url.empty() && extended->level == "B-B") {
    result.timestamp_problem = extended->timestamp_problem;
  } else {
    result.timestamp_time = extended->timestamp_time;
  }
  CUSTODY_TRY(writer->add_member(result.manifest_member,
                                 std::as_bytes(std::span(bytes.data(), bytes.size()))));
  CUSTODY_TRY(writer->add_member(result.signature_member,
                                 std::as_bytes(std::span(signature->data(), signature->size()))));
  if (!options.tsa_url.empty() || !options.tsq_out.empty()) {
    CUSTODY_TRY(add_timestamp_members(*writer, options, *signature, result));
  }
  if (options.record_event) {
    // The "sealed" event lands in the same append as the seal: both or neither.
    EventDraft draft;
    draft.action = "sealed";
    draft.tool_name = options.tool_name;
    draft.details = {{"seal", std::to_string(number)},
                     {"sealed_length", std::to_string(sealed_length)},
                     {"sealed_sha256", result.sealed_sha256}};
    // Its signatures reach the seal's level with the seal's revocation data, nothing fetched again.
    AppendOptions event_options;
    event_options.cades = options_after(cades, *extended);
    auto event = internal::add_custody_event(*writer, path, draft, &identity, event_options);
    CUSTODY_TRY(event);
    result.event_sequence = event->sequence;
  }
  CUSTODY_TRY(writer->finish(volume));
  return result;
}

std::string seal_result_to_json(const SealResult& result,
                                const std::string& container,
                                const CertificateFacts& signer) {
  json out{{"format", "custody-seal-result"},
           {"version", 1},
           {"container", container},
           {"seal", result.number},
           {"manifest", result.manifest_member},
           {"signature", result.signature_member},
           {"sealed_length", result.sealed_length},
           {"sealed_sha256", result.sealed_sha256},
           {"signer_subject", signer.subject},
           {"signer_sha256_fingerprint", signer.sha256_fingerprint},
           {"timestamped", result.timestamped},
           {"timestamp_time", result.timestamp_time},
           {"custody_event", result.event_sequence}};
  if (!result.timestamp_problem.empty()) {
    out["timestamp_problem"] = result.timestamp_problem;
  }
  out["cades_level"] = result.level;
  out["revocation"] = result.revocation;
  out["shortfalls"] = result.shortfalls;
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> add_seal_timestamp(const std::string& path,
                                       unsigned number,
                                       const std::string& tsr_path) {
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  const internal::ZipMember* tsq = zip->find(seal_name(number, "tsq"));
  const internal::ZipMember* p7s = zip->find(seal_name(number, "p7s"));
  if (tsq == nullptr || p7s == nullptr) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} has no seal {} with a kept timestamp request (seal it with "
                                  "--tsq-out first)",
                                  path, number));
  }
  if (zip->find(seal_name(number, "tsr")) != nullptr) {
    return make_error(Errc::invalid_argument,
                      fmt::format("seal {} of {} is already timestamped", number, path));
  }
  auto request_der = zip->read_member(*tsq, k_small_limit);
  CUSTODY_TRY(request_der);
  auto signature = zip->read_member(*p7s, k_small_limit);
  CUSTODY_TRY(signature);
  auto reply = internal::read_small_file(tsr_path, k_small_limit);
  CUSTODY_TRY(reply);
  auto token = token_from_reply(*reply, TimestampRequest{*request_der, {}});
  CUSTODY_TRY(token);
  auto check = verify_timestamp(*token, *signature, {});
  CUSTODY_TRY(check);
  if (!check->imprint_matches) {
    return make_error(Errc::crypto, "the timestamp is not over this seal's signature");
  }
  std::string volume = zip->comment();
  while (!volume.empty() && volume.back() == '\0') {
    volume.pop_back();
  }
  auto writer = internal::ZipWriter::open_for_append(path, {}, k_lock_wait_seconds);
  CUSTODY_TRY(writer);
  CUSTODY_TRY(writer->add_member(seal_name(number, "tsr"),
                                 std::as_bytes(std::span(token->data(), token->size()))));
  CUSTODY_TRY(writer->finish(volume));
  return check->time;
}

namespace {
Result<SealChecks> check_seals_of(const std::vector<std::string>& paths,
                                  const std::vector<std::string>& trust_files,
                                  const std::vector<std::string>& tsa_trust_files,
                                  ProgressSink* progress,
                                  const CancelToken* cancel,
                                  const RevocationPolicy& revocation);
}  // namespace

Result<SealChecks> check_seals_and_archives(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files,
                                            ProgressSink* progress,
                                            const CancelToken* cancel,
                                            const RevocationPolicy& revocation) {
  return internal::json_errors_are_corrupt("a seal or archive manifest is not valid", [&] {
    return check_seals_of(paths, trust_files, tsa_trust_files, progress, cancel, revocation);
  });
}

Result<std::vector<SealReport>> check_seals(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files,
                                            ProgressSink* progress,
                                            const CancelToken* cancel,
                                            const RevocationPolicy& revocation) {
  auto checks =
      check_seals_and_archives(paths, trust_files, tsa_trust_files, progress, cancel, revocation);
  CUSTODY_TRY(checks);
  return std::move(checks->seals);
}

namespace {

// A trusted time at which something is proven to exist, and what proves it.
struct Proof {
  std::string time;
  std::string by;
};

// The earliest proof that seal `report.number`'s signature existed, besides the time-stamp inside
// it: its .tsr token (over the whole signature file), and the archive time-stamps that cover it.
Proof outside_proof(const SealReport& report, const std::vector<ArchiveReport>& archives) {
  Proof proof;
  const TimestampCheck& stamp = report.timestamp;
  if (report.has_timestamp && report.timestamp_problem.empty() && stamp.imprint_matches &&
      stamp.signature_valid) {
    proof = {stamp.time, fmt::format("time-stamp token {} by {}", seal_name(report.number, "tsr"),
                                     stamp.tsa_subject)};
  }
  const std::string signature = seal_name(report.number, "p7s");
  for (const ArchiveReport& archive : archives) {
    const auto& covered = archive.covered_members;
    if (archive_proves(archive) &&
        std::find(covered.begin(), covered.end(), signature) != covered.end() &&
        (proof.time.empty() || archive.timestamp.time < proof.time)) {
      proof = {archive.timestamp.time,
               fmt::format("archive time-stamp {} by {}",
                           internal::archive_member_name(archive.number, "tsr"),
                           archive.timestamp.tsa_subject)};
    }
  }
  return proof;
}

// The seal's signature per EN 319 102-1, with every proof of existence there is.
EtsiValidation judge_seal_signature(const internal::ZipReader& zip,
                                    const SealReport& report,
                                    const std::vector<ArchiveReport>& archives,
                                    const std::vector<std::string>& tsa_trust_files,
                                    const RevocationPolicy& revocation) {
  const internal::ZipMember* member = zip.find(seal_name(report.number, "p7s"));
  auto signature_der =
      member != nullptr
          ? zip.read_member(*member, k_small_limit)
          : Result<std::string>(make_error(Errc::not_found, "the signature member is missing"));
  const Proof proof = outside_proof(report, archives);
  auto validation = signature_der
                        ? validate_signature(*signature_der, report.signature, tsa_trust_files,
                                             proof.time, proof.by, revocation)
                        : Result<EtsiValidation>(tl::unexpected(signature_der.error()));
  if (!validation) {
    EtsiValidation unreadable;
    unreadable.indication = "INDETERMINATE";
    unreadable.sub_indication = "FORMAT_FAILURE";
    unreadable.detail = validation.error().message;
    return unreadable;
  }
  return *validation;
}

// Seal `number` as its members state it: the manifest (returned through `manifest`, null when it
// is unreadable), its signature checked against `trust_files` and its timestamp, if any, against
// `tsa_trust_files`. What the file is now is compared later (compare_seal_with_file).
Result<SealReport> read_seal(const internal::ZipReader& zip,
                             unsigned number,
                             const std::vector<std::string>& trust_files,
                             const std::vector<std::string>& tsa_trust_files,
                             json& manifest) {
  SealReport report;
  report.number = number;
  auto bytes = zip.read_member(*zip.find(seal_name(number, "json")), k_small_limit);
  CUSTODY_TRY(bytes);
  manifest = internal::parse_untrusted_json(*bytes);
  report.manifest_readable = !manifest.is_discarded() && manifest.is_object() &&
                             manifest.value("format", "") == k_seal_manifest_format &&
                             manifest.contains("sealed_length") &&
                             manifest["sealed_length"].is_number_unsigned() &&
                             manifest.contains("members") && manifest["members"].is_array();
  if (!report.manifest_readable) {
    report.detail = "the seal manifest is damaged or not a custody seal";
  }
  const internal::ZipMember* signature = zip.find(seal_name(number, "p7s"));
  if (signature == nullptr) {
    report.detail = "the signature member is missing";
  } else if (auto der = zip.read_member(*signature, k_small_limit)) {
    auto check = verify_detached(*der, *bytes, trust_files);
    if (check) {
      report.signature = *check;
    } else {
      report.detail = "the signature cannot be read: " + check.error().message;
    }
    if (const internal::ZipMember* tsr = zip.find(seal_name(number, "tsr"))) {
      report.has_timestamp = true;
      auto token = zip.read_member(*tsr, k_small_limit);
      Result<TimestampCheck> stamp =
          token ? verify_timestamp(*token, *der, tsa_trust_files) : tl::unexpected(token.error());
      if (stamp) {
        report.timestamp = *stamp;
      } else {
        report.timestamp_problem = stamp.error().message;
      }
    }
  }
  if (report.manifest_readable) {
    report.sealed_length = manifest["sealed_length"].get<std::uint64_t>();
    report.sealed_at = report.signature.signing_time.empty() ? manifest.value("sealed_at", "")
                                                             : report.signature.signing_time;
    const std::string finished =
        manifest.value(json::json_pointer("/image/acquisition_finished"), std::string());
    report.after_acquisition = finished.empty() || report.sealed_at >= finished;
  } else {
    manifest = json();
  }
  return report;
}

// Whether the file's first sealed_length bytes are what the seal signed, which sealed members
// changed and which members were added since, other than later seals, timestamps of any seal and
// the custody log (which grows after seals by design; its members protect themselves).
void compare_seal_with_file(SealReport& report,
                            const json& manifest,
                            const FileDigests& digests,
                            std::size_t seal_count) {
  auto prefix = digests.prefixes.find(report.sealed_length);
  report.file_prefix_matches =
      prefix != digests.prefixes.end() && prefix->second == manifest.value("sealed_sha256", "");
  std::set<std::string> sealed;
  for (const json& member : manifest["members"]) {
    const std::string name = member.value("name", "");
    sealed.insert(name);
    auto now = digests.members.find(name);
    if (now == digests.members.end() || now->second != member.value("sha256", "")) {
      report.changed_members.push_back(name);
    }
  }
  for (const auto& [name, digest] : digests.members) {
    bool later_seal = false;
    for (unsigned later = report.number; later <= seal_count; ++later) {
      later_seal = later_seal || name == seal_name(later, "json") ||
                   name == seal_name(later, "p7s") || name == seal_name(later, "tsq");
    }
    // A timestamp of any seal may come later (offline TSA): it changes nothing that was signed.
    for (unsigned any = 1; any <= seal_count; ++any) {
      later_seal = later_seal || name == seal_name(any, "tsr");
    }
    if (sealed.count(name) == 0 && !later_seal && !internal::is_custody_log_member(name) &&
        !internal::is_archive_member(name)) {
      report.added_members.push_back(name);
    }
  }
}

Result<SealChecks> check_seals_of(const std::vector<std::string>& paths,
                                  const std::vector<std::string>& trust_files,
                                  const std::vector<std::string>& tsa_trust_files,
                                  ProgressSink* progress,
                                  const CancelToken* cancel,
                                  const RevocationPolicy& revocation) {
  auto zip = internal::ZipReader::open(paths.front());
  CUSTODY_TRY(zip);
  SealChecks checks;
  std::vector<json> manifests;
  for (unsigned number = 1; zip->find(seal_name(number, "json")) != nullptr; ++number) {
    json manifest;
    auto report = read_seal(*zip, number, trust_files, tsa_trust_files, manifest);
    CUSTODY_TRY(report);
    manifests.push_back(std::move(manifest));
    checks.seals.push_back(std::move(*report));
  }
  auto archives = internal::read_archives(*zip, tsa_trust_files);
  CUSTODY_TRY(archives);
  if (checks.seals.empty() && archives->empty()) {
    return checks;
  }
  // One read of the file for every seal and every archive time-stamp.
  std::vector<std::uint64_t> lengths;
  for (const SealReport& report : checks.seals) {
    lengths.push_back(report.sealed_length);
  }
  for (const internal::ArchiveRead& archive : *archives) {
    lengths.push_back(archive.report.covered_length);
  }
  auto digests = digest_file(*zip, lengths, progress, cancel);
  CUSTODY_TRY(digests);
  internal::compare_archives_with_file(*archives, *digests);
  for (internal::ArchiveRead& archive : *archives) {
    checks.archives.push_back(std::move(archive.report));
  }
  for (std::size_t i = 0; i < checks.seals.size(); ++i) {
    SealReport& report = checks.seals[i];
    if (report.manifest_readable) {
      compare_seal_with_file(report, manifests[i], *digests, checks.seals.size());
    }
    if (report.detail.empty()) {
      report.etsi =
          judge_seal_signature(*zip, report, checks.archives, tsa_trust_files, revocation);
    }
  }
  return checks;
}
}  // namespace

}  // namespace custody
