// SPDX-License-Identifier: Apache-2.0
// Proofs from the custody log: inclusion and consistency proofs and saved tree heads as
// self-contained JSON, and checking such a proof without the log.
#include "chain/custody_log_checks.hpp"
#include "chain/custody_log_format.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"

#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/merkle.hpp>

#include <fmt/format.h>

#include <charconv>
#include <filesystem>

namespace custody {

using nlohmann::json;
using namespace internal::custody_log;  // the parts of the custody log (custody_log_format.hpp)

namespace {

// A tree head as a proof carries it: its bytes, signature and token in base64, and a readable copy.
json head_bundle(const LoggedHead& head) {
  json out{{"head", base64(head.bytes)}, {"tree_head", internal::parse_untrusted_json(head.bytes)}};
  if (head.signature) {
    out["signature"] = base64(*head.signature);
  }
  if (head.timestamp) {
    out["timestamp"] = base64(*head.timestamp);
  }
  return out;
}

// The tree head over all events; Errc::corrupt if the log has none that is valid.
Result<const LoggedHead*> latest_head(const CustodyLog& log) {
  if (log.heads.empty() || !log.heads.back().parse_problem.empty() ||
      log.heads.back().tree_size != log.events.size()) {
    return make_error(Errc::corrupt,
                      fmt::format("the custody log of {} has no valid latest tree head; run "
                                  "custody-log verify {}",
                                  log.path, log.path));
  }
  return &log.heads.back();
}

json hex_list(const std::vector<Sha256>& path) {
  json out = json::array();
  for (const Sha256& node : path) {
    out.push_back(to_hex(node));
  }
  return out;
}

// The older tree head a consistency proof starts from.
struct OldHead {
  std::uint64_t size = 0;
  std::string root;
  json bundle;
};

// Tree head `number` of the log itself.
Result<OldHead> old_head_of_log(const CustodyLog& log,
                                const std::string& path,
                                std::uint64_t number) {
  if (number == 0 || number > log.heads.size()) {
    return make_error(Errc::invalid_argument, fmt::format("{} has no tree head {} (it has {})",
                                                          path, number, log.heads.size()));
  }
  const LoggedHead& head = log.heads[number - 1];
  return OldHead{number, head.root_sha256, head_bundle(head)};
}

// A tree head kept in `file`: a saved head, or a proof that carries one.
Result<OldHead> old_head_from_file(const CustodyLog& log,
                                   const std::string& path,
                                   const std::string& file) {
  auto text = internal::read_small_file(file, k_member_limit * 64);
  CUSTODY_TRY(text);
  auto parsed = parse_saved_head(*text);
  CUSTODY_TRY(parsed);
  OldHead old;
  old.size = (*parsed)["tree_size"].get<std::uint64_t>();
  old.root = string_member(*parsed, "root_sha256");
  json saved = internal::parse_untrusted_json(*text);
  // A saved head is itself a bundle; a proof file carries one under "tree_head". Either way
  // only the bundle's own parts go into the proof.
  const json source =
      saved.contains("head") || !saved.contains("tree_head") ? saved : saved["tree_head"];
  for (const char* key : {"head", "signature", "timestamp", "tree_head"}) {
    if (source.is_object() && source.contains(key)) {
      old.bundle[key] = source[key];
    }
  }
  if (old.size == 0 || old.size > log.events.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the saved head covers {} events, but {} has {}: the log "
                                  "cannot extend it",
                                  old.size, path, log.events.size()));
  }
  return old;
}

std::vector<Sha256> parse_hex_list(const json& list, bool& ok) {
  std::vector<Sha256> out;
  if (!list.is_array()) {
    ok = false;
    return out;
  }
  for (const json& item : list) {
    auto node = item.is_string() ? sha256_from_hex(item.get<std::string>())
                                 : Result<Sha256>(make_error(Errc::corrupt, ""));
    if (!node) {
      ok = false;
      return out;
    }
    out.push_back(*node);
  }
  return out;
}

// Checks a head bundle's signature and timestamp; returns the head's fields.
std::optional<LoggedHead> check_head_bundle(Checker& out,
                                            const json& bundle,
                                            const std::string& subject,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files) {
  LoggedHead head;
  auto bytes = bundle.is_object() ? unbase64(string_member(bundle, "head")) : std::nullopt;
  if (!bytes) {
    out.fail(subject, "the tree head is missing or not base64");
    return std::nullopt;
  }
  head.bytes = *bytes;
  parse_head(head);
  if (!head.parse_problem.empty()) {
    out.fail(subject, head.parse_problem);
    return std::nullopt;
  }
  if (bundle.contains("tree_head") && bundle["tree_head"] != json::parse(head.bytes)) {
    out.fail(subject,
             "the readable copy of the tree head differs from its signed bytes: the "
             "proof file was edited");
    return std::nullopt;
  }
  head.number = head.tree_size;
  if (bundle.contains("signature")) {
    head.signature = unbase64(string_member(bundle, "signature"));
  }
  if (bundle.contains("timestamp")) {
    head.timestamp = unbase64(string_member(bundle, "timestamp"));
  }
  check_signature(out, subject, head.signature, head.bytes, head.signer_sha256, trust_files);
  check_head_timestamp(out, head, tsa_trust_files);
  return head;
}

void check_inclusion(Checker& out,
                     const json& proof,
                     const std::vector<std::string>& trust_files,
                     const std::vector<std::string>& tsa_trust_files) {
  auto head = check_head_bundle(out, proof.value("tree_head", json()), "tree head", trust_files,
                                tsa_trust_files);
  const json event_part = proof.value("event", json());
  auto bytes = event_part.is_object() ? unbase64(string_member(event_part, "bytes")) : std::nullopt;
  if (!head || !bytes) {
    out.fail("event", "the proof lacks the event's bytes or a valid tree head");
    return;
  }
  LoggedEvent event;
  event.bytes = *bytes;
  parse_event(event);
  if (!event.parse_problem.empty()) {
    out.fail("event", event.parse_problem);
    return;
  }
  if (event_part.contains("signature")) {
    event.signature = unbase64(string_member(event_part, "signature"));
  }
  const std::string subject = fmt::format("event {}", event.sequence);
  const std::string leaf_hex = to_hex(merkle_leaf_hash(as_bytes(event.bytes)));
  if ((event_part.contains("event") && event_part["event"] != json::parse(event.bytes)) ||
      proof.value("leaf_hash", leaf_hex) != leaf_hex ||
      proof.value("log_id", event.log_id) != event.log_id ||
      proof.value("tree_size", head->tree_size) != head->tree_size) {
    out.fail(subject,
             "the readable copies in the proof (event, leaf_hash, log_id, tree_size) "
             "differ from the signed bytes: the proof file was edited");
    return;
  }
  check_signature(out, subject, event.signature, event.bytes, event.actor.certificate_sha256,
                  trust_files);
  bool ok = true;
  const std::vector<Sha256> path = parse_hex_list(proof.value("audit_path", json()), ok);
  const std::uint64_t index = event.sequence - 1;
  ok = ok && proof.value("leaf_index", index) == index;
  auto root = sha256_from_hex(head->root_sha256);
  const Sha256 leaf = merkle_leaf_hash(as_bytes(event.bytes));
  if (!ok || !root || event.log_id != head->log_id ||
      !verify_inclusion(leaf, index, head->tree_size, path, *root)) {
    out.fail(subject, fmt::format("it is NOT proven to be event {} of the {}-event log whose "
                                  "signed head is {}",
                                  event.sequence, head->tree_size, head->root_sha256));
    return;
  }
  out.pass(subject, fmt::format("{} at {}: included as event {} of {} under the signed tree head "
                                "{}",
                                event.action, event.time, event.sequence, head->tree_size,
                                head->root_sha256));
}

void check_consistency(Checker& out,
                       const json& proof,
                       const std::vector<std::string>& trust_files,
                       const std::vector<std::string>& tsa_trust_files) {
  auto old_head = check_head_bundle(out, proof.value("old_tree_head", json()), "old tree head",
                                    trust_files, tsa_trust_files);
  auto new_head = check_head_bundle(out, proof.value("tree_head", json()), "tree head", trust_files,
                                    tsa_trust_files);
  if (!old_head || !new_head) {
    return;
  }
  if (proof.value("old_size", old_head->tree_size) != old_head->tree_size ||
      proof.value("new_size", new_head->tree_size) != new_head->tree_size ||
      proof.value("old_root", old_head->root_sha256) != old_head->root_sha256 ||
      proof.value("new_root", new_head->root_sha256) != new_head->root_sha256) {
    out.fail("consistency",
             "the readable sizes and roots in the proof differ from its signed "
             "tree heads: the proof file was edited");
    return;
  }
  bool ok = true;
  const std::vector<Sha256> path = parse_hex_list(proof.value("proof", json()), ok);
  auto old_root = sha256_from_hex(old_head->root_sha256);
  auto new_root = sha256_from_hex(new_head->root_sha256);
  if (!ok || !old_root || !new_root || old_head->log_id != new_head->log_id ||
      !verify_consistency(old_head->tree_size, new_head->tree_size, *old_root, *new_root, path)) {
    out.fail("consistency",
             fmt::format("the {}-event log is NOT proven to extend the {}-event "
                         "head {}: history was rewritten",
                         new_head->tree_size, old_head->tree_size, old_head->root_sha256));
    return;
  }
  out.pass("consistency",
           fmt::format("the {}-event log of {} extends the {}-event head of {}",
                       new_head->tree_size, new_head->time, old_head->tree_size, old_head->time));
}

Result<ProofCheck> check_proof(const std::string& proof_json,
                               const std::vector<std::string>& trust_files,
                               const std::vector<std::string>& tsa_trust_files) {
  json proof = internal::parse_untrusted_json(proof_json);
  const std::string format = string_member(proof, "format");
  ProofCheck result;
  Checker out{result.checks};
  if (format == "custody-inclusion-proof") {
    result.kind = "inclusion";
    check_inclusion(out, proof, trust_files, tsa_trust_files);
  } else if (format == "custody-consistency-proof") {
    result.kind = "consistency";
    check_consistency(out, proof, trust_files, tsa_trust_files);
  } else {
    return make_error(Errc::corrupt, "not a custody proof (custody-log prove writes one)");
  }
  result.valid = none_failed(result.checks);
  return result;
}

}  // namespace

Result<std::string> make_inclusion_proof(const std::string& path, std::uint64_t number) {
  auto log = read_custody_log(path);
  CUSTODY_TRY(log);
  if (number == 0 || number > log->events.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} has no event {} (it has {}); see custody-log show {}", path,
                                  number, log->events.size(), path));
  }
  auto head = latest_head(*log);
  CUSTODY_TRY(head);
  const std::vector<Sha256> leaves = leaf_hashes(log->events);
  auto audit = inclusion_proof(leaves, number - 1);
  CUSTODY_TRY(audit);
  const LoggedEvent& event = log->events[number - 1];
  json event_part{{"bytes", base64(event.bytes)},
                  {"event", internal::parse_untrusted_json(event.bytes)}};
  if (event.signature) {
    event_part["signature"] = base64(*event.signature);
  }
  json proof{{"format", "custody-inclusion-proof"},
             {"version", 1},
             {"log_id", log->log_id},
             {"leaf_index", number - 1},
             {"tree_size", leaves.size()},
             {"leaf_hash", to_hex(leaves[number - 1])},
             {"audit_path", hex_list(*audit)},
             {"event", event_part},
             {"tree_head", head_bundle(**head)}};
  return proof.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> make_consistency_proof(const std::string& path, const std::string& old_head) {
  auto log = read_custody_log(path);
  CUSTODY_TRY(log);
  auto head = latest_head(*log);
  CUSTODY_TRY(head);
  std::uint64_t number = 0;
  const auto [end, error] =
      std::from_chars(old_head.data(), old_head.data() + old_head.size(), number);
  auto old = error == std::errc() && end == old_head.data() + old_head.size()
                 ? old_head_of_log(*log, path, number)
                 : old_head_from_file(*log, path, old_head);
  CUSTODY_TRY(old);
  const std::vector<Sha256> leaves = leaf_hashes(log->events);
  auto proof_path = consistency_proof(leaves, old->size);
  CUSTODY_TRY(proof_path);
  json proof{{"format", "custody-consistency-proof"},
             {"version", 1},
             {"log_id", log->log_id},
             {"old_size", old->size},
             {"old_root", old->root},
             {"new_size", leaves.size()},
             {"new_root", (*head)->root_sha256},
             {"proof", hex_list(*proof_path)},
             {"old_tree_head", old->bundle},
             {"tree_head", head_bundle(**head)}};
  return proof.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> latest_tree_head(const std::string& path) {
  auto log = read_custody_log(path);
  CUSTODY_TRY(log);
  auto head = latest_head(*log);
  CUSTODY_TRY(head);
  json out = head_bundle(**head);
  out["format"] = "custody-saved-tree-head";
  out["version"] = 1;
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<ProofCheck> check_custody_proof(const std::string& proof_json,
                                       const std::vector<std::string>& trust_files,
                                       const std::vector<std::string>& tsa_trust_files) {
  return internal::json_errors_are_corrupt("not a valid custody proof", [&] {
    return check_proof(proof_json, trust_files, tsa_trust_files);
  });
}

std::string proof_check_to_json(const ProofCheck& check) {
  json out{{"format", "custody-proof-check"},
           {"version", 1},
           {"kind", check.kind},
           {"verdict", check.valid ? "holds" : "fails"},
           {"checks", checks_to_json(check.checks)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<void> save_log_document(const std::string& output, const std::string& document) {
  CUSTODY_TRY(internal::check_output_directory(output));
  std::error_code ignored;
  if (std::filesystem::exists(std::filesystem::symlink_status(output, ignored))) {
    return tl::unexpected(
        Error{Errc::already_exists, "refusing to overwrite", output, {}, 0, "choose another name"});
  }
  return internal::write_file_atomically(output, document, false);
}

}  // namespace custody
