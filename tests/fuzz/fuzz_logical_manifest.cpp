// SPDX-License-Identifier: Apache-2.0
// The file list of a logical container (custody/files.json): parse_logical_manifest.
#include "fuzz_support.hpp"

#include <custody/logical.hpp>

CUSTODY_FUZZ_TARGET(logical_manifest)(const std::uint8_t* data, std::size_t size) {
  (void)custody::parse_logical_manifest(custody::fuzz::as_text(data, size));
  return 0;
}
