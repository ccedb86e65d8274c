// SPDX-License-Identifier: Apache-2.0
// ZIP64 on-disk records shared by ZipReader and ZipWriter: signatures, record sizes and field
// markers after PKWARE's APPNOTE.TXT 6.3 (§4.3, §4.5.3), little-endian field loads, and the checks
// on member names both sides apply. Internal to zip/; the choices that matter for AFF4
// interoperability are in aff4-subset.md §1.4.
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace custody::internal::zip {

inline constexpr std::uint32_t k_local_header_signature = 0x04034b50;
inline constexpr std::uint32_t k_central_header_signature = 0x02014b50;
inline constexpr std::uint32_t k_eocd_signature = 0x06054b50;
inline constexpr std::uint32_t k_zip64_eocd_signature = 0x06064b50;
inline constexpr std::uint32_t k_zip64_locator_signature = 0x07064b50;

inline constexpr std::size_t k_local_header_size = 30;
inline constexpr std::size_t k_central_header_size = 46;
inline constexpr std::size_t k_eocd_size = 22;
inline constexpr std::size_t k_zip64_eocd_size = 56;
// The Zip64 EOCD's "size of record" field counts the bytes after itself (56 - 12).
inline constexpr std::uint64_t k_zip64_eocd_record_size = 44;
inline constexpr std::size_t k_zip64_locator_size = 20;
inline constexpr std::size_t k_max_comment = 0xFFFF;
inline constexpr std::size_t k_max_name = 0xFFFF;

inline constexpr std::uint32_t k_u32_marker = 0xFFFFFFFF;
inline constexpr std::uint16_t k_u16_marker = 0xFFFF;
inline constexpr std::uint16_t k_zip64_extra_id = 0x0001;
// APPNOTE 4.4.3.2: "4.5 - File uses ZIP64 format"
inline constexpr std::uint16_t k_version_zip64 = 45;
inline constexpr std::uint16_t k_method_stored = 0;
inline constexpr std::uint16_t k_method_deflate = 8;
inline constexpr std::uint16_t k_flag_encrypted = 0x0001;
inline constexpr std::uint16_t k_flag_utf8 = 0x0800;

// Reads are done in pieces of this size (member data, and the central directory window).
inline constexpr std::size_t k_io_piece = std::size_t{1} << 20U;

// --- little-endian fields --------------------------------------------------------------------

inline std::uint16_t load_u16(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[at]) |
                                    (std::to_integer<unsigned>(bytes[at + 1]) << 8U));
}

inline std::uint32_t load_u32(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint32_t>(load_u16(bytes, at)) |
         (static_cast<std::uint32_t>(load_u16(bytes, at + 2)) << 16U);
}

inline std::uint64_t load_u64(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint64_t>(load_u32(bytes, at)) |
         (static_cast<std::uint64_t>(load_u32(bytes, at + 4)) << 32U);
}

// --- shared by reader and writer (zip_format.cpp) --------------------------------------------

// A member name for messages: at most 120 bytes, control and non-ASCII bytes as \xNN.
std::string printable(std::string_view name);

// Why a member name is unsafe to hand to anything that maps names to paths, or nullptr.
const char* unsafe_name_reason(std::string_view name);

// Reads exactly buffer.size() bytes. Every range read here was checked against the file size at
// open(), so a short read means the file shrank under us: an I/O problem, not bad content.
Result<void> pread_exact(int fd,
                         std::span<std::byte> buffer,
                         const std::string& path,
                         std::uint64_t offset);

// CRC-32 (zlib's) of `data`, continuing from `crc`.
std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> data);

}  // namespace custody::internal::zip
