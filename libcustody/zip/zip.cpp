// SPDX-License-Identifier: Apache-2.0
// ZIP64 reader and writer. Record layouts follow PKWARE's APPNOTE.TXT 6.3 (§4.3, §4.5.3); the
// choices that matter for AFF4 interoperability are in aff4-subset.md §1.4.
#include "zip/zip.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <unordered_set>

namespace custody::internal {

namespace {

constexpr std::uint32_t k_local_header_signature = 0x04034b50;
constexpr std::uint32_t k_central_header_signature = 0x02014b50;
constexpr std::uint32_t k_eocd_signature = 0x06054b50;
constexpr std::uint32_t k_zip64_eocd_signature = 0x06064b50;
constexpr std::uint32_t k_zip64_locator_signature = 0x07064b50;

constexpr std::size_t k_local_header_size = 30;
constexpr std::size_t k_central_header_size = 46;
constexpr std::size_t k_eocd_size = 22;
constexpr std::size_t k_zip64_eocd_size = 56;
// The Zip64 EOCD's "size of record" field counts the bytes after itself (56 - 12).
constexpr std::uint64_t k_zip64_eocd_record_size = 44;
constexpr std::size_t k_zip64_locator_size = 20;
constexpr std::size_t k_max_comment = 0xFFFF;
constexpr std::size_t k_max_name = 0xFFFF;

constexpr std::uint32_t k_u32_marker = 0xFFFFFFFF;
constexpr std::uint16_t k_u16_marker = 0xFFFF;
constexpr std::uint16_t k_zip64_extra_id = 0x0001;
// Local header Zip64 extra: id, length, uncompressed size, compressed size.
constexpr std::uint16_t k_local_zip64_extra_size = 20;
constexpr std::uint16_t k_version_zip64 = 45;  // APPNOTE 4.4.3.2: "4.5 - File uses ZIP64 format"
// "Made by" Unix, version 4.5, with mode 0644 regular file in the external attributes. Made by
// MS-DOS, Info-ZIP unzip converts the central directory name from CP437 despite the UTF-8 flag and
// then reports a mismatch with the local name; made by Unix without a mode, it extracts files
// with mode 0000.
constexpr std::uint16_t k_made_by_unix = (3U << 8U) | k_version_zip64;
constexpr std::uint32_t k_external_attributes = 0100644U << 16U;
constexpr std::uint16_t k_method_stored = 0;
constexpr std::uint16_t k_method_deflate = 8;
constexpr std::uint16_t k_flag_encrypted = 0x0001;
constexpr std::uint16_t k_flag_utf8 = 0x0800;
// Every member gets 1980-01-01 00:00 (the DOS epoch): the archive's bytes then depend only on
// its content, so two runs over the same evidence give identical files, and acquisition times
// live in information.turtle and the custody record, where they are signed.
constexpr std::uint16_t k_dos_time = 0;
constexpr std::uint16_t k_dos_date = (0U << 9U) | (1U << 5U) | 1U;

constexpr std::size_t k_io_piece = std::size_t{1} << 20U;
// Start write-back every this many bytes, so the final fsync is short and the page cache does
// not fill with dirty evidence (as in acquisition.cpp).
constexpr std::uint64_t k_writeback_interval = std::uint64_t{32} << 20U;
// Flush the central directory being built once it is this large.
constexpr std::size_t k_directory_flush = std::size_t{4} << 20U;

// Aligned members (begin_member(name, true)): their data starts at a multiple of this in the
// file, so that it can go to disk with direct I/O (O_DIRECT), which needs the file offset, the
// memory address and the length to be multiples of the device's logical block size; 4096 covers
// 512e and 4Kn disks alike.
constexpr std::size_t k_direct_alignment = 4096;
// The padding that aligns them is the extra field Android's zipalign and apksigner write (ID
// 0xD935, not registered in APPNOTE; readers skip extra fields they do not know): a u16 alignment
// (4096) followed by zero bytes, at least 6 bytes with its header.
constexpr std::uint16_t k_alignment_extra_id = 0xD935;
constexpr std::size_t k_alignment_extra_minimum = 6;
// Member data gathered before a direct write. Direct writes return only when the device has the
// data, so they must be large to keep the disk busy; the buffer is allocated once per writer.
constexpr std::size_t k_stage_size = std::size_t{4} << 20U;
// A caller's piece at least this large, aligned in memory, is written straight from the caller's
// memory (no staging copy) when nothing is staged: the AFF4 writer hands over whole 1 MiB
// pipeline blocks of incompressible chunks this way.
constexpr std::size_t k_direct_from_caller = std::size_t{1} << 20U;

// --- little-endian fields --------------------------------------------------------------------

std::uint16_t load_u16(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[at]) |
                                    (std::to_integer<unsigned>(bytes[at + 1]) << 8U));
}

std::uint32_t load_u32(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint32_t>(load_u16(bytes, at)) |
         (static_cast<std::uint32_t>(load_u16(bytes, at + 2)) << 16U);
}

std::uint64_t load_u64(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint64_t>(load_u32(bytes, at)) |
         (static_cast<std::uint64_t>(load_u32(bytes, at + 4)) << 32U);
}

class RecordBuilder {
 public:
  void u16(std::uint16_t value) { little_endian(value, 2); }
  void u32(std::uint32_t value) { little_endian(value, 4); }
  void u64(std::uint64_t value) { little_endian(value, 8); }
  void text(std::string_view bytes) { m_bytes.append(bytes); }

  std::span<const std::byte> bytes() const {
    return std::as_bytes(std::span(m_bytes.data(), m_bytes.size()));
  }
  std::size_t size() const { return m_bytes.size(); }
  void clear() { m_bytes.clear(); }

 private:
  void little_endian(std::uint64_t value, int count) {
    for (int i = 0; i < count; ++i) {
      m_bytes.push_back(static_cast<char>(value & 0xFFU));
      value >>= 8U;
    }
  }

  std::string m_bytes;
};

std::uint16_t clamp_u16(std::uint64_t value) {
  return value >= k_u16_marker ? k_u16_marker : static_cast<std::uint16_t>(value);
}

// --- checks ----------------------------------------------------------------------------------

// Whether [offset, offset + length) lies inside [0, limit), without overflow.
bool fits(std::uint64_t offset, std::uint64_t length, std::uint64_t limit) {
  return length <= limit && offset <= limit - length;
}

tl::unexpected<Error> corrupt(const std::string& path, std::uint64_t offset, std::string message) {
  return tl::unexpected(Error{Errc::corrupt, std::move(message), path, offset, 0, {}});
}

tl::unexpected<Error> corrupt(const std::string& path, std::string message) {
  return tl::unexpected(Error{Errc::corrupt, std::move(message), path, {}, 0, {}});
}

// A member name for messages: at most 120 bytes, control and non-ASCII bytes as \xNN.
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

// Why a member name is unsafe to hand to anything that maps names to paths, or nullptr.
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

// Strict UTF-8 (no overlong forms, surrogates or values above U+10FFFF), because the writer
// sets the UTF-8 flag on non-ASCII names and readers such as Python's zipfile then decode them.
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0U) == 0xC0U) {
      length = 2;
      code = lead & 0x1FU;
      minimum = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
      length = 3;
      code = lead & 0x0FU;
      minimum = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
      length = 4;
      code = lead & 0x07U;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0U) != 0x80U) {
        return false;
      }
      code = (code << 6U) | (next & 0x3FU);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// --- positioned I/O ----------------------------------------------------------------------------

// Reads exactly buffer.size() bytes. Every range read here was checked against the file size at
// open(), so a short read means the file shrank under us: an I/O problem, not bad content.
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

bool is_direct_aligned(std::uint64_t value) {
  return value % k_direct_alignment == 0;
}

bool is_direct_aligned(const std::byte* address) {
  return is_direct_aligned(reinterpret_cast<std::uintptr_t>(address));
}

std::size_t round_down_to_direct(std::size_t value) {
  return value - value % k_direct_alignment;
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

// Serves small views of a byte range of a file from a window of up to 1 MiB, so the central
// directory is parsed with few reads and without a buffer the size of what it claims.
class WindowReader {
 public:
  WindowReader(int fd, const std::string& path, std::uint64_t end)
      : m_fd(fd), m_path(path), m_end(end) {}

  // [offset, offset + length) must lie before `end` (checked by the caller).
  Result<std::span<const std::byte>> view(std::uint64_t offset, std::size_t length) {
    if (offset < m_start || offset + length > m_start + m_buffer.size()) {
      const std::uint64_t want =
          std::min<std::uint64_t>(std::max(length, k_io_piece), m_end - offset);
      m_buffer.resize(static_cast<std::size_t>(want));
      m_start = offset;
      CUSTODY_TRY(pread_exact(m_fd, m_buffer, m_path, offset));
    }
    return std::span<const std::byte>(m_buffer).subspan(static_cast<std::size_t>(offset - m_start),
                                                        length);
  }

 private:
  int m_fd;
  const std::string& m_path;
  std::uint64_t m_end;
  std::uint64_t m_start = 0;
  std::vector<std::byte> m_buffer;
};

// Inflates a raw-deflate member piece by piece, handing each piece of output to `sink`
// (Result<void>(std::span<const std::byte>)). The output may not exceed the recorded size, and
// must equal it at the end of the stream, so memory and work are bounded by the recorded size.
template <typename Sink>
Result<void> inflate_member(int fd, const std::string& path, const ZipMember& member, Sink&& sink) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return make_error(Errc::internal, "cannot initialise the deflate decompressor");
  }
  struct InflateEnd {
    z_stream* stream;
    ~InflateEnd() { inflateEnd(stream); }
  } const end{&stream};

  std::vector<std::byte> input(
      static_cast<std::size_t>(std::min<std::uint64_t>(member.compressed_size, k_io_piece)));
  // Sized by the recorded size: more output than that is an error anyway.
  std::vector<std::byte> output(
      static_cast<std::size_t>(std::clamp<std::uint64_t>(member.uncompressed_size, 1, k_io_piece)));
  std::uint64_t next = member.data_offset;
  std::uint64_t remaining = member.compressed_size;
  std::uint64_t produced = 0;
  const std::string name = printable(member.name);
  while (true) {
    if (stream.avail_in == 0 && remaining > 0) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining, input.size()));
      CUSTODY_TRY(pread_exact(fd, std::span(input).first(take), path, next));
      next += take;
      remaining -= take;
      stream.next_in = reinterpret_cast<Bytef*>(input.data());
      stream.avail_in = static_cast<uInt>(take);
    }
    stream.next_out = reinterpret_cast<Bytef*>(output.data());
    stream.avail_out = static_cast<uInt>(output.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    const std::size_t got = output.size() - stream.avail_out;
    if (got > 0) {
      produced += got;
      if (produced > member.uncompressed_size) {
        return corrupt(path, member.data_offset,
                       fmt::format("deflated member \"{}\" expands beyond its recorded size of {} "
                                   "bytes",
                                   name, member.uncompressed_size));
      }
      CUSTODY_TRY(sink(std::span<const std::byte>(output).first(got)));
    }
    if (status == Z_STREAM_END) {
      break;
    }
    if (status == Z_MEM_ERROR) {
      return make_error(Errc::internal, "out of memory in the deflate decompressor");
    }
    if (status == Z_BUF_ERROR || status == Z_OK) {
      if (stream.avail_in == 0 && remaining == 0 && got == 0) {
        return corrupt(path, member.data_offset,
                       fmt::format("deflated member \"{}\" ends before its deflate stream does "
                                   "(truncated)",
                                   name));
      }
      continue;
    }
    return corrupt(path, member.data_offset,
                   fmt::format("deflated member \"{}\" does not decompress ({})", name,
                               stream.msg != nullptr ? stream.msg : "invalid data"));
  }
  if (produced != member.uncompressed_size) {
    return corrupt(path, member.data_offset,
                   fmt::format("deflated member \"{}\" inflates to {} bytes, but the central "
                               "directory records {}",
                               name, produced, member.uncompressed_size));
  }
  return {};
}

// The checks common to every read: a ZipMember may come from the caller, not from this reader.
Result<void> check_readable(const ZipMember& member,
                            const std::string& path,
                            std::uint64_t file_size) {
  if (!fits(member.data_offset, member.compressed_size, file_size)) {
    return make_error(Errc::invalid_argument, fmt::format("member \"{}\" does not lie inside {}",
                                                          printable(member.name), path));
  }
  if ((member.flags & k_flag_encrypted) != 0) {
    return make_error(Errc::unsupported, fmt::format("member \"{}\" of {} is encrypted",
                                                     printable(member.name), path));
  }
  return {};
}

tl::unexpected<Error> unsupported_method(const ZipMember& member, const std::string& path) {
  return make_error(Errc::unsupported,
                    fmt::format("member \"{}\" of {} uses ZIP compression method {} (only 0, "
                                "stored, and 8, deflate, are supported)",
                                printable(member.name), path, member.method));
}

tl::unexpected<Error> moved_from() {
  return make_error(Errc::invalid_argument, "this ZipWriter was moved from");
}

tl::unexpected<Error> multi_disk(const std::string& path, std::uint64_t offset) {
  return tl::unexpected(Error{Errc::unsupported,
                              "archive spans several disks (split ZIP), which is not supported",
                              path, offset, 0, "join the parts into one file first (zip -s 0)"});
}

}  // namespace

// --- ZipReader ---------------------------------------------------------------------------------

Result<ZipReader> ZipReader::open(const std::string& path) {
  ZipReader reader;
  reader.m_path = path;
  reader.m_fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!reader.m_fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  const int fd = reader.m_fd.get();
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (S_ISREG(status.st_mode)) {
    reader.m_file_size = static_cast<std::uint64_t>(status.st_size);
  } else if (S_ISBLK(status.st_mode)) {
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
      return make_sys_error(Errc::io_error, "cannot find the size of", path, errno);
    }
    reader.m_file_size = static_cast<std::uint64_t>(end);
  } else if (S_ISDIR(status.st_mode)) {
    return directory_given(path);
  } else {
    return make_error(Errc::unsupported,
                      fmt::format("{} is not a regular file or block device", path));
  }
  const std::uint64_t file_size = reader.m_file_size;
  if (file_size < k_eocd_size) {
    return corrupt(path, fmt::format("truncated: no end of central directory record (the file "
                                     "is only {} bytes)",
                                     file_size));
  }

  // 1. The end of central directory record: in the last 22 + 65535 bytes, as its comment is at
  // most 65535 bytes long.
  const auto tail_length =
      static_cast<std::size_t>(std::min<std::uint64_t>(file_size, k_eocd_size + k_max_comment));
  const std::uint64_t tail_start = file_size - tail_length;
  std::vector<std::byte> tail(tail_length);
  CUSTODY_TRY(pread_exact(fd, tail, path, tail_start));
  std::optional<std::size_t> exact;
  std::optional<std::size_t> loose;
  for (std::size_t i = tail_length - k_eocd_size + 1; i-- > 0;) {
    if (load_u32(tail, i) != k_eocd_signature) {
      continue;
    }
    const std::size_t end = i + k_eocd_size + load_u16(tail, i + 20);
    if (end == tail_length) {
      exact = i;
      break;
    }
    if (end < tail_length && !loose) {
      loose = i;
    }
  }
  if (!exact && !loose) {
    return corrupt(path, "truncated: no end of central directory record");
  }
  const std::size_t eocd_index = exact ? *exact : *loose;
  const std::span<const std::byte> eocd = std::span<const std::byte>(tail).subspan(eocd_index);
  const std::uint64_t eocd_at = tail_start + eocd_index;
  const std::uint16_t eocd_disk = load_u16(eocd, 4);
  const std::uint16_t eocd_directory_disk = load_u16(eocd, 6);
  const std::uint16_t eocd_disk_entries = load_u16(eocd, 8);
  const std::uint16_t eocd_entries = load_u16(eocd, 10);
  const std::uint32_t eocd_directory_size = load_u32(eocd, 12);
  const std::uint32_t eocd_directory_offset = load_u32(eocd, 16);
  const std::uint16_t comment_length = load_u16(eocd, 20);
  reader.m_comment.assign(reinterpret_cast<const char*>(eocd.data() + k_eocd_size), comment_length);
  reader.m_end_offset = eocd_at + k_eocd_size + comment_length;

  // 2. Zip64: the locator sits right before the EOCD.
  const bool has_markers = eocd_disk == k_u16_marker || eocd_directory_disk == k_u16_marker ||
                           eocd_disk_entries == k_u16_marker || eocd_entries == k_u16_marker ||
                           eocd_directory_size == k_u32_marker ||
                           eocd_directory_offset == k_u32_marker;
  std::array<std::byte, k_zip64_locator_size> locator{};
  bool has_locator = false;
  if (eocd_at >= k_zip64_locator_size) {
    CUSTODY_TRY(pread_exact(fd, locator, path, eocd_at - k_zip64_locator_size));
    has_locator = load_u32(locator, 0) == k_zip64_locator_signature;
  }
  std::uint64_t entries = eocd_entries;
  std::uint64_t directory_size = eocd_directory_size;
  std::uint64_t directory_offset = eocd_directory_offset;
  std::uint64_t records_at = eocd_at;  // where the central directory must end
  if (has_locator) {
    const std::uint64_t locator_at = eocd_at - k_zip64_locator_size;
    const std::uint32_t zip64_disk = load_u32(locator, 4);
    const std::uint64_t claimed_zip64_at = load_u64(locator, 8);
    const std::uint32_t disks = load_u32(locator, 16);
    if (zip64_disk != 0 || disks > 1) {
      return multi_disk(path, locator_at);
    }
    // The Zip64 EOCD normally ends where the locator starts (no extensible data); the offset
    // the locator claims is only right when no data was prepended, and is the fallback.
    std::array<std::byte, k_zip64_eocd_size> record{};
    std::optional<std::uint64_t> zip64_at;
    if (locator_at >= k_zip64_eocd_size) {
      CUSTODY_TRY(pread_exact(fd, record, path, locator_at - k_zip64_eocd_size));
      if (load_u32(record, 0) == k_zip64_eocd_signature &&
          load_u64(record, 4) == k_zip64_eocd_record_size) {
        zip64_at = locator_at - k_zip64_eocd_size;
      }
    }
    if (!zip64_at && fits(claimed_zip64_at, k_zip64_eocd_size, locator_at)) {
      CUSTODY_TRY(pread_exact(fd, record, path, claimed_zip64_at));
      const std::uint64_t size = load_u64(record, 4);
      if (load_u32(record, 0) == k_zip64_eocd_signature && size >= k_zip64_eocd_record_size &&
          size == locator_at - claimed_zip64_at - 12) {
        zip64_at = claimed_zip64_at;
      }
    }
    if (!zip64_at) {
      return corrupt(path, locator_at,
                     fmt::format("no Zip64 end of central directory record before the Zip64 "
                                 "locator (which points to offset {})",
                                 claimed_zip64_at));
    }
    const std::uint64_t disk_entries = load_u64(record, 24);
    entries = load_u64(record, 32);
    directory_size = load_u64(record, 40);
    directory_offset = load_u64(record, 48);
    if (load_u32(record, 16) != 0 || load_u32(record, 20) != 0 || disk_entries != entries) {
      return multi_disk(path, *zip64_at);
    }
    // Entry counts are not compared: c-aff4 writes them modulo 65536 in the EOCD.
    if ((eocd_directory_size != k_u32_marker && eocd_directory_size != directory_size) ||
        (eocd_directory_offset != k_u32_marker && eocd_directory_offset != directory_offset)) {
      return corrupt(path, eocd_at,
                     fmt::format("the end of central directory record (directory of {} bytes at "
                                 "{}) contradicts the Zip64 record (directory of {} bytes at {})",
                                 eocd_directory_size, eocd_directory_offset, directory_size,
                                 directory_offset));
    }
    records_at = *zip64_at;
  } else if (has_markers) {
    return corrupt(path, eocd_at,
                   "the end of central directory record needs a Zip64 record (it has "
                   "0xFFFF/0xFFFFFFFF fields), but no Zip64 locator precedes it");
  } else if (eocd_disk != 0 || eocd_directory_disk != 0 || eocd_disk_entries != eocd_entries) {
    return multi_disk(path, eocd_at);
  }

  // 3. The central directory ends where the end records begin; the difference between where it
  // is and where the archive says it is, is the length of any prepended data.
  if (!fits(directory_offset, directory_size, records_at)) {
    return corrupt(path, records_at,
                   fmt::format("the central directory ({} bytes, at archive offset {}) does not "
                               "fit before the end of central directory record",
                               directory_size, directory_offset));
  }
  reader.m_global_offset = records_at - directory_size - directory_offset;
  reader.m_cd_offset = records_at - directory_size;
  if (entries > directory_size / k_central_header_size) {
    return corrupt(path, reader.m_cd_offset,
                   fmt::format("the central directory claims {} entries, but its {} bytes hold "
                               "at most {}",
                               entries, directory_size, directory_size / k_central_header_size));
  }

  // 4. Central directory entries.
  const std::uint64_t cd_start = reader.m_cd_offset;
  const std::uint64_t cd_end = records_at;
  WindowReader window(fd, path, cd_end);
  std::vector<std::uint64_t> entry_at;
  // Not by the claimed count: memory grows only with entries actually read from the file.
  const auto expected = static_cast<std::size_t>(std::min<std::uint64_t>(entries, 4096));
  reader.m_members.reserve(expected);
  entry_at.reserve(expected);
  std::uint64_t at = cd_start;
  for (std::uint64_t index = 0; index < entries; ++index) {
    if (!fits(at, k_central_header_size, cd_end)) {
      return corrupt(path, at,
                     fmt::format("central directory entry {} runs past the end of the central "
                                 "directory",
                                 index));
    }
    auto fixed = window.view(at, k_central_header_size);
    CUSTODY_TRY(fixed);
    const std::span<const std::byte> header = *fixed;
    if (load_u32(header, 0) != k_central_header_signature) {
      return corrupt(path, at,
                     fmt::format("central directory entry {} has a bad signature", index));
    }
    ZipMember member;
    member.flags = load_u16(header, 8);
    member.method = load_u16(header, 10);
    member.crc32 = load_u32(header, 16);
    const std::uint32_t compressed32 = load_u32(header, 20);
    const std::uint32_t uncompressed32 = load_u32(header, 24);
    const std::uint16_t name_length = load_u16(header, 28);
    const std::uint16_t extra_length = load_u16(header, 30);
    const std::uint16_t comment_size = load_u16(header, 32);
    const std::uint32_t offset32 = load_u32(header, 42);
    const std::uint64_t entry_size =
        k_central_header_size + std::uint64_t{name_length} + extra_length + comment_size;
    if (!fits(at, entry_size, cd_end)) {
      return corrupt(path, at,
                     fmt::format("central directory entry {} runs past the end of the central "
                                 "directory",
                                 index));
    }
    auto variable =
        window.view(at + k_central_header_size, std::size_t{name_length} + extra_length);
    CUSTODY_TRY(variable);
    member.name.assign(reinterpret_cast<const char*>(variable->data()), name_length);
    member.compressed_size = compressed32;
    member.uncompressed_size = uncompressed32;
    member.local_header_offset = offset32;

    // Zip64 extended information (APPNOTE 4.5.3): only the fields whose 32-bit value is
    // 0xFFFFFFFF, in this order. Without the extra the marker is taken literally, as Info-ZIP
    // and Python do; the bounds checks below then catch nonsense.
    std::span<const std::byte> extra = variable->subspan(name_length);
    while (extra.size() >= 4) {
      const std::uint16_t id = load_u16(extra, 0);
      const std::uint16_t size = load_u16(extra, 2);
      if (size > extra.size() - 4) {
        return corrupt(path, at,
                       fmt::format("central directory entry {} (\"{}\") has a malformed extra "
                                   "field",
                                   index, printable(member.name)));
      }
      if (id == k_zip64_extra_id) {
        std::size_t used = 4;
        for (auto [value, marked] : {std::pair{&member.uncompressed_size, uncompressed32},
                                     std::pair{&member.compressed_size, compressed32},
                                     std::pair{&member.local_header_offset, offset32}}) {
          if (marked != k_u32_marker) {
            continue;
          }
          if (used + 8 > 4U + size) {
            return corrupt(path, at,
                           fmt::format("central directory entry {} (\"{}\") has a Zip64 extra "
                                       "field too short for its 0xFFFFFFFF fields",
                                       index, printable(member.name)));
          }
          *value = load_u64(extra, used);
          used += 8;
        }
      }
      extra = extra.subspan(4U + size);
    }
    reader.m_members.push_back(std::move(member));
    entry_at.push_back(at);
    at += entry_size;
  }
  reader.m_cd_size = at - cd_start;

  // 5. Names: safe, and unique.
  auto& members = reader.m_members;
  for (std::size_t index = 0; index < members.size(); ++index) {
    if (const char* reason = unsafe_name_reason(members[index].name)) {
      return corrupt(path, entry_at[index],
                     fmt::format("unsafe member name \"{}\" in central directory entry {}: {}",
                                 printable(members[index].name), index, reason));
    }
  }
  reader.m_by_name.resize(members.size());
  for (std::size_t index = 0; index < members.size(); ++index) {
    reader.m_by_name[index] = index;
  }
  std::stable_sort(reader.m_by_name.begin(), reader.m_by_name.end(),
                   [&](std::size_t a, std::size_t b) { return members[a].name < members[b].name; });
  for (std::size_t k = 1; k < reader.m_by_name.size(); ++k) {
    const std::size_t first = reader.m_by_name[k - 1];
    const std::size_t second = reader.m_by_name[k];
    if (members[first].name == members[second].name) {
      return corrupt(path, entry_at[second],
                     fmt::format("duplicate member name \"{}\" (central directory entries {} and "
                                 "{})",
                                 printable(members[first].name), first, second));
    }
  }

  // 6. Local headers, and where each member's data lies.
  std::vector<std::byte> local;
  for (std::size_t index = 0; index < members.size(); ++index) {
    ZipMember& member = members[index];
    const std::string what =
        fmt::format("central directory entry {} (\"{}\")", index, printable(member.name));
    if (member.local_header_offset >
        std::numeric_limits<std::uint64_t>::max() - reader.m_global_offset) {
      return corrupt(path, entry_at[index], what + " points past the end of the file");
    }
    const std::uint64_t header_at = member.local_header_offset + reader.m_global_offset;
    const std::uint64_t header_size = k_local_header_size + member.name.size();
    if (!fits(header_at, header_size, file_size)) {
      return corrupt(path, entry_at[index], what + " points past the end of the file");
    }
    if (!fits(header_at, header_size, cd_start)) {
      return corrupt(path, entry_at[index],
                     what + " points into the central directory, not to a local header");
    }
    local.resize(static_cast<std::size_t>(header_size));
    CUSTODY_TRY(pread_exact(fd, local, path, header_at));
    if (load_u32(local, 0) != k_local_header_signature) {
      return corrupt(path, header_at, fmt::format("no local header where {} points", what));
    }
    const std::uint16_t local_name_length = load_u16(local, 26);
    const std::uint16_t local_extra_length = load_u16(local, 28);
    if (local_name_length != member.name.size() ||
        std::memcmp(local.data() + k_local_header_size, member.name.data(), member.name.size()) !=
            0) {
      return corrupt(path, header_at,
                     fmt::format("the local header of {} names another member", what));
    }
    if (load_u16(local, 8) != member.method) {
      return corrupt(path, header_at,
                     fmt::format("the local header of {} gives compression method {}, the "
                                 "central directory {}",
                                 what, load_u16(local, 8), member.method));
    }
    member.local_header_offset = header_at;
    member.data_offset = header_at + header_size + local_extra_length;
    if (!fits(member.data_offset, member.compressed_size, file_size)) {
      return corrupt(path, entry_at[index],
                     fmt::format("the data of {} ({} bytes at offset {}) runs past the end of "
                                 "the file",
                                 what, member.compressed_size, member.data_offset));
    }
    if (!fits(member.data_offset, member.compressed_size, cd_start)) {
      return corrupt(path, entry_at[index],
                     fmt::format("the data of {} ({} bytes at offset {}) runs into the central "
                                 "directory",
                                 what, member.compressed_size, member.data_offset));
    }
    if (member.method == k_method_stored && (member.flags & k_flag_encrypted) == 0 &&
        member.compressed_size != member.uncompressed_size) {
      return corrupt(path, entry_at[index],
                     fmt::format("{} is stored, but records a compressed size of {} and an "
                                 "uncompressed size of {}",
                                 what, member.compressed_size, member.uncompressed_size));
    }
  }
  return reader;
}

const ZipMember* ZipReader::find(std::string_view name) const {
  const auto it = std::lower_bound(
      m_by_name.begin(), m_by_name.end(), name,
      [&](std::size_t index, std::string_view wanted) { return m_members[index].name < wanted; });
  if (it == m_by_name.end() || m_members[*it].name != name) {
    return nullptr;
  }
  return &m_members[*it];
}

Result<void> ZipReader::read_stored(const ZipMember& member,
                                    std::uint64_t offset,
                                    std::span<std::byte> out) const {
  CUSTODY_TRY(check_readable(member, m_path, m_file_size));
  if (member.method != k_method_stored) {
    return make_error(Errc::unsupported,
                      fmt::format("member \"{}\" of {} is compressed (method {}), not stored",
                                  printable(member.name), m_path, member.method));
  }
  if (!fits(offset, out.size(), member.compressed_size)) {
    return corrupt(m_path, member.data_offset,
                   fmt::format("a read of {} bytes at offset {} lies outside member \"{}\" ({} "
                               "bytes)",
                               out.size(), offset, printable(member.name), member.compressed_size));
  }
  return pread_exact(m_fd.get(), out, m_path, member.data_offset + offset);
}

Result<std::string> ZipReader::read_member(const ZipMember& member, std::size_t limit) const {
  CUSTODY_TRY(check_readable(member, m_path, m_file_size));
  if (member.method != k_method_stored && member.method != k_method_deflate) {
    return unsupported_method(member, m_path);
  }
  if (member.uncompressed_size > limit) {
    return corrupt(m_path, member.data_offset,
                   fmt::format("member \"{}\" is {} bytes long, more than the {} bytes expected "
                               "at most",
                               printable(member.name), member.uncompressed_size, limit));
  }
  std::string content;
  if (member.method == k_method_stored) {
    content.resize(static_cast<std::size_t>(member.uncompressed_size));
    CUSTODY_TRY(
        read_stored(member, 0, std::as_writable_bytes(std::span(content.data(), content.size()))));
    return content;
  }
  CUSTODY_TRY(inflate_member(
      m_fd.get(), m_path, member, [&](std::span<const std::byte> piece) -> Result<void> {
        content.append(reinterpret_cast<const char*>(piece.data()), piece.size());
        return {};
      }));
  return content;
}

Result<std::uint32_t> ZipReader::compute_crc32(const ZipMember& member) const {
  CUSTODY_TRY(check_readable(member, m_path, m_file_size));
  std::uint32_t crc = 0;
  if (member.method == k_method_stored) {
    std::vector<std::byte> buffer(
        static_cast<std::size_t>(std::min<std::uint64_t>(member.compressed_size, k_io_piece)));
    std::uint64_t done = 0;
    while (done < member.compressed_size) {
      const auto take = static_cast<std::size_t>(
          std::min<std::uint64_t>(member.compressed_size - done, buffer.size()));
      const std::span<std::byte> piece = std::span(buffer).first(take);
      CUSTODY_TRY(pread_exact(m_fd.get(), piece, m_path, member.data_offset + done));
      crc = crc32_update(crc, piece);
      done += take;
    }
    return crc;
  }
  if (member.method == k_method_deflate) {
    CUSTODY_TRY(inflate_member(m_fd.get(), m_path, member,
                               [&](std::span<const std::byte> piece) -> Result<void> {
                                 crc = crc32_update(crc, piece);
                                 return {};
                               }));
    return crc;
  }
  return unsupported_method(member, m_path);
}

// --- ZipWriter ---------------------------------------------------------------------------------

namespace {

struct WrittenEntry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;  // relative to the archive start (global offset)
};

// Local header with a Zip64 extra holding both sizes (APPNOTE 4.5.3: a local Zip64 extra MUST
// hold both), 0xFFFFFFFF in the 32-bit size fields; with `padding`, an alignment extra after it
// with that many zero bytes. The Zip64 extra comes first, so end_member() finds the sizes at the
// same place either way.
void build_local_header(RecordBuilder& out,
                        std::string_view name,
                        std::uint16_t flags,
                        std::uint32_t crc,
                        std::uint64_t size,
                        std::optional<std::size_t> padding = std::nullopt) {
  out.u32(k_local_header_signature);
  out.u16(k_version_zip64);
  out.u16(flags);
  out.u16(k_method_stored);
  out.u16(k_dos_time);
  out.u16(k_dos_date);
  out.u32(crc);
  out.u32(k_u32_marker);
  out.u32(k_u32_marker);
  out.u16(static_cast<std::uint16_t>(name.size()));
  const std::size_t alignment_extra = padding ? k_alignment_extra_minimum + *padding : 0;
  out.u16(static_cast<std::uint16_t>(k_local_zip64_extra_size + alignment_extra));
  out.text(name);
  out.u16(k_zip64_extra_id);
  out.u16(16);
  out.u64(size);
  out.u64(size);
  if (padding) {
    out.u16(k_alignment_extra_id);
    out.u16(static_cast<std::uint16_t>(alignment_extra - 4));
    out.u16(static_cast<std::uint16_t>(k_direct_alignment));
    out.text(std::string(*padding, '\0'));
  }
}

struct FreeDeleter {
  void operator()(std::byte* memory) const { std::free(memory); }
};

// Central directory entry. An entry gets a Zip64 extra only if one of its values needs 64 bits
// (a JDK bug rejected c-aff4's unconditional extras, c-aff4 PR #91), but then with all three
// values marked 0xFFFFFFFF: c-aff4 and aff4-cpp-lite look at the extra only when the local
// header offset is marked, and would misread a > 4 GiB member at a small offset otherwise.
void build_central_entry(RecordBuilder& out, const WrittenEntry& entry) {
  const bool zip64 = entry.size >= k_u32_marker || entry.offset >= k_u32_marker;
  out.u32(k_central_header_signature);
  out.u16(k_made_by_unix);
  out.u16(k_version_zip64);
  out.u16(entry.flags);
  out.u16(k_method_stored);
  out.u16(k_dos_time);
  out.u16(k_dos_date);
  out.u32(entry.crc32);
  out.u32(zip64 ? k_u32_marker : static_cast<std::uint32_t>(entry.size));
  out.u32(zip64 ? k_u32_marker : static_cast<std::uint32_t>(entry.size));
  out.u16(static_cast<std::uint16_t>(entry.name.size()));
  out.u16(static_cast<std::uint16_t>(zip64 ? 28 : 0));
  out.u16(0);  // comment
  out.u16(0);  // disk
  out.u16(0);  // internal attributes
  out.u32(k_external_attributes);
  out.u32(zip64 ? k_u32_marker : static_cast<std::uint32_t>(entry.offset));
  out.text(entry.name);
  if (zip64) {
    out.u16(k_zip64_extra_id);
    out.u16(24);
    out.u64(entry.size);
    out.u64(entry.size);
    out.u64(entry.offset);
  }
}

}  // namespace

struct ZipWriter::State {
  std::string path;
  UniqueFd fd;
  std::uint64_t position = 0;  // absolute
  std::uint64_t base = 0;      // the archive's offsets are relative to this (prepended data)
  std::uint64_t synced = 0;    // write-back was started for the bytes before this offset
  std::uint64_t unsynced = 0;  // bytes written through the page cache since then
  std::string old_directory;   // append mode: the existing entries, copied verbatim
  std::uint64_t old_entries = 0;
  std::vector<WrittenEntry> entries;
  std::unordered_set<std::string> names;
  bool appending = false;
  std::uint64_t original_size = 0;
  bool finished = false;
  bool failed = false;
  // The streamed member, while one is open.
  bool member_open = false;
  std::uint64_t member_header = 0;  // absolute offset of its local header
  bool member_aligned = false;      // its data starts at a multiple of k_direct_alignment
  WrittenEntry member;
  // Direct I/O for the data of aligned members: a second descriptor of the file opened with
  // O_DIRECT, and a staging buffer so that every direct write is aligned and large. Tried at the
  // first aligned member; `off` for good once the file system refuses.
  enum class Direct { untried, on, off };
  Direct direct = Direct::untried;
  UniqueFd direct_fd;
  std::unique_ptr<std::byte, FreeDeleter> stage;  // k_stage_size bytes, aligned
  std::size_t staged = 0;  // bytes in `stage`: the member's data just before `position`

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    // Appended bytes without a central directory after them would hide the archive's EOCD from
    // readers that look only near the end; cutting them restores the original file exactly.
    if (appending && !finished && fd) {
      (void)::ftruncate(fd.get(), static_cast<off_t>(original_size));
    }
  }

  Result<void> usable() const {
    if (finished) {
      return make_error(Errc::invalid_argument, fmt::format("{} is already finished", path));
    }
    if (failed) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("writing {} failed earlier; the archive cannot be continued", path));
    }
    return {};
  }

  Result<void> check_new_name(std::string_view name) const {
    if (const char* reason = unsafe_name_reason(name)) {
      return make_error(Errc::invalid_argument,
                        fmt::format("unsafe member name \"{}\": {}", printable(name), reason));
    }
    if (name.size() > k_max_name) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("member name of {} bytes is longer than ZIP allows (65535)", name.size()));
    }
    if (!is_valid_utf8(name)) {
      return make_error(Errc::invalid_argument,
                        fmt::format("member name \"{}\" is not valid UTF-8", printable(name)));
    }
    if (names.contains(std::string(name))) {
      return make_error(Errc::invalid_argument,
                        fmt::format("{} already has a member \"{}\"", path, printable(name)));
    }
    if (member_open) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("member \"{}\" is still open; end it first", printable(member.name)));
    }
    return {};
  }

  // Appends through the page cache. Positioned writes, because direct writes go through the
  // other descriptor and do not move this one's file offset.
  Result<void> write(std::span<const std::byte> data) {
    CUSTODY_TRY(write_buffered(data, position));
    position += data.size();
    return {};
  }

  Result<void> write_buffered(std::span<const std::byte> data, std::uint64_t offset) {
    auto written = pwrite_full(fd.get(), data, path, offset);
    if (!written) {
      failed = true;
      return written;
    }
    // Only bytes that went through the page cache count: direct writes leave nothing to flush.
    unsynced += data.size();
    const std::uint64_t end = offset + data.size();
    if (unsynced >= k_writeback_interval && end > synced) {
      // Advisory: an error here resurfaces at fsync, which is checked.
      (void)::sync_file_range(fd.get(), static_cast<off_t>(synced),
                              static_cast<off_t>(end - synced), SYNC_FILE_RANGE_WRITE);
      synced = end;
      unsynced = 0;
    }
    return {};
  }

  // Everything written so far reaches the disk (the members, before their directory).
  Result<void> flush_members() {
    auto flushed = fsync_checked(fd.get(), path);
    if (!flushed) {
      failed = true;
    }
    return flushed;
  }

  // Opens the O_DIRECT descriptor and the staging buffer, once per writer. Through
  // /proc/self/fd rather than the path, so that it is this file even if the path was renamed or
  // replaced meanwhile. Any failure (EINVAL where the file system has no direct I/O, no /proc)
  // means buffered writes, which give the same bytes.
  void try_direct_io() {
    if (direct != Direct::untried) {
      return;
    }
    direct = Direct::off;
    UniqueFd reopened(
        ::open(fmt::format("/proc/self/fd/{}", fd.get()).c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
    struct stat ours {};
    struct stat theirs {};
    if (!reopened || ::fstat(fd.get(), &ours) != 0 || ::fstat(reopened.get(), &theirs) != 0 ||
        ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino) {
      return;
    }
    stage.reset(static_cast<std::byte*>(std::aligned_alloc(k_direct_alignment, k_stage_size)));
    if (!stage) {
      return;
    }
    direct_fd = std::move(reopened);
    direct = Direct::on;
  }

  // Writes `data` with direct I/O at `offset`; all three are aligned. If the file system refuses
  // (EINVAL: its direct I/O wants a larger alignment, or has none after all), the bytes go through
  // the page cache instead, and so does everything after them. A short write that leaves an
  // unaligned remainder sends that remainder through the page cache too.
  Result<void> write_direct(std::span<const std::byte> data, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < data.size() && direct == Direct::on) {
      const ssize_t put = ::pwrite(direct_fd.get(), data.data() + done, data.size() - done,
                                   static_cast<off_t>(offset + done));
      if (put < 0) {
        const int error = errno;
        if (error == EINTR) {
          continue;
        }
        if (error == EINVAL) {
          direct = Direct::off;
          direct_fd = UniqueFd();
          break;
        }
        failed = true;
        return write_failure(error, path, offset + done);
      }
      done += static_cast<std::size_t>(put);
      if (put == 0 || !is_direct_aligned(done)) {
        break;
      }
    }
    if (done < data.size()) {
      return write_buffered(data.subspan(done), offset + done);
    }
    return {};
  }

  // Appends data of the open member: of an aligned member, through the staging buffer and direct
  // I/O, or straight from the caller's memory when that is aligned and nothing is staged.
  Result<void> write_data(std::span<const std::byte> data) {
    while (!data.empty()) {
      if (!member_aligned || direct != Direct::on) {
        // Nothing is staged: flush_stage() empties the stage before the write that can turn
        // direct I/O off.
        return write(data);
      }
      if (staged == 0 && is_direct_aligned(position) && data.size() >= k_direct_from_caller &&
          is_direct_aligned(data.data())) {
        const std::size_t take = round_down_to_direct(data.size());
        CUSTODY_TRY(write_direct(data.first(take), position));
        position += take;
        data = data.subspan(take);
        continue;
      }
      const std::size_t take = std::min(data.size(), k_stage_size - staged);
      std::memcpy(stage.get() + staged, data.data(), take);
      staged += take;
      position += take;
      data = data.subspan(take);
      if (staged == k_stage_size) {
        CUSTODY_TRY(flush_stage());
      }
    }
    return {};
  }

  // Writes out the staged bytes: whole multiples of k_direct_alignment with direct I/O, the rest
  // (only at the end of a member) through the page cache. The stage always starts at an aligned
  // offset, as the member's data does and every flush but the last writes a multiple.
  Result<void> flush_stage() {
    const std::size_t whole = round_down_to_direct(staged);
    const std::uint64_t at = position - staged;
    const std::span<const std::byte> bytes(stage.get(), staged);
    staged = 0;
    if (whole > 0) {
      CUSTODY_TRY(write_direct(bytes.first(whole), at));
    }
    if (whole < bytes.size()) {
      CUSTODY_TRY(write_buffered(bytes.subspan(whole), at + whole));
    }
    return {};
  }

  Result<void> patch(std::span<const std::byte> data, std::uint64_t offset) {
    auto written = pwrite_full(fd.get(), data, path, offset);
    if (!written) {
      failed = true;
    }
    return written;
  }

  WrittenEntry start_entry(std::string_view name) const {
    WrittenEntry entry;
    entry.name = std::string(name);
    entry.flags = is_ascii(name) ? 0 : k_flag_utf8;
    entry.offset = position - base;
    return entry;
  }
};

ZipWriter::ZipWriter(std::unique_ptr<State> state) : m_state(std::move(state)) {}
ZipWriter::ZipWriter(ZipWriter&& other) noexcept = default;
ZipWriter& ZipWriter::operator=(ZipWriter&& other) noexcept = default;
ZipWriter::~ZipWriter() = default;

namespace {

// An exclusive lock, so that two writers never interleave their bytes in one archive. Waits up to
// `wait_seconds` for another writer (polling: flock has no timeout, and a writer that holds the
// lock for hours, such as an acquisition, must not block a caller forever).
Result<void> lock_for_writing(int fd, const std::string& path, unsigned wait_seconds = 0) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (error == EWOULDBLOCK) {
      return tl::unexpected(Error{Errc::io_error,
                                  "the archive is being written by another process",
                                  path,
                                  {},
                                  0,
                                  "wait for the other writer to finish, then run again"});
    }
    return make_sys_error(Errc::io_error, "cannot lock", path, error);
  }
  return {};
}

}  // namespace

Result<ZipWriter> ZipWriter::create(const std::string& path, bool overwrite) {
  auto state = std::make_unique<State>();
  state->path = path;
  // No O_TRUNC: the file is truncated only after the lock is held and it is known to be a
  // regular file (never a device someone named by mistake).
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? 0 : O_EXCL);
  state->fd = UniqueFd(::open(path.c_str(), flags, 0644));
  if (!state->fd) {
    return creation_failure(errno, path);
  }
  struct stat status {};
  if (::fstat(state->fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (!S_ISREG(status.st_mode)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} exists and is not a regular file; refusing to write a ZIP "
                                  "archive over it",
                                  path));
  }
  CUSTODY_TRY(lock_for_writing(state->fd.get(), path));
  if (overwrite && ::ftruncate(state->fd.get(), 0) != 0) {
    return make_sys_error(Errc::io_error, "cannot truncate", path, errno);
  }
  return ZipWriter(std::move(state));
}

namespace {

// Removes the central directory entries named in `superseded` from the copy of the old
// directory, so that members of those names can be added again: the old members stay in the
// file as unused bytes, like the old directory itself.
template <typename State>
Result<void> drop_superseded_entries(State& state,
                                     const std::vector<std::string>& superseded,
                                     const std::string& path) {
  std::string kept;
  std::size_t kept_entries = 0;
  std::size_t at = 0;
  const auto& old = state.old_directory;
  const auto u16 = [&](std::size_t offset) {
    return static_cast<std::size_t>(static_cast<unsigned char>(old[offset])) |
           (static_cast<std::size_t>(static_cast<unsigned char>(old[offset + 1])) << 8U);
  };
  std::size_t dropped = 0;
  while (at + 46 <= old.size()) {
    const std::size_t name_length = u16(at + 28);
    const std::size_t length = 46 + name_length + u16(at + 30) + u16(at + 32);
    if (at + length > old.size()) {
      return make_error(Errc::corrupt, fmt::format("{}: central directory entry overruns", path));
    }
    const std::string name = old.substr(at + 46, name_length);
    if (std::find(superseded.begin(), superseded.end(), name) != superseded.end()) {
      state.names.erase(name);
      ++dropped;
    } else {
      kept += old.substr(at, length);
      ++kept_entries;
    }
    at += length;
  }
  if (dropped != superseded.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: a member to supersede is not in the archive", path));
  }
  state.old_directory = std::move(kept);
  state.old_entries = kept_entries;
  return {};
}

}  // namespace

Result<ZipWriter> ZipWriter::open_for_append(const std::string& path,
                                             const std::vector<std::string>& superseded,
                                             unsigned lock_wait_seconds) {
  auto state = std::make_unique<State>();
  state->path = path;
  state->fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!state->fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  const int fd = state->fd.get();
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (!S_ISREG(status.st_mode)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is not a regular file; cannot append to it", path));
  }
  CUSTODY_TRY(lock_for_writing(fd, path, lock_wait_seconds));
  // The size under the lock: what ZipReader sees must be the same file.
  if (::fstat(fd, &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  auto reader = ZipReader::open(path);
  CUSTODY_TRY(reader);
  if (reader->file_size() != size) {
    return make_error(Errc::io_error,
                      fmt::format("{} changed size while it was being opened for appending", path));
  }
  state->old_directory.resize(static_cast<std::size_t>(reader->central_directory_size()));
  CUSTODY_TRY(pread_exact(
      reader->fd(),
      std::as_writable_bytes(std::span(state->old_directory.data(), state->old_directory.size())),
      path, reader->central_directory_offset()));
  state->old_entries = reader->members().size();
  for (const ZipMember& member : reader->members()) {
    state->names.insert(member.name);
  }
  if (!superseded.empty()) {
    CUSTODY_TRY(drop_superseded_entries(*state, superseded, path));
  }
  state->base = reader->global_offset();
  state->position = size;
  state->synced = size;
  state->original_size = size;
  state->appending = true;
  return ZipWriter(std::move(state));
}

Result<void> ZipWriter::add_member(std::string_view name, std::span<const std::byte> data) {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  CUSTODY_TRY(m_state->check_new_name(name));
  WrittenEntry entry = m_state->start_entry(name);
  entry.crc32 = crc32_update(0, data);
  entry.size = data.size();
  RecordBuilder header;
  build_local_header(header, name, entry.flags, entry.crc32, entry.size);
  CUSTODY_TRY(m_state->write(header.bytes()));
  CUSTODY_TRY(m_state->write(data));
  m_state->names.insert(entry.name);
  m_state->entries.push_back(std::move(entry));
  return {};
}

Result<void> ZipWriter::begin_member(std::string_view name, bool align_data) {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  CUSTODY_TRY(m_state->check_new_name(name));
  State& state = *m_state;
  state.member = state.start_entry(name);
  state.member_header = state.position;
  // The padding does not depend on whether direct I/O is available, so the archive's bytes do
  // not depend on the file system it was written to.
  std::optional<std::size_t> padding;
  if (align_data) {
    const std::uint64_t unpadded_data_at = state.position + k_local_header_size + name.size() +
                                           k_local_zip64_extra_size + k_alignment_extra_minimum;
    padding = (k_direct_alignment - unpadded_data_at % k_direct_alignment) % k_direct_alignment;
    state.try_direct_io();
  }
  RecordBuilder header;
  build_local_header(header, name, state.member.flags, 0, 0, padding);
  CUSTODY_TRY(state.write(header.bytes()));
  // Taken now, so that a second begin with the same name fails even before end_member().
  state.names.insert(state.member.name);
  state.member_open = true;
  state.member_aligned = align_data;
  return {};
}

Result<void> ZipWriter::write_member_data(std::span<const std::byte> data,
                                          std::optional<std::uint32_t> crc_of_piece) {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  State& state = *m_state;
  if (!state.member_open) {
    return make_error(Errc::invalid_argument,
                      fmt::format("no member of {} is open for writing", state.path));
  }
  CUSTODY_TRY(state.write_data(data));
  state.member.crc32 =
      crc_of_piece ? static_cast<std::uint32_t>(::crc32_combine(state.member.crc32, *crc_of_piece,
                                                                static_cast<z_off_t>(data.size())))
                   : crc32_update(state.member.crc32, data);
  state.member.size += data.size();
  return {};
}

Result<void> ZipWriter::end_member() {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  State& state = *m_state;
  if (!state.member_open) {
    return make_error(Errc::invalid_argument,
                      fmt::format("no member of {} is open for writing", state.path));
  }
  if (state.staged > 0) {
    CUSTODY_TRY(state.flush_stage());
  }
  RecordBuilder crc;
  crc.u32(state.member.crc32);
  CUSTODY_TRY(state.patch(crc.bytes(), state.member_header + 14));
  RecordBuilder sizes;
  sizes.u64(state.member.size);
  sizes.u64(state.member.size);
  CUSTODY_TRY(state.patch(
      sizes.bytes(), state.member_header + k_local_header_size + state.member.name.size() + 4));
  state.entries.push_back(std::move(state.member));
  state.member = WrittenEntry{};
  state.member_open = false;
  state.member_aligned = false;
  return {};
}

Result<void> ZipWriter::finish(std::string_view comment) {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  State& state = *m_state;
  if (state.member_open) {
    return make_error(Errc::invalid_argument,
                      fmt::format("member \"{}\" is still open; end it before finishing",
                                  printable(state.member.name)));
  }
  if (comment.size() > k_max_comment) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("ZIP comment of {} bytes is longer than ZIP allows (65535)", comment.size()));
  }
  // The members reach the disk before the directory that names them: a crash in between leaves the
  // previous end record as the last complete one, and readers fall back to it (a torn tail).
  CUSTODY_TRY(state.flush_members());
  const std::uint64_t directory_at = state.position;
  CUSTODY_TRY(state.write(
      std::as_bytes(std::span(state.old_directory.data(), state.old_directory.size()))));
  RecordBuilder out;
  for (const WrittenEntry& entry : state.entries) {
    build_central_entry(out, entry);
    if (out.size() >= k_directory_flush) {
      CUSTODY_TRY(state.write(out.bytes()));
      out.clear();
    }
  }
  CUSTODY_TRY(state.write(out.bytes()));
  out.clear();
  const std::uint64_t entries = state.old_entries + state.entries.size();
  const std::uint64_t directory_size = state.position - directory_at;
  const std::uint64_t zip64_at = state.position;

  out.u32(k_zip64_eocd_signature);
  out.u64(k_zip64_eocd_record_size);
  out.u16(k_version_zip64);
  out.u16(k_version_zip64);
  out.u32(0);  // this disk
  out.u32(0);  // disk with the central directory
  out.u64(entries);
  out.u64(entries);
  out.u64(directory_size);
  out.u64(directory_at - state.base);

  out.u32(k_zip64_locator_signature);
  out.u32(0);  // disk with the Zip64 EOCD
  out.u64(zip64_at - state.base);
  out.u32(1);  // disks in total

  // The EOCD marks the directory size and offset 0xFFFFFFFF even when they fit, as pyaff4 and
  // c-aff4 do: pyaff4, c-aff4 and aff4-cpp-lite treat a real offset as "classic ZIP" and take
  // EOCD position - directory size - offset as the prepended length, which the 76 bytes of Zip64
  // records in between would make wrong. The entry counts are real when they fit.
  out.u32(k_eocd_signature);
  out.u16(0);  // this disk
  out.u16(0);  // disk with the central directory
  out.u16(clamp_u16(entries));
  out.u16(clamp_u16(entries));
  out.u32(k_u32_marker);
  out.u32(k_u32_marker);
  out.u16(static_cast<std::uint16_t>(comment.size()));
  out.text(comment);
  CUSTODY_TRY(state.write(out.bytes()));

  // One fsync covers the data written through either descriptor: direct writes are on the
  // device already, but the file's size and block map are not until now.
  auto flushed = fsync_checked(state.fd.get(), state.path);
  if (flushed && state.direct_fd) {
    flushed = state.direct_fd.close_checked(state.path);
  }
  if (flushed) {
    flushed = state.fd.close_checked(state.path);
  }
  if (!flushed) {
    state.failed = true;
    return flushed;
  }
  state.finished = true;
  return fsync_parent_directory(state.path);
}

bool ZipWriter::has_member(std::string_view name) const {
  return m_state && m_state->names.contains(std::string(name));
}

bool ZipWriter::writes_direct() const {
  return m_state && m_state->direct == State::Direct::on;
}

std::uint64_t ZipWriter::position() const {
  return m_state ? m_state->position : 0;
}

const std::string& ZipWriter::path() const {
  static const std::string k_none;
  return m_state ? m_state->path : k_none;
}

}  // namespace custody::internal
