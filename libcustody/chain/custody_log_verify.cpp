// SPDX-License-Identifier: Apache-2.0
// Verifying a custody log: every event and tree head, the first event that no longer matches its
// heads, heads saved earlier, and the verification as JSON.
#include "chain/custody_log_checks.hpp"
#include "chain/custody_log_format.hpp"
#include "core/posix_file.hpp"

#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/merkle.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace custody {

using nlohmann::json;
using namespace internal::custody_log;  // the parts of the custody log (custody_log_format.hpp)

namespace {

// Reports a gap once, where it is: the events from `expected` up to `number` are missing.
void report_missing_events(Checker& out, std::uint64_t expected, std::uint64_t number) {
  out.fail(fmt::format("event {}", expected),
           number == expected + 1
               ? fmt::format("missing: the log jumps from event {} to event {} (deleted)",
                             expected - 1, number)
               : fmt::format("missing, with the events up to {}: the log jumps from event {} "
                             "to event {} (deleted)",
                             number - 1, expected - 1, number));
}

// The image hashes an event names against the container's.
void check_event_image_hashes(Checker& out,
                              const std::string& subject,
                              const LoggedEvent& event,
                              const CustodyLog& log) {
  for (const auto& [algorithm, hex] : event.image_hashes) {
    auto now = log.image_hashes.find(algorithm);
    if (now != log.image_hashes.end() && now->second != hex) {
      out.fail(subject, fmt::format("it names image {} {}, but the container's image is {}",
                                    algorithm, hex, now->second));
    }
  }
}

void check_events(Checker& out,
                  const CustodyLog& log,
                  const std::vector<std::string>& trust_files) {
  std::string previous_time;
  std::uint64_t expected = 1;
  for (const LoggedEvent& event : log.events) {
    const std::string subject = fmt::format("event {}", event.number);
    if (event.number != expected) {
      report_missing_events(out, expected, event.number);
    }
    expected = event.number + 1;
    if (!event.parse_problem.empty()) {
      out.fail(subject, event.parse_problem);
      continue;
    }
    if (event.sequence != event.number) {
      out.fail(subject, fmt::format("it says it is event {}: events were reordered, moved or "
                                    "inserted",
                                    event.sequence));
    }
    if (event.log_id != log.log_id) {
      out.fail(subject,
               fmt::format("it belongs to another log ({}): it was copied in", event.log_id));
    }
    if (!is_custody_action(event.action)) {
      out.fail(subject, fmt::format("unknown action \"{}\"", event.action));
    }
    if (!previous_time.empty() && event.time < previous_time) {
      out.fail(subject, fmt::format("its time {} is before the previous event's ({}): events "
                                    "are out of order",
                                    event.time, previous_time));
    }
    previous_time = std::max(previous_time, event.time);
    check_event_image_hashes(out, subject, event, log);
    check_signature(out, subject, event.signature, event.bytes, event.actor.certificate_sha256,
                    trust_files);
  }
}

// An access through custody-mount ("accessed", details access=mount) is closed by the "released"
// event naming it; one without is still mounted, or ended without a trace of what was read (the
// process killed, the machine stopped). Said, not failed: the log itself is intact.
void check_open_accesses(Checker& out, const CustodyLog& log) {
  const std::vector<std::uint64_t> unreleased = unreleased_accesses(log);
  for (const LoggedEvent& event : log.events) {
    if (std::find(unreleased.begin(), unreleased.end(), event.number) == unreleased.end()) {
      continue;
    }
    const auto detail = [&](const char* key) {
      const auto found = event.details.find(key);
      return found != event.details.end() ? found->second : std::string("?");
    };
    out.warn(fmt::format("event {}", event.number),
             fmt::format("the access through custody-mount at {} on {} since {} never ended: no "
                         "\"released\" event names it (still mounted, or the mount was killed or "
                         "the machine stopped, so what was read is not recorded)",
                         detail("mountpoint"), detail("host"), event.time));
  }
}

// The latest head covers every event stored.
void check_latest_head_covers_events(Checker& out, const CustodyLog& log) {
  if (!log.events.empty() &&
      (log.heads.empty() || log.heads.back().tree_size != log.events.size())) {
    out.fail("log",
             fmt::format("the latest tree head covers {} events, but {} are stored: events "
                         "were removed or added by hand",
                         log.heads.empty() ? 0 : log.heads.back().tree_size, log.events.size()));
  }
}

void check_heads(Checker& out,
                 const CustodyLog& log,
                 const std::vector<std::string>& trust_files,
                 const std::vector<std::string>& tsa_trust_files) {
  const std::vector<Sha256> leaves = leaf_hashes(log.events);
  std::string previous_time;
  for (std::size_t i = 0; i < log.heads.size(); ++i) {
    const LoggedHead& head = log.heads[i];
    const std::string subject = fmt::format("tree head {}", head.number);
    if (!head.parse_problem.empty()) {
      out.fail(subject, head.parse_problem);
      continue;
    }
    if (head.number != i + 1 || head.tree_size != head.number) {
      out.fail(subject, fmt::format("it covers {} events but is stored as head {}: heads were "
                                    "removed or moved",
                                    head.tree_size, head.number));
      continue;
    }
    if (head.log_id != log.log_id) {
      out.fail(subject, "it belongs to another log: it was copied in");
    }
    if (head.tree_size > leaves.size()) {
      out.fail(subject, fmt::format("it covers {} events, but only {} are in the log: events "
                                    "were removed",
                                    head.tree_size, leaves.size()));
      continue;
    }
    const std::string root = to_hex(merkle_root(std::span(leaves).first(head.tree_size)));
    if (root != head.root_sha256) {
      // Name the first event that no longer matches what this head's signer saw: the earliest
      // event whose later heads all disagree is found by the event checks; here, the range.
      out.fail(subject, fmt::format("events 1 to {} no longer hash to the root it recorded: one "
                                    "of them was changed, removed, inserted or reordered after "
                                    "it was written",
                                    head.tree_size));
    }
    if (!previous_time.empty() && head.time < previous_time) {
      out.fail(subject, fmt::format("its time {} is before the previous head's ({})", head.time,
                                    previous_time));
    }
    previous_time = std::max(previous_time, head.time);
    // An unsigned head goes with an unsigned event (one appender, one identity): the event's
    // warning says it once.
    if (root == head.root_sha256 && head.signature) {
      check_signature(out, subject, head.signature, head.bytes, head.signer_sha256, trust_files);
    }
    check_head_timestamp(out, head, tsa_trust_files);
  }
  check_latest_head_covers_events(out, log);
}

// The first event whose leaf differs from what a head recorded is where tampering starts: find
// the earliest head that fails, and the previous head that passes bounds it from below.
void name_first_changed_event(Checker& out, const CustodyLog& log) {
  const std::vector<Sha256> leaves = leaf_hashes(log.events);
  std::uint64_t last_good = 0;
  for (const LoggedHead& head : log.heads) {
    if (!head.parse_problem.empty() || head.tree_size > leaves.size() ||
        head.tree_size != head.number) {
      break;
    }
    if (to_hex(merkle_root(std::span(leaves).first(head.tree_size))) != head.root_sha256) {
      out.fail(fmt::format("event {}", last_good + 1),
               fmt::format("the log matches its signed heads up to event {} and no longer from "
                           "event {} on: the change starts there",
                           last_good, last_good + 1));
      return;
    }
    last_good = head.tree_size;
  }
}

void check_saved_heads(Checker& out,
                       const CustodyLog& log,
                       const std::vector<std::string>& saved_heads) {
  const std::vector<Sha256> leaves = leaf_hashes(log.events);
  for (const std::string& file : saved_heads) {
    const std::string subject = "saved head " + std::filesystem::path(file).filename().string();
    auto text = internal::read_small_file(file, k_member_limit * 64);
    if (!text) {
      out.fail(subject, text.error().to_string());
      continue;
    }
    auto head = parse_saved_head(*text);
    if (!head) {
      out.fail(subject, head.error().message);
      continue;
    }
    const auto size = (*head)["tree_size"].get<std::uint64_t>();
    const std::string root = string_member(*head, "root_sha256");
    if (string_member(*head, "log_id") != log.log_id) {
      out.fail(subject, "it is a head of another log");
    } else if (size > leaves.size()) {
      out.fail(subject, fmt::format("it covers {} events, but the log now has only {}: events "
                                    "were removed since it was saved",
                                    size, leaves.size()));
    } else if (to_hex(merkle_root(std::span(leaves).first(size))) != root) {
      out.fail(subject, fmt::format("the log's first {} events are no longer those of the head "
                                    "saved at {}: history was rewritten",
                                    size, string_member(*head, "time")));
    } else {
      out.pass(subject, fmt::format("the log still extends the {}-event head of {}", size,
                                    string_member(*head, "time")));
    }
  }
}

// What the volume holds besides events and heads: members added by hand, an interrupted append.
void check_volume(Checker& out, const CustodyLog& log) {
  if (log.events.empty() && log.heads.empty()) {
    out.warn("log", "no custody events are recorded");
  }
  for (const std::string& name : log.unexpected_members) {
    out.fail("log",
             fmt::format("member {} is not part of a custody log: it was added by hand", name));
  }
  if (log.trailing_bytes > 0) {
    out.warn("log", fmt::format("{} bytes follow the last complete end record (an interrupted "
                                "append): the log is read as it was before them",
                                log.trailing_bytes));
  }
}

}  // namespace

namespace {

// Whether the signers were revoked is judged by custody-verify, with the archive time-stamps that
// may prove a signature came first and, on request, online; this check does not judge it, and
// says so rather than let INTACT imply it.
void add_revocation_not_checked(LogVerification& verification) {
  const CustodyLog& log = verification.log;
  const bool any_signed =
      std::any_of(log.events.begin(), log.events.end(),
                  [](const LoggedEvent& event) { return event.signature.has_value(); }) ||
      std::any_of(log.heads.begin(), log.heads.end(),
                  [](const LoggedHead& head) { return head.signature.has_value(); });
  if (any_signed) {
    verification.checks.push_back(
        LogCheck{k_log_revocation_subject, Verdict::not_checked,
                 fmt::format("the signers' revocation is not checked here; custody-verify {} "
                             "judges it (ETSI EN 319 102-1: the signatures' own data, renewals, "
                             "and --online)",
                             log.path),
                 true});
  }
}

}  // namespace

Result<LogVerification> verify_custody_log(const std::string& path,
                                           const std::vector<std::string>& trust_files,
                                           const std::vector<std::string>& tsa_trust_files,
                                           const std::vector<std::string>& saved_heads) {
  auto log = read_custody_log(path);
  CUSTODY_TRY(log);
  LogVerification verification;
  verification.log = std::move(*log);
  const CustodyLog& logged = verification.log;
  Checker out{verification.checks};
  check_volume(out, logged);
  check_events(out, logged, trust_files);
  check_open_accesses(out, logged);
  check_heads(out, logged, trust_files, tsa_trust_files);
  name_first_changed_event(out, logged);
  check_saved_heads(out, logged, saved_heads);
  if (!logged.events.empty() && none_failed(verification.checks)) {
    out.pass("log", fmt::format("{} event{}, in order, matching {} tree head{} (root {})",
                                logged.events.size(), logged.events.size() == 1 ? "" : "s",
                                logged.heads.size(), logged.heads.size() == 1 ? "" : "s",
                                logged.heads.empty() ? "" : logged.heads.back().root_sha256));
  }
  add_revocation_not_checked(verification);
  verification.intact = none_failed(verification.checks);
  return verification;
}

std::string log_verification_to_json(const LogVerification& verification) {
  json out{{"format", "custody-log-verification"},
           {"version", 1},
           {"file", verification.log.path},
           {"log_id", verification.log.log_id},
           {"verdict", verification.intact ? "intact" : "failed"},
           {"events", verification.log.events.size()},
           {"checks", checks_to_json(verification.checks)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
