// SPDX-License-Identifier: Apache-2.0
// The custody log (custody_log.hpp, custody-log(5)).
#include "chain/custody_log_writer.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "zip/zip.hpp"

#include <custody/custody_log.hpp>
#include <custody/hash.hpp>
#include <custody/merkle.hpp>
#include <custody/record.hpp>
#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

namespace custody {

namespace {

using nlohmann::json;

constexpr std::size_t k_member_limit = std::size_t{1} << 20U;  // events, heads, signatures
constexpr const char* k_log_dir = "custody/log/";
constexpr const char* k_info_member = "custody/log/log.json";

// ISO 3166-1 alpha-2 officially assigned codes.
constexpr std::string_view k_iso3166 =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW";

// RFC 8785 form for our data: keys sorted (nlohmann's object is a std::map, and our keys are
// ASCII, so byte order is UTF-16 order), no whitespace, integers only, UTF-8 as is. Text that is
// not UTF-8 is refused before it gets here.
std::string canonical(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::strict);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(length, 0)));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > 64 * k_member_limit) {
    return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (length < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(length);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) {
    --size;
  }
  out.resize(size);
  return out;
}

bool is_utf8(std::string_view text) {
  try {
    (void)json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::strict);
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

std::string member_name(const char* kind, std::uint64_t number, const char* suffix) {
  return fmt::format("{}{}-{}.{}", k_log_dir, kind, number, suffix);
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string volume_comment(const internal::ZipReader& zip) {
  std::string comment = zip.comment();
  while (!comment.empty() && comment.back() == '\0') {
    comment.pop_back();
  }
  return comment;
}

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

std::string string_member(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) {
    return {};
  }
  return object[key].get<std::string>();
}

std::map<std::string, std::string> string_map(const json& object, const char* key) {
  std::map<std::string, std::string> out;
  if (object.is_object() && object.contains(key) && object[key].is_object()) {
    for (const auto& [name, value] : object[key].items()) {
      if (value.is_string()) {
        out[name] = value.get<std::string>();
      }
    }
  }
  return out;
}

// Parses an event's bytes; sets parse_problem when they are not a canonical custody event.
void parse_event(LoggedEvent& event) {
  json value = internal::parse_untrusted_json(event.bytes);
  if (value.is_discarded() || !value.is_object()) {
    event.parse_problem = "not JSON";
    return;
  }
  if (string_member(value, "format") != k_event_format || !value.contains("version") ||
      value["version"] != 1) {
    event.parse_problem = "not a custody event (format custody-event, version 1)";
    return;
  }
  if (!value.contains("sequence") || !value["sequence"].is_number_unsigned()) {
    event.parse_problem = "it has no sequence number";
    return;
  }
  if (canonical(value) != event.bytes) {
    event.parse_problem = "its bytes are not in canonical form (RFC 8785): it was rewritten";
    return;
  }
  event.sequence = value["sequence"].get<std::uint64_t>();
  event.event_id = string_member(value, "event_id");
  event.log_id = string_member(value, "log_id");
  event.action = string_member(value, "action");
  event.time = string_member(value, "time");
  const json empty = json::object();
  const json& actor = value.contains("actor") ? value["actor"] : empty;
  event.actor =
      Actor{string_member(actor, "name"), string_member(actor, "role"),
            string_member(actor, "organisation"), string_member(actor, "certificate_sha256")};
  const json& location = value.contains("location") ? value["location"] : empty;
  event.location = string_member(location, "place");
  event.jurisdiction = string_member(location, "jurisdiction");
  const json& legal = value.contains("legal") ? value["legal"] : empty;
  event.legal_basis = string_member(legal, "basis");
  event.legal_reference = string_member(legal, "reference");
  event.purpose = string_member(value, "purpose");
  event.notes = string_member(value, "notes");
  if (value.contains("bag_seals") && value["bag_seals"].is_array()) {
    for (const json& seal : value["bag_seals"]) {
      if (seal.is_string()) {
        event.bag_seals.push_back(seal.get<std::string>());
      }
    }
  }
  const json& evidence = value.contains("evidence") ? value["evidence"] : empty;
  event.evidence_id = string_member(evidence, "id");
  event.exhibit = string_member(evidence, "exhibit");
  event.image_hashes = string_map(evidence, "image_hashes");
  event.details = string_map(value, "details");
  const json& tool = value.contains("tool") ? value["tool"] : empty;
  event.tool_name = string_member(tool, "name");
  event.tool_version = string_member(tool, "version");
  if (event.action.empty() || event.time.empty() || event.log_id.empty()) {
    event.parse_problem = "it lacks an action, a time or a log id";
  }
}

void parse_head(LoggedHead& head) {
  json value = internal::parse_untrusted_json(head.bytes);
  if (value.is_discarded() || !value.is_object() ||
      string_member(value, "format") != k_tree_head_format || !value.contains("version") ||
      value["version"] != 1 || !value.contains("tree_size") ||
      !value["tree_size"].is_number_unsigned()) {
    head.parse_problem = "not a custody tree head";
    return;
  }
  if (canonical(value) != head.bytes) {
    head.parse_problem = "its bytes are not in canonical form (RFC 8785): it was rewritten";
    return;
  }
  head.tree_size = value["tree_size"].get<std::uint64_t>();
  head.root_sha256 = string_member(value, "root_sha256");
  head.log_id = string_member(value, "log_id");
  head.time = string_member(value, "time");
  head.signer_sha256 = string_member(value, "signer_sha256");
}

std::map<std::string, std::string> record_hashes(const internal::ZipReader& zip,
                                                 std::string* evidence_id,
                                                 std::string* exhibit) {
  std::map<std::string, std::string> hashes;
  const internal::ZipMember* member = zip.find("custody/acquisition.json");
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

Result<std::string> read_small(const internal::ZipReader& zip, const internal::ZipMember& member) {
  return zip.read_member(member, k_member_limit);
}

Result<CustodyLog> read_log(const internal::ZipReader& zip) {
  CustodyLog log;
  log.path = zip.path();
  log.trailing_bytes = zip.file_size() - zip.end_offset();
  log.image_hashes = record_hashes(zip, nullptr, nullptr);
  std::map<std::uint64_t, LoggedEvent> events;
  std::map<std::uint64_t, LoggedHead> heads;
  for (const internal::ZipMember& member : zip.members()) {
    if (!member.name.starts_with(k_log_dir)) {
      continue;
    }
    if (member.name == k_info_member) {
      auto text = read_small(zip, member);
      CUSTODY_TRY(text);
      json info = internal::parse_untrusted_json(*text);
      log.log_id = string_member(info, "log_id");
      log.title = string_member(info, "title");
      log.standalone = info.is_object() && info.contains("standalone") &&
                       info["standalone"].is_boolean() && info["standalone"].get<bool>();
      continue;
    }
    auto parsed = parse_log_member(member.name);
    auto text = read_small(zip, member);
    CUSTODY_TRY(text);
    if (parsed && parsed->kind == "event" &&
        (parsed->suffix == "json" || parsed->suffix == "p7s")) {
      LoggedEvent& event = events[parsed->number];
      event.number = parsed->number;
      (parsed->suffix == "json" ? event.bytes : event.signature.emplace()) = std::move(*text);
    } else if (parsed && parsed->kind == "head" &&
               (parsed->suffix == "json" || parsed->suffix == "p7s" || parsed->suffix == "tsr")) {
      LoggedHead& head = heads[parsed->number];
      head.number = parsed->number;
      if (parsed->suffix == "json") {
        head.bytes = std::move(*text);
      } else {
        (parsed->suffix == "p7s" ? head.signature : head.timestamp) = std::move(*text);
      }
    } else {
      log.unexpected_members.push_back(member.name);
    }
  }
  for (auto& [number, event] : events) {
    if (event.bytes.empty()) {
      event.parse_problem = "its JSON member is missing (only the signature is there)";
    } else {
      parse_event(event);
    }
    log.events.push_back(std::move(event));
  }
  for (auto& [number, head] : heads) {
    if (head.bytes.empty()) {
      head.parse_problem = "its JSON member is missing";
    } else {
      parse_head(head);
    }
    log.heads.push_back(std::move(head));
  }
  return log;
}

std::vector<Sha256> leaf_hashes(const std::vector<LoggedEvent>& events) {
  std::vector<Sha256> leaves;
  leaves.reserve(events.size());
  for (const LoggedEvent& event : events) {
    leaves.push_back(merkle_leaf_hash(as_bytes(event.bytes)));
  }
  return leaves;
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

Result<void> check_draft(const EventDraft& draft) {
  if (!is_custody_action(draft.action)) {
    std::string known;
    for (const std::string& action : custody_actions()) {
      known += (known.empty() ? "" : ", ") + action;
    }
    return make_error(Errc::invalid_argument,
                      fmt::format("unknown action \"{}\"; use one of: {}", draft.action, known));
  }
  if (!draft.jurisdiction.empty()) {
    const std::string_view code = std::string_view(draft.jurisdiction).substr(0, 2);
    const bool subdivision_ok =
        draft.jurisdiction.size() == 2 ||
        (draft.jurisdiction.size() >= 4 && draft.jurisdiction.size() <= 6 &&
         draft.jurisdiction[2] == '-' &&
         std::all_of(draft.jurisdiction.begin() + 3, draft.jurisdiction.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }));
    if (!subdivision_ok || k_iso3166.find(code) == std::string_view::npos || code[0] == ' ' ||
        k_iso3166.find(code) % 3 != 0) {
      return make_error(Errc::invalid_argument,
                        fmt::format("jurisdiction \"{}\" is not an ISO 3166 code; give a country "
                                    "code such as DE, FR or NL, or a subdivision such as DE-HE",
                                    draft.jurisdiction));
    }
  }
  std::vector<const std::string*> texts{
      &draft.actor.name, &draft.actor.role,  &draft.actor.organisation,
      &draft.location,   &draft.legal_basis, &draft.legal_reference,
      &draft.purpose,    &draft.notes,       &draft.evidence_id};
  for (const std::string& seal : draft.bag_seals) {
    texts.push_back(&seal);
  }
  for (const auto& [key, value] : draft.details) {
    texts.push_back(&key);
    texts.push_back(&value);
  }
  for (const std::string* text : texts) {
    if (!is_utf8(*text)) {
      return make_error(Errc::invalid_argument,
                        "a field of the event is not valid UTF-8 text; give it in UTF-8");
    }
  }
  return {};
}

// Sets `object[key]` to a non-empty string.
void put(json& object, const char* key, const std::string& value) {
  if (!value.empty()) {
    object[key] = value;
  }
}

json event_json(const EventDraft& draft,
                const Identity* identity,
                const std::string& log_id,
                std::uint64_t sequence,
                const std::string& event_id,
                const std::string& time,
                const std::string& evidence_id,
                const std::string& exhibit,
                const std::map<std::string, std::string>& image_hashes) {
  json event{{"format", k_event_format},
             {"version", 1},
             {"log_id", log_id},
             {"sequence", sequence},
             {"event_id", event_id},
             {"action", draft.action},
             {"time", time},
             {"tool", json{{"name", draft.tool_name}, {"version", k_version}}}};
  json actor = json::object();
  std::string name = draft.actor.name;
  if (name.empty() && identity != nullptr) {
    name = common_name(identity->certificate().subject);
  }
  put(actor, "name", name);
  put(actor, "role", draft.actor.role);
  put(actor, "organisation", draft.actor.organisation);
  if (identity != nullptr) {
    actor["certificate_sha256"] = identity->certificate().sha256_fingerprint;
  }
  if (!actor.empty()) {
    event["actor"] = actor;
  }
  json location = json::object();
  put(location, "place", draft.location);
  put(location, "jurisdiction", draft.jurisdiction);
  if (!location.empty()) {
    event["location"] = location;
  }
  json legal = json::object();
  put(legal, "basis", draft.legal_basis);
  put(legal, "reference", draft.legal_reference);
  if (!legal.empty()) {
    event["legal"] = legal;
  }
  put(event, "purpose", draft.purpose);
  put(event, "notes", draft.notes);
  if (!draft.bag_seals.empty()) {
    event["bag_seals"] = draft.bag_seals;
  }
  if (!draft.details.empty()) {
    event["details"] = draft.details;
  }
  json evidence = json::object();
  put(evidence, "id", evidence_id);
  put(evidence, "exhibit", exhibit);
  if (!image_hashes.empty()) {
    evidence["image_hashes"] = image_hashes;
  }
  if (!evidence.empty()) {
    event["evidence"] = evidence;
  }
  return event;
}

}  // namespace

const std::vector<std::string>& custody_actions() {
  static const std::vector<std::string> actions{
      "acquired",    "imported", "sealed",   "verified",           "accessed",    "exported",
      "packaged",    "sent",     "received", "delivery-confirmed", "checked-out", "checked-in",
      "transferred", "stored",   "returned", "destroyed",          "note"};
  return actions;
}

Result<void> check_event_draft(const EventDraft& draft) {
  return check_draft(draft);
}

bool is_custody_action(std::string_view action) {
  const auto& actions = custody_actions();
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

namespace internal {

bool is_custody_log_member(std::string_view name) {
  return name.starts_with(k_log_dir);
}

Result<AppendResult> add_custody_event(ZipWriter& writer,
                                       const std::string& path,
                                       const EventDraft& draft,
                                       const Identity* identity,
                                       const AppendOptions& options) {
  CUSTODY_TRY(check_draft(draft));
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
    // The first event of a container: the log gets its identity, which every event repeats so
    // that events cannot be moved from one log to another.
    auto log_id = random_uuid_urn();
    CUSTODY_TRY(log_id);
    log->log_id = *log_id;
    const std::string info = canonical(json{{"format", k_log_info_format},
                                            {"version", 1},
                                            {"log_id", *log_id},
                                            {"standalone", false},
                                            {"created", utc_now()}});
    CUSTODY_TRY(writer.add_member(k_info_member, as_bytes(info)));
  }

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
  std::string evidence_id = draft.evidence_id;
  std::string exhibit;
  std::map<std::string, std::string> hashes = draft.image_hashes;
  if (is_container) {
    std::string recorded_id;
    hashes = record_hashes(*zip, &recorded_id, &exhibit);
    if (evidence_id.empty()) {
      evidence_id = recorded_id;
    }
  }
  const std::uint64_t sequence = log->events.size() + 1;
  auto event_id = random_uuid_urn();
  CUSTODY_TRY(event_id);
  AppendResult result;
  result.sequence = sequence;
  result.event_id = *event_id;
  result.time = utc_now();
  // A clock that went backwards must not make the log fail its time-order check: the event
  // takes the latest time already recorded.
  if (!log->events.empty() && log->events.back().time > result.time) {
    result.time = log->events.back().time;
  }
  std::string event_bytes;
  try {
    event_bytes = canonical(event_json(draft, identity, log->log_id, sequence, *event_id,
                                       result.time, evidence_id, exhibit, hashes));
  } catch (const json::exception&) {
    return make_error(Errc::invalid_argument, "a field of the event is not valid UTF-8 text");
  }
  std::vector<Sha256> leaves = leaf_hashes(log->events);
  leaves.push_back(merkle_leaf_hash(as_bytes(event_bytes)));
  result.root_sha256 = to_hex(merkle_root(leaves));
  json head{{"format", k_tree_head_format},
            {"version", 1},
            {"log_id", log->log_id},
            {"tree_size", sequence},
            {"root_sha256", result.root_sha256},
            {"time", result.time}};
  if (identity != nullptr) {
    head["signer_sha256"] = identity->certificate().sha256_fingerprint;
  }
  const std::string head_bytes = canonical(head);

  CUSTODY_TRY(writer.add_member(member_name("event", sequence, "json"), as_bytes(event_bytes)));
  if (identity != nullptr) {
    auto signature = identity->sign_detached(event_bytes);
    CUSTODY_TRY(signature);
    CUSTODY_TRY(writer.add_member(member_name("event", sequence, "p7s"), as_bytes(*signature)));
    result.signed_event = true;
  }
  CUSTODY_TRY(writer.add_member(member_name("head", sequence, "json"), as_bytes(head_bytes)));
  if (identity != nullptr) {
    auto signature = identity->sign_detached(head_bytes);
    CUSTODY_TRY(signature);
    CUSTODY_TRY(writer.add_member(member_name("head", sequence, "p7s"), as_bytes(*signature)));
  }
  if (!options.tsa_url.empty()) {
    // A TSA that is down must not cost the event: it is recorded, its head not timestamped.
    auto request = make_timestamp_request(head_bytes);
    CUSTODY_TRY(request);
    auto reply = request_timestamp(options.tsa_url, *request, options.tsa_timeout);
    Result<std::string> token =
        reply ? token_from_reply(*reply, *request) : tl::unexpected(reply.error());
    if (token) {
      auto check = verify_timestamp(*token, head_bytes, {});
      result.timestamp_time = check ? check->time : std::string();
      result.timestamped = true;
      CUSTODY_TRY(writer.add_member(member_name("head", sequence, "tsr"), as_bytes(*token)));
    } else {
      result.timestamp_problem = token.error().to_string();
    }
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
  json info{{"format", k_log_info_format},
            {"version", 1},
            {"log_id", *log_id},
            {"standalone", true},
            {"created", utc_now()}};
  if (!title.empty()) {
    if (!is_utf8(title)) {
      return make_error(Errc::invalid_argument, "the log title is not valid UTF-8");
    }
    info["title"] = title;
  }
  CUSTODY_TRY(writer->add_member(k_info_member, as_bytes(canonical(info))));
  return writer->finish("custody log " + *log_id);
}

}  // namespace

Result<AppendResult> append_custody_event(const std::string& path,
                                          const EventDraft& draft,
                                          const Identity* identity,
                                          const AppendOptions& options) {
  CUSTODY_TRY(check_draft(draft));
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
  CUSTODY_TRY(writer);
  auto result = internal::add_custody_event(*writer, path, draft, identity, options);
  CUSTODY_TRY(result);
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  CUSTODY_TRY(writer->finish(volume_comment(*zip)));
  return result;
}

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

namespace {

struct Checker {
  std::vector<LogCheck>& checks;
  void pass(std::string subject, std::string detail) {
    checks.push_back(LogCheck{std::move(subject), LogCheckResult::pass, std::move(detail)});
  }
  void fail(std::string subject, std::string detail) {
    checks.push_back(LogCheck{std::move(subject), LogCheckResult::fail, std::move(detail)});
  }
  void warn(std::string subject, std::string detail) {
    checks.push_back(LogCheck{std::move(subject), LogCheckResult::warn, std::move(detail)});
  }
};

// A signature over `bytes` by the certificate with fingerprint `expected_signer` (may be empty:
// any signer). Returns the signer's subject, or empty after reporting a failure.
std::string check_signature(Checker& out,
                            const std::string& subject,
                            const std::optional<std::string>& signature,
                            const std::string& bytes,
                            const std::string& expected_signer,
                            const std::vector<std::string>& trust_files) {
  if (!signature) {
    out.warn(subject,
             "not signed: recorded by a tool without a key; only the later signed tree "
             "heads protect it");
    return {};
  }
  auto check = verify_detached(*signature, bytes, trust_files);
  if (!check) {
    out.fail(subject, "the signature cannot be read: " + check.error().message);
    return {};
  }
  if (!check->signature_valid) {
    out.fail(subject,
             "the signature does not match: the content changed after it was signed, "
             "or the signature is forged");
    return {};
  }
  if (!expected_signer.empty() && check->signer.sha256_fingerprint != expected_signer) {
    out.fail(subject, fmt::format("signed by {}, not by the certificate it names ({})",
                                  check->signer.subject, expected_signer));
    return {};
  }
  if (!check->valid_at_signing_time) {
    out.fail(subject, fmt::format("the signer's certificate ({}) was not valid when it signed ({})",
                                  check->signer.subject, check->signing_time));
    return {};
  }
  if (!check->chain_trusted) {
    if (trust_files.empty()) {
      out.warn(subject, fmt::format("correctly signed by {}, whose certificate is not checked "
                                    "against a CA (give --trust)",
                                    check->signer.subject));
    } else {
      out.fail(subject, fmt::format("correctly signed by {}, but not by a key the given CAs "
                                    "vouch for ({})",
                                    check->signer.subject, check->trust_problem));
    }
    return check->signer.subject;
  }
  out.pass(subject, "signed by " + check->signer.subject);
  return check->signer.subject;
}

void check_head_timestamp(Checker& out,
                          const LoggedHead& head,
                          const std::vector<std::string>& tsa_trust_files) {
  if (!head.timestamp) {
    return;
  }
  const std::string subject = fmt::format("tree head {} timestamp", head.number);
  auto stamp = verify_timestamp(*head.timestamp, head.bytes, tsa_trust_files);
  if (!stamp) {
    out.fail(subject, "unreadable: " + stamp.error().message);
  } else if (!stamp->imprint_matches) {
    out.fail(subject, "the timestamp is not over this tree head");
  } else if (!stamp->signature_valid && !tsa_trust_files.empty()) {
    out.fail(subject, "not signed by a TSA the given CAs vouch for (" + stamp->detail + ")");
  } else if (!stamp->signature_valid) {
    out.warn(subject, fmt::format("existed at {} by {}, a TSA not checked against a CA (give "
                                  "--tsa-trust)",
                                  stamp->time, stamp->tsa_subject));
  } else if (stamp->time < head.time) {
    out.fail(subject, fmt::format("the trusted time {} is before the head's own time {}",
                                  stamp->time, head.time));
  } else {
    out.pass(subject,
             fmt::format("existed at {} (trusted time by {})", stamp->time, stamp->tsa_subject));
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
      // Report each gap once, where it is.
      out.fail(fmt::format("event {}", expected),
               event.number == expected + 1
                   ? fmt::format("missing: the log jumps from event {} to event {} (deleted)",
                                 expected - 1, event.number)
                   : fmt::format("missing, with the events up to {}: the log jumps from event {} "
                                 "to event {} (deleted)",
                                 event.number - 1, expected - 1, event.number));
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
    for (const auto& [algorithm, hex] : event.image_hashes) {
      auto now = log.image_hashes.find(algorithm);
      if (now != log.image_hashes.end() && now->second != hex) {
        out.fail(subject, fmt::format("it names image {} {}, but the container's image is {}",
                                      algorithm, hex, now->second));
      }
    }
    check_signature(out, subject, event.signature, event.bytes, event.actor.certificate_sha256,
                    trust_files);
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
  if (!log.events.empty() &&
      (log.heads.empty() || log.heads.back().tree_size != log.events.size())) {
    out.fail("log",
             fmt::format("the latest tree head covers {} events, but {} are stored: events "
                         "were removed or added by hand",
                         log.heads.empty() ? 0 : log.heads.back().tree_size, log.events.size()));
  }
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

Result<json> parse_saved_head(const std::string& text) {
  json value = internal::parse_untrusted_json(text);
  if (value.is_object() && value.contains("tree_head") && value["tree_head"].is_object()) {
    value = value["tree_head"];
  }
  if (value.is_object() && value.contains("head") && value["head"].is_string()) {
    auto bytes = unbase64(value["head"].get<std::string>());
    if (bytes) {
      value = internal::parse_untrusted_json(*bytes);
    }
  }
  if (!value.is_object() || string_member(value, "format") != k_tree_head_format ||
      !value.contains("tree_size") || !value["tree_size"].is_number_unsigned()) {
    return make_error(Errc::corrupt, "not a custody tree head (custody-log head writes one)");
  }
  return value;
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
  if (logged.events.empty() && logged.heads.empty()) {
    out.warn("log", "no custody events are recorded");
  }
  for (const std::string& name : logged.unexpected_members) {
    out.fail("log",
             fmt::format("member {} is not part of a custody log: it was added by hand", name));
  }
  if (logged.trailing_bytes > 0) {
    out.warn("log", fmt::format("{} bytes follow the last complete end record (an interrupted "
                                "append): the log is read as it was before them",
                                logged.trailing_bytes));
  }
  check_events(out, logged, trust_files);
  check_heads(out, logged, trust_files, tsa_trust_files);
  name_first_changed_event(out, logged);
  check_saved_heads(out, logged, saved_heads);
  if (!logged.events.empty() &&
      std::none_of(verification.checks.begin(), verification.checks.end(),
                   [](const LogCheck& c) { return c.result == LogCheckResult::fail; })) {
    out.pass("log", fmt::format("{} event{}, in order, matching {} tree head{} (root {})",
                                logged.events.size(), logged.events.size() == 1 ? "" : "s",
                                logged.heads.size(), logged.heads.size() == 1 ? "" : "s",
                                logged.heads.empty() ? "" : logged.heads.back().root_sha256));
  }
  verification.intact =
      std::none_of(verification.checks.begin(), verification.checks.end(),
                   [](const LogCheck& c) { return c.result == LogCheckResult::fail; });
  return verification;
}

namespace {

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
  std::uint64_t old_size = 0;
  std::string old_root;
  json old_bundle;
  const auto [end, error] =
      std::from_chars(old_head.data(), old_head.data() + old_head.size(), old_size);
  if (error == std::errc() && end == old_head.data() + old_head.size()) {
    if (old_size == 0 || old_size > log->heads.size()) {
      return make_error(Errc::invalid_argument, fmt::format("{} has no tree head {} (it has {})",
                                                            path, old_size, log->heads.size()));
    }
    old_bundle = head_bundle(log->heads[old_size - 1]);
    old_root = log->heads[old_size - 1].root_sha256;
  } else {
    auto text = internal::read_small_file(old_head, k_member_limit * 64);
    CUSTODY_TRY(text);
    auto parsed = parse_saved_head(*text);
    CUSTODY_TRY(parsed);
    old_size = (*parsed)["tree_size"].get<std::uint64_t>();
    old_root = string_member(*parsed, "root_sha256");
    json saved = internal::parse_untrusted_json(*text);
    // A saved head is itself a bundle; a proof file carries one under "tree_head". Either way
    // only the bundle's own parts go into the proof.
    const json source =
        saved.contains("head") || !saved.contains("tree_head") ? saved : saved["tree_head"];
    for (const char* key : {"head", "signature", "timestamp", "tree_head"}) {
      if (source.is_object() && source.contains(key)) {
        old_bundle[key] = source[key];
      }
    }
    if (old_size == 0 || old_size > log->events.size()) {
      return make_error(Errc::invalid_argument,
                        fmt::format("the saved head covers {} events, but {} has {}: the log "
                                    "cannot extend it",
                                    old_size, path, log->events.size()));
    }
  }
  const std::vector<Sha256> leaves = leaf_hashes(log->events);
  auto proof_path = consistency_proof(leaves, old_size);
  CUSTODY_TRY(proof_path);
  json proof{{"format", "custody-consistency-proof"},
             {"version", 1},
             {"log_id", log->log_id},
             {"old_size", old_size},
             {"old_root", old_root},
             {"new_size", leaves.size()},
             {"new_root", (*head)->root_sha256},
             {"proof", hex_list(*proof_path)},
             {"old_tree_head", old_bundle},
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

namespace {

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

}  // namespace

namespace {
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
  result.valid = std::none_of(result.checks.begin(), result.checks.end(),
                              [](const LogCheck& c) { return c.result == LogCheckResult::fail; });
  return result;
}
}  // namespace

Result<ProofCheck> check_custody_proof(const std::string& proof_json,
                                       const std::vector<std::string>& trust_files,
                                       const std::vector<std::string>& tsa_trust_files) {
  return internal::json_errors_are_corrupt("not a valid custody proof", [&] {
    return check_proof(proof_json, trust_files, tsa_trust_files);
  });
}

const char* log_check_result_name(LogCheckResult result) {
  switch (result) {
    case LogCheckResult::pass:
      return "pass";
    case LogCheckResult::fail:
      return "fail";
    case LogCheckResult::warn:
      return "warn";
  }
  return "fail";
}

namespace {

json checks_to_json(const std::vector<LogCheck>& checks) {
  json out = json::array();
  for (const LogCheck& check : checks) {
    out.push_back(json{{"subject", check.subject},
                       {"result", log_check_result_name(check.result)},
                       {"detail", check.detail}});
  }
  return out;
}

}  // namespace

std::string proof_check_to_json(const ProofCheck& check) {
  json out{{"format", "custody-proof-check"},
           {"version", 1},
           {"kind", check.kind},
           {"verdict", check.valid ? "holds" : "fails"},
           {"checks", checks_to_json(check.checks)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string log_verification_to_json(const LogVerification& verification) {
  json checks = json::array();
  for (const LogCheck& check : verification.checks) {
    checks.push_back(json{{"subject", check.subject},
                          {"result", log_check_result_name(check.result)},
                          {"detail", check.detail}});
  }
  json out{{"format", "custody-log-verification"},
           {"version", 1},
           {"file", verification.log.path},
           {"log_id", verification.log.log_id},
           {"verdict", verification.intact ? "intact" : "failed"},
           {"events", verification.log.events.size()},
           {"checks", checks}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string custody_log_to_json(const CustodyLog& log) {
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
