// SPDX-License-Identifier: Apache-2.0
// JSON of the parts of a logical acquisition that both the record ("logical" section) and the
// file list (custody/files.json) hold. Readers return Errc::corrupt naming the member (its path
// from the part they read: "sources[].path"); the caller says which file it is.
#pragma once

#include <custody/error.hpp>
#include <custody/record.hpp>

#include <nlohmann/json.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace custody::internal {

// "2024-05-01T10:00:00.123456789Z" (RFC 3339 UTC, nanoseconds).
std::string format_ns_time(std::int64_t seconds, std::uint32_t nanoseconds);
// Parses what format_ns_time writes, and also "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS[.f...]Z" or
// with a "+HH:MM" offset (pyaff4 writes local times with offsets). nullopt if it is none of them.
std::optional<timespec> parse_ns_time(std::string_view text);

nlohmann::json digest_set_to_json(const DigestSet& digests);
Result<DigestSet> digest_set_from_json(const nlohmann::json& value, const char* where);

nlohmann::json logical_sources_to_json(const std::vector<LogicalSourceRecord>& sources);
Result<std::vector<LogicalSourceRecord>> logical_sources_from_json(const nlohmann::json& value);

nlohmann::json logical_filters_to_json(const LogicalFilters& filters);
Result<LogicalFilters> logical_filters_from_json(const nlohmann::json& value);

nlohmann::json logical_exclusions_to_json(const LogicalExclusions& excluded);
Result<LogicalExclusions> logical_exclusions_from_json(const nlohmann::json& value);

nlohmann::json logical_summary_to_json(const LogicalSummary& summary);
Result<LogicalSummary> logical_summary_from_json(const nlohmann::json& value);

// Stores a value that was read in `out`, or passes its error on: one line per member in readers
// that compose with CUSTODY_TRY.
template <typename T>
Result<void> read_into(T& out, Result<T> value) {
  CUSTODY_TRY(value);
  out = std::move(*value);
  return {};
}

}  // namespace custody::internal
