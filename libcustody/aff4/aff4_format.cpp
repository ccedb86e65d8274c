// SPDX-License-Identifier: Apache-2.0
// AFF4 names and URNs shared by the reader and the writer (aff4-subset.md in docs/).
#include "aff4/aff4_format.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <chrono>

namespace custody::internal::aff4 {

std::string member_name_for(std::string_view urn, std::string_view volume_urn) {
  if (!volume_urn.empty() && urn.size() > volume_urn.size() + 1 && urn.starts_with(volume_urn) &&
      urn[volume_urn.size()] == '/') {
    return std::string(urn.substr(volume_urn.size() + 1));
  }
  constexpr std::string_view k_scheme = "aff4://";
  if (urn.starts_with(k_scheme)) {
    return "aff4%3A%2F%2F" + std::string(urn.substr(k_scheme.size()));
  }
  return std::string(urn);
}

std::string new_urn() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // RAND_bytes fails only without an entropy source; a clock-derived id is still unique here.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(bytes.data(), &now, sizeof now);
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0FU) | 0x40U);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3FU) | 0x80U);  // RFC 4122 variant
  std::string hex;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      hex += '-';
    }
    hex += fmt::format("{:02x}", bytes[i]);
  }
  return "aff4://" + hex;
}

std::string bevy_member(std::string_view stream_member, std::uint64_t bevy) {
  return fmt::format("{}/{:08d}", stream_member, bevy);
}

}  // namespace custody::internal::aff4
