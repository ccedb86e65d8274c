// SPDX-License-Identifier: Apache-2.0
// Archive time-stamps: renewing a container's long-term protection, and reading the renewals
// (seal.hpp, archive_timestamp.hpp).
#include "chain/archive_timestamp.hpp"

#include "chain/custody_log_writer.hpp"
#include "core/canonical_json.hpp"
#include "core/untrusted_json.hpp"

#include <custody/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <span>
#include <utility>

namespace custody {

namespace internal {

namespace {

using nlohmann::json;

// Another appender holds the lock for moments: wait for it, as a seal does.
constexpr unsigned k_archive_lock_wait_seconds = 120;
constexpr std::size_t k_archive_member_limit = std::size_t{16} << 20U;

unsigned next_archive_number(const ZipReader& zip) {
  unsigned number = 1;
  while (zip.find(archive_member_name(number, "json")) != nullptr) {
    ++number;
  }
  return number;
}

unsigned count_seals(const ZipReader& zip) {
  unsigned count = 0;
  while (zip.find(fmt::format("custody/seal-{}.json", count + 1)) != nullptr) {
    ++count;
  }
  return count;
}

json archive_manifest(const ZipReader& zip,
                      const std::string& path,
                      const FileDigests& digests,
                      std::uint64_t covered_length,
                      unsigned number,
                      const RenewOptions& options) {
  json members = json::array();
  for (const ZipMember& member : zip.members()) {
    members.push_back(json{{"name", member.name}, {"sha256", digests.members.at(member.name)}});
  }
  json manifest{{"format", k_archive_manifest_format},
                {"version", 1},
                {"archive_number", number},
                {"container", std::filesystem::path(path).filename().string()},
                {"covered_length", covered_length},
                {"covered_sha256", digests.prefixes.at(covered_length)},
                {"members", members},
                {"seals", count_seals(zip)},
                {"renewed_at", utc_now()}};
  if (!options.package_id.empty()) {
    json files = json::array();
    for (const auto& [name, sha256] : options.package_files) {
      files.push_back(json{{"name", name}, {"sha256", sha256}});
    }
    manifest["package"] = json{{"package_id", options.package_id}, {"files", files}};
  }
  return manifest;
}

// The "package" part of a manifest, when it has one of the right shape.
void read_package_part(const json& manifest, ArchiveReport& report) {
  const auto package = manifest.find("package");
  if (package == manifest.end() || !package->is_object() || !package->contains("files") ||
      !(*package)["files"].is_array()) {
    return;
  }
  report.package_id = text_at(*package, "/package_id");
  for (const json& file : (*package)["files"]) {
    if (file.is_object()) {
      report.package_files.emplace_back(text_at(file, "/name"), text_at(file, "/sha256"));
    }
  }
}

}  // namespace

std::string archive_member_name(unsigned number, const char* suffix) {
  return fmt::format("custody/archive-{}.{}", number, suffix);
}

bool is_archive_member(const std::string& name) {
  return name.starts_with("custody/archive-");
}

Result<std::vector<ArchiveRead>> read_archives(const ZipReader& zip,
                                               const std::vector<std::string>& tsa_trust) {
  std::vector<ArchiveRead> archives;
  for (unsigned number = 1; const ZipMember* member = zip.find(archive_member_name(number, "json"));
       ++number) {
    ArchiveRead read;
    read.report.number = number;
    auto bytes = zip.read_member(*member, k_archive_member_limit);
    CUSTODY_TRY(bytes);
    const json manifest = parse_untrusted_json(*bytes);
    read.report.manifest_readable =
        manifest.is_object() && text_at(manifest, "/format") == k_archive_manifest_format &&
        manifest.contains("covered_length") && manifest["covered_length"].is_number_unsigned() &&
        manifest.contains("members") && manifest["members"].is_array();
    if (!read.report.manifest_readable) {
      read.report.problem = "the archive manifest is damaged or not a custody archive manifest";
    } else {
      read.report.covered_length = manifest["covered_length"].get<std::uint64_t>();
      read.covered_sha256 = text_at(manifest, "/covered_sha256");
      for (const json& listed : manifest["members"]) {
        if (listed.is_object()) {
          read.report.covered_members.push_back(text_at(listed, "/name"));
        }
      }
      read_package_part(manifest, read.report);
    }
    if (const ZipMember* token = zip.find(archive_member_name(number, "tsr"))) {
      read.report.has_token = true;
      auto der = zip.read_member(*token, k_archive_member_limit);
      Result<TimestampCheck> stamp =
          der ? verify_timestamp(*der, *bytes, tsa_trust) : tl::unexpected(der.error());
      if (stamp) {
        read.report.timestamp = *stamp;
      } else if (read.report.problem.empty()) {
        read.report.problem = "the archive time-stamp cannot be read: " + stamp.error().message;
      }
    } else if (read.report.problem.empty()) {
      read.report.problem = "the archive time-stamp token is missing";
    }
    archives.push_back(std::move(read));
  }
  return archives;
}

void compare_archives_with_file(std::vector<ArchiveRead>& archives, const FileDigests& digests) {
  for (ArchiveRead& archive : archives) {
    auto prefix = digests.prefixes.find(archive.report.covered_length);
    archive.report.prefix_matches = archive.report.manifest_readable &&
                                    prefix != digests.prefixes.end() &&
                                    prefix->second == archive.covered_sha256;
  }
}

}  // namespace internal

bool archive_proves(const ArchiveReport& archive) {
  return archive.manifest_readable && archive.prefix_matches && archive.has_token &&
         archive.problem.empty() && archive.timestamp.imprint_matches &&
         archive.timestamp.signature_valid;
}

Result<RenewResult> renew_container(const std::string& path,
                                    const Identity* identity,
                                    const RenewOptions& options,
                                    ProgressSink* progress,
                                    const CancelToken* cancel) {
  if (options.tsa_url.empty()) {
    return make_error(Errc::invalid_argument,
                      "a renewal is an archive time-stamp: give the TSA with --tsa URL");
  }
  if (identity != nullptr) {
    CUSTODY_TRY(identity->check_can_sign());
  }
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  if (zip->end_offset() != zip->file_size()) {
    return make_error(Errc::corrupt,
                      fmt::format("{} has {} bytes after its end; renew only a complete "
                                  "container (check it with custody-verify)",
                                  path, zip->file_size() - zip->end_offset()));
  }
  const std::uint64_t covered_length = zip->end_offset();
  auto digests = internal::digest_file(*zip, {covered_length}, progress, cancel);
  CUSTODY_TRY(digests);
  const unsigned number = internal::next_archive_number(*zip);
  const std::string bytes = internal::canonical_json(
      internal::archive_manifest(*zip, path, *digests, covered_length, number, options));

  auto request = make_timestamp_request(bytes);
  CUSTODY_TRY(request);
  FreshTimestamp fresh = obtain_timestamp(options.tsa_url, *request, bytes, options.tsa_timeout);
  if (fresh.token.empty()) {
    return make_error(Errc::io_error,
                      fmt::format("no archive time-stamp: {}; nothing was written", fresh.problem));
  }
  auto checked = verify_timestamp(fresh.token, bytes, {});
  CUSTODY_TRY(checked);

  std::string volume = zip->comment();
  while (!volume.empty() && volume.back() == '\0') {
    volume.pop_back();
  }
  auto writer =
      internal::ZipWriter::open_for_append(path, {}, internal::k_archive_lock_wait_seconds);
  CUSTODY_TRY(writer);
  RenewResult result;
  result.number = number;
  result.manifest_member = internal::archive_member_name(number, "json");
  result.token_member = internal::archive_member_name(number, "tsr");
  result.covered_length = covered_length;
  result.covered_sha256 = digests->prefixes.at(covered_length);
  result.time = fresh.time;
  result.tsa_subject = checked->tsa_subject;
  result.seals = internal::count_seals(*zip);
  CUSTODY_TRY(writer->add_member(result.manifest_member,
                                 std::as_bytes(std::span(bytes.data(), bytes.size()))));
  CUSTODY_TRY(writer->add_member(result.token_member,
                                 std::as_bytes(std::span(fresh.token.data(), fresh.token.size()))));
  // The "renewed" event lands in the same append: both or neither.
  EventDraft draft;
  draft.action = "renewed";
  draft.tool_name = options.tool_name;
  draft.details = {{"archive", std::to_string(number)},
                   {"covered_length", std::to_string(covered_length)},
                   {"covered_sha256", result.covered_sha256},
                   {"archive_timestamp_time", result.time}};
  if (!options.package_id.empty()) {
    draft.details["package_id"] = options.package_id;
  }
  AppendOptions event_options;
  event_options.cades.tsa_url = options.tsa_url;
  event_options.cades.tsa_timeout = options.tsa_timeout;
  event_options.cades.revocation_files = options.revocation_files;
  event_options.cades.fetch_revocation = options.fetch_revocation;
  auto event = internal::add_custody_event(*writer, path, draft, identity, event_options);
  CUSTODY_TRY(event);
  result.event_sequence = event->sequence;
  CUSTODY_TRY(writer->finish(volume));
  return result;
}

std::string renew_result_to_json(const RenewResult& result, const std::string& container) {
  nlohmann::json out{{"format", "custody-seal-renew-result"},
                     {"version", 1},
                     {"container", container},
                     {"archive", result.number},
                     {"manifest", result.manifest_member},
                     {"token", result.token_member},
                     {"covered_length", result.covered_length},
                     {"covered_sha256", result.covered_sha256},
                     {"timestamp_time", result.time},
                     {"tsa", result.tsa_subject},
                     {"seals", result.seals},
                     {"custody_event", result.event_sequence}};
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace custody
