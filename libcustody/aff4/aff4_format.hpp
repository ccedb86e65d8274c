// SPDX-License-Identifier: Apache-2.0
// AFF4 Standard v1.0 vocabulary and on-disk records shared by the container writer and reader.
// The subset and its pitfalls are described in docs/aff4-subset.md; the format as custody
// writes it is specified in custody-container(5).
#pragma once

#include <custody/error.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace custody::internal::aff4 {

inline constexpr std::string_view k_ns = "http://aff4.org/Schema#";
inline constexpr std::string_view k_xsd = "http://www.w3.org/2001/XMLSchema#";

inline std::string term(std::string_view local) {
  return std::string(k_ns) + std::string(local);
}
inline std::string xsd(std::string_view local) {
  return std::string(k_xsd) + std::string(local);
}

inline constexpr std::size_t k_index_entry_size = 12;  // u64 offset in bevy, u32 stored length
inline constexpr std::size_t k_map_entry_size = 28;    // u64 mapped, u64 length, u64 target, u32 id
// The UNKNOWN / UNREADABLEDATA fills are tiled into 1 MiB and indexed by absolute target offset.
inline constexpr std::uint64_t k_symbolic_tile = std::uint64_t{1} << 20U;
// A compressed chunk is stored only if it saves at least this much (AFF4 §3.2).
inline constexpr std::size_t k_min_compression_saving = 16;

struct IndexEntry {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
};

struct MapEntry {
  std::uint64_t mapped_offset = 0;
  std::uint64_t length = 0;
  std::uint64_t target_offset = 0;
  std::uint32_t target_id = 0;
};

inline void put_u32(std::byte* out, std::uint32_t value) {
  for (unsigned i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>((value >> (8U * i)) & 0xFFU);
  }
}
inline void put_u64(std::byte* out, std::uint64_t value) {
  for (unsigned i = 0; i < 8; ++i) {
    out[i] = static_cast<std::byte>((value >> (8U * i)) & 0xFFU);
  }
}
inline std::uint32_t get_u32(const std::byte* in) {
  std::uint32_t value = 0;
  for (unsigned i = 0; i < 4; ++i) {
    value |= static_cast<std::uint32_t>(in[i]) << (8U * i);
  }
  return value;
}
inline std::uint64_t get_u64(const std::byte* in) {
  std::uint64_t value = 0;
  for (unsigned i = 0; i < 8; ++i) {
    value |= static_cast<std::uint64_t>(in[i]) << (8U * i);
  }
  return value;
}

// Member name for an object URN (AFF4 §5.1-5.3): relative to the volume URN if below it,
// otherwise "aff4://" escaped as "aff4%3A%2F%2F".
std::string member_name_for(std::string_view urn, std::string_view volume_urn);

// A new random URN "aff4://<uuid v4>".
std::string new_urn();

// Bevy member names: "<stream member>/%08d" and its ".index".
std::string bevy_member(std::string_view stream_member, std::uint64_t bevy);

}  // namespace custody::internal::aff4
