// SPDX-License-Identifier: Apache-2.0
// The helpers ZipReader and ZipWriter share: member names for messages and their safety rules,
// exact positioned reads, and CRC-32.
#include "zip/zip_format.hpp"

#include "core/posix_file.hpp"

#include <fmt/format.h>

#include <zlib.h>

#include <algorithm>

namespace custody::internal::zip {

std::string printable(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size() && i < 120; ++i) {
    const auto byte = static_cast<unsigned char>(name[i]);
    if (byte < 0x20 || byte >= 0x7F || byte == '"' || byte == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(static_cast<char>(byte));
    }
  }
  if (name.size() > 120) {
    out += "...";
  }
  return out;
}

const char* unsafe_name_reason(std::string_view name) {
  if (name.empty()) {
    return "it is empty";
  }
  if (name.find('\0') != std::string_view::npos) {
    return "it contains a NUL byte";
  }
  if (name.find('\\') != std::string_view::npos) {
    return "it contains a backslash";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    if (name.substr(start, slash == std::string_view::npos ? slash : slash - start) == "..") {
      return "it has a \"..\" component";
    }
    if (slash == std::string_view::npos) {
      return nullptr;
    }
    start = slash + 1;
  }
}

Result<void> pread_exact(int fd,
                         std::span<std::byte> buffer,
                         const std::string& path,
                         std::uint64_t offset) {
  auto got = pread_full(fd, buffer, path, offset);
  CUSTODY_TRY(got);
  if (*got != buffer.size()) {
    return make_sys_error(Errc::io_error, "unexpected end of file (did the file shrink?)", path, 0,
                          offset + *got);
  }
  return {};
}

std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> data) {
  // zlib's length is 32-bit: feed large spans in pieces.
  while (!data.empty()) {
    const std::size_t take = std::min<std::size_t>(data.size(), std::size_t{1} << 30U);
    crc = static_cast<std::uint32_t>(
        ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(take)));
    data = data.subspan(take);
  }
  return crc;
}

}  // namespace custody::internal::zip
