// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the fuzz harnesses (tests/fuzz/fuzz_<name>.cpp).
//
// Each harness is written once with CUSTODY_FUZZ_TARGET(name). Built with the fuzz preset
// (CUSTODY_LIBFUZZER defined) it is libFuzzer's LLVMFuzzerTestOneInput; built in the normal test
// run it registers itself with custody_fuzz_replay, which feeds it the regression inputs in
// tests/fuzz/regressions/<name>/ (every crash the fuzzers found) under gcc, ASan and UBSan too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custody::fuzz {

using Target = int (*)(const std::uint8_t*, std::size_t);
bool register_target(const char* name, Target target);

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file holding `bytes` that lives in memory (memfd), as a path: "/proc/self/fd/N". Replaced on
// every call (one per harness run).
const std::string& memory_file(std::string_view bytes);

// A private scratch directory for this process (removed at exit).
const std::string& scratch_dir();

// Splits "@@ name\n<content>@@ name\n<content>..." into (name, content) pairs; a marker counts
// at the start of the input or after a newline. Text before the first marker is dropped. At most
// `max_parts` parts.
std::vector<std::pair<std::string, std::string>> split_sections(std::string_view input,
                                                                std::size_t max_parts);

// A STORED ZIP64 archive at `path` (overwritten) holding `members` (names the ZIP writer refuses,
// and duplicates, are skipped). False if it could not be written.
bool write_zip(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace custody::fuzz

// Usage: CUSTODY_FUZZ_TARGET(name)(const std::uint8_t* data, std::size_t size) { ... }
#ifdef CUSTODY_LIBFUZZER
#  define CUSTODY_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput
#else
#  define CUSTODY_FUZZ_TARGET(name)                                     \
    static int fuzz_##name(const std::uint8_t* data, std::size_t size); \
    [[maybe_unused]] static const bool fuzz_registered_##name =         \
        custody::fuzz::register_target(#name, fuzz_##name);             \
    static int fuzz_##name
#endif
