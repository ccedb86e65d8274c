// SPDX-License-Identifier: Apache-2.0
// Reading the custody log of a ZIP volume (a container or a standalone log file): its members by
// name, the container's record hashes, and the log listed as JSON (custody-log show --json).
#include "chain/custody_log_format.hpp"
#include "chain/custody_log_writer.hpp"
#include "core/untrusted_json.hpp"

#include <custody/hash.hpp>
#include <custody/record.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace custody {

using nlohmann::json;
using namespace internal::custody_log;  // the parts of the custody log (custody_log_format.hpp)

namespace internal::custody_log {

namespace {

// "event-12.json" -> (event, 12, json). Numbers are decimal without leading zeros, so that each
// number has exactly one member name.
struct LogMemberName {
  std::string kind;
  std::uint64_t number = 0;
  std::string suffix;
};

std::optional<LogMemberName> parse_log_member(std::string_view name) {
  if (!name.starts_with(k_log_dir)) {
    return std::nullopt;
  }
  name.remove_prefix(std::string_view(k_log_dir).size());
  const std::size_t dash = name.find('-');
  const std::size_t dot = name.find('.');
  if (dash == std::string_view::npos || dot == std::string_view::npos || dot < dash + 2) {
    return std::nullopt;
  }
  LogMemberName parsed;
  parsed.kind = std::string(name.substr(0, dash));
  const std::string_view digits = name.substr(dash + 1, dot - dash - 1);
  parsed.suffix = std::string(name.substr(dot + 1));
  if ((digits.size() > 1 && digits[0] == '0') || digits.size() > 15) {
    return std::nullopt;
  }
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), parsed.number);
  if (error != std::errc() || end != digits.data() + digits.size() || parsed.number == 0) {
    return std::nullopt;
  }
  return parsed;
}

Result<std::string> read_small(const ZipReader& zip, const ZipMember& member) {
  return zip.read_member(member, k_member_limit);
}

// custody/log/log.json: the log's identity.
void read_log_info(const std::string& text, CustodyLog& log) {
  json info = internal::parse_untrusted_json(text);
  log.log_id = string_member(info, "log_id");
  log.title = string_member(info, "title");
  log.standalone = info.is_object() && info.contains("standalone") &&
                   info["standalone"].is_boolean() && info["standalone"].get<bool>();
}

// The members of events and heads as found, by number (a number may lack its JSON member).
struct LogMembers {
  std::map<std::uint64_t, LoggedEvent> events;
  std::map<std::uint64_t, LoggedHead> heads;
};

// Files the bytes of member `name` with its event or head; false if it is neither's.
bool file_log_member(const std::string& name, std::string&& text, LogMembers& members) {
  auto parsed = parse_log_member(name);
  if (parsed && parsed->kind == "event" && (parsed->suffix == "json" || parsed->suffix == "p7s")) {
    LoggedEvent& event = members.events[parsed->number];
    event.number = parsed->number;
    (parsed->suffix == "json" ? event.bytes : event.signature.emplace()) = std::move(text);
    return true;
  }
  if (parsed && parsed->kind == "head" &&
      (parsed->suffix == "json" || parsed->suffix == "p7s" || parsed->suffix == "tsr")) {
    LoggedHead& head = members.heads[parsed->number];
    head.number = parsed->number;
    if (parsed->suffix == "json") {
      head.bytes = std::move(text);
    } else {
      (parsed->suffix == "p7s" ? head.signature : head.timestamp) = std::move(text);
    }
    return true;
  }
  return false;
}

// Parses the events and heads found and adds them to `log`, in number order.
void parse_log_members(LogMembers& members, CustodyLog& log) {
  for (auto& [number, event] : members.events) {
    if (event.bytes.empty()) {
      event.parse_problem = "its JSON member is missing (only the signature is there)";
    } else {
      parse_event(event);
    }
    log.events.push_back(std::move(event));
  }
  for (auto& [number, head] : members.heads) {
    if (head.bytes.empty()) {
      head.parse_problem = "its JSON member is missing";
    } else {
      parse_head(head);
    }
    log.heads.push_back(std::move(head));
  }
}

}  // namespace

std::map<std::string, std::string> record_hashes(const ZipReader& zip,
                                                 std::string* evidence_id,
                                                 std::string* exhibit) {
  std::map<std::string, std::string> hashes;
  const ZipMember* member = zip.find("custody/acquisition.json");
  if (member == nullptr) {
    return hashes;
  }
  auto text = zip.read_member(*member, std::size_t{16} << 20U);
  if (!text) {
    return hashes;
  }
  auto loaded = parse_record(*text);
  if (!loaded) {
    return hashes;
  }
  for (const auto& [algorithm, hex] : loaded->record.hashes) {
    hashes[std::string(hash_name(algorithm))] = hex;
  }
  if (evidence_id != nullptr && loaded->record.container) {
    *evidence_id = loaded->record.container->image_urn;
  }
  if (exhibit != nullptr && loaded->record.case_info.evidence_number) {
    *exhibit = *loaded->record.case_info.evidence_number;
  }
  return hashes;
}

Result<CustodyLog> read_log(const ZipReader& zip) {
  CustodyLog log;
  log.path = zip.path();
  log.trailing_bytes = zip.file_size() - zip.end_offset();
  log.image_hashes = record_hashes(zip, nullptr, nullptr);
  LogMembers members;
  for (const ZipMember& member : zip.members()) {
    if (!member.name.starts_with(k_log_dir)) {
      continue;
    }
    auto text = read_small(zip, member);
    CUSTODY_TRY(text);
    if (member.name == k_info_member) {
      read_log_info(*text, log);
    } else if (!file_log_member(member.name, std::move(*text), members)) {
      log.unexpected_members.push_back(member.name);
    }
  }
  parse_log_members(members, log);
  return log;
}

}  // namespace internal::custody_log

namespace internal {

bool is_custody_log_member(std::string_view name) {
  return name.starts_with(k_log_dir);
}

}  // namespace internal

Result<CustodyLog> read_custody_log(const std::string& path) {
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  auto log = read_log(*zip);
  CUSTODY_TRY(log);
  if (log->log_id.empty() && zip->find("information.turtle") == nullptr) {
    return make_error(Errc::corrupt,
                      fmt::format("{} is neither an AFF4 container nor a custody log file", path));
  }
  return log;
}

std::vector<std::uint64_t> unreleased_accesses(const CustodyLog& log) {
  std::set<std::string> released;
  for (const LoggedEvent& event : log.events) {
    const auto named = event.details.find("accessed_id");
    if (event.parse_problem.empty() && event.action == "released" && named != event.details.end()) {
      released.insert(named->second);
    }
  }
  std::vector<std::uint64_t> open;
  for (const LoggedEvent& event : log.events) {
    const auto access = event.details.find("access");
    if (event.parse_problem.empty() && event.action == "accessed" &&
        access != event.details.end() && access->second == "mount" &&
        released.count(event.event_id) == 0) {
      open.push_back(event.number);
    }
  }
  return open;
}

std::string custody_log_to_json(const CustodyLog& log) {
  const std::vector<std::uint64_t> unreleased = unreleased_accesses(log);
  json events = json::array();
  for (const LoggedEvent& event : log.events) {
    json item = internal::parse_untrusted_json(event.bytes);
    if (item.is_discarded()) {
      item = json{{"unreadable", true}};
    }
    item["member_number"] = event.number;
    item["signed"] = event.signature.has_value();
    if (!event.parse_problem.empty()) {
      item["problem"] = event.parse_problem;
    }
    if (std::find(unreleased.begin(), unreleased.end(), event.number) != unreleased.end()) {
      item["unreleased"] = true;
    }
    events.push_back(std::move(item));
  }
  json out{{"format", "custody-log-listing"},
           {"version", 1},
           {"file", log.path},
           {"log_id", log.log_id},
           {"standalone", log.standalone},
           {"events", events}};
  if (!log.title.empty()) {
    out["title"] = log.title;
  }
  if (!log.heads.empty()) {
    json head = internal::parse_untrusted_json(log.heads.back().bytes);
    if (!head.is_discarded()) {
      head["signed"] = log.heads.back().signature.has_value();
      head["timestamped"] = log.heads.back().timestamp.has_value();
      out["tree_head"] = head;
    }
  }
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
