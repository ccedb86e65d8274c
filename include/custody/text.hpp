// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by the library and the tools: sizes with unit suffixes and UTC times.
#pragma once

#include <custody/error.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace custody {

// Parses "4096", "650M", "2G", "1T" (K/M/G/T are powers of 1024, optional trailing "iB" or "B").
// Errc::invalid_argument for anything else, zero, or an overflow.
Result<std::uint64_t> parse_size(std::string_view text);

// "2.00 GiB", "512 B": for people, not for records.
std::string format_bytes(std::uint64_t bytes);

// RFC 3339 UTC with seconds: "2026-11-29T04:40:12Z".
std::string format_utc(std::chrono::system_clock::time_point time);
std::string utc_now();

// Text for HTML or XML content and attribute values: & < > " ' as character references.
std::string escape_markup(std::string_view text);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. The one check for text
// that enters signed or stored forms (custody events, ZIP member names).
bool is_valid_utf8(std::string_view text);

// A new random (version 4) UUID as a URN: "urn:uuid:5f0c...". Errc::crypto if the random
// generator fails.
Result<std::string> random_uuid_urn();

}  // namespace custody
