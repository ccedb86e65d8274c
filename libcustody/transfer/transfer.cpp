// SPDX-License-Identifier: Apache-2.0
// Transfer packages (transfer.hpp, custody-package(5)).
#include "core/canonical_json.hpp"
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "crypto/identity_access.hpp"
#include "transfer/bagit_text.hpp"

#include <custody/bagit.hpp>
#include <custody/byte_sink.hpp>
#include <custody/custody_log.hpp>
#include <custody/envelope.hpp>
#include <custody/hash.hpp>
#include <custody/text.hpp>
#include <custody/timestamp.hpp>
#include <custody/transfer.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace custody {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t k_tag_limit = std::size_t{64} << 20U;
constexpr const char* k_transfer_member = "custody/transfer.json";
constexpr const char* k_signature_member = "custody/tagmanifest-sha256.txt.p7s";
constexpr const char* k_token_member = "custody/tagmanifest-sha256.txt.p7s.tsr";

std::string canonical(const json& value) {
  return internal::canonical_json(value);
}

std::string proof_member(const std::string& payload_name) {
  return "custody/items/" + payload_name + ".proof.json";
}

// SHA-256 of the first `length` bytes of `path` (all of it when nullopt), as hash_file says.
Result<std::string> sha256_of_file(const std::string& path, std::optional<std::uint64_t> length) {
  constexpr std::array k_sha256{HashAlgorithm::sha256};
  auto digests = hash_file(path, k_sha256, length);
  CUSTODY_TRY(digests);
  return digests->at(HashAlgorithm::sha256);
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

// Every fact, by its name in custody/transfer.json (and the text checks of check_pack_options).
struct FactField {
  const char* key;
  std::string TransferFacts::*member;
};
constexpr std::array<FactField, 10> k_fact_fields{{
    {"sending_authority", &TransferFacts::sending_authority},
    {"receiving_authority", &TransferFacts::receiving_authority},
    {"requesting_state", &TransferFacts::requesting_state},
    {"requested_state", &TransferFacts::requested_state},
    {"legal_basis", &TransferFacts::legal_basis},
    {"request_reference", &TransferFacts::request_reference},
    {"purpose", &TransferFacts::purpose},
    {"use_limits", &TransferFacts::use_limits},
    {"contact_name", &TransferFacts::contact_name},
    {"contact_email", &TransferFacts::contact_email},
}};

json facts_json(const TransferFacts& facts) {
  json out = json::object();
  for (const FactField& field : k_fact_fields) {
    if (const std::string& value = facts.*field.member; !value.empty()) {
      out[field.key] = value;
    }
  }
  return out;
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

// The "packaged" event, recorded in the container before it is packed so that the package holds
// it, and its inclusion proof for the bag.
Result<std::pair<std::uint64_t, std::string>> record_packaged(const std::string& container,
                                                              const PackOptions& options,
                                                              const std::string& package_id,
                                                              const Identity& sender) {
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
  auto added = append_custody_event(container, draft, &sender);
  CUSTODY_TRY(added);
  auto proof = make_inclusion_proof(container, added->sequence);
  CUSTODY_TRY(proof);
  return std::pair{added->sequence, std::move(*proof)};
}

// Signature (and token) over the tag manifest, the files the tag manifest cannot list.
Result<std::vector<BagTagFile>> sign_tag_manifest(const BagWriteResult& written,
                                                  const Identity& sender,
                                                  const PackOptions& options,
                                                  PackResult& result) {
  auto signature = sender.sign_detached(written.tagmanifest_sha256);
  CUSTODY_TRY(signature);
  std::vector<BagTagFile> files{{k_signature_member, *signature}};
  if (!options.tsa_url.empty()) {
    auto request = make_timestamp_request(*signature);
    CUSTODY_TRY(request);
    FreshTimestamp fresh =
        obtain_timestamp(options.tsa_url, *request, *signature, options.tsa_timeout);
    if (!fresh.token.empty()) {
      result.timestamp_time = fresh.time;
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

}  // namespace

namespace {

Result<PackResult> pack(const PackOptions& options,
                        const Identity& sender,
                        std::vector<Touched>& touched,
                        const CancelToken* cancel) {
  CUSTODY_TRY(check_pack_options(options));
  CUSTODY_TRY(sender.check_can_sign());
  // Every container is readable, with a readable log, before any of them gets an event.
  std::vector<CustodyLog> logs;
  for (const std::string& container : options.containers) {
    auto log = read_custody_log(container);
    CUSTODY_TRY(log);
    logs.push_back(std::move(*log));
  }
  auto sink = open_package_sink(options);
  CUSTODY_TRY(sink);
  PackResult result;
  auto package_id = random_uuid_urn();
  CUSTODY_TRY(package_id);
  result.package_id = *package_id;
  const CertificateFacts& signer = sender.certificate();
  result.sender_subject = signer.subject;
  result.sender_fingerprint = signer.sha256_fingerprint;

  BagSpec spec;
  json items = json::array();
  for (std::size_t i = 0; i < options.containers.size(); ++i) {
    if (cancel != nullptr && cancel->cancelled()) {
      return make_error(Errc::cancelled, "packing was interrupted");
    }
    const std::string& container = options.containers[i];
    std::error_code ignored;
    touched.push_back({container, fs::file_size(container, ignored), logs[i].events.size(), {}});
    auto packaged = record_packaged(container, options, result.package_id, sender);
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
  json transfer{{"format", k_transfer_format},
                {"version", 1},
                {"package_id", result.package_id},
                {"created", utc_now()},
                {"sender", json{{"subject", signer.subject},
                                {"sha256_fingerprint", signer.sha256_fingerprint}}},
                {"facts", facts_json(options.facts)},
                {"items", items}};
  spec.tag_files.insert(spec.tag_files.begin(), BagTagFile{k_transfer_member, canonical(transfer)});
  spec.info = bag_info(options.facts, result.package_id, options.containers.size());
  spec.cancel = cancel;
  spec.after_tag_manifests = [&](const BagWriteResult& written) {
    return sign_tag_manifest(written, sender, options, result);
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
           {"facts", facts_json(options.facts)},
           {"payload_oxum", result.payload_oxum},
           {"items", items}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {

// A private directory beside the output, removed unless released.
class PrivateDirectory {
 public:
  static Result<PrivateDirectory> create(const std::string& output) {
    std::error_code ignored;
    fs::path parent =
        output.empty() ? fs::temp_directory_path(ignored) : fs::path(output).parent_path();
    if (parent.empty()) {
      parent = ".";
    }
    std::string pattern = (parent / ".custody-receive-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return make_sys_error(Errc::io_error, "cannot create a private directory in", parent.string(),
                            errno);
    }
    return PrivateDirectory(pattern);
  }
  PrivateDirectory(PrivateDirectory&& other) noexcept : m_path(std::move(other.m_path)) {
    other.m_path.clear();
  }
  PrivateDirectory& operator=(PrivateDirectory&&) = delete;
  PrivateDirectory(const PrivateDirectory&) = delete;
  PrivateDirectory& operator=(const PrivateDirectory&) = delete;
  ~PrivateDirectory() {
    if (!m_path.empty()) {
      std::error_code ignored;
      fs::remove_all(m_path, ignored);
    }
  }
  std::string file(const std::string& name) const { return (fs::path(m_path) / name).string(); }

 private:
  explicit PrivateDirectory(std::string path) : m_path(std::move(path)) {}
  std::string m_path;
};

// Whether a package fails with these checks: one failed, or could not be made.
bool any_failed(const std::vector<ReceiveCheck>& checks) {
  return std::any_of(checks.begin(), checks.end(), [](const ReceiveCheck& check) {
    return check.verdict == Verdict::fail || check.verdict == Verdict::not_checked;
  });
}

// The checks of a package, as they are made.
struct Receiving {
  ReceiveResult& result;
  void pass(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::pass, std::move(detail)});
  }
  void warn(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::warn, std::move(detail)});
  }
  void fail(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::fail, std::move(detail)});
  }
  // A check that could not be made: the package is not accepted either.
  void not_checked(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::not_checked, std::move(detail)});
  }
};

bool is_encrypted_package(const std::string& input) {
  static const std::regex k_segment(R"(\.enc\.[0-9]{3,}(\.p7m)?$)");
  return input.ends_with(".enc.json") || std::regex_search(input, k_segment) ||
         fs::exists(input + ".enc.json");
}

// The index of an encrypted package, from any of its names.
std::string index_path_of(const std::string& input) {
  if (input.ends_with(".enc.json")) {
    return input;
  }
  const std::size_t at = input.rfind(".enc.");
  return (at == std::string::npos ? input : input.substr(0, at)) + ".enc.json";
}

// A text member of an outside JSON object, or "" when it is missing or not a string.
std::string text_at(const json& value, const char* pointer) {
  const json::json_pointer where(pointer);
  if (!value.is_object() || !value.contains(where)) {
    return {};
  }
  const json& found = value.at(where);
  return found.is_string() ? found.get<std::string>() : std::string();
}

// A BagIt manifest's lines, "DIGEST  NAME", in order (NAME as written, percent-encoded; a CR
// before the LF, which BagIt allows, is not part of it).
std::vector<std::pair<std::string, std::string>> manifest_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const std::size_t space = line.find_first_of(" \t");
    const std::size_t name =
        space == std::string::npos ? space : line.find_first_not_of(" \t", space);
    if (name != std::string::npos) {
      lines.emplace_back(line.substr(0, space), line.substr(name));
    }
    at = end + 1;
  }
  return lines;
}

// The same as name -> digest.
std::map<std::string, std::string> manifest_entries(const std::string& text) {
  std::map<std::string, std::string> names;
  for (auto& [digest, name] : manifest_lines(text)) {
    names[name] = digest;
  }
  return names;
}

// What arrived of one item of a bag that custody-receive released, from its "received" event.
struct Arrival {
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t event = 0;
  std::string by;
  std::string time;
};

// The "received" events of the package in the containers of the bag directory `bag`, by payload
// name. Read from the statement before it is checked: the sizes only say how much of each
// container is compared with the signed manifests.
std::map<std::string, Arrival> find_arrivals(const std::string& bag) {
  std::map<std::string, Arrival> arrivals;
  auto text = internal::read_small_file(bag + "/" + k_transfer_member, k_tag_limit);
  const json transfer = text ? internal::parse_untrusted_json(*text) : json();
  const std::string package_id = text_at(transfer, "/package_id");
  if (package_id.empty() || !transfer.contains("items") || !transfer["items"].is_array()) {
    return arrivals;
  }
  for (const json& item : transfer["items"]) {
    const std::string payload = text_at(item, "/payload");
    if (!payload.starts_with("data/") || payload.find("..") != std::string::npos) {
      continue;
    }
    auto log = read_custody_log(bag + "/" + payload);
    if (!log) {
      continue;
    }
    for (const LoggedEvent& event : log->events) {
      const auto id = event.details.find("package_id");
      const auto size = event.details.find("arrived_size");
      if (event.action != "received" || id == event.details.end() || id->second != package_id ||
          size == event.details.end()) {
        continue;
      }
      Arrival arrival;
      const std::string& digits = size->second;
      if (std::from_chars(digits.data(), digits.data() + digits.size(), arrival.size).ec !=
          std::errc()) {
        continue;
      }
      const auto sha256 = event.details.find("arrived_sha256");
      arrival.sha256 = sha256 == event.details.end() ? std::string() : sha256->second;
      arrival.event = event.number;
      arrival.by = event.actor.name;
      arrival.time = event.time;
      arrivals[payload] = arrival;
      break;
    }
  }
  return arrivals;
}

// What a package's checks are run for.
enum class Purpose : std::uint8_t {
  verify,   // verify_package: a bag directory is checked in place, and may be a received one
  receive,  // receive_transfer: a bag directory is copied (to be released), never a received one
};

// A package as checked: the checks' verdicts and, once it is unpacked, the bag with what the
// receipt needs of it. The private directory (and the bag in it) goes with it.
struct CheckedPackage {
  ReceiveResult result;
  std::optional<PrivateDirectory> scratch;
  std::string bag;  // in `scratch`, or the input itself (a bag directory verified in place)
  json transfer;    // custody/transfer.json, once it is known to be a transfer statement
  json package_files = json::array();       // the package's own files and their hashes
  std::map<std::string, Arrival> arrivals;  // a bag receive_transfer released: what arrived
};

// The name, size and SHA-256 of one of the package's own files, for the receipt.
Result<void> add_package_file(const std::string& path, json& package_files) {
  auto digest = sha256_of_file(path, std::nullopt);
  CUSTODY_TRY(digest);
  std::error_code ignored;
  package_files.push_back(json{{"name", fs::path(path).filename().string()},
                               {"size", fs::file_size(path, ignored)},
                               {"sha256", *digest}});
  return {};
}

// The files of an encrypted package as its index lists them: the index, then each segment's
// ciphertext and envelope.
void add_envelope_files(const std::string& input, const EnvelopeIndex& index, json& package_files) {
  // The index was read just before; should it not hash now, the receipt lists the segments only.
  (void)add_package_file(index_path_of(input), package_files);
  for (const EnvelopeSegment& segment : index.segments) {
    package_files.push_back(
        json{{"name", segment.ciphertext}, {"size", segment.size}, {"sha256", segment.sha256}});
    package_files.push_back(json{{"name", segment.envelope},
                                 {"size", segment.envelope_size},
                                 {"sha256", segment.envelope_sha256}});
  }
}

// An encrypted package: every segment must be there as the index lists it; then it is decrypted
// into `archive`, each segment's AES-256-GCM tag checked. False when the package fails.
Result<bool> decrypt(const std::string& input,
                     const Identity* receiver,
                     const std::string& archive,
                     json& package_files,
                     Receiving& out) {
  auto arrived = check_package(input);
  CUSTODY_TRY(arrived);
  if (!arrived->complete) {
    std::string problems;
    for (const std::string& problem : arrived->problems) {
      problems += (problems.empty() ? "" : "; ") + problem;
    }
    out.fail("package", "incomplete or altered in transit: " + problems);
    return false;
  }
  auto index = read_envelope_index(input);
  CUSTODY_TRY(index);
  add_envelope_files(input, *index, package_files);
  if (receiver == nullptr) {
    return make_error(Errc::invalid_argument,
                      "the package is encrypted: give the receiver's key and certificate (--key, "
                      "--cert) to check it");
  }
  auto decrypted = decrypt_package(input, *receiver, archive);
  if (!decrypted && decrypted.error().code == Errc::io_error) {
    return tl::unexpected(decrypted.error());  // our disk, not the package
  }
  if (!decrypted) {
    out.fail("package", "cannot be decrypted: " + decrypted.error().message);
    return false;
  }
  out.pass("package", fmt::format("decrypted {} segment{}: every AES-256-GCM tag verified",
                                  decrypted->segments, decrypted->segments == 1 ? "" : "s"));
  return true;
}

// A tar or zip, extracted safely into `bag` (where extract_bag_archive validates the bag).
Result<bool> extract(const std::string& archive,
                     const CancelToken* cancel,
                     const std::string& bag,
                     Receiving& out) {
  BagExtractLimits limits;
  limits.cancel = cancel;
  auto extracted = extract_bag_archive(archive, bag, limits);
  if (!extracted &&
      (extracted.error().code == Errc::io_error || extracted.error().code == Errc::cancelled)) {
    return tl::unexpected(extracted.error());  // our disk (full, failing), not the package
  }
  if (!extracted) {
    out.fail("package", "refused: " + extracted.error().message);
    return false;
  }
  if (!extracted->extracted) {
    for (const std::string& line : extracted->report.lines(Verdict::fail)) {
      out.fail("bag", line);
    }
    return false;
  }
  out.pass("bag", "a valid BagIt bag: every payload file listed, nothing unlisted, all hashes");
  return true;
}

// A package whose containers hold its "received" event is not received again.
tl::unexpected<Error> received_already(const std::string& input,
                                       const std::map<std::string, Arrival>& arrivals) {
  const auto& [payload, arrival] = *arrivals.begin();
  return tl::unexpected(
      Error{Errc::already_exists,
            fmt::format("this package was received already: {} holds its \"received\" custody "
                        "event (event {}, by {} at {})",
                        payload, arrival.event, arrival.by, arrival.time),
            input,
            {},
            0,
            "check a received bag with custody-verify DIR --trust ... (the sender's and the "
            "receiver's CAs); receive a package once, from the files the sender sent"});
}

// A bag directory validated where it is; a released bag's containers as the prefixes that arrived.
Result<bool> validate_bag_directory(const std::string& bag,
                                    const std::map<std::string, Arrival>& arrivals,
                                    Receiving& out) {
  BagValidateOptions validation;
  for (const auto& [payload, arrival] : arrivals) {
    validation.payload_prefixes[payload] = arrival.size;
  }
  auto report = validate_bag(bag, validation);
  CUSTODY_TRY(report);
  if (!report->valid()) {
    for (const std::string& line : report->lines(Verdict::fail)) {
      out.fail("bag", line);
    }
    return false;
  }
  out.pass("bag", arrivals.empty()
                      ? "a valid BagIt bag: every payload file listed, nothing unlisted, all "
                        "hashes"
                      : "a bag released by custody-receive: each container's first bytes, as "
                        "its \"received\" event says they arrived, have every hash the "
                        "manifests list; nothing unlisted");
  return true;
}

// A bag directory: verifying, it is only read, where it is, and may be one that receive_transfer
// released; receiving, it is copied into the private directory, unless it was received already.
Result<bool> take_bag_directory(const std::string& input,
                                Purpose purpose,
                                CheckedPackage& checked,
                                Receiving& out) {
  checked.arrivals = find_arrivals(input);
  if (purpose == Purpose::verify) {
    checked.bag = input;
  } else {
    if (!checked.arrivals.empty()) {
      return received_already(input, checked.arrivals);
    }
    std::error_code failure;
    fs::copy(input, checked.bag, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             failure);
    if (failure) {
      return make_error(Errc::io_error,
                        fmt::format("cannot copy {}: {}", input, failure.message()));
    }
  }
  return validate_bag_directory(checked.bag, checked.arrivals, out);
}

// Decrypts (when encrypted) and extracts the package into the private directory, or takes a bag
// directory (take_bag_directory); the package's own files and their hashes go into
// `checked.package_files`. False when the package fails (its checks say why).
Result<bool> unpack(const PackageCheckOptions& options,
                    Purpose purpose,
                    const Identity* receiver,
                    const CancelToken* cancel,
                    CheckedPackage& checked) {
  Receiving out{checked.result};
  std::error_code ignored;
  if (is_encrypted_package(options.input)) {
    const std::string archive = checked.scratch->file("package");
    auto decrypted = decrypt(options.input, receiver, archive, checked.package_files, out);
    if (!decrypted || !*decrypted) {
      return decrypted;
    }
    return extract(archive, cancel, checked.bag, out);
  }
  if (fs::is_directory(options.input, ignored)) {
    return take_bag_directory(options.input, purpose, checked, out);
  }
  CUSTODY_TRY(add_package_file(options.input, checked.package_files));
  return extract(options.input, cancel, checked.bag, out);
}

// Every byte released must be the sender's: each file of the bag must be listed in the signed
// tag manifest, or be a payload file of manifest-sha256.txt (which the tag manifest lists). The
// exceptions are the tag manifest itself, the signature and its token (each checked for what it
// is), and tagmanifest-sha512.txt when it says exactly what the signed tag manifest implies: the
// same files in the same order (the bag's validation checked its hashes).
void check_coverage(const std::string& bag, Receiving& out) {
  auto tags = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  if (!tags) {
    return;  // the sender's check says that nothing is signed
  }
  const auto decoded = [](const std::string& raw) {
    internal::BagPath path = internal::check_bag_path(raw, true);
    return path.error.empty() ? path.path : raw;
  };
  std::set<std::string> covered{"tagmanifest-sha256.txt", k_signature_member, k_token_member};
  const auto tag_lines = manifest_lines(*tags);
  for (const auto& [digest, name] : tag_lines) {
    covered.insert(decoded(name));
  }
  if (covered.count("manifest-sha256.txt") != 0) {
    if (auto payload = internal::read_small_file(bag + "/manifest-sha256.txt", k_tag_limit)) {
      for (const auto& [digest, name] : manifest_lines(*payload)) {
        covered.insert(decoded(name));
      }
    }
  }
  if (auto sha512 = internal::read_small_file(bag + "/tagmanifest-sha512.txt", k_tag_limit)) {
    const auto lines = manifest_lines(*sha512);
    bool same = lines.size() == tag_lines.size();
    std::string implied;
    for (std::size_t i = 0; same && i < lines.size(); ++i) {
      same = lines[i].second == tag_lines[i].second;
      implied += lines[i].first + "  " + lines[i].second + "\n";
    }
    if (!same || implied != *sha512) {
      out.fail("tagmanifest-sha512.txt",
               "the sender's signature does not cover it: it must list exactly the files of the "
               "signed tagmanifest-sha256.txt, in the same order");
    }
    covered.insert("tagmanifest-sha512.txt");
  }
  std::error_code failure;
  std::vector<std::string> directories;
  for (auto walk = fs::recursive_directory_iterator(bag, failure);
       !failure && walk != fs::recursive_directory_iterator(); walk.increment(failure)) {
    const std::string relative = walk->path().lexically_relative(bag).generic_string();
    if (walk->symlink_status(failure).type() == fs::file_type::directory) {
      directories.push_back(relative);
    } else if (covered.count(relative) == 0) {
      out.fail(relative,
               "the package holds this file, but the sender's signature does not cover it (no "
               "signed manifest lists it); it is not released");
    }
  }
  for (const std::string& directory : directories) {
    const auto below = covered.lower_bound(directory + "/");
    if (below == covered.end() || !below->starts_with(directory + "/")) {
      out.fail(directory + "/",
               "the package holds this directory, but no file the sender signed is in it");
    }
  }
  if (failure) {
    out.fail("bag", "cannot list the bag: " + failure.message());
  }
}

// The facts as custody/transfer.json states them.
void read_facts(const json& transfer, TransferFacts& facts) {
  const json stated = transfer.contains("facts") ? transfer["facts"] : json::object();
  for (const FactField& field : k_fact_fields) {
    facts.*field.member =
        stated.is_object() && stated.contains(field.key) && stated[field.key].is_string()
            ? stated[field.key].get<std::string>()
            : std::string();
  }
}

// bag-info.txt's "Label: value" lines (the first of each label).
std::map<std::string, std::string> bag_info_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos && !line.empty() && line.front() != ' ' &&
        line.front() != '\t') {
      const std::size_t value = line.find_first_not_of(" \t", colon + 1);
      fields.emplace(line.substr(0, colon),
                     value == std::string::npos ? std::string() : line.substr(value));
    }
    at = end + 1;
  }
  return fields;
}

// Where each fact is in bag-info.txt and in a "packaged" event (custody-package(5)).
struct FactPlace {
  std::string TransferFacts::*member;
  const char* words;
  const char* label;
  const char* event;  // JSON pointer into the event, or nullptr: not in the event
};
constexpr std::array<FactPlace, 10> k_fact_places{{
    {&TransferFacts::sending_authority, "sending authority", "Sending-Authority",
     "/actor/organisation"},
    {&TransferFacts::receiving_authority, "receiving authority", "Receiving-Authority",
     "/details/receiving_authority"},
    {&TransferFacts::requesting_state, "requesting state", "Requesting-State",
     "/details/requesting_state"},
    {&TransferFacts::requested_state, "requested state", "Requested-State",
     "/location/jurisdiction"},
    {&TransferFacts::legal_basis, "legal basis", "Legal-Basis", "/legal/basis"},
    {&TransferFacts::request_reference, "request reference", "Request-Reference",
     "/legal/reference"},
    {&TransferFacts::purpose, "purpose", "Purpose", "/purpose"},
    {&TransferFacts::use_limits, "use limits", "Use-Limits", "/details/use_limits"},
    {&TransferFacts::contact_name, "contact name", "Contact-Name", nullptr},
    {&TransferFacts::contact_email, "contact email", "Contact-Email", nullptr},
}};

// The facts and the signer against what the sender recorded when packing: bag-info.txt must state
// what custody/transfer.json states, and every item's "packaged" event (signed in the container's
// log, proven by its proof) must be signed by the package's signer and record the same facts. So
// a package signed again by someone else, or with other facts, is refused even when its new
// signer holds a certificate of a trusted CA.
void check_facts(const std::string& bag,
                 const json& transfer,
                 const std::map<std::string, std::string>& listed,
                 const std::set<std::string>& allowed_signers,
                 Receiving& out) {
  TransferFacts& stated = out.result.facts;
  read_facts(transfer, stated);
  bool confirmed = true;
  const auto differ = [&](std::string subject, std::string detail) {
    out.fail(std::move(subject), std::move(detail));
    confirmed = false;
  };
  auto info_text = internal::read_small_file(bag + "/bag-info.txt", k_tag_limit);
  const auto info = info_text ? bag_info_fields(*info_text) : std::map<std::string, std::string>{};
  const auto info_value = [&](const char* label) {
    const auto found = info.find(label);
    return found == info.end() ? std::string() : found->second;
  };
  for (const FactPlace& place : k_fact_places) {
    const std::string& value = stated.*place.member;
    if (info_value(place.label) != value) {
      differ("facts", fmt::format("bag-info.txt says {}: \"{}\", but custody/transfer.json says "
                                  "\"{}\"",
                                  place.label, info_value(place.label), value));
    }
  }
  if (info_value("Custody-Package-Id") != out.result.package_id) {
    differ("facts",
           "the Custody-Package-Id of bag-info.txt is not the package identifier of "
           "custody/transfer.json");
  }
  for (const json& item : transfer["items"]) {
    const std::string payload = text_at(item, "/payload");
    const std::string proof_name = text_at(item, "/proof");
    if (!proof_name.starts_with("custody/items/") || proof_name.find("..") != std::string::npos ||
        listed.count(proof_name) == 0) {
      confirmed = false;  // the item's check names it
      continue;
    }
    auto proof_text = internal::read_small_file(bag + "/" + proof_name, k_tag_limit);
    const json proof = proof_text ? internal::parse_untrusted_json(*proof_text) : json();
    const json event = proof.is_object() && proof.contains(json::json_pointer("/event/event"))
                           ? proof.at(json::json_pointer("/event/event"))
                           : json();
    if (!event.is_object()) {
      confirmed = false;  // the item's check names it
      continue;
    }
    const std::string packer = text_at(event, "/actor/certificate_sha256");
    if (!out.result.sender_fingerprint.empty() && packer != out.result.sender_fingerprint &&
        allowed_signers.count(out.result.sender_fingerprint) != 0) {
      out.warn("sender",
               fmt::format("the package is signed by {}, who did not pack {} (its "
                           "\"packaged\" event is signed by the certificate with "
                           "SHA-256 {}): accepted with --allow-signer",
                           out.result.sender_subject, payload, packer.empty() ? "(none)" : packer));
    } else if (!out.result.sender_fingerprint.empty() && packer != out.result.sender_fingerprint) {
      differ("sender",
             fmt::format("the package is signed by {}, but {} was packaged by another signer (its "
                         "\"packaged\" event is signed by the certificate with SHA-256 {}): the "
                         "package was signed again by someone who did not pack it",
                         out.result.sender_subject, payload, packer.empty() ? "(none)" : packer));
    }
    for (const FactPlace& place : k_fact_places) {
      if (place.event == nullptr) {
        continue;
      }
      const std::string recorded = text_at(event, place.event);
      if (recorded != stated.*place.member) {
        differ("facts", fmt::format("the {} differs: custody/transfer.json says \"{}\", but the "
                                    "\"packaged\" event of {}, which the sender signed when "
                                    "packing, says \"{}\"",
                                    place.words, stated.*place.member, payload, recorded));
      }
    }
  }
  out.result.facts_confirmed = confirmed && !out.result.sender_fingerprint.empty();
  if (out.result.facts_confirmed) {
    out.pass("facts",
             "bag-info.txt, custody/transfer.json and every item's \"packaged\" event, signed by "
             "the sender when packing, state the same facts");
  }
}

// The sender's signature over the tag manifest, its timestamp, and the validity of the sender's
// certificate: one that has expired since is accepted only when a trusted timestamp proves the
// signature was made before (or with accept_expired_signers).
void check_sender(const PackageCheckOptions& options,
                  const std::string& bag,
                  const json& transfer,
                  Receiving& out) {
  auto manifest = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  auto signature = internal::read_small_file(bag + "/" + k_signature_member, k_tag_limit);
  if (!manifest || !signature) {
    out.fail("sender", "the package carries no signature over tagmanifest-sha256.txt");
    return;
  }
  if (options.trust.empty()) {
    out.not_checked("sender", "no --trust given: the sender's certificate cannot be checked");
    return;
  }
  auto check = verify_detached(*signature, *manifest, options.trust);
  if (!check || !check->signature_valid) {
    out.fail("sender",
             "the signature over tagmanifest-sha256.txt does not verify: the package "
             "was altered or the signature forged");
    return;
  }
  out.result.sender_subject = check->signer.subject;
  if (!check->chain_trusted) {
    out.fail("sender", fmt::format("signed by {}, who is not vouched for by the given CAs ({})",
                                   check->signer.subject, check->trust_problem));
    return;
  }
  if (text_at(transfer, "/sender/sha256_fingerprint") != check->signer.sha256_fingerprint) {
    out.fail("sender", "the signer is not the sender named in custody/transfer.json");
    return;
  }
  // The tag manifest must list what the signature is meant to cover.
  const std::map<std::string, std::string> listed = manifest_entries(*manifest);
  for (const char* required : {"bag-info.txt", "manifest-sha256.txt", k_transfer_member}) {
    if (listed.count(required) == 0) {
      out.fail("sender", fmt::format("the signed tag manifest does not list {}", required));
      return;
    }
  }
  out.result.sender_fingerprint = check->signer.sha256_fingerprint;
  auto token = internal::read_small_file(bag + "/" + k_token_member, k_tag_limit);
  std::optional<TimestampCheck> stamp;
  if (token) {
    if (auto checked = verify_timestamp(*token, *signature, options.tsa_trust)) {
      stamp = *checked;
    }
  }
  const bool trusted_time =
      stamp && stamp->imprint_matches && stamp->signature_valid && !options.tsa_trust.empty();
  const std::string& expiry = check->signer.not_after;
  const bool expired = !expiry.empty() && expiry < utc_now();
  if (expired && !(trusted_time && stamp->time <= expiry)) {
    const std::string why = fmt::format(
        "signed by {}, whose certificate has expired (on {}), and no trusted time proves that the "
        "package was signed before ({}); its date, {}, is the sender's own claim",
        check->signer.subject, expiry,
        !token          ? "it is not timestamped"
        : !trusted_time ? "its timestamp is not checked against a TSA you trust: give "
                          "--tsa-trust"
                        : "its timestamp is later than the expiry",
        check->signing_time.empty() ? std::string("unknown") : check->signing_time);
    if (options.accept_expired_signers) {
      out.warn("sender", why + " (accepted with --accept-expired-signers)");
    } else {
      out.fail("sender", why + "; if you accept that claim, give --accept-expired-signers");
    }
  } else {
    out.pass("sender",
             fmt::format("signed by {} ({}){}", check->signer.subject, check->signing_time,
                         expired ? fmt::format("; the certificate expired on {}, after "
                                               "the trusted time of the signature",
                                               expiry)
                                 : std::string()));
  }
  if (!token) {
    out.warn("time", "the sender's signature is not timestamped: its time is the sender's claim");
  } else if (!stamp || !stamp->imprint_matches) {
    out.fail("time", "the timestamp is not over the sender's signature");
  } else if (!stamp->signature_valid && !options.tsa_trust.empty()) {
    out.fail("time", "the timestamp is not from a TSA the given CAs vouch for");
  } else if (!stamp->signature_valid || options.tsa_trust.empty()) {
    out.warn("time", fmt::format("packed by {} at the latest, by a TSA not checked (give "
                                 "--tsa-trust)",
                                 stamp->time));
  } else {
    out.pass("time", fmt::format("signed by {} at the latest (trusted time by {})", stamp->time,
                                 stamp->tsa_subject));
  }
}

// Every payload file must be an item of the transfer statement (a signed file the statement does
// not declare would be released unchecked), and bag-info's count must agree.
void check_declared_payload(const std::string& bag, const json& transfer, Receiving& out) {
  std::set<std::string> declared;
  for (const json& item : transfer["items"]) {
    declared.insert(text_at(item, "/payload"));
  }
  std::error_code ignored;
  for (auto entry = fs::recursive_directory_iterator(bag + "/data", ignored);
       entry != fs::recursive_directory_iterator(); entry.increment(ignored)) {
    if (entry->is_regular_file(ignored)) {
      const std::string name = "data/" + fs::relative(entry->path(), bag + "/data").string();
      if (declared.count(name) == 0) {
        out.fail(name, "the package holds it, but custody/transfer.json does not declare it");
      }
    }
  }
  auto info = internal::read_small_file(bag + "/bag-info.txt", k_tag_limit);
  const std::string count = fmt::format("\nNumber-Of-Items: {}\n", transfer["items"].size());
  if (info && info->find("Number-Of-Items:") != std::string::npos &&
      ("\n" + *info).find(count) == std::string::npos) {
    out.fail("bag-info.txt", "its Number-Of-Items differs from the items declared");
  }
}

// One container: verified in full, its log extending the packed proof, its hashes as declared;
// in a received bag, its "received" event as the manifest says it arrived.
void check_item(const PackageCheckOptions& options,
                const CancelToken* cancel,
                const std::string& bag,
                const json& item,
                const std::string& package_id,
                Receiving& out,
                const std::map<std::string, std::string>& listed,
                const std::map<std::string, Arrival>& arrivals) {
  const std::string payload = text_at(item, "/payload");
  const std::string proof_name = text_at(item, "/proof");
  if (payload.find("..") != std::string::npos || !payload.starts_with("data/") ||
      proof_name.find("..") != std::string::npos || !proof_name.starts_with("custody/items/") ||
      listed.count(proof_name) == 0) {
    out.fail(payload.empty() ? "item" : payload,
             "custody/transfer.json names an item or proof outside the signed bag");
    return;
  }
  const std::string path = bag + "/" + payload;
  VerifyOptions verify;
  verify.trust_files = options.trust;
  verify.tsa_trust_files = options.tsa_trust;
  verify.accept_expired_signers = options.accept_expired_signers;
  auto report = verify_container({path}, verify, nullptr, cancel);
  if (!report) {
    out.fail(payload, "cannot be read as a container: " + report.error().message);
    return;
  }
  bool verified = true;
  for (const Check& check : report->checks) {
    if (check.verdict != Verdict::fail) {
      continue;
    }
    if (check.kind == CheckKind::seal && check.subject == "container") {
      // No seal of its own: the sender's signature over the bag vouches for its bytes.
      out.warn(payload,
               "the container carries no seal of its own; the sender's signature over "
               "the package covers its bytes");
      continue;
    }
    verified = false;
    out.fail(payload, describe_check(check));
  }
  if (!verified) {
    return;
  }
  const std::string proof_path = bag + "/" + proof_name;
  auto proof_text = internal::read_small_file(proof_path, k_tag_limit);
  auto proof = proof_text ? check_custody_proof(*proof_text, options.trust, options.tsa_trust)
                          : Result<ProofCheck>(tl::unexpected(proof_text.error()));
  if (!proof || !proof->valid) {
    out.fail(payload, "the inclusion proof of its \"packaged\" event does not hold");
    return;
  }
  auto log = verify_custody_log(path, options.trust, options.tsa_trust, {proof_path});
  if (!log || !log->intact) {
    out.fail(payload, "its custody log does not extend the tree head the sender packed");
    return;
  }
  if (log->log.trailing_bytes != 0) {
    // custody-pack and custody-receive only append complete events: anything after the last end
    // record was added by something else.
    out.fail(payload, fmt::format("{} bytes follow the container's last complete end record: "
                                  "something that is not a custody event was added to it",
                                  log->log.trailing_bytes));
    return;
  }
  const json packed = internal::parse_untrusted_json(*proof_text);
  if (text_at(packed, "/event/event/details/package_id") != package_id ||
      text_at(packed, "/event/event/action") != "packaged") {
    out.fail(payload, "its proof is of an event of another package");
    return;
  }
  if (!item.contains("image_hashes") || item["image_hashes"] != json(log->log.image_hashes) ||
      text_at(item, "/log_id") != log->log.log_id) {
    out.fail(payload, "its image hashes or log differ from what custody/transfer.json declares");
    return;
  }
  std::string received;
  if (!arrivals.empty()) {
    const auto arrival = arrivals.find(payload);
    if (arrival == arrivals.end()) {
      out.fail(payload,
               "the other items hold their \"received\" event, this one does not: it is not the "
               "container that was received (cut back, or replaced)");
      return;
    }
    auto manifest = internal::read_small_file(bag + "/manifest-sha256.txt", k_tag_limit);
    const auto entries =
        manifest ? manifest_entries(*manifest) : std::map<std::string, std::string>{};
    const auto listed_sha256 = entries.find(payload);
    if (listed_sha256 == entries.end() || arrival->second.sha256 != listed_sha256->second) {
      out.fail(payload, fmt::format("its \"received\" event (event {}) records other bytes than "
                                    "manifest-sha256.txt lists",
                                    arrival->second.event));
      return;
    }
    received =
        fmt::format(", received as event {} by {} at {} ({} bytes arrived)", arrival->second.event,
                    arrival->second.by, arrival->second.time, arrival->second.size);
  }
  const auto sha256 = log->log.image_hashes.find("sha256");
  std::uint64_t packaged_event = 0;
  if (item.contains("packaged_event") && item["packaged_event"].is_number_unsigned()) {
    packaged_event = item["packaged_event"].get<std::uint64_t>();
  }
  out.pass(payload,
           fmt::format("intact: {} events, packaged as event {}{}{}", log->log.events.size(),
                       packaged_event, received,
                       sha256 == log->log.image_hashes.end() ? std::string()
                                                             : ", image sha256 " + sha256->second));
  PackedItem checked;
  checked.container = path;
  checked.payload_name = payload;
  checked.packaged_event = packaged_event;
  checked.log_id = log->log.log_id;
  if (const auto arrival = arrivals.find(payload); arrival != arrivals.end()) {
    checked.size = arrival->second.size;
    checked.sha256 = arrival->second.sha256;
    checked.received_event = arrival->second.event;
  }
  out.result.items.push_back(std::move(checked));
}

Result<void> record_receipt(const ReceiveOptions& options,
                            const Identity& receiver,
                            const std::string& bag,
                            const json& transfer,
                            const json& package_files,
                            ReceiveResult& result) {
  auto manifest = internal::read_small_file(bag + "/manifest-sha256.txt", k_tag_limit);
  CUSTODY_TRY(manifest);
  const std::map<std::string, std::string> payload_hashes = manifest_entries(*manifest);
  json items = json::array();
  result.items.clear();
  for (const json& item : transfer["items"]) {
    const std::string payload = text_at(item, "/payload");
    const std::string path = bag + "/" + payload;
    std::error_code ignored;
    PackedItem received;
    received.container = options.output + "/" + payload;
    received.payload_name = payload;
    received.log_id = text_at(item, "/log_id");
    received.size = fs::file_size(path, ignored);
    if (item.contains("packaged_event") && item["packaged_event"].is_number_unsigned()) {
      received.packaged_event = item["packaged_event"].get<std::uint64_t>();
    }
    // The bag's validation hashed every payload file against manifest-sha256.txt already.
    const auto validated = payload_hashes.find(payload);
    if (validated == payload_hashes.end()) {
      return make_error(Errc::internal, payload + " is not in the validated manifest");
    }
    received.sha256 = validated->second;
    std::transform(received.sha256.begin(), received.sha256.end(), received.sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    EventDraft draft;
    draft.action = "received";
    draft.tool_name = "custody-receive";
    draft.details = {{"package_id", result.package_id},
                     {"sender", result.sender_subject},
                     {"arrived_size", std::to_string(received.size)},
                     {"arrived_sha256", received.sha256}};
    auto added = append_custody_event(path, draft, &receiver);
    CUSTODY_TRY(added);
    received.received_event = added->sequence;
    items.push_back(json{{"payload", payload},
                         {"log_id", received.log_id},
                         {"size", received.size},
                         {"sha256", received.sha256},
                         {"image_hashes", item.value("image_hashes", json::object())},
                         {"received_event", added->sequence}});
    result.items.push_back(std::move(received));
  }
  const CertificateFacts& facts = receiver.certificate();
  json receipt{
      {"format", k_receipt_format},
      {"version", 1},
      {"package_id", result.package_id},
      {"received_at", utc_now()},
      {"receiver",
       json{{"subject", facts.subject}, {"sha256_fingerprint", facts.sha256_fingerprint}}},
      {"sender", json{{"subject", result.sender_subject},
                      {"sha256_fingerprint", text_at(transfer, "/sender/sha256_fingerprint")}}},
      {"package", json{{"files", package_files}}},
      {"items", items}};
  const std::string bytes = canonical(receipt);
  auto signature = receiver.sign_detached(bytes);
  CUSTODY_TRY(signature);
  result.receipt_path = options.receipt;  // receive() gave it its default
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path, bytes, false));
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path + ".p7s", *signature, false));
  return {};
}

// An output name that exists: said plainly when it holds a package received before.
tl::unexpected<Error> existing_output(const std::string& path, bool receipt) {
  std::string package_id;
  std::string when;
  if (receipt) {
    auto text = internal::read_small_file(path, k_tag_limit);
    const json prior = text ? internal::parse_untrusted_json(*text) : json();
    package_id = text_at(prior, "/package_id");
    when = text_at(prior, "/received_at");
  } else {
    auto text = internal::read_small_file(path + "/" + k_transfer_member, k_tag_limit);
    package_id = text ? text_at(internal::parse_untrusted_json(*text), "/package_id") : "";
  }
  if (package_id.empty()) {
    return tl::unexpected(
        Error{Errc::already_exists,
              receipt ? "refusing to overwrite the receipt" : "refusing to overwrite",
              path,
              {},
              0,
              receipt ? "move it away, or give another name with --receipt"
                      : "receive into a new directory"});
  }
  return tl::unexpected(Error{
      Errc::already_exists,
      fmt::format("refusing to overwrite {}: it holds package {}, received {}(if that is this "
                  "package, it was received already)",
                  receipt ? "the receipt" : "the output", package_id,
                  when.empty() ? std::string() : "at " + when + " "),
      path,
      {},
      0,
      receipt ? "check what was received with custody-verify DIR --trust ...; to receive another "
                "package, give another --receipt"
              : "check what was received with custody-verify " + path +
                    " --trust ...; to receive another package, give a new directory"});
}

}  // namespace

namespace {

// What is read before anything is unpacked: the signers allowed and the package's own files.
struct PackageInputs {
  std::set<std::string> allowed_signers;  // SHA-256 fingerprints
  bool encrypted = false;
  std::optional<EnvelopeIndex> index;  // of an encrypted package
  internal::InputGuard files;          // which no output may be (by device and inode)
};

// Signers the user allows to sign packages that others packed, by fingerprint.
Result<std::set<std::string>> read_allowed_signers(const std::vector<std::string>& files) {
  std::set<std::string> allowed;
  for (const std::string& file : files) {
    CUSTODY_TRY(not_a_directory(file, "a certificate",
                                "give --allow-signer the signer's certificate file (PEM or DER)"));
    auto certificates = internal::read_certificate_file(file, "allowed signer's certificate");
    if (!certificates && certificates.error().code != Errc::not_found) {
      return tl::unexpected(Error{Errc::invalid_argument,
                                  "this file holds no certificate",
                                  file,
                                  {},
                                  0,
                                  "give --allow-signer the signer's certificate (PEM or DER)"});
    }
    CUSTODY_TRY(certificates);
    for (const internal::X509Ptr& certificate : *certificates) {
      allowed.insert(internal::certificate_facts(certificate.get()).sha256_fingerprint);
    }
  }
  return allowed;
}

// The allowed signers, and the package's files: there, and, when encrypted, its index and segments.
Result<PackageInputs> guard_package_inputs(const PackageCheckOptions& options) {
  PackageInputs inputs;
  auto allowed = read_allowed_signers(options.allowed_signers);
  CUSTODY_TRY(allowed);
  inputs.allowed_signers = std::move(*allowed);
  inputs.encrypted = is_encrypted_package(options.input);
  std::error_code ignored;
  if (!inputs.encrypted && !fs::exists(options.input, ignored)) {
    return tl::unexpected(Error{Errc::not_found, "no such package", options.input, {}, 0, {}});
  }
  inputs.files.add(options.input);
  if (inputs.encrypted) {
    auto index = read_envelope_index(options.input);
    CUSTODY_TRY(index);
    const std::string index_path = index_path_of(options.input);
    const fs::path directory = fs::path(index_path).parent_path();
    inputs.files.add(index_path);
    for (const EnvelopeSegment& segment : index->segments) {
      inputs.files.add((directory / segment.ciphertext).string());
      inputs.files.add((directory / segment.envelope).string());
    }
    inputs.index = std::move(*index);
  }
  return inputs;
}

// A key the package is not for is found before anything is decrypted.
Result<void> check_recipient(const EnvelopeIndex& index, const Identity& receiver) {
  const std::string& mine = receiver.certificate().sha256_fingerprint;
  std::string recipients;
  bool found = false;
  for (const CertificateFacts& recipient : index.recipients) {
    found = found || recipient.sha256_fingerprint == mine;
    recipients += (recipients.empty() ? "" : "; ") + recipient.subject;
  }
  if (found) {
    return {};
  }
  return tl::unexpected(
      Error{Errc::invalid_argument,
            fmt::format("this package is not encrypted to the certificate {}; it is for: {}",
                        receiver.certificate().subject, recipients),
            {},
            {},
            0,
            "give the key and certificate of one of those recipients (--key, --cert)"});
}

// What is refused before the package is unpacked: a directory that is not a bag, an encrypted
// package not for the receiver. False when the package cannot be checked at all: encrypted, and no
// receiver's key (only verifying), which is said as the check that could not be made.
Result<bool> check_before_unpacking(const PackageCheckOptions& options,
                                    const PackageInputs& inputs,
                                    const Identity* receiver,
                                    Receiving& out) {
  std::error_code ignored;
  if (!inputs.encrypted && fs::is_directory(options.input, ignored) &&
      !fs::exists(fs::path(options.input) / "bagit.txt", ignored)) {
    return tl::unexpected(Error{Errc::invalid_argument,
                                "this is a directory, but not a bag (it holds no bagit.txt)",
                                options.input,
                                {},
                                0,
                                "give a package made by custody-pack: NAME.tar, NAME.zip, "
                                "NAME.tar.enc.json or a bag directory"});
  }
  if (!inputs.encrypted) {
    return true;
  }
  if (receiver == nullptr) {
    out.not_checked("package",
                    "it is encrypted: give the receiver's key and certificate (--key, --cert) "
                    "to check it");
    return false;
  }
  CUSTODY_TRY(check_recipient(*inputs.index, *receiver));
  return true;
}

// custody/transfer.json, when it is a transfer statement (version 1) with items; null (said as a
// failed check) otherwise.
json read_transfer_statement(const std::string& bag, Receiving& out) {
  auto text = internal::read_small_file(bag + "/" + k_transfer_member, k_tag_limit);
  json transfer = text ? internal::parse_untrusted_json(*text) : json();
  if (!transfer.is_object() || text_at(transfer, "/format") != k_transfer_format ||
      !transfer.contains("version") || transfer["version"] != 1 || !transfer.contains("items") ||
      !transfer["items"].is_array() || transfer["items"].empty()) {
    out.fail("transfer",
             "custody/transfer.json is missing, lists no item, or is not a custody "
             "transfer statement (version 1)");
    return json();
  }
  return transfer;
}

// The checks of the unpacked bag, in order: what the sender's signature covers, the payload
// declared, the sender, the facts, then each item.
Result<void> check_bag(const PackageCheckOptions& options,
                       const std::set<std::string>& allowed_signers,
                       const CancelToken* cancel,
                       CheckedPackage& checked) {
  Receiving out{checked.result};
  const std::string& bag = checked.bag;
  const json& transfer = checked.transfer;
  checked.result.package_id = text_at(transfer, "/package_id");
  check_coverage(bag, out);
  check_declared_payload(bag, transfer, out);
  check_sender(options, bag, transfer, out);
  auto manifest = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  const std::map<std::string, std::string> listed =
      manifest ? manifest_entries(*manifest) : std::map<std::string, std::string>{};
  check_facts(bag, transfer, listed, allowed_signers, out);
  for (const json& item : transfer["items"]) {
    check_item(options, cancel, bag, item, checked.result.package_id, out, listed,
               checked.arrivals);
    if (cancel != nullptr && cancel->cancelled()) {
      // Nothing is released or recorded: the private directory goes with the checked package.
      return make_error(Errc::cancelled, "receiving was interrupted; nothing was released");
    }
  }
  return {};
}

// The one sequence of checks of a package, for verify_package and receive_transfer: what is
// refused before unpacking, then the package unpacked into a private directory (beside
// `scratch_beside`, or in the system's temporary directory when that is empty), then the bag's
// checks. It stops at the first check that leaves nothing more to check; the result's checks say
// which.
Result<CheckedPackage> check_transfer_package(const PackageCheckOptions& options,
                                              const PackageInputs& inputs,
                                              const Identity* receiver,
                                              Purpose purpose,
                                              const std::string& scratch_beside,
                                              const CancelToken* cancel) {
  CheckedPackage checked;
  Receiving out{checked.result};
  auto ready = check_before_unpacking(options, inputs, receiver, out);
  CUSTODY_TRY(ready);
  if (!*ready) {
    return checked;
  }
  auto scratch = PrivateDirectory::create(scratch_beside);
  CUSTODY_TRY(scratch);
  checked.scratch.emplace(std::move(*scratch));
  checked.bag = checked.scratch->file("bag");
  auto unpacked = unpack(options, purpose, receiver, cancel, checked);
  CUSTODY_TRY(unpacked);
  if (!*unpacked) {
    return checked;
  }
  checked.result.received_bag = !checked.arrivals.empty();
  checked.transfer = read_transfer_statement(checked.bag, out);
  if (checked.transfer.is_null()) {
    return checked;
  }
  CUSTODY_TRY(check_bag(options, inputs.allowed_signers, cancel, checked));
  return checked;
}

// Receiving needs what verifying does not: an output, --trust, and a receiver who can sign the
// receipt. What the user must fix comes before the package is unpacked, which may take hours.
Result<void> check_receive_options(const ReceiveOptions& options, const Identity* receiver) {
  if (options.output.empty()) {
    return make_error(Errc::invalid_argument, "no output directory given (-o DIR)");
  }
  if (receiver == nullptr) {
    return make_error(Errc::invalid_argument, "receiving needs the receiver's identity");
  }
  if (options.check.trust.empty()) {
    return tl::unexpected(Error{Errc::invalid_argument,
                                "--trust is required: a package is only worth its sender's "
                                "certificate, which is checked against the CAs you trust",
                                {},
                                {},
                                0,
                                "give the PEM file of the sending authority's CA (and of the "
                                "lab that sealed the evidence) with --trust"});
  }
  // The receipt will be signed: a receiver who cannot sign learns it before the package is
  // unpacked.
  return receiver->check_can_sign();
}

// The output directory, the receipt and its signature: none of them one of the package's files,
// each in a directory that exists, none there yet.
Result<void> check_receive_outputs(const ReceiveOptions& options,
                                   const internal::InputGuard& package_files) {
  const std::string& receipt = options.receipt;
  for (const std::string& output : {options.output, receipt, receipt + ".p7s"}) {
    CUSTODY_TRY(package_files.check_output(output));
  }
  CUSTODY_TRY(internal::check_output_directory(options.output));
  CUSTODY_TRY(internal::check_output_directory(receipt));
  std::error_code ignored;
  if (fs::exists(fs::symlink_status(options.output, ignored))) {
    return existing_output(options.output, false);
  }
  CUSTODY_TRY(not_a_directory(receipt, "a receipt file",
                              "--receipt names the file to write, which must not exist"));
  for (const std::string& path : {receipt, receipt + ".p7s"}) {
    if (fs::exists(fs::symlink_status(path, ignored))) {
      return existing_output(receipt, true);
    }
  }
  return {};
}

// A package that checked out: "received" recorded in every container, the receipt written, and
// only then the bag renamed to the output.
Result<void> release(const ReceiveOptions& options,
                     const Identity& receiver,
                     CheckedPackage& checked) {
  CUSTODY_TRY(record_receipt(options, receiver, checked.bag, checked.transfer,
                             checked.package_files, checked.result));
  ::chmod(checked.bag.c_str(), 0755);
  std::error_code failure;
  fs::rename(checked.bag, options.output, failure);
  if (failure) {
    return make_error(Errc::io_error, fmt::format("cannot move the received bag to {}: {}",
                                                  options.output, failure.message()));
  }
  CUSTODY_TRY(internal::fsync_parent_directory(options.output));
  checked.result.accepted = true;
  return {};
}

Result<ReceiveResult> verify(const PackageCheckOptions& options,
                             const Identity* receiver,
                             const CancelToken* cancel) {
  auto inputs = guard_package_inputs(options);
  CUSTODY_TRY(inputs);
  auto checked = check_transfer_package(options, *inputs, receiver, Purpose::verify, "", cancel);
  CUSTODY_TRY(checked);
  checked->result.accepted = !any_failed(checked->result.checks);
  return std::move(checked->result);  // the private directory goes with `checked`
}

Result<ReceiveResult> receive(const ReceiveOptions& given,
                              const Identity* receiver,
                              const CancelToken* cancel) {
  ReceiveOptions options = given;
  while (options.output.size() > 1 && options.output.back() == '/') {
    options.output.pop_back();  // "received/" names the same new directory
  }
  if (options.receipt.empty()) {
    options.receipt = options.output + ".receipt.json";  // after the output lost its '/'
  }
  CUSTODY_TRY(check_receive_options(options, receiver));
  auto inputs = guard_package_inputs(options.check);
  CUSTODY_TRY(inputs);
  CUSTODY_TRY(check_receive_outputs(options, inputs->files));
  auto checked = check_transfer_package(options.check, *inputs, receiver, Purpose::receive,
                                        options.output, cancel);
  CUSTODY_TRY(checked);
  if (!any_failed(checked->result.checks)) {
    CUSTODY_TRY(release(options, *receiver, *checked));
  }
  // Rejected: the private directory goes with `checked`, and nothing is released.
  return std::move(checked->result);
}

}  // namespace

// JSON of the wrong shape anywhere in a package or receipt is corrupt input, never a crash.
Result<ReceiveResult> verify_package(const PackageCheckOptions& options,
                                     const Identity* receiver,
                                     ProgressSink* /*progress*/,
                                     const CancelToken* cancel) {
  return internal::json_errors_are_corrupt("the package's JSON is not valid",
                                           [&] { return verify(options, receiver, cancel); });
}

Result<ReceiveResult> receive_transfer(const ReceiveOptions& options,
                                       const Identity* receiver,
                                       ProgressSink* /*progress*/,
                                       const CancelToken* cancel) {
  return internal::json_errors_are_corrupt("the package's JSON is not valid",
                                           [&] { return receive(options, receiver, cancel); });
}

namespace {

// The members both documents share; `paths`: each item's path as received.
std::string package_document(json out, const ReceiveResult& result, bool paths) {
  const auto text_or_null = [](const std::string& text) {
    return text.empty() ? json() : json(text);
  };
  json checks = json::array();
  for (const ReceiveCheck& check : result.checks) {
    checks.push_back(json{{"subject", check.subject},
                          {"result", verdict_name(check.verdict)},
                          {"detail", check.detail}});
  }
  json items = json::array();
  for (const PackedItem& item : result.items) {
    json entry{{"payload", item.payload_name},
               {"log_id", item.log_id},
               {"packaged_event", item.packaged_event}};
    if (item.received_event != 0) {
      entry["size"] = item.size;
      entry["sha256"] = item.sha256;
      entry["received_event"] = item.received_event;
    }
    if (paths) {
      entry["path"] = item.container;
    }
    items.push_back(std::move(entry));
  }
  out["package_id"] = text_or_null(result.package_id);
  out["sender"] = result.sender_subject.empty()
                      ? json()
                      : json{{"subject", result.sender_subject},
                             {"sha256_fingerprint", text_or_null(result.sender_fingerprint)}};
  out["facts"] = facts_json(result.facts);
  out["facts_confirmed"] = result.facts_confirmed;
  out["checks"] = checks;
  out["items"] = items;
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string receive_result_to_json(const ReceiveResult& result, const ReceiveOptions& options) {
  const std::string& receipt = result.receipt_path;
  return package_document(
      json{{"format", "custody-receive-result"},
           {"version", 1},
           {"verdict", result.accepted ? "RECEIVED" : "REJECTED"},
           {"received", result.accepted},
           {"package", options.check.input},
           {"output", result.accepted ? json(options.output) : json()},
           {"receipt", result.accepted && !receipt.empty()
                           ? json{{"path", receipt}, {"signature", receipt + ".p7s"}}
                           : json()}},
      result, true);
}

std::string receive_result_to_json(const ReceiveResult& result,
                                   const PackageCheckOptions& options) {
  return package_document(json{{"format", "custody-package-verification"},
                               {"version", 1},
                               {"verdict", result.accepted ? "INTACT" : "NOT INTACT"},
                               {"intact", result.accepted},
                               {"package", options.input},
                               {"received_bag", result.received_bag}},
                          result, false);
}

namespace {
Result<ReceiptImport> import(const std::string& container,
                             const std::string& receipt_path,
                             const std::vector<std::string>& trust,
                             const Identity& identity);
}  // namespace

Result<ReceiptImport> import_receipt(const std::string& container,
                                     const std::string& receipt_path,
                                     const std::vector<std::string>& trust,
                                     const Identity& identity) {
  return internal::json_errors_are_corrupt(
      fmt::format("{} is not a valid receipt", receipt_path),
      [&] { return import(container, receipt_path, trust, identity); });
}

namespace {
Result<ReceiptImport> import(const std::string& container,
                             const std::string& receipt_path,
                             const std::vector<std::string>& trust,
                             const Identity& identity) {
  CUSTODY_TRY(identity.check_can_sign());
  auto bytes = internal::read_small_file(receipt_path, k_tag_limit);
  CUSTODY_TRY(bytes);
  auto signature = internal::read_small_file(receipt_path + ".p7s", k_tag_limit);
  if (!signature) {
    return make_error(Errc::not_found,
                      fmt::format("the receipt's signature {}.p7s is missing", receipt_path));
  }
  if (trust.empty()) {
    return make_error(Errc::invalid_argument,
                      "--trust is required: a receipt is only worth its signer's certificate");
  }
  auto check = verify_detached(*signature, *bytes, trust);
  CUSTODY_TRY(check);
  if (!check->signature_valid || !check->chain_trusted) {
    return make_error(
        Errc::corrupt,
        fmt::format("the receipt's signature does not verify against the given CAs "
                    "({})",
                    check->signature_valid ? check->trust_problem : "altered or forged"));
  }
  const json receipt = internal::parse_untrusted_json(*bytes);
  if (!receipt.is_object() || receipt.value("format", "") != k_receipt_format ||
      !receipt.contains("items") || !receipt["items"].is_array()) {
    return make_error(Errc::corrupt, receipt_path + " is not a custody receipt");
  }
  auto log = read_custody_log(container);
  CUSTODY_TRY(log);
  const json* found = nullptr;
  for (const json& item : receipt["items"]) {
    if (item.value("log_id", "") == log->log_id) {
      found = &item;
    }
  }
  if (found == nullptr) {
    return make_error(Errc::corrupt, fmt::format("the receipt does not name {} (its log {})",
                                                 container, log->log_id));
  }
  if (receipt.value("version", 0) != 1 || !found->contains("size") ||
      !(*found)["size"].is_number_unsigned()) {
    return make_error(Errc::corrupt, receipt_path + " is not a version 1 custody receipt");
  }
  if (receipt.value(json::json_pointer("/receiver/sha256_fingerprint"), std::string()) !=
      check->signer.sha256_fingerprint) {
    return make_error(Errc::corrupt, "the receipt is not signed by the receiver it names");
  }
  const std::string package_id = receipt.value("package_id", "");
  bool packaged = false;
  auto receipt_digest = sha256_of_file(receipt_path, std::nullopt);
  CUSTODY_TRY(receipt_digest);
  for (const LoggedEvent& event : log->events) {
    const auto id = event.details.find("package_id");
    packaged = packaged || (event.action == "packaged" && id != event.details.end() &&
                            id->second == package_id);
    const auto digest = event.details.find("receipt_sha256");
    if (event.action == "delivery-confirmed" && digest != event.details.end() &&
        digest->second == *receipt_digest) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("this receipt is already recorded (custody event {})", event.number));
    }
  }
  if (!packaged) {
    return make_error(Errc::corrupt,
                      fmt::format("{} was never packaged into {} (no \"packaged\" event names it)",
                                  container, package_id));
  }
  const auto size = found->value("size", std::uint64_t{0});
  auto prefix = sha256_of_file(container, size);
  if (!prefix || *prefix != found->value("sha256", "")) {
    return make_error(Errc::corrupt,
                      fmt::format("what the receiver got is not the first {} bytes of {}: it "
                                  "received other bytes than were sent",
                                  size, container));
  }
  ReceiptImport imported;
  imported.receiver_subject = check->signer.subject;
  imported.received_at = receipt.value("received_at", "");
  imported.package_id = receipt.value("package_id", "");
  EventDraft draft;
  draft.action = "delivery-confirmed";
  draft.tool_name = "custody-log";
  draft.details = {{"package_id", imported.package_id},
                   {"receiver", imported.receiver_subject},
                   {"received_at", imported.received_at},
                   {"receipt_sha256", *receipt_digest}};
  auto added = append_custody_event(container, draft, &identity);
  CUSTODY_TRY(added);
  imported.event = added->sequence;
  return imported;
}
}  // namespace

}  // namespace custody
