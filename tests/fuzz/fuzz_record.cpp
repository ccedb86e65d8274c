// SPDX-License-Identifier: Apache-2.0
// The acquisition record (custody/acquisition.json, NAME.acquisition.json): parse_record.
#include "fuzz_support.hpp"

#include <custody/record.hpp>

CUSTODY_FUZZ_TARGET(record)(const std::uint8_t* data, std::size_t size) {
  (void)custody::parse_record(custody::fuzz::as_text(data, size));
  return 0;
}
