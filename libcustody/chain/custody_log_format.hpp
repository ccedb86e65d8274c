// SPDX-License-Identifier: Apache-2.0
// What the parts of the custody log (custody_log_*.cpp) share: its member names, canonical JSON and
// base64, events and tree heads as JSON and back, and the log read from a ZIP volume.
#pragma once

#include "zip/zip.hpp"

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/merkle.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace custody::internal::custody_log {

inline constexpr std::size_t k_member_limit = std::size_t{1} << 20U;  // events, heads, signatures
inline constexpr const char* k_log_dir = "custody/log/";
inline constexpr const char* k_info_member = "custody/log/log.json";

// --- Bytes and text (custody_log_format.cpp) ---

// RFC 8785 form for our data: keys sorted, no whitespace, integers only, UTF-8 as is. Throws
// nlohmann::json::exception on text that is not UTF-8.
std::string canonical(const nlohmann::json& value);

std::string base64(std::string_view bytes);
// Nothing when `text` is not base64 (or longer than any member we read could need).
std::optional<std::string> unbase64(std::string_view text);

bool is_utf8(std::string_view text);

std::span<const std::byte> as_bytes(const std::string& text);

// `object[key]` when it is a string, else empty.
std::string string_member(const nlohmann::json& object, const char* key);

// "custody/log/event-12.json" for ("event", 12, "json").
std::string member_name(const char* kind, std::uint64_t number, const char* suffix);

// --- Events and tree heads (custody_log_format.cpp) ---

// Parses an event's bytes; sets parse_problem when they are not a canonical custody event.
void parse_event(LoggedEvent& event);
// Parses a tree head's bytes; sets parse_problem when they are not a canonical custody tree head.
void parse_head(LoggedHead& head);

// The event recorded from `draft`, by `identity` (nullptr: unsigned).
nlohmann::json event_json(const EventDraft& draft,
                          const Identity* identity,
                          const std::string& log_id,
                          std::uint64_t sequence,
                          const std::string& event_id,
                          const std::string& time,
                          const std::string& evidence_id,
                          const std::string& exhibit,
                          const std::map<std::string, std::string>& image_hashes);

// The tree head over the first `tree_size` events, signed by `identity` (nullptr: unsigned).
nlohmann::json tree_head_json(const std::string& log_id,
                              std::uint64_t tree_size,
                              const std::string& root_sha256,
                              const std::string& time,
                              const Identity* identity);

// The log's own member, custody/log/log.json (a new log's identity).
nlohmann::json log_info_json(const std::string& log_id, bool standalone);

// A tree head someone kept: a saved head (custody-log head), a proof that carries one, or the
// head's own JSON. Errc::corrupt if it is none of them.
Result<nlohmann::json> parse_saved_head(const std::string& text);

// The Merkle leaf hashes of `events`, in order.
std::vector<Sha256> leaf_hashes(const std::vector<LoggedEvent>& events);

// --- The log in a ZIP volume (custody_log_read.cpp) ---

// The image hashes of the container's acquisition record (empty if it has none); also its
// evidence id and exhibit number where the pointers are not null.
std::map<std::string, std::string> record_hashes(const ZipReader& zip,
                                                 std::string* evidence_id,
                                                 std::string* exhibit);

// The log's members in `zip`, parsed. Errors only when a member cannot be read.
Result<CustodyLog> read_log(const ZipReader& zip);

}  // namespace custody::internal::custody_log
