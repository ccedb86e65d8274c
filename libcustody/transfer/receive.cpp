// SPDX-License-Identifier: Apache-2.0
// Checking and receiving a package: the one sequence of checks (verify_package), and receiving as
// that sequence followed by the "received" events, the signed receipt and the bag's release.
#include "core/canonical_json.hpp"
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "crypto/identity_access.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/custody_log.hpp>
#include <custody/envelope.hpp>
#include <custody/identity.hpp>
#include <custody/text.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cctype>
#include <filesystem>

namespace custody {

namespace fs = std::filesystem;
using nlohmann::json;

namespace internal {
namespace {

// One item: its "received" event recorded in its container, with the size that arrived and the
// SHA-256 that manifest-sha256.txt lists (the bag's validation hashed every payload file against
// it already). The item as received (its path still in the bag).
Result<PackedItem> record_received(const Identity& receiver,
                                   const std::string& bag,
                                   const json& item,
                                   const std::map<std::string, std::string>& payload_hashes,
                                   const ReceiveResult& result,
                                   CadesOptions& cades) {
  const std::string payload = text_at(item, "/payload");
  PackedItem received;
  received.container = bag + "/" + payload;
  received.payload_name = payload;
  received.log_id = text_at(item, "/log_id");
  std::error_code ignored;
  received.size = fs::file_size(received.container, ignored);
  if (item.contains("packaged_event") && item["packaged_event"].is_number_unsigned()) {
    received.packaged_event = item["packaged_event"].get<std::uint64_t>();
  }
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
  AppendOptions append;
  append.cades = cades;
  auto added = append_custody_event(received.container, draft, &receiver, append);
  CUSTODY_TRY(added);
  // The next signature reuses this one's revocation data (one fetch for the whole receipt).
  cades = options_after(cades, *added);
  received.received_event = added->sequence;
  return received;
}

// "received" in every container, then the receipt (OPTIONS.receipt, and its signature in .p7s):
// the package's files, and each item as it arrived.
Result<void> record_receipt(const ReceiveOptions& options,
                            const Identity& receiver,
                            CheckedPackage& checked) {
  ReceiveResult& result = checked.result;
  auto manifest = internal::read_small_file(checked.bag + "/manifest-sha256.txt", k_tag_limit);
  CUSTODY_TRY(manifest);
  const std::map<std::string, std::string> payload_hashes = manifest_entries(*manifest);
  json items = json::array();
  result.items.clear();
  CadesOptions cades = options.cades;
  for (const json& item : checked.transfer["items"]) {
    auto received = record_received(receiver, checked.bag, item, payload_hashes, result, cades);
    CUSTODY_TRY(received);
    received->container = options.output + "/" + received->payload_name;  // once released
    items.push_back(json{{"payload", received->payload_name},
                         {"log_id", received->log_id},
                         {"size", received->size},
                         {"sha256", received->sha256},
                         {"image_hashes", item.value("image_hashes", json::object())},
                         {"received_event", received->received_event}});
    result.items.push_back(std::move(*received));
  }
  const CertificateFacts& facts = receiver.certificate();
  const std::string sender_fingerprint = text_at(checked.transfer, "/sender/sha256_fingerprint");
  json receipt{{"format", k_receipt_format},
               {"version", 1},
               {"package_id", result.package_id},
               {"received_at", utc_now()},
               {"receiver",
                json{{"subject", facts.subject}, {"sha256_fingerprint", facts.sha256_fingerprint}}},
               {"sender", json{{"subject", result.sender_subject},
                               {"sha256_fingerprint", sender_fingerprint}}},
               {"package", json{{"files", checked.package_files}}},
               {"items", items}};
  const std::string bytes = internal::canonical_json(receipt);
  auto signature = receiver.sign_detached(bytes);
  CUSTODY_TRY(signature);
  auto extended = extend_signature(std::move(*signature), cades);
  CUSTODY_TRY(extended);
  result.receipt_cades_level = extended->level;
  result.receipt_revocation = extended->revocation;
  result.receipt_shortfalls = extended->shortfalls;
  result.receipt_path = options.receipt;  // receive() gave it its default
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path, bytes, false));
  CUSTODY_TRY(internal::write_file_atomically(result.receipt_path + ".p7s", extended->der, false));
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
                                    PackageChecker& out) {
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
json read_transfer_statement(const std::string& bag, PackageChecker& out) {
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
  PackageChecker out{checked.result};
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
    check_item(options, cancel, bag, item, listed, checked.arrivals, out);
    if (cancel != nullptr && cancel->cancelled()) {
      // Nothing is released or recorded: the private directory goes with the checked package.
      return make_error(Errc::cancelled,
                        "checking the package was interrupted; nothing was released or recorded");
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
  PackageChecker out{checked.result};
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
Result<void> check_receive_options(const ReceiveOptions& options,
                                   const Identity* receiver,
                                   const Identity* signer) {
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
  // The receipt will be signed: a signer who cannot sign learns it before the package is
  // unpacked.
  return signer->check_can_sign();
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

// A package that checked out: "received" recorded in every container, the receipt written (both
// signed by `signer`), and only then the bag renamed to the output.
Result<void> release(const ReceiveOptions& options,
                     const Identity& signer,
                     CheckedPackage& checked) {
  CUSTODY_TRY(record_receipt(options, signer, checked));
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
  const Identity* signer = options.signer != nullptr ? options.signer : receiver;
  CUSTODY_TRY(check_receive_options(options, receiver, signer));
  auto inputs = guard_package_inputs(options.check);
  CUSTODY_TRY(inputs);
  CUSTODY_TRY(check_receive_outputs(options, inputs->files));
  auto checked = check_transfer_package(options.check, *inputs, receiver, Purpose::receive,
                                        options.output, cancel);
  CUSTODY_TRY(checked);
  if (!any_failed(checked->result.checks)) {
    CUSTODY_TRY(release(options, *signer, *checked));
  }
  // Rejected: the private directory goes with `checked`, and nothing is released.
  return std::move(checked->result);
}

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
  const EtsiValidation& etsi = result.sender_etsi;
  out["sender_etsi"] =
      etsi.indication.empty()
          ? json()
          : json{{"indication", etsi.indication},
                 {"sub_indication", etsi.sub_indication},
                 {"cades_level", etsi.level},
                 {"proof_of_existence", etsi.proof_time.empty()
                                            ? json()
                                            : json{{"time", etsi.proof_time}, {"by", etsi.proof}}},
                 {"revocation", etsi.revocation},
                 {"revoked_at", text_or_null(etsi.revoked_at)},
                 {"detail", etsi.detail}};
  out["checks"] = checks;
  out["items"] = items;
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace
}  // namespace internal

// JSON of the wrong shape anywhere in a package is corrupt input, never a crash.
Result<ReceiveResult> verify_package(const PackageCheckOptions& options,
                                     const Identity* receiver,
                                     ProgressSink* /*progress*/,
                                     const CancelToken* cancel) {
  return internal::json_errors_are_corrupt("the package's JSON is not valid", [&] {
    return internal::verify(options, receiver, cancel);
  });
}

Result<ReceiveResult> receive_transfer(const ReceiveOptions& options,
                                       const Identity* receiver,
                                       ProgressSink* /*progress*/,
                                       const CancelToken* cancel) {
  return internal::json_errors_are_corrupt("the package's JSON is not valid", [&] {
    return internal::receive(options, receiver, cancel);
  });
}

std::string receive_result_to_json(const ReceiveResult& result, const ReceiveOptions& options) {
  const std::string& receipt = result.receipt_path;
  return internal::package_document(
      json{{"format", "custody-receive-result"},
           {"version", 1},
           {"verdict", result.accepted ? "RECEIVED" : "REJECTED"},
           {"received", result.accepted},
           {"package", options.check.input},
           {"output", result.accepted ? json(options.output) : json()},
           {"receipt", result.accepted && !receipt.empty()
                           ? json{{"path", receipt},
                                  {"signature", receipt + ".p7s"},
                                  {"cades_level", result.receipt_cades_level},
                                  {"revocation", result.receipt_revocation},
                                  {"shortfalls", result.receipt_shortfalls}}
                           : json()}},
      result, true);
}

std::string receive_result_to_json(const ReceiveResult& result,
                                   const PackageCheckOptions& options) {
  return internal::package_document(json{{"format", "custody-package-verification"},
                                         {"version", 1},
                                         {"verdict", result.accepted ? "INTACT" : "NOT INTACT"},
                                         {"intact", result.accepted},
                                         {"package", options.input},
                                         {"received_bag", result.received_bag}},
                                    result, false);
}

}  // namespace custody
