// SPDX-License-Identifier: Apache-2.0
// The custody log's forms (custody-log(5)): canonical JSON and base64, events and tree heads built
// as JSON and parsed back from their bytes, saved tree heads, and the member names.
#include "chain/custody_log_format.hpp"

#include "core/canonical_json.hpp"
#include "core/untrusted_json.hpp"

#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>

namespace custody::internal::custody_log {

namespace {

using nlohmann::json;

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

// The fields of an event whose form parse_event() has checked.
void read_event_fields(const json& value, LoggedEvent& event) {
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
}

// Sets `object[key]` to a non-empty string.
void put(json& object, const char* key, const std::string& value) {
  if (!value.empty()) {
    object[key] = value;
  }
}

// Sets `object[key]` to a non-empty object.
void put_object(json& object, const char* key, const json& value) {
  if (!value.empty()) {
    object[key] = value;
  }
}

json actor_json(const EventDraft& draft, const Identity* identity) {
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
  return actor;
}

json evidence_json(const std::string& evidence_id,
                   const std::string& exhibit,
                   const std::map<std::string, std::string>& image_hashes) {
  json evidence = json::object();
  put(evidence, "id", evidence_id);
  put(evidence, "exhibit", exhibit);
  if (!image_hashes.empty()) {
    evidence["image_hashes"] = image_hashes;
  }
  return evidence;
}

}  // namespace

// RFC 8785 form for our data: keys sorted (nlohmann's object is a std::map, and our keys are
// ASCII, so byte order is UTF-16 order), no whitespace, integers only, UTF-8 as is. Text that is
// not UTF-8 is refused before it gets here.
std::string canonical(const json& value) {
  return internal::canonical_json(value);
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
  return is_valid_utf8(text);
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string string_member(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) {
    return {};
  }
  return object[key].get<std::string>();
}

std::string member_name(const char* kind, std::uint64_t number, const char* suffix) {
  return fmt::format("{}{}-{}.{}", k_log_dir, kind, number, suffix);
}

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
  read_event_fields(value, event);
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
  put_object(event, "actor", actor_json(draft, identity));
  json location = json::object();
  put(location, "place", draft.location);
  put(location, "jurisdiction", draft.jurisdiction);
  put_object(event, "location", location);
  json legal = json::object();
  put(legal, "basis", draft.legal_basis);
  put(legal, "reference", draft.legal_reference);
  put_object(event, "legal", legal);
  put(event, "purpose", draft.purpose);
  put(event, "notes", draft.notes);
  if (!draft.bag_seals.empty()) {
    event["bag_seals"] = draft.bag_seals;
  }
  if (!draft.details.empty()) {
    event["details"] = draft.details;
  }
  put_object(event, "evidence", evidence_json(evidence_id, exhibit, image_hashes));
  return event;
}

json tree_head_json(const std::string& log_id,
                    std::uint64_t tree_size,
                    const std::string& root_sha256,
                    const std::string& time,
                    const Identity* identity) {
  json head{
      {"format", k_tree_head_format}, {"version", 1}, {"log_id", log_id}, {"tree_size", tree_size},
      {"root_sha256", root_sha256},   {"time", time}};
  if (identity != nullptr) {
    head["signer_sha256"] = identity->certificate().sha256_fingerprint;
  }
  return head;
}

json log_info_json(const std::string& log_id, bool standalone) {
  return json{{"format", k_log_info_format},
              {"version", 1},
              {"log_id", log_id},
              {"standalone", standalone},
              {"created", utc_now()}};
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

std::vector<Sha256> leaf_hashes(const std::vector<LoggedEvent>& events) {
  std::vector<Sha256> leaves;
  leaves.reserve(events.size());
  for (const LoggedEvent& event : events) {
    leaves.push_back(merkle_leaf_hash(as_bytes(event.bytes)));
  }
  return leaves;
}

}  // namespace custody::internal::custody_log
