// SPDX-License-Identifier: Apache-2.0
// The custody log in a container: events, heads, signatures and tokens as ZIP members
// ("@@ custody/log/event-1.json\n{...}" sections, put into a ZIP), read and verified.
#include "fuzz_support.hpp"

#include <custody/custody_log.hpp>

CUSTODY_FUZZ_TARGET(custody_log)(const std::uint8_t* data, std::size_t size) {
  const std::string path = custody::fuzz::scratch_dir() + "/log.aff4";
  if (!custody::fuzz::write_zip(
          path, custody::fuzz::split_sections(custody::fuzz::as_text(data, size), 64))) {
    return 0;
  }
  if (auto log = custody::read_custody_log(path)) {
    (void)custody::custody_log_to_json(*log);
  }
  if (auto verification = custody::verify_custody_log(path, {}, {})) {
    (void)custody::log_verification_to_json(*verification);
  }
  return 0;
}
