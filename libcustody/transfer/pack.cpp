// SPDX-License-Identifier: Apache-2.0
// Packing a transfer (custody-pack(1), custody-package(5)): the inputs checked, a "packaged" event
// in each container, the signed bag written as a directory, tar or zip (encrypted when asked).
#include "core/canonical_json.hpp"
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/bagit.hpp>
#include <custody/byte_sink.hpp>
#include <custody/custody_log.hpp>
#include <custody/envelope.hpp>
#include <custody/text.hpp>
#include <custody/timestamp.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

namespace custody {

namespace fs = std::filesystem;
using nlohmann::json;

namespace internal {

json facts_json(const TransferFacts& facts) {
  json out = json::object();
  for (const FactField& field : k_fact_fields) {
    if (const std::string& value = facts.*field.member; !value.empty()) {
      out[field.key] = value;
    }
  }
  return out;
}

// A directory where a file is expected is named as such (Errc::invalid_argument).
Result<void> not_a_directory(const std::string& path, const char* what, const char* hint) {
  std::error_code ignored;
  if (fs::is_directory(path, ignored)) {
    return tl::unexpected(Error{Errc::invalid_argument,
                                fmt::format("this is a directory, not {}", what),
                                path,
                                {},
                                0,
                                hint});
  }
  return {};
}

}  // namespace internal

namespace {

using internal::FactField;
using internal::facts_json;
using internal::k_fact_fields;
using internal::k_signature_member;
using internal::k_token_member;
using internal::k_transfer_member;
using internal::not_a_directory;

std::string proof_member(const std::string& payload_name) {
  return "custody/items/" + payload_name + ".proof.json";
}

Result<void> check_state(const std::string& code, const char* what) {
  if (code.empty()) {
    return {};
  }
  EventDraft draft;
  draft.jurisdiction = code;
  auto checked = check_event_draft(draft);
  if (!checked) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("{} \"{}\" is not an ISO 3166 code (DE, FR, NL, ...)", what, code));
  }
  return {};
}

std::vector<BagInfoField> bag_info(const TransferFacts& facts,
                                   const std::string& package_id,
                                   std::size_t items) {
  std::vector<BagInfoField> fields;
  const auto add = [&](const char* label, const std::string& value) {
    if (!value.empty()) {
      fields.push_back({label, value});
    }
  };
  add("Source-Organization", facts.sending_authority);
  add("Contact-Name", facts.contact_name);
  add("Contact-Email", facts.contact_email);
  add("External-Identifier",
      facts.request_reference.empty() ? package_id : facts.request_reference);
  add("Custody-Package-Id", package_id);
  add("Sending-Authority", facts.sending_authority);
  add("Receiving-Authority", facts.receiving_authority);
  add("Requesting-State", facts.requesting_state);
  add("Requested-State", facts.requested_state);
  add("Legal-Basis", facts.legal_basis);
  add("Request-Reference", facts.request_reference);
  add("Purpose", facts.purpose);
  add("Use-Limits", facts.use_limits);
  add("Number-Of-Items", std::to_string(items));
  return fields;
}

enum class OutputKind { directory, tar, zip };

OutputKind output_kind(const std::string& output) {
  if (output.ends_with(".tar")) {
    return OutputKind::tar;
  }
  if (output.ends_with(".zip")) {
    return OutputKind::zip;
  }
  return OutputKind::directory;
}

// The files an encrypted package is written as, after "NAME.enc.": "000", "000.p7m", "json".
bool is_envelope_suffix(std::string_view suffix) {
  if (suffix == "json") {
    return true;
  }
  if (suffix.ends_with(".p7m")) {
    suffix.remove_suffix(4);
  }
  return internal::InputGuard::is_segment_number(suffix);
}

// Every container: there, a file (not a directory), given once (by device and inode, so that a
// hard or symbolic link to one given already is found).
Result<void> check_containers(const std::vector<std::string>& containers) {
  std::set<std::pair<dev_t, ino_t>> seen;
  for (const std::string& container : containers) {
    struct stat status {};
    if (::stat(container.c_str(), &status) != 0) {
      return make_sys_error(errno == ENOENT ? Errc::not_found : Errc::io_error,
                            "cannot open the container", container, errno);
    }
    if (S_ISDIR(status.st_mode)) {
      return tl::unexpected(Error{Errc::invalid_argument,
                                  "this is a directory, not a container",
                                  container,
                                  {},
                                  0,
                                  "give the container file (NAME.aff4)"});
    }
    if (!seen.insert({status.st_dev, status.st_ino}).second) {
      return tl::unexpected(Error{Errc::invalid_argument,
                                  "this container is given twice (the same file under another "
                                  "name, or a link to it)",
                                  container,
                                  {},
                                  0,
                                  "give each container once"});
    }
  }
  return {};
}

Result<void> check_pack_options(const PackOptions& options) {
  if (options.containers.empty()) {
    return make_error(Errc::invalid_argument, "no container to pack");
  }
  if (options.output.empty()) {
    return make_error(Errc::invalid_argument, "no output given (-o NAME.tar, NAME.zip or DIR)");
  }
  for (const FactField& field : k_fact_fields) {
    const std::string* fact = &(options.facts.*field.member);
    EventDraft text;
    text.notes = *fact;
    if (fact->find_first_of("\r\n") != std::string::npos || !check_event_draft(text)) {
      return make_error(Errc::invalid_argument,
                        fmt::format("\"{}\" cannot go into bag-info.txt: give one line of UTF-8 "
                                    "text",
                                    *fact));
    }
  }
  CUSTODY_TRY(check_state(options.facts.requesting_state, "the requesting state"));
  CUSTODY_TRY(check_state(options.facts.requested_state, "the requested state"));
  const OutputKind kind = output_kind(options.output);
  if (!options.encrypt_to.empty() && kind == OutputKind::directory) {
    return make_error(Errc::invalid_argument,
                      "--encrypt-to needs an archive: name the output NAME.tar or NAME.zip");
  }
  CUSTODY_TRY(check_containers(options.containers));
  for (const std::string& recipient : options.encrypt_to) {
    CUSTODY_TRY(not_a_directory(recipient, "a certificate",
                                "give --encrypt-to the receiver's certificate file (PEM or DER)"));
  }
  // Never write over an input: the package's names are compared with the containers by device
  // and inode before anything is opened for writing.
  internal::InputGuard inputs;
  inputs.add_all(options.containers);
  CUSTODY_TRY(inputs.check_output(options.output));
  if (!options.encrypt_to.empty()) {
    CUSTODY_TRY(inputs.check_outputs_named(options.output + ".enc.", is_envelope_suffix));
  }
  CUSTODY_TRY(internal::check_output_directory(options.output));
  std::error_code ignored;
  if (options.encrypt_to.empty() && fs::exists(fs::symlink_status(options.output, ignored))) {
    return tl::unexpected(Error{Errc::already_exists,
                                "refusing to overwrite",
                                options.output,
                                {},
                                0,
                                "choose another output name"});
  }
  std::set<std::string> names;
  for (const std::string& container : options.containers) {
    const std::string name = fs::path(container).filename().string();
    if (!names.insert(name).second) {
      return make_error(Errc::invalid_argument,
                        fmt::format("two containers are named {}; a package holds each name once "
                                    "(rename one)",
                                    name));
    }
  }
  return {};
}

// A container before its "packaged" event: cut back to this size when the package fails.
struct Touched {
  std::string path;
  std::uint64_t size_before = 0;
  std::size_t events_before = 0;
  std::string event_id;  // ours, once appended
};

// Undoes the "packaged" events of a package that was not written: each container is cut back to
// its size before, under the appenders' lock, but only when its log holds nothing but our event
// after that size (or a torn append of ours). Returns what could not be undone, in words.
std::string undo_packaged(const std::vector<Touched>& touched) {
  std::string kept;
  for (const Touched& item : touched) {
    internal::UniqueFd fd(::open(item.path.c_str(), O_WRONLY | O_CLOEXEC));
    bool undone = false;
    if (fd && ::flock(fd.get(), LOCK_EX) == 0) {
      auto log = read_custody_log(item.path);
      const bool ours_only =
          log && ((item.event_id.empty() && log->events.size() == item.events_before) ||
                  (!item.event_id.empty() && log->events.size() == item.events_before + 1 &&
                   log->events.back().event_id == item.event_id));
      struct stat status {};
      undone = ours_only && ::fstat(fd.get(), &status) == 0 &&
               static_cast<std::uint64_t>(status.st_size) >= item.size_before &&
               ::ftruncate(fd.get(), static_cast<off_t>(item.size_before)) == 0 &&
               ::fsync(fd.get()) == 0;
    }
    if (!undone) {
      kept += fmt::format("{}{}", kept.empty() ? "" : ", ", item.path);
    }
  }
  return kept;
}

// The CAdES options of the sender's signatures: the package's and, in each container, the
// "packaged" event's and its tree head's.
CadesOptions sender_cades(const PackOptions& options) {
  CadesOptions cades;
  cades.tsa_url = options.tsa_url;
  cades.tsa_timeout = options.tsa_timeout;
  cades.revocation_files = options.revocation_files;
  cades.fetch_revocation = options.fetch_revocation;
  return cades;
}

// The "packaged" event, recorded in the container before it is packed so that the package holds
// it, and its inclusion proof for the bag. The event is signed at the package's CAdES level;
// `cades` becomes the options of the sender's next signature (one revocation fetch for all, and
// a revoked sender is refused before the first container is touched).
Result<std::pair<std::uint64_t, std::string>> record_packaged(const std::string& container,
                                                              const PackOptions& options,
                                                              const std::string& package_id,
                                                              const Identity& sender,
                                                              CadesOptions& cades) {
  CUSTODY_TRY(read_custody_log(container));  // a container, with a readable log
  EventDraft draft;
  draft.action = "packaged";
  draft.tool_name = "custody-pack";
  draft.actor.organisation = options.facts.sending_authority;
  draft.jurisdiction = options.facts.requested_state;
  draft.legal_basis = options.facts.legal_basis;
  draft.legal_reference = options.facts.request_reference;
  draft.purpose = options.facts.purpose;
  draft.details = {{"package_id", package_id}};
  if (!options.facts.receiving_authority.empty()) {
    draft.details["receiving_authority"] = options.facts.receiving_authority;
  }
  if (!options.facts.requesting_state.empty()) {
    draft.details["requesting_state"] = options.facts.requesting_state;
  }
  if (!options.facts.use_limits.empty()) {
    draft.details["use_limits"] = options.facts.use_limits;
  }
  AppendOptions append;
  append.cades = cades;
  auto added = append_custody_event(container, draft, &sender, append);
  CUSTODY_TRY(added);
  cades = options_after(cades, *added);
  auto proof = make_inclusion_proof(container, added->sequence);
  CUSTODY_TRY(proof);
  return std::pair{added->sequence, std::move(*proof)};
}

// Signature (and token) over the tag manifest, the files the tag manifest cannot list.
Result<std::vector<BagTagFile>> sign_tag_manifest(const BagWriteResult& written,
                                                  const Identity& sender,
                                                  const PackOptions& options,
                                                  const CadesOptions& cades,
                                                  PackResult& result) {
  auto signed_bytes = sender.sign_detached(written.tagmanifest_sha256);
  CUSTODY_TRY(signed_bytes);
  auto extended = extend_signature(std::move(*signed_bytes), cades);
  CUSTODY_TRY(extended);
  const std::string* signature = &extended->der;
  result.cades_level = extended->level;
  result.revocation = extended->revocation;
  result.shortfalls = extended->shortfalls;
  std::vector<BagTagFile> files{{k_signature_member, *signature}};
  if (!extended->timestamp_problem.empty()) {
    result.timestamp_problem = extended->timestamp_problem;  // not asked a second time
  } else if (!options.tsa_url.empty()) {
    auto request = make_timestamp_request(*signature);
    CUSTODY_TRY(request);
    FreshTimestamp fresh =
        obtain_timestamp(options.tsa_url, *request, *signature, options.tsa_timeout);
    if (!fresh.token.empty()) {
      // The signature time-stamp inside (B-T) is the earlier proof.
      result.timestamp_time =
          extended->timestamp_time.empty() ? fresh.time : extended->timestamp_time;
      result.timestamped = true;
      files.push_back({k_token_member, std::move(fresh.token)});
    } else {
      result.timestamp_problem = fresh.problem;
    }
  }
  return files;
}

// The output is opened before any custody event is recorded, so that a refused recipient, an
// output that exists or a bad segment size fail before the containers are touched. Null for a
// directory (written whole by write_bag_directory).
Result<std::unique_ptr<ByteSink>> open_package_sink(const PackOptions& options) {
  const OutputKind kind = output_kind(options.output);
  if (kind == OutputKind::directory) {
    return std::unique_ptr<ByteSink>();
  }
  if (options.encrypt_to.empty()) {
    auto sink = FileByteSink::create(options.output, false);
    CUSTODY_TRY(sink);
    return std::unique_ptr<ByteSink>(std::move(*sink));
  }
  EnvelopeOptions envelope;
  envelope.recipient_certificates = options.encrypt_to;
  envelope.output_base = options.output;
  if (options.segment_size != 0) {
    envelope.segment_size = options.segment_size;
  }
  return open_encrypting_sink(envelope);
}

Result<BagWriteResult> write_package(const BagSpec& spec,
                                     const PackOptions& options,
                                     ByteSink* sink,
                                     PackResult& result) {
  const OutputKind kind = output_kind(options.output);
  if (kind == OutputKind::directory) {
    result.files = {options.output};
    return write_bag_directory(spec, options.output);
  }
  const BagArchiveFormat format =
      kind == OutputKind::tar ? BagArchiveFormat::tar : BagArchiveFormat::zip;
  const std::string root = fs::path(options.output).stem().string();
  auto written = write_bag_archive(spec, format, root, *sink);
  CUSTODY_TRY(written);
  if (options.encrypt_to.empty()) {
    result.files = {options.output};
    return written;
  }
  result.encrypted = true;
  auto index = read_envelope_index(options.output);
  CUSTODY_TRY(index);
  const fs::path directory = fs::path(options.output).parent_path();
  for (const EnvelopeSegment& segment : index->segments) {
    result.files.push_back((directory / segment.ciphertext).string());
    result.files.push_back((directory / segment.envelope).string());
  }
  result.files.push_back(options.output + ".enc.json");
  return written;
}

// Every container's log: each container is readable, with a readable log, before any of them
// gets an event.
Result<std::vector<CustodyLog>> read_logs(const std::vector<std::string>& containers) {
  std::vector<CustodyLog> logs;
  for (const std::string& container : containers) {
    auto log = read_custody_log(container);
    CUSTODY_TRY(log);
    logs.push_back(std::move(*log));
  }
  return logs;
}

// custody/transfer.json: the package, its sender, the facts and the items.
json transfer_statement(const PackResult& result, const TransferFacts& facts, json items) {
  return json{{"format", k_transfer_format},
              {"version", 1},
              {"package_id", result.package_id},
              {"created", utc_now()},
              {"sender", json{{"subject", result.sender_subject},
                              {"sha256_fingerprint", result.sender_fingerprint}}},
              {"facts", facts_json(facts)},
              {"items", std::move(items)}};
}

Result<PackResult> pack(const PackOptions& options,
                        const Identity& sender,
                        std::vector<Touched>& touched,
                        const CancelToken* cancel) {
  CUSTODY_TRY(check_pack_options(options));
  CUSTODY_TRY(sender.check_can_sign());
  auto logs = read_logs(options.containers);
  CUSTODY_TRY(logs);
  auto sink = open_package_sink(options);
  CUSTODY_TRY(sink);
  PackResult result;
  auto package_id = random_uuid_urn();
  CUSTODY_TRY(package_id);
  result.package_id = *package_id;
  const CertificateFacts& signer = sender.certificate();
  result.sender_subject = signer.subject;
  result.sender_fingerprint = signer.sha256_fingerprint;

  CadesOptions cades = sender_cades(options);
  BagSpec spec;
  json items = json::array();
  for (std::size_t i = 0; i < options.containers.size(); ++i) {
    if (cancel != nullptr && cancel->cancelled()) {
      return make_error(Errc::cancelled, "packing was interrupted");
    }
    const std::string& container = options.containers[i];
    std::error_code ignored;
    touched.push_back({container, fs::file_size(container, ignored), (*logs)[i].events.size(), {}});
    auto packaged = record_packaged(container, options, result.package_id, sender, cades);
    CUSTODY_TRY(packaged);
    auto log = read_custody_log(container);
    CUSTODY_TRY(log);
    if (!log->events.empty() && log->events.back().number == packaged->first) {
      touched.back().event_id = log->events.back().event_id;
    }
    PackedItem item;
    item.container = container;
    item.payload_name = "data/" + fs::path(container).filename().string();
    item.packaged_event = packaged->first;
    item.log_id = log->log_id;
    spec.payload.push_back({container, fs::path(container).filename().string()});
    spec.tag_files.push_back(
        {proof_member(fs::path(container).filename().string()), packaged->second});
    items.push_back(json{{"payload", item.payload_name},
                         {"log_id", log->log_id},
                         {"packaged_event", item.packaged_event},
                         {"image_hashes", log->image_hashes},
                         {"proof", proof_member(fs::path(container).filename().string())}});
    result.items.push_back(std::move(item));
  }
  const json transfer = transfer_statement(result, options.facts, std::move(items));
  spec.tag_files.insert(spec.tag_files.begin(),
                        BagTagFile{k_transfer_member, internal::canonical_json(transfer)});
  spec.info = bag_info(options.facts, result.package_id, options.containers.size());
  spec.cancel = cancel;
  spec.after_tag_manifests = [&](const BagWriteResult& written) {
    return sign_tag_manifest(written, sender, options, cades, result);
  };
  auto written = write_package(spec, options, sink->get(), result);
  CUSTODY_TRY(written);
  result.payload_oxum = written->payload_oxum;
  for (std::size_t i = 0; i < result.items.size(); ++i) {
    result.items[i].size = written->payload[i].size;
    result.items[i].sha256 = written->payload[i].sha256;
  }
  return result;
}

}  // namespace

Result<PackResult> pack_transfer(const PackOptions& options,
                                 const Identity& sender,
                                 ProgressSink* /*progress*/,
                                 const CancelToken* cancel) {
  std::vector<Touched> touched;
  auto packed = pack(options, sender, touched, cancel);
  if (packed || touched.empty()) {
    return packed;
  }
  // No package: no "packaged" event may claim one.
  Error error = packed.error();
  const std::string kept = undo_packaged(touched);
  error.message += kept.empty()
                       ? "; the containers are as they were before (their \"packaged\" events "
                         "were taken back)"
                       : fmt::format(
                             "; {} keep a \"packaged\" event for this package, which was "
                             "not written (another event was appended since, or the file "
                             "could not be cut back)",
                             kept);
  return tl::unexpected(std::move(error));
}

std::vector<std::pair<std::string, std::string>> transfer_fact_rows(const TransferFacts& facts) {
  const std::pair<const char*, const std::string*> rows[] = {
      {"sending authority", &facts.sending_authority},
      {"receiving authority", &facts.receiving_authority},
      {"requesting state", &facts.requesting_state},
      {"requested state", &facts.requested_state},
      {"legal basis", &facts.legal_basis},
      {"reference", &facts.request_reference},
      {"purpose", &facts.purpose},
      {"use limits", &facts.use_limits},
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [words, value] : rows) {
    out.emplace_back(words, value->empty() ? "(not stated)" : *value);
  }
  return out;
}

std::string pack_result_to_json(const PackResult& result, const PackOptions& options) {
  json items = json::array();
  for (const PackedItem& item : result.items) {
    items.push_back(json{{"container", item.container},
                         {"payload", item.payload_name},
                         {"size", item.size},
                         {"sha256", item.sha256},
                         {"log_id", item.log_id},
                         {"packaged_event", item.packaged_event}});
  }
  json out{{"format", "custody-pack-result"},
           {"version", 1},
           {"package_id", result.package_id},
           {"output", options.output},
           {"files", result.files},
           {"encrypted", result.encrypted},
           {"recipients", result.encrypted ? options.encrypt_to.size() : 0},
           {"timestamped", result.timestamped},
           {"timestamp_time", result.timestamp_time.empty() ? json() : json(result.timestamp_time)},
           {"timestamp_problem",
            result.timestamp_problem.empty() ? json() : json(result.timestamp_problem)},
           {"sender", json{{"subject", result.sender_subject},
                           {"sha256_fingerprint", result.sender_fingerprint}}},
           {"cades_level", result.cades_level},
           {"revocation", result.revocation},
           {"shortfalls", result.shortfalls},
           {"facts", facts_json(options.facts)},
           {"payload_oxum", result.payload_oxum},
           {"items", items}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
