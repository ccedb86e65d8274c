// SPDX-License-Identifier: Apache-2.0
// The one verdict model of every check the library makes (evidence, custody log, bag, package):
// each check says pass, warn, fail or not_checked, and the tools render it without deciding what
// it means.
#pragma once

#include <cstdint>

namespace custody {

// pass; warn: not a failure, but something the reader of the report must know (unreadable
// sectors recorded at acquisition, a hash that nothing recorded to compare with, an unsigned
// event); fail; not_checked: what the verification did not cover, and why (seals of a raw image,
// signers without --trust): a verdict is only as strong as what it covered.
enum class Verdict : std::uint8_t { pass, warn, fail, not_checked };

// "pass", "warn", "fail", "not_checked" (the JSON names, which never change with the language).
const char* verdict_name(Verdict verdict);

// "PASS", "WARN", "FAIL", "NOT CHECKED": how the tools label a check in text.
const char* verdict_label(Verdict verdict);

}  // namespace custody
