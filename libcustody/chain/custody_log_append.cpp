// SPDX-License-Identifier: Apache-2.0
// Appending to the custody log: one event and the tree head over all events, signed and optionally
// timestamped, added as new members in one atomic, locked append.
#include "chain/custody_log_format.hpp"
#include "chain/custody_log_writer.hpp"

#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/merkle.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

namespace custody {

using nlohmann::json;
using namespace internal::custody_log;  // the parts of the custody log (custody_log_format.hpp)

namespace {

std::string volume_comment(const internal::ZipReader& zip) {
  std::string comment = zip.comment();
  while (!comment.empty() && comment.back() == '\0') {
    comment.pop_back();
  }
  return comment;
}

// The structural state an append builds on: events 1..n and heads 1..n, the last head matching
// the events. Anything else means the log was damaged or tampered with, and a new signed head
// over it would hide that.
Result<void> check_appendable(const CustodyLog& log) {
  for (std::size_t i = 0; i < log.events.size(); ++i) {
    if (log.events[i].number != i + 1 || !log.events[i].parse_problem.empty()) {
      return make_error(Errc::corrupt,
                        fmt::format("the custody log of {} is damaged at event {}; recording more "
                                    "events would hide that. Run custody-log verify {}",
                                    log.path, i + 1, log.path));
    }
  }
  if (log.events.empty()) {
    return {};
  }
  const LoggedHead* last = log.heads.empty() ? nullptr : &log.heads.back();
  const Sha256 root = merkle_root(leaf_hashes(log.events));
  if (last == nullptr || last->tree_size != log.events.size() ||
      last->root_sha256 != to_hex(root)) {
    return make_error(Errc::corrupt,
                      fmt::format("the latest tree head of {} does not match its {} events; "
                                  "recording more would hide that. Run custody-log verify {}",
                                  log.path, log.events.size(), log.path));
  }
  return {};
}

// The first event of a container: the log gets its identity, which every event repeats so that
// events cannot be moved from one log to another.
Result<void> start_container_log(internal::ZipWriter& writer, CustodyLog& log) {
  auto log_id = random_uuid_urn();
  CUSTODY_TRY(log_id);
  log.log_id = *log_id;
  const std::string info = canonical(log_info_json(*log_id, false));
  CUSTODY_TRY(writer.add_member(k_info_member, as_bytes(info)));
  return {};
}

// Evidence and image hashes given by hand are for standalone logs, the hashes in lower-case hex.
Result<void> check_draft_evidence(const EventDraft& draft, bool is_container) {
  if (is_container && (!draft.evidence_id.empty() || !draft.image_hashes.empty())) {
    return make_error(Errc::invalid_argument,
                      "a container names its own evidence and image hashes; --evidence-id and "
                      "--image-sha256 are for standalone logs");
  }
  for (const auto& [algorithm, hex] : draft.image_hashes) {
    if (hex.empty() || !std::all_of(hex.begin(), hex.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("the {} image hash \"{}\" is not lower-case hex", algorithm, hex));
    }
  }
  return {};
}

// The evidence an event names: a container's from its acquisition record (the draft's id, if
// given, wins), a standalone log's from the draft.
struct EventEvidence {
  std::string evidence_id;
  std::string exhibit;
  std::map<std::string, std::string> image_hashes;
};

EventEvidence event_evidence(const internal::ZipReader& zip,
                             const EventDraft& draft,
                             bool is_container) {
  EventEvidence evidence{draft.evidence_id, {}, draft.image_hashes};
  if (is_container) {
    std::string recorded_id;
    evidence.image_hashes = record_hashes(zip, &recorded_id, &evidence.exhibit);
    if (evidence.evidence_id.empty()) {
      evidence.evidence_id = recorded_id;
    }
  }
  return evidence;
}

// Now; but a clock that went backwards must not make the log fail its time-order check: the
// event takes the latest time already recorded.
std::string event_time(const CustodyLog& log) {
  std::string time = utc_now();
  if (!log.events.empty() && log.events.back().time > time) {
    time = log.events.back().time;
  }
  return time;
}

// The event's and the head's signatures, CAdES B-B, or with a TSA B-T and B-LT; the event's
// level, revocation data and shortfalls go into `result`. A revoked signer is refused here,
// before any member is written.
struct Signatures {
  std::string event;
  std::string head;
};

Result<Signatures> sign_event_and_head(const std::string& event_bytes,
                                       const std::string& head_bytes,
                                       const Identity& identity,
                                       const AppendOptions& options,
                                       AppendResult& result) {
  auto event_signature = identity.sign_detached(event_bytes);
  CUSTODY_TRY(event_signature);
  auto head_signature = identity.sign_detached(head_bytes);
  CUSTODY_TRY(head_signature);
  auto event = extend_signature(std::move(*event_signature), options.cades);
  CUSTODY_TRY(event);
  auto head = extend_signature(std::move(*head_signature), options_after(options.cades, *event));
  CUSTODY_TRY(head);
  result.signature_level = event->level;
  result.revocation = event->revocation;
  result.revocation_der = event->revocation_der;
  result.shortfalls = event->shortfalls;
  result.timestamp_problem = event->timestamp_problem;  // the TSA is not asked again
  return Signatures{std::move(event->der), std::move(head->der)};
}

// Member `kind`-`number`.json with `bytes`, and with a signature its .p7s.
Result<void> add_signed_member(internal::ZipWriter& writer,
                               const char* kind,
                               std::uint64_t number,
                               const std::string& bytes,
                               const std::string* signature) {
  CUSTODY_TRY(writer.add_member(member_name(kind, number, "json"), as_bytes(bytes)));
  if (signature != nullptr) {
    CUSTODY_TRY(writer.add_member(member_name(kind, number, "p7s"), as_bytes(*signature)));
  }
  return {};
}

// The head's RFC 3161 token, head-N.tsr. A TSA that is down must not cost the event: it is
// recorded, its head not timestamped.
Result<void> add_head_timestamp(internal::ZipWriter& writer,
                                std::uint64_t number,
                                const std::string& head_bytes,
                                const AppendOptions& options,
                                AppendResult& result) {
  auto request = make_timestamp_request(head_bytes);
  CUSTODY_TRY(request);
  FreshTimestamp fresh =
      obtain_timestamp(options.cades.tsa_url, *request, head_bytes, options.cades.tsa_timeout);
  if (fresh.token.empty()) {
    result.timestamp_problem = fresh.problem;
    return {};
  }
  result.timestamp_time = fresh.time;
  result.timestamped = true;
  CUSTODY_TRY(writer.add_member(member_name("head", number, "tsr"), as_bytes(fresh.token)));
  return {};
}

}  // namespace

namespace internal {

Result<AppendResult> add_custody_event(ZipWriter& writer,
                                       const std::string& path,
                                       const EventDraft& draft,
                                       const Identity* identity,
                                       const AppendOptions& options) {
  CUSTODY_TRY(check_event_draft(draft));
  if (identity != nullptr) {
    CUSTODY_TRY(identity->check_can_sign());
  }
  auto zip = ZipReader::open(path);
  CUSTODY_TRY(zip);
  auto log = read_log(*zip);
  CUSTODY_TRY(log);
  const bool is_container = zip->find("information.turtle") != nullptr;
  if (!is_container && log->log_id.empty()) {
    return make_error(Errc::corrupt,
                      fmt::format("{} is neither an AFF4 container nor a custody log file", path));
  }
  CUSTODY_TRY(check_appendable(*log));
  if (log->log_id.empty()) {
    CUSTODY_TRY(start_container_log(writer, *log));
  }
  CUSTODY_TRY(check_draft_evidence(draft, is_container));
  const EventEvidence evidence = event_evidence(*zip, draft, is_container);

  const std::uint64_t sequence = log->events.size() + 1;
  auto event_id = random_uuid_urn();
  CUSTODY_TRY(event_id);
  AppendResult result;
  result.sequence = sequence;
  result.event_id = *event_id;
  result.time = event_time(*log);
  std::string event_bytes;
  try {
    event_bytes =
        canonical(event_json(draft, identity, log->log_id, sequence, *event_id, result.time,
                             evidence.evidence_id, evidence.exhibit, evidence.image_hashes));
  } catch (const json::exception&) {
    return make_error(Errc::invalid_argument, "a field of the event is not valid UTF-8 text");
  }
  std::vector<Sha256> leaves = leaf_hashes(log->events);
  leaves.push_back(merkle_leaf_hash(as_bytes(event_bytes)));
  result.root_sha256 = to_hex(merkle_root(leaves));
  const std::string head_bytes =
      canonical(tree_head_json(log->log_id, sequence, result.root_sha256, result.time, identity));

  std::optional<Signatures> signatures;
  if (identity != nullptr) {
    auto made = sign_event_and_head(event_bytes, head_bytes, *identity, options, result);
    CUSTODY_TRY(made);
    signatures = std::move(*made);
  }
  CUSTODY_TRY(add_signed_member(writer, "event", sequence, event_bytes,
                                signatures ? &signatures->event : nullptr));
  result.signed_event = identity != nullptr;
  CUSTODY_TRY(add_signed_member(writer, "head", sequence, head_bytes,
                                signatures ? &signatures->head : nullptr));
  if (!options.cades.tsa_url.empty() && result.timestamp_problem.empty()) {
    CUSTODY_TRY(add_head_timestamp(writer, sequence, head_bytes, options, result));
  }
  return result;
}

}  // namespace internal

namespace {

Result<void> create_standalone_log(const std::string& path, const std::string& title) {
  auto writer = internal::ZipWriter::create(path, false);
  CUSTODY_TRY(writer);
  auto log_id = random_uuid_urn();
  CUSTODY_TRY(log_id);
  json info = log_info_json(*log_id, true);
  if (!title.empty()) {
    if (!is_utf8(title)) {
      return make_error(Errc::invalid_argument, "the log title is not valid UTF-8");
    }
    info["title"] = title;
  }
  CUSTODY_TRY(writer->add_member(k_info_member, as_bytes(canonical(info))));
  return writer->finish("custody log " + *log_id);
}

// Opens the log for appending, which takes its lock.
Result<internal::ZipWriter> open_log_for_append(const std::string& path,
                                                const AppendOptions& options) {
  auto writer = internal::ZipWriter::open_for_append(path, {}, options.lock_wait_seconds);
  // Another process may have created the file and not yet locked it: an empty file is one being
  // created, so wait for it to be written.
  for (int attempt = 0; options.create_standalone && !writer &&
                        writer.error().code == Errc::corrupt && attempt < 200;
       ++attempt) {
    std::error_code ignored;
    if (std::filesystem::file_size(path, ignored) != 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    writer = internal::ZipWriter::open_for_append(path, {}, options.lock_wait_seconds);
  }
  if (!writer && writer.error().code == Errc::not_found) {
    Error error = writer.error();
    error.hint = "check the name; to start a standalone log file, add --create";
    return tl::unexpected(std::move(error));
  }
  return writer;
}

}  // namespace

Result<AppendResult> append_custody_event(const std::string& path,
                                          const EventDraft& draft,
                                          const Identity* identity,
                                          const AppendOptions& options) {
  CUSTODY_TRY(check_event_draft(draft));
  if (identity != nullptr) {
    // Before anything is created or locked: the file stays byte-identical.
    CUSTODY_TRY(identity->check_can_sign());
  }
  if (options.create_standalone) {
    // O_EXCL decides which of several processes starting the same log creates it.
    auto created = create_standalone_log(path, options.standalone_title);
    if (!created && created.error().code != Errc::already_exists) {
      return tl::unexpected(created.error());
    }
  }
  auto writer = open_log_for_append(path, options);
  CUSTODY_TRY(writer);
  auto result = internal::add_custody_event(*writer, path, draft, identity, options);
  CUSTODY_TRY(result);
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  CUSTODY_TRY(writer->finish(volume_comment(*zip)));
  return result;
}

}  // namespace custody
