// SPDX-License-Identifier: Apache-2.0
// Chunk decompression (internal::decompress): byte 0 picks the codec, byte 1 the chunk size.
#include "aff4/codec.hpp"
#include "fuzz_support.hpp"

#include <cstring>
#include <vector>

CUSTODY_FUZZ_TARGET(codec)(const std::uint8_t* data, std::size_t size) {
  using namespace custody::internal;
  if (size < 2) {
    return 0;
  }
  const auto method = static_cast<Compression>(data[0] % 5U);
  const std::size_t chunk = std::size_t{1} << (data[1] % 18U);  // 1 byte .. 128 KiB
  std::vector<std::byte> out(chunk);
  const auto* input = reinterpret_cast<const std::byte*>(data + 2);
  auto got = decompress(method, std::span(input, size - 2), out);
  if (got && *got > out.size()) {
    __builtin_trap();  // never more than the chunk
  }
  if (got) {
    // A round trip of what came out gives the same bytes.
    std::vector<std::byte> packed(compress_bound(method, *got));
    auto n = compress(method, std::span(out.data(), *got), packed);
    if (n) {
      std::vector<std::byte> again(chunk);
      auto back = decompress(method, std::span(packed.data(), *n), again);
      if (!back || *back != *got || std::memcmp(again.data(), out.data(), *got) != 0) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
