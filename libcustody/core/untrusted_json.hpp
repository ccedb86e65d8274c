// SPDX-License-Identifier: Apache-2.0
// JSON from outside (records, custody log events and heads, proofs, package indexes, receipts):
// parsed without exceptions and with a bound on nesting. nlohmann's parser is iterative, but
// dump(), comparison and our readers recurse once per level, so a few hundred kilobytes of "[[[["
// would overflow the stack. Nothing we read is nested more than a handful of levels.
#pragma once

#include <custody/error.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace custody::internal {

inline constexpr std::size_t k_max_json_depth = 64;

// Whether arrays and objects in `text` nest at most `limit` deep (brackets inside strings do not
// count; the text need not be valid JSON).
inline bool json_nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// json::parse(text, nullptr, false), and a discarded value (as for invalid JSON) when the text
// nests deeper than k_max_json_depth.
inline nlohmann::json parse_untrusted_json(std::string_view text) {
  if (!json_nesting_within(text, k_max_json_depth)) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return nlohmann::json::parse(text, nullptr, false);
}

// Runs `body` (which returns a Result); a nlohmann::json::exception escaping it, such as
// json::value("key", default) meeting a member of another type in outside JSON, becomes
// Errc::corrupt "`what`: ...". Where a reader cannot check every type before use, this keeps a
// hostile file from ending the program.
template <typename Body>
auto json_errors_are_corrupt(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const nlohmann::json::exception& problem) {
    return make_error(Errc::corrupt, std::string(what) + ": a member has the wrong type or form (" +
                                         problem.what() + ")");
  }
}

// A text member of an outside JSON object at `pointer` ("/a/b"), or "" when it is missing or not
// a string: JSON of the wrong shape is reported by its reader, never thrown.
inline std::string text_at(const nlohmann::json& value, const char* pointer) {
  const nlohmann::json::json_pointer where(pointer);
  if (!value.is_object() || !value.contains(where)) {
    return {};
  }
  const nlohmann::json& found = value.at(where);
  return found.is_string() ? found.get<std::string>() : std::string();
}

}  // namespace custody::internal
