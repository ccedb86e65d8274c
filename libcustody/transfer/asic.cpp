// SPDX-License-Identifier: Apache-2.0
// ASiC-E with a CAdES signature: writing one from custody containers and checking one
// (asic.hpp).
#include "chain/custody_log_format.hpp"
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "transfer/transfer_internal.hpp"
#include "zip/zip.hpp"

#include <custody/asic.hpp>
#include <custody/case_uco.hpp>
#include <custody/court_report.hpp>
#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/record.hpp>
#include <custody/text.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <span>

namespace custody {

namespace asic_detail {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_manifest_name = "META-INF/ASiCManifest001.xml";
constexpr const char* k_signature_name = "META-INF/signature001.p7s";
constexpr std::size_t k_dss_entry_limit = 1000;
constexpr std::size_t k_small_member_limit = std::size_t{64} << 20U;
constexpr std::size_t k_copy_block = std::size_t{4} << 20U;
constexpr const char* k_sha256_uri = "http://www.w3.org/2001/04/xmlenc#sha256";

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

// One data object: its name in the ZIP and where its bytes come from.
struct DataObject {
  std::string name;
  std::string file;   // copied from this file, or
  std::string bytes;  // these bytes
  std::string sha256;
};

// Reads the file at `path` (read-only) block by block into `each`, and returns its SHA-256 and
// size.
template <typename Each>
Result<std::pair<std::string, std::uint64_t>> stream_file(const std::string& path,
                                                          const CancelToken* cancel,
                                                          Each each) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return make_error(Errc::io_error, fmt::format("cannot open {}", path));
  }
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  CUSTODY_TRY(hasher);
  std::vector<std::byte> buffer(k_copy_block);
  std::uint64_t offset = 0;
  for (;;) {
    if (cancel != nullptr && cancel->cancelled()) {
      return make_error(Errc::cancelled, "interrupted");
    }
    auto got = internal::read_full(fd.get(), buffer, path, offset);
    CUSTODY_TRY(got);
    if (*got == 0) {
      break;
    }
    const auto piece = std::span<const std::byte>(buffer).first(*got);
    hasher->update(piece);
    CUSTODY_TRY(each(piece));
    offset += *got;
  }
  return std::pair{hasher->finish_hex(), offset};
}

// Streams `object.file` into the writer as a stored member, hashing it on the way.
Result<void> copy_file_member(internal::ZipWriter& writer,
                              DataObject& object,
                              ProgressSink* progress,
                              std::uint64_t& done,
                              const CancelToken* cancel) {
  CUSTODY_TRY(writer.begin_member(object.name));
  auto copied =
      stream_file(object.file, cancel, [&](std::span<const std::byte> piece) -> Result<void> {
        CUSTODY_TRY(writer.write_member_data(piece));
        done += piece.size();
        if (progress != nullptr) {
          progress->update(done, 0);
        }
        return {};
      });
  CUSTODY_TRY(copied);
  CUSTODY_TRY(writer.end_member());
  object.sha256 = copied->first;
  return {};
}

// The court report of the container as it is exported: its verification, recording nothing.
Result<std::string> court_report_of(const std::string& path,
                                    const std::string& base,
                                    const AsicOptions& options,
                                    const CancelToken* cancel) {
  VerifyOptions verify;
  verify.trust_files = options.report_trust;
  verify.tsa_trust_files = options.report_tsa_trust;
  auto report = verify_container({path}, verify, nullptr, cancel);
  CUSTODY_TRY(report);
  return court_report_html(*report, base);
}

// A container's custody chain without its image: custody members, CASE/UCO, the court report
// and its binding.
Result<void> add_chain_objects(const std::string& path,
                               const std::string& base,
                               const std::string& scratch,
                               const AsicOptions& options,
                               const CancelToken* cancel,
                               std::vector<DataObject>& objects,
                               json& images) {
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  for (const internal::ZipMember& member : zip->members()) {
    if (member.name.starts_with("custody/")) {
      auto bytes = zip->read_member(member, k_small_member_limit);
      CUSTODY_TRY(bytes);
      objects.push_back({base + "/" + member.name, {}, std::move(*bytes), {}});
    }
  }
  const std::string jsonld_path = scratch + "/" + base + ".jsonld";
  const std::string& container = path;
  CUSTODY_TRY(write_case_uco(container, jsonld_path, true));
  auto jsonld = internal::read_small_file(jsonld_path, k_small_member_limit);
  CUSTODY_TRY(jsonld);
  objects.push_back({base + "/case-uco.jsonld", {}, std::move(*jsonld), {}});
  auto report = court_report_of(path, base, options, cancel);
  CUSTODY_TRY(report);
  objects.push_back({base + "/court-report.html", {}, std::move(*report), {}});
  // The image is bound by the container's own digest and the hashes recorded at acquisition.
  auto file =
      stream_file(path, nullptr, [](std::span<const std::byte>) -> Result<void> { return {}; });
  json hashes = json::object();
  if (const internal::ZipMember* record = zip->find("custody/acquisition.json")) {
    if (auto text = zip->read_member(*record, k_small_member_limit)) {
      if (auto loaded = parse_record(*text)) {
        for (const auto& [algorithm, hex] : loaded->record.hashes) {
          hashes[std::string(hash_name(algorithm))] = hex;
        }
      }
    }
  }
  CUSTODY_TRY(file);
  images.push_back(json{{"container", base},
                        {"size", file->second},
                        {"sha256", file->first},
                        {"image_hashes", hashes}});
  return {};
}

std::string manifest_xml(const std::vector<DataObject>& objects) {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<asic:ASiCManifest xmlns:asic=\"http://uri.etsi.org/02918/v1.2.1#\" "
      "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n";
  xml +=
      fmt::format("  <asic:SigReference URI=\"{}\" MimeType=\"application/x-pkcs7-signature\"/>\n",
                  k_signature_name);
  for (const DataObject& object : objects) {
    xml += fmt::format(
        "  <asic:DataObjectReference URI=\"{}\" MimeType=\"application/octet-stream\">\n"
        "    <ds:DigestMethod Algorithm=\"{}\"/>\n"
        "    <ds:DigestValue>{}</ds:DigestValue>\n"
        "  </asic:DataObjectReference>\n",
        escape_markup(object.name), k_sha256_uri,
        internal::custody_log::base64(from_hex(object.sha256)));
  }
  xml += "</asic:ASiCManifest>\n";
  return xml;
}

Result<void> check_inputs(const AsicOptions& options) {
  if (options.cades.tsa_url.empty()) {
    return make_error(Errc::invalid_argument,
                      "an ASiC-E signature must be CAdES B-T or better: give the TSA with --tsa");
  }
  if (options.containers.empty()) {
    return make_error(Errc::invalid_argument, "no container given");
  }
  internal::InputGuard guard;
  std::set<std::string> names;
  for (const std::string& path : options.containers) {
    const std::string base = fs::path(path).filename().string();
    if (!names.insert(base).second) {
      return make_error(Errc::invalid_argument,
                        fmt::format("two containers are named {}: each data object of an ASiC-E "
                                    "needs its own name",
                                    base));
    }
    guard.add(path);
  }
  CUSTODY_TRY(guard.check_output(options.output));
  if (!options.overwrite && internal::path_exists(options.output)) {
    return make_error(
        Errc::already_exists,
        fmt::format("{} exists; choose another name, or give --force", options.output));
  }
  return {};
}

// The file the ASiC-E is written into before it is renamed to its name: a new file (O_EXCL) under
// a random name beside the output. Never an existing file at a predictable name, which another
// user, or a stale interrupted run, could have made a link to the evidence: opening it would
// truncate the evidence and copy it into itself.
Result<std::pair<std::string, internal::ZipWriter>> create_partial(const std::string& output) {
  std::random_device entropy;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string partial = fmt::format("{}.partial-{:08x}", output, entropy());
    auto writer = internal::ZipWriter::create(partial, false);
    if (writer) {
      return std::pair<std::string, internal::ZipWriter>(std::move(partial), std::move(*writer));
    }
    if (writer.error().code != Errc::already_exists) {
      return tl::unexpected(writer.error());
    }
  }
  return make_error(
      Errc::io_error,
      fmt::format("cannot create a new file beside {}: every name tried exists", output));
}

// Records the export in each container's custody log; a container that cannot take it is named.
// The events are signed at the export signature's level, with its revocation data.
void record_exports(const AsicOptions& options,
                    const Identity& signer,
                    const CadesSignature& export_signature,
                    const std::vector<DataObject>& objects,
                    AsicResult& result) {
  AppendOptions append;
  append.cades = options_after(options.cades, export_signature);
  for (const std::string& path : options.containers) {
    EventDraft draft;
    draft.action = "exported";
    draft.tool_name = "custody-export";
    draft.details = {{"output", fs::path(options.output).filename().string()},
                     {"format", options.without_images ? "asic-e without images" : "asic-e"}};
    const std::string base = fs::path(path).filename().string();
    for (const DataObject& object : objects) {
      if (object.name == base) {
        draft.details["sha256"] = object.sha256;
      }
    }
    if (auto added = append_custody_event(path, draft, &signer, append)) {
      result.custody_events.push_back(added->sequence);
    } else {
      result.shortfalls.push_back(
          fmt::format("{}: the export is NOT recorded in its custody log "
                      "({})",
                      path, added.error().message));
    }
  }
}

}  // namespace asic_detail

using namespace asic_detail;

Result<AsicResult> export_asic_e(const AsicOptions& options,
                                 const Identity& signer,
                                 ProgressSink* progress,
                                 const CancelToken* cancel) {
  CUSTODY_TRY(check_inputs(options));
  CUSTODY_TRY(signer.check_can_sign());
  std::vector<DataObject> objects;
  std::error_code ignored;
  // mkdtemp (mode 0700), never a predictable name another user could plant a link at.
  auto scratch_dir = internal::PrivateDirectory::create("");
  CUSTODY_TRY(scratch_dir);
  const std::string scratch = scratch_dir->file("");
  if (options.without_images) {
    json images = json::array();
    for (const std::string& path : options.containers) {
      CUSTODY_TRY(add_chain_objects(path, fs::path(path).filename().string(), scratch, options,
                                    cancel, objects, images));
    }
    objects.push_back(
        {"images.json",
         {},
         json{{"format", "custody-asic-images"}, {"version", 1}, {"containers", images}}.dump(2),
         {}});
  } else {
    for (const std::string& path : options.containers) {
      objects.push_back({fs::path(path).filename().string(), path, {}, {}});
    }
  }
  if (objects.size() + 3 > k_dss_entry_limit) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the ASiC-E would hold {} entries; DSS refuses more than {}: "
                                  "export fewer containers in each",
                                  objects.size() + 3, k_dss_entry_limit));
  }

  auto created = create_partial(options.output);
  CUSTODY_TRY(created);
  const std::string partial = created->first;
  std::optional<internal::ZipWriter> writer(std::move(created->second));
  struct PartialRemover {
    std::string path;
    bool keep = false;
    ~PartialRemover() {
      if (!keep) {
        std::remove(path.c_str());
      }
    }
  } remove_partial{partial};
  const std::string_view mimetype = k_asic_e_mimetype;
  CUSTODY_TRY(writer->add_plain_member("mimetype",
                                       std::as_bytes(std::span(mimetype.data(), mimetype.size()))));
  std::uint64_t done = 0;
  for (DataObject& object : objects) {
    if (!object.file.empty()) {
      CUSTODY_TRY(copy_file_member(*writer, object, progress, done, cancel));
    } else {
      object.sha256 = internal::sha256_hex_of(object.bytes);
      CUSTODY_TRY(writer->add_member(
          object.name, std::as_bytes(std::span(object.bytes.data(), object.bytes.size()))));
    }
  }
  const std::string manifest = manifest_xml(objects);
  auto signature = signer.sign_detached(manifest);
  CUSTODY_TRY(signature);
  auto extended = extend_signature(std::move(*signature), options.cades);
  CUSTODY_TRY(extended);
  if (extended->level == "B-B") {
    return make_error(Errc::io_error,
                      fmt::format("no signature time-stamp, and an ASiC-E signature must be CAdES "
                                  "B-T or better: {}; nothing was written",
                                  extended->timestamp_problem));
  }
  CUSTODY_TRY(writer->add_member(k_manifest_name,
                                 std::as_bytes(std::span(manifest.data(), manifest.size()))));
  CUSTODY_TRY(writer->add_member(
      k_signature_name, std::as_bytes(std::span(extended->der.data(), extended->der.size()))));
  CUSTODY_TRY(writer->finish(""));
  if (!options.overwrite && internal::path_exists(options.output)) {
    return make_error(Errc::already_exists, fmt::format("{} appeared meanwhile", options.output));
  }
  if (std::rename(partial.c_str(), options.output.c_str()) != 0) {
    return make_error(Errc::io_error,
                      fmt::format("cannot rename {} to {}", partial, options.output));
  }
  remove_partial.keep = true;
  CUSTODY_TRY(internal::fsync_parent_directory(options.output));

  AsicResult result;
  result.output = options.output;
  for (const DataObject& object : objects) {
    result.data_objects.emplace_back(object.name, object.sha256);
  }
  result.bytes = fs::file_size(options.output, ignored);
  result.cades_level = extended->level;
  result.timestamp_time = extended->timestamp_time;
  result.revocation = extended->revocation;
  result.shortfalls = extended->shortfalls;
  if (options.record_events) {
    record_exports(options, signer, *extended, objects, result);
  }
  return result;
}

std::string asic_result_to_json(const AsicResult& result) {
  json objects = json::array();
  for (const auto& [name, sha256] : result.data_objects) {
    objects.push_back(json{{"name", name}, {"sha256", sha256}});
  }
  json out{{"format", "custody-export-result"},
           {"version", 1},
           {"output_format", "asic-e"},
           {"output", result.output},
           {"files", json::array({result.output})},
           {"bytes", result.bytes},
           {"data_objects", objects},
           {"cades_level", result.cades_level},
           {"timestamp_time", result.timestamp_time},
           {"revocation", result.revocation},
           {"shortfalls", result.shortfalls},
           {"custody_events", result.custody_events}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
