// SPDX-License-Identifier: Apache-2.0
// ZIP/ZIP64 central directory, local headers and member reads (internal::ZipReader).
#include "fuzz_support.hpp"
#include "zip/zip.hpp"

#include <array>

CUSTODY_FUZZ_TARGET(zip)(const std::uint8_t* data, std::size_t size) {
  using custody::internal::ZipReader;
  auto zip = ZipReader::open(custody::fuzz::memory_file(custody::fuzz::as_text(data, size)));
  if (!zip) {
    return 0;
  }
  std::size_t n = 0;
  for (const auto& member : zip->members()) {
    if (++n > 64) {
      break;
    }
    (void)zip->find(member.name);
    (void)zip->read_member(member, std::size_t{1} << 20U);
    (void)zip->compute_crc32(member);
    std::array<std::byte, 64> piece{};
    (void)zip->read_stored(member, 0, piece);
    (void)zip->read_stored(member, member.uncompressed_size / 2, piece);
  }
  return 0;
}
