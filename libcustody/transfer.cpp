// SPDX-License-Identifier: Apache-2.0
// Transfer packages (transfer.hpp, custody-package(5)).
#include "internal/posix_file.hpp"
#include "internal/untrusted_json.hpp"

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
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
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
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string proof_member(const std::string& payload_name) {
  return "custody/items/" + payload_name + ".proof.json";
}

// SHA-256 of the first `length` bytes of `path` (all of it when nullopt), streamed.
Result<std::string> sha256_of_file(const std::string& path, std::optional<std::uint64_t> length) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  CUSTODY_TRY(hasher);
  std::vector<std::byte> buffer(std::size_t{1} << 20U);
  std::uint64_t done = 0;
  while (!length || done < *length) {
    std::span<std::byte> piece(buffer);
    if (length) {
      piece = piece.first(
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), *length - done)));
    }
    auto got = internal::pread_full(fd.get(), piece, path, done);
    CUSTODY_TRY(got);
    hasher->update(piece.first(*got));
    done += *got;
    if (*got < piece.size()) {
      break;
    }
  }
  // value_or rather than "length && done != *length": GCC merges that into one branch on both
  // values, which valgrind's memcheck reports as a jump on an uninitialised value.
  if (const std::uint64_t expected = length.value_or(done); done != expected) {
    return make_error(
        Errc::corrupt,
        fmt::format("{} is shorter ({} bytes) than the {} bytes expected", path, done, expected));
  }
  return hasher->finish_hex();
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
  std::error_code ignored;
  if (options.encrypt_to.empty() && fs::exists(options.output, ignored)) {
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
    auto reply = request_timestamp(options.tsa_url, *request, options.tsa_timeout);
    Result<std::string> token =
        reply ? token_from_reply(*reply, *request) : tl::unexpected(reply.error());
    if (token) {
      auto check = verify_timestamp(*token, *signature, {});
      result.timestamp_time = check ? check->time : std::string();
      result.timestamped = true;
      files.push_back({k_token_member, *token});
    } else {
      result.timestamp_problem = token.error().to_string();
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

Result<PackResult> pack_transfer(const PackOptions& options,
                                 const Identity& sender,
                                 ProgressSink* /*progress*/,
                                 const CancelToken* /*cancel*/) {
  CUSTODY_TRY(check_pack_options(options));
  CUSTODY_TRY(sender.check_can_sign());
  auto sink = open_package_sink(options);
  CUSTODY_TRY(sink);
  PackResult result;
  auto package_id = random_uuid_urn();
  CUSTODY_TRY(package_id);
  result.package_id = *package_id;

  BagSpec spec;
  json items = json::array();
  for (const std::string& container : options.containers) {
    auto packaged = record_packaged(container, options, result.package_id, sender);
    CUSTODY_TRY(packaged);
    auto log = read_custody_log(container);
    CUSTODY_TRY(log);
    PackedItem item;
    item.container = container;
    item.payload_name = "data/" + fs::path(container).filename().string();
    item.packaged_event = packaged->first;
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
  const CertificateFacts& signer = sender.certificate();
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

struct Receiving {
  ReceiveResult& result;
  void pass(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), true, false, std::move(detail)});
  }
  void warn(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), true, true, std::move(detail)});
  }
  void fail(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), false, false, std::move(detail)});
  }
  bool failed() const {
    return std::any_of(result.checks.begin(), result.checks.end(),
                       [](const ReceiveCheck& c) { return !c.passed; });
  }
};

bool is_encrypted_package(const std::string& input) {
  static const std::regex k_segment(R"(\.enc\.[0-9]{3,}(\.p7m)?$)");
  return input.ends_with(".enc.json") || std::regex_search(input, k_segment) ||
         fs::exists(input + ".enc.json");
}

// Decrypts (when encrypted) and extracts into `bag`. The package's files and hashes go into
// `package_files`.
Result<bool> unpack(const ReceiveOptions& options,
                    const Identity* receiver,
                    const PrivateDirectory& scratch,
                    const std::string& bag,
                    Receiving& out,
                    json& package_files) {
  std::string archive = options.input;
  std::error_code ignored;
  if (is_encrypted_package(options.input)) {
    auto arrived = check_package(options.input);
    CUSTODY_TRY(arrived);
    if (!arrived->complete) {
      std::string problems;
      for (const std::string& problem : arrived->problems) {
        problems += (problems.empty() ? "" : "; ") + problem;
      }
      out.fail("package", "incomplete or altered in transit: " + problems);
      return false;
    }
    auto index = read_envelope_index(options.input);
    CUSTODY_TRY(index);
    std::string index_path = options.input;
    if (!index_path.ends_with(".enc.json")) {
      const std::size_t at = index_path.rfind(".enc.");
      index_path = (at == std::string::npos ? index_path : index_path.substr(0, at)) + ".enc.json";
    }
    if (auto digest = sha256_of_file(index_path, std::nullopt)) {
      package_files.push_back(json{{"name", fs::path(index_path).filename().string()},
                                   {"size", fs::file_size(index_path, ignored)},
                                   {"sha256", *digest}});
    }
    for (const EnvelopeSegment& segment : index->segments) {
      package_files.push_back(
          json{{"name", segment.ciphertext}, {"size", segment.size}, {"sha256", segment.sha256}});
      package_files.push_back(json{{"name", segment.envelope},
                                   {"size", segment.envelope_size},
                                   {"sha256", segment.envelope_sha256}});
    }
    archive = scratch.file("package");
    if (receiver == nullptr) {
      out.fail("package",
               "it is encrypted: give the receiver's key and certificate (--key, "
               "--cert) to check it");
      return false;
    }
    auto decrypted = decrypt_package(options.input, *receiver, archive);
    if (!decrypted && decrypted.error().code == Errc::io_error) {
      return tl::unexpected(decrypted.error());  // our disk, not the package
    }
    if (!decrypted) {
      out.fail("package", "cannot be decrypted: " + decrypted.error().message);
      return false;
    }
    out.pass("package", fmt::format("decrypted {} segment{}: every AES-256-GCM tag verified",
                                    decrypted->segments, decrypted->segments == 1 ? "" : "s"));
  } else if (fs::is_directory(options.input, ignored)) {
    fs::copy(options.input, bag, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             ignored);
    if (ignored) {
      return make_error(Errc::io_error,
                        fmt::format("cannot copy {}: {}", options.input, ignored.message()));
    }
    auto report = validate_bag(bag);
    CUSTODY_TRY(report);
    if (!report->valid()) {
      for (const std::string& line : report->lines(BagSeverity::error)) {
        out.fail("bag", line);
      }
      return false;
    }
    out.pass("bag", "a valid BagIt bag: every payload file listed, nothing unlisted, all hashes");
    return true;
  } else {
    auto digest = sha256_of_file(options.input, std::nullopt);
    CUSTODY_TRY(digest);
    package_files.push_back(json{{"name", fs::path(options.input).filename().string()},
                                 {"size", fs::file_size(options.input, ignored)},
                                 {"sha256", *digest}});
  }
  auto extracted = extract_bag_archive(archive, bag);
  if (!extracted && extracted.error().code == Errc::io_error) {
    return tl::unexpected(extracted.error());  // our disk (full, failing), not the package
  }
  if (!extracted) {
    out.fail("package", "refused: " + extracted.error().message);
    return false;
  }
  if (!extracted->extracted) {
    for (const std::string& line : extracted->report.lines(BagSeverity::error)) {
      out.fail("bag", line);
    }
    return false;
  }
  out.pass("bag", "a valid BagIt bag: every payload file listed, nothing unlisted, all hashes");
  return true;
}

// A BagIt manifest's lines, "DIGEST  NAME", as name -> digest.
std::map<std::string, std::string> manifest_entries(const std::string& text) {
  std::map<std::string, std::string> names;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string line = text.substr(at, end - at);
    const std::size_t space = line.find_first_of(" \t");
    if (space != std::string::npos) {
      names[line.substr(line.find_first_not_of(" \t", space))] = line.substr(0, space);
    }
    at = end + 1;
  }
  return names;
}

// The sender's signature over the tag manifest, and its timestamp.
void check_sender(const ReceiveOptions& options,
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
    out.fail("sender", "no --trust given: the sender's certificate cannot be checked");
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
  if (!options.trust.empty() && !check->chain_trusted) {
    out.fail("sender", fmt::format("signed by {}, who is not vouched for by the given CAs ({})",
                                   check->signer.subject, check->trust_problem));
    return;
  }
  if (transfer.value(json::json_pointer("/sender/sha256_fingerprint"), std::string()) !=
      check->signer.sha256_fingerprint) {
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
  out.pass("sender", fmt::format("signed by {} ({})", check->signer.subject, check->signing_time));
  auto token = internal::read_small_file(bag + "/" + k_token_member, k_tag_limit);
  if (!token) {
    out.warn("time", "the sender's signature is not timestamped: its time is the sender's claim");
    return;
  }
  auto stamp = verify_timestamp(*token, *signature, options.tsa_trust);
  if (!stamp || !stamp->imprint_matches) {
    out.fail("time", "the timestamp is not over the sender's signature");
  } else if (!stamp->signature_valid && !options.tsa_trust.empty()) {
    out.fail("time", "the timestamp is not from a TSA the given CAs vouch for");
  } else if (!stamp->signature_valid) {
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
    declared.insert(item.value("payload", ""));
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

// One container: verified in full, its log extending the packed proof, its hashes as declared.
void check_item(const ReceiveOptions& options,
                const std::string& bag,
                const json& item,
                const std::string& package_id,
                Receiving& out,
                const std::map<std::string, std::string>& listed) {
  const std::string payload = item.value("payload", "");
  const std::string proof_name = item.value("proof", "");
  if (payload.find("..") != std::string::npos || !payload.starts_with("data/") ||
      proof_name.find("..") != std::string::npos || !proof_name.starts_with("custody/items/") ||
      listed.count(proof_name) == 0) {
    out.fail(payload.empty() ? "item" : payload,
             "custody/transfer.json names an item or proof outside the signed bag");
    return;
  }
  const std::string path = bag + "/" + payload;
  auto report = verify_container({path}, options.trust, options.tsa_trust);
  if (!report) {
    out.fail(payload, "cannot be read as a container: " + report.error().message);
    return;
  }
  bool verified = true;
  for (const Check& check : report->checks) {
    if (check.result != CheckResult::fail) {
      continue;
    }
    if (check.name == "seal" && check.subject == "container") {
      // No seal of its own: the sender's signature over the bag vouches for its bytes.
      out.warn(payload,
               "the container carries no seal of its own; the sender's signature over "
               "the package covers its bytes");
      continue;
    }
    verified = false;
    out.fail(payload, fmt::format("{} {}: {}", check.name, check.subject, check.detail));
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
  const json packed = internal::parse_untrusted_json(*proof_text);
  const std::string packaged_in =
      packed.value(json::json_pointer("/event/event/details/package_id"), std::string());
  if (packaged_in != package_id ||
      packed.value(json::json_pointer("/event/event/action"), std::string()) != "packaged") {
    out.fail(payload, "its proof is of an event of another package");
    return;
  }
  if (item.value("image_hashes", json::object()) != json(log->log.image_hashes) ||
      item.value("log_id", "") != log->log.log_id) {
    out.fail(payload, "its image hashes or log differ from what custody/transfer.json declares");
    return;
  }
  const auto sha256 = log->log.image_hashes.find("sha256");
  out.pass(payload,
           fmt::format("intact: {} events, packaged as event {}{}", log->log.events.size(),
                       item.value("packaged_event", 0),
                       sha256 == log->log.image_hashes.end() ? std::string()
                                                             : ", image sha256 " + sha256->second));
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
  for (const json& item : transfer["items"]) {
    const std::string payload = item.value("payload", "");
    const std::string path = bag + "/" + payload;
    std::error_code ignored;
    PackedItem received;
    received.container = path;
    received.payload_name = payload;
    received.size = fs::file_size(path, ignored);
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
    received.packaged_event = added->sequence;
    items.push_back(json{{"payload", payload},
                         {"log_id", item.value("log_id", "")},
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
      {"sender",
       json{{"subject", result.sender_subject},
            {"sha256_fingerprint",
             transfer.value(json::json_pointer("/sender/sha256_fingerprint"), std::string())}}},
      {"package", json{{"files", package_files}}},
      {"items", items}};
  const std::string bytes = canonical(receipt);
  auto signature = receiver.sign_detached(bytes);
  CUSTODY_TRY(signature);
  result.receipt_path =
      options.receipt.empty() ? options.output + ".receipt.json" : options.receipt;
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path, bytes, false));
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path + ".p7s", *signature, false));
  return {};
}

}  // namespace

namespace {
Result<ReceiveResult> receive(const ReceiveOptions& given, const Identity* receiver);
Result<ReceiptImport> import(const std::string& container,
                             const std::string& receipt_path,
                             const std::vector<std::string>& trust,
                             const Identity& identity);
}  // namespace

// JSON of the wrong shape anywhere in a package or receipt is corrupt input, never a crash.
Result<ReceiveResult> receive_transfer(const ReceiveOptions& options,
                                       const Identity* receiver,
                                       ProgressSink* /*progress*/,
                                       const CancelToken* /*cancel*/) {
  return internal::json_errors_are_corrupt("the package's JSON is not valid",
                                           [&] { return receive(options, receiver); });
}

Result<ReceiptImport> import_receipt(const std::string& container,
                                     const std::string& receipt_path,
                                     const std::vector<std::string>& trust,
                                     const Identity& identity) {
  return internal::json_errors_are_corrupt(
      fmt::format("{} is not a valid receipt", receipt_path),
      [&] { return import(container, receipt_path, trust, identity); });
}

namespace {
Result<ReceiveResult> receive(const ReceiveOptions& given, const Identity* receiver) {
  ReceiveOptions options = given;
  while (options.output.size() > 1 && options.output.back() == '/') {
    options.output.pop_back();  // "received/" names the same new directory
  }
  std::error_code ignored;
  const std::string receipt =
      options.receipt.empty() ? options.output + ".receipt.json" : options.receipt;
  for (const std::string& path :
       options.check_only ? std::vector<std::string>{} : std::vector{receipt, receipt + ".p7s"}) {
    if (fs::exists(path, ignored)) {
      return tl::unexpected(Error{Errc::already_exists,
                                  "refusing to overwrite the receipt",
                                  path,
                                  {},
                                  0,
                                  "move it away, or give another name with --receipt"});
    }
  }
  if (options.output.empty() && !options.check_only) {
    return make_error(Errc::invalid_argument, "no output directory given (-o DIR)");
  }
  if (!options.check_only && receiver != nullptr) {
    // The receipt will be signed: a receiver who cannot sign learns it before the package is
    // unpacked.
    CUSTODY_TRY(receiver->check_can_sign());
  }
  if (!options.check_only && fs::exists(options.output, ignored)) {
    return tl::unexpected(Error{Errc::already_exists,
                                "refusing to overwrite",
                                options.output,
                                {},
                                0,
                                "receive into a new directory"});
  }
  if (!fs::exists(options.input, ignored) && !is_encrypted_package(options.input)) {
    return tl::unexpected(Error{Errc::not_found, "no such package", options.input, {}, 0, {}});
  }
  ReceiveResult result;
  Receiving out{result};
  auto scratch = PrivateDirectory::create(options.output);
  CUSTODY_TRY(scratch);
  const std::string bag = scratch->file("bag");
  json package_files = json::array();
  auto unpacked = unpack(options, receiver, *scratch, bag, out, package_files);
  CUSTODY_TRY(unpacked);
  if (!*unpacked) {
    return result;
  }
  auto transfer_text = internal::read_small_file(bag + "/" + k_transfer_member, k_tag_limit);
  const json transfer = transfer_text ? internal::parse_untrusted_json(*transfer_text) : json();
  if (!transfer.is_object() || transfer.value("format", "") != k_transfer_format ||
      transfer.value("version", 0) != 1 || !transfer.contains("items") ||
      !transfer["items"].is_array() || transfer["items"].empty()) {
    out.fail("transfer",
             "custody/transfer.json is missing, lists no item, or is not a custody "
             "transfer statement (version 1)");
    return result;
  }
  check_declared_payload(bag, transfer, out);
  result.package_id = transfer.value("package_id", "");
  check_sender(options, bag, transfer, out);
  auto manifest = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  const std::map<std::string, std::string> listed =
      manifest ? manifest_entries(*manifest) : std::map<std::string, std::string>{};
  for (const json& item : transfer["items"]) {
    check_item(options, bag, item, result.package_id, out, listed);
  }
  if (out.failed() || options.check_only) {
    result.accepted = options.check_only && !out.failed();
    return result;  // the scratch directory goes, and nothing is released
  }
  if (receiver == nullptr) {
    return make_error(Errc::invalid_argument, "receiving needs the receiver's identity");
  }
  CUSTODY_TRY(record_receipt(options, *receiver, bag, transfer, package_files, result));
  ::chmod(bag.c_str(), 0755);
  fs::rename(bag, options.output, ignored);
  if (ignored) {
    return make_error(Errc::io_error, fmt::format("cannot move the received bag to {}: {}",
                                                  options.output, ignored.message()));
  }
  CUSTODY_TRY(internal::fsync_parent_directory(options.output));
  result.accepted = true;
  return result;
}

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
