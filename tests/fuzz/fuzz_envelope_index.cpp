// SPDX-License-Identifier: Apache-2.0
// The index of an encrypted package (NAME.enc.json): read_envelope_index and check_package.
#include "fuzz_support.hpp"

#include <custody/envelope.hpp>

#include <fstream>

CUSTODY_FUZZ_TARGET(envelope_index)(const std::uint8_t* data, std::size_t size) {
  const std::string path = custody::fuzz::scratch_dir() + "/package.enc.json";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << custody::fuzz::as_text(data, size);
  (void)custody::read_envelope_index(path);
  (void)custody::check_package(path);
  return 0;
}
