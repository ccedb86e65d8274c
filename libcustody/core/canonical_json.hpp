// SPDX-License-Identifier: Apache-2.0
// The one canonical JSON form of the bytes we sign and hash (records, custody log events and
// heads, seal manifests, transfer statements): RFC 8785 for our data.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace custody::internal {

// Keys sorted (nlohmann's object is a std::map, and our keys are ASCII, so byte order is UTF-16
// order as RFC 8785 asks), no whitespace, integers only, UTF-8 as is. Text that is not UTF-8 is
// refused where it enters (check_event_draft, the record's writers); should any reach here, it
// is replaced by U+FFFD identically when writing and when checking, rather than thrown on.
inline std::string canonical_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace custody::internal
