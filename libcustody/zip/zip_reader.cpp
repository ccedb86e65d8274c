// SPDX-License-Identifier: Apache-2.0
// ZipReader: opens a ZIP or ZIP64 archive, checking its end records, central directory and local
// headers against the file before trusting any offset, and reads members stored or deflated.
#include "zip/zip.hpp"
#include "zip/zip_format.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace custody::internal {

using namespace zip;  // the record layouts and helpers of zip_format.hpp

namespace {

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

tl::unexpected<Error> multi_disk(const std::string& path, std::uint64_t offset) {
  return tl::unexpected(Error{Errc::unsupported,
                              "archive spans several disks (split ZIP), which is not supported",
                              path, offset, 0, "join the parts into one file first (zip -s 0)"});
}

// Serves small views of a byte range of a file from a window of up to 1 MiB, so the central
// directory is parsed with few reads and without a buffer the size of what it claims.
class WindowReader {
 public:
  WindowReader(int fd, const std::string& path, std::uint64_t end)
      : m_fd(fd), m_path(path), m_end(end) {}

  // [offset, offset + length) must lie before `end` (checked by the caller). The view is valid
  // until the next call.
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

// --- opening, step by step (ZipReader::open calls these in order) -----------------------------

// The archive file while it is being opened: what every step reads from and names in messages.
struct OpenFile {
  int fd;
  const std::string& path;
  std::uint64_t size;
};

// Opens `path` read-only and finds its size: st_size for a regular file, and for a block device
// (whose st_size is 0) where lseek(SEEK_END) lands.
Result<std::pair<UniqueFd, std::uint64_t>> open_archive_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (S_ISREG(status.st_mode)) {
    return std::pair{std::move(fd), static_cast<std::uint64_t>(status.st_size)};
  }
  if (S_ISBLK(status.st_mode)) {
    const off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) {
      return make_sys_error(Errc::io_error, "cannot find the size of", path, errno);
    }
    return std::pair{std::move(fd), static_cast<std::uint64_t>(end)};
  }
  if (S_ISDIR(status.st_mode)) {
    return directory_given(path);
  }
  return make_error(Errc::unsupported,
                    fmt::format("{} is not a regular file or block device", path));
}

// The end of central directory record (EOCD) as found; none of its fields is trusted yet.
struct Eocd {
  std::uint64_t at = 0;          // absolute file offset
  std::uint64_t end_offset = 0;  // just past the record and its comment
  std::uint16_t disk = 0;
  std::uint16_t directory_disk = 0;
  std::uint16_t disk_entries = 0;
  std::uint16_t entries = 0;
  std::uint32_t directory_size = 0;
  std::uint32_t directory_offset = 0;
  std::string comment;
};

// Where in `tail` (the end of the file) the EOCD starts, searching from the end: the last
// signature whose record and comment end exactly at the end of the file, or failing that the last
// whose comment ends before it (bytes after the archive are tolerated). Exact ones come first
// because "PK\5\6" inside a comment is unlikely to carry a comment length that ends right there.
std::optional<std::size_t> find_eocd_in_tail(std::span<const std::byte> tail) {
  std::optional<std::size_t> loose;
  for (std::size_t i = tail.size() - k_eocd_size + 1; i-- > 0;) {
    if (load_u32(tail, i) != k_eocd_signature) {
      continue;
    }
    const std::size_t end = i + k_eocd_size + load_u16(tail, i + 20);
    if (end == tail.size()) {
      return i;
    }
    if (end < tail.size() && !loose) {
      loose = i;
    }
  }
  return loose;
}

// Step 1. The EOCD lies in the last 22 + 65535 bytes, as its comment is at most 65535 bytes long.
Result<Eocd> read_end_of_central_directory(const OpenFile& file) {
  if (file.size < k_eocd_size) {
    return corrupt(file.path, fmt::format("truncated: no end of central directory record (the "
                                          "file is only {} bytes)",
                                          file.size));
  }
  const auto tail_length =
      static_cast<std::size_t>(std::min<std::uint64_t>(file.size, k_eocd_size + k_max_comment));
  const std::uint64_t tail_start = file.size - tail_length;
  std::vector<std::byte> tail(tail_length);
  CUSTODY_TRY(pread_exact(file.fd, tail, file.path, tail_start));
  const std::optional<std::size_t> index = find_eocd_in_tail(tail);
  if (!index) {
    return corrupt(file.path, "truncated: no end of central directory record");
  }
  const std::span<const std::byte> record = std::span<const std::byte>(tail).subspan(*index);
  Eocd eocd;
  eocd.at = tail_start + *index;
  eocd.disk = load_u16(record, 4);
  eocd.directory_disk = load_u16(record, 6);
  eocd.disk_entries = load_u16(record, 8);
  eocd.entries = load_u16(record, 10);
  eocd.directory_size = load_u32(record, 12);
  eocd.directory_offset = load_u32(record, 16);
  const std::uint16_t comment_length = load_u16(record, 20);
  eocd.comment.assign(reinterpret_cast<const char*>(record.data() + k_eocd_size), comment_length);
  eocd.end_offset = eocd.at + k_eocd_size + comment_length;
  return eocd;
}

// What the end records say about the central directory.
struct DirectoryClaim {
  std::uint64_t entries = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;      // relative to the start of the archive
  std::uint64_t records_at = 0;  // absolute: where the end records, and so the directory, end
};

// Finds the Zip64 EOCD before the locator at `locator_at` and reads it into `record`. It normally
// ends where the locator starts (no extensible data); the offset the locator claims is only right
// when no data was prepended, and is the fallback. Returns the record's absolute offset.
Result<std::uint64_t> find_zip64_eocd(const OpenFile& file,
                                      std::uint64_t locator_at,
                                      std::uint64_t claimed_at,
                                      std::array<std::byte, k_zip64_eocd_size>& record) {
  if (locator_at >= k_zip64_eocd_size) {
    CUSTODY_TRY(pread_exact(file.fd, record, file.path, locator_at - k_zip64_eocd_size));
    if (load_u32(record, 0) == k_zip64_eocd_signature &&
        load_u64(record, 4) == k_zip64_eocd_record_size) {
      return locator_at - k_zip64_eocd_size;
    }
  }
  if (fits(claimed_at, k_zip64_eocd_size, locator_at)) {
    CUSTODY_TRY(pread_exact(file.fd, record, file.path, claimed_at));
    const std::uint64_t size = load_u64(record, 4);
    if (load_u32(record, 0) == k_zip64_eocd_signature && size >= k_zip64_eocd_record_size &&
        size == locator_at - claimed_at - 12) {
      return claimed_at;
    }
  }
  return corrupt(file.path, locator_at,
                 fmt::format("no Zip64 end of central directory record before the Zip64 "
                             "locator (which points to offset {})",
                             claimed_at));
}

// Step 2, Zip64: the directory's place and size from the Zip64 EOCD that `locator` (the 20 bytes
// before the EOCD) leads to. The EOCD's own values must agree where they are not 0xFFFFFFFF.
Result<DirectoryClaim> read_zip64_end_records(
    const OpenFile& file,
    const Eocd& eocd,
    const std::array<std::byte, k_zip64_locator_size>& locator) {
  const std::uint64_t locator_at = eocd.at - k_zip64_locator_size;
  const std::uint32_t zip64_disk = load_u32(locator, 4);
  const std::uint64_t claimed_zip64_at = load_u64(locator, 8);
  const std::uint32_t disks = load_u32(locator, 16);
  if (zip64_disk != 0 || disks > 1) {
    return multi_disk(file.path, locator_at);
  }
  std::array<std::byte, k_zip64_eocd_size> record{};
  auto zip64_at = find_zip64_eocd(file, locator_at, claimed_zip64_at, record);
  CUSTODY_TRY(zip64_at);
  const std::uint64_t disk_entries = load_u64(record, 24);
  const DirectoryClaim claim{.entries = load_u64(record, 32),
                             .size = load_u64(record, 40),
                             .offset = load_u64(record, 48),
                             .records_at = *zip64_at};
  if (load_u32(record, 16) != 0 || load_u32(record, 20) != 0 || disk_entries != claim.entries) {
    return multi_disk(file.path, *zip64_at);
  }
  // Entry counts are not compared: c-aff4 writes them modulo 65536 in the EOCD.
  if ((eocd.directory_size != k_u32_marker && eocd.directory_size != claim.size) ||
      (eocd.directory_offset != k_u32_marker && eocd.directory_offset != claim.offset)) {
    return corrupt(
        file.path, eocd.at,
        fmt::format("the end of central directory record (directory of {} bytes at "
                    "{}) contradicts the Zip64 record (directory of {} bytes at {})",
                    eocd.directory_size, eocd.directory_offset, claim.size, claim.offset));
  }
  return claim;
}

// Step 2. A Zip64 locator right before the EOCD means the Zip64 records hold the real values,
// whether or not the EOCD has 0xFFFF/0xFFFFFFFF markers; without one, the EOCD must have none.
Result<DirectoryClaim> read_directory_claim(const OpenFile& file, const Eocd& eocd) {
  const bool has_markers = eocd.disk == k_u16_marker || eocd.directory_disk == k_u16_marker ||
                           eocd.disk_entries == k_u16_marker || eocd.entries == k_u16_marker ||
                           eocd.directory_size == k_u32_marker ||
                           eocd.directory_offset == k_u32_marker;
  std::array<std::byte, k_zip64_locator_size> locator{};
  bool has_locator = false;
  if (eocd.at >= k_zip64_locator_size) {
    CUSTODY_TRY(pread_exact(file.fd, locator, file.path, eocd.at - k_zip64_locator_size));
    has_locator = load_u32(locator, 0) == k_zip64_locator_signature;
  }
  if (has_locator) {
    return read_zip64_end_records(file, eocd, locator);
  }
  if (has_markers) {
    return corrupt(file.path, eocd.at,
                   "the end of central directory record needs a Zip64 record (it has "
                   "0xFFFF/0xFFFFFFFF fields), but no Zip64 locator precedes it");
  }
  if (eocd.disk != 0 || eocd.directory_disk != 0 || eocd.disk_entries != eocd.entries) {
    return multi_disk(file.path, eocd.at);
  }
  return DirectoryClaim{.entries = eocd.entries,
                        .size = eocd.directory_size,
                        .offset = eocd.directory_offset,
                        .records_at = eocd.at};
}

// Step 3. The central directory ends where the end records begin, so it must fit before them,
// and each entry takes at least 46 bytes, which bounds the entry count by the directory's real
// size (the count alone could claim billions).
Result<void> check_directory_claim(const OpenFile& file, const DirectoryClaim& claim) {
  if (!fits(claim.offset, claim.size, claim.records_at)) {
    return corrupt(file.path, claim.records_at,
                   fmt::format("the central directory ({} bytes, at archive offset {}) does not "
                               "fit before the end of central directory record",
                               claim.size, claim.offset));
  }
  if (claim.entries > claim.size / k_central_header_size) {
    return corrupt(file.path, claim.records_at - claim.size,
                   fmt::format("the central directory claims {} entries, but its {} bytes hold "
                               "at most {}",
                               claim.entries, claim.size, claim.size / k_central_header_size));
  }
  return {};
}

// The 32-bit size and offset fields of a central directory entry, as recorded: 0xFFFFFFFF says
// the Zip64 extra field holds the value.
struct Recorded32 {
  std::uint32_t uncompressed = 0;
  std::uint32_t compressed = 0;
  std::uint32_t local_header_offset = 0;
};

// Zip64 extended information (APPNOTE 4.5.3): only the fields whose 32-bit value is 0xFFFFFFFF,
// in this order. Without the extra the marker is taken literally, as Info-ZIP and Python do; the
// bounds checks of later steps then catch nonsense. `at` and `index` are for messages.
Result<void> apply_zip64_extra(const std::string& path,
                               std::uint64_t at,
                               std::uint64_t index,
                               std::span<const std::byte> extra,
                               const Recorded32& recorded,
                               ZipMember& member) {
  while (extra.size() >= 4) {
    const std::uint16_t id = load_u16(extra, 0);
    const std::uint16_t size = load_u16(extra, 2);
    if (size > extra.size() - 4) {
      return corrupt(path, at,
                     fmt::format("central directory entry {} (\"{}\") has a malformed extra field",
                                 index, printable(member.name)));
    }
    if (id == k_zip64_extra_id) {
      std::size_t used = 4;
      for (auto [value, marked] :
           {std::pair{&member.uncompressed_size, recorded.uncompressed},
            std::pair{&member.compressed_size, recorded.compressed},
            std::pair{&member.local_header_offset, recorded.local_header_offset}}) {
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
  return {};
}

// Parses central directory entry `index` at `at` into `member` (its local_header_offset still
// relative to the archive start, its data_offset unset) and returns the entry's size.
Result<std::uint64_t> read_central_entry(WindowReader& window,
                                         const std::string& path,
                                         std::uint64_t at,
                                         std::uint64_t cd_end,
                                         std::uint64_t index,
                                         ZipMember& member) {
  const auto overrun = [&] {
    return corrupt(path, at,
                   fmt::format("central directory entry {} runs past the end of the central "
                               "directory",
                               index));
  };
  if (!fits(at, k_central_header_size, cd_end)) {
    return overrun();
  }
  auto fixed = window.view(at, k_central_header_size);
  CUSTODY_TRY(fixed);
  const std::span<const std::byte> header = *fixed;
  if (load_u32(header, 0) != k_central_header_signature) {
    return corrupt(path, at, fmt::format("central directory entry {} has a bad signature", index));
  }
  member.flags = load_u16(header, 8);
  member.method = load_u16(header, 10);
  member.crc32 = load_u32(header, 16);
  const Recorded32 recorded{.uncompressed = load_u32(header, 24),
                            .compressed = load_u32(header, 20),
                            .local_header_offset = load_u32(header, 42)};
  const std::uint16_t name_length = load_u16(header, 28);
  const std::uint16_t extra_length = load_u16(header, 30);
  const std::uint16_t comment_size = load_u16(header, 32);
  const std::uint64_t entry_size =
      k_central_header_size + std::uint64_t{name_length} + extra_length + comment_size;
  if (!fits(at, entry_size, cd_end)) {
    return overrun();
  }
  // `header` is invalid from here on: the window may move.
  auto variable = window.view(at + k_central_header_size, std::size_t{name_length} + extra_length);
  CUSTODY_TRY(variable);
  member.name.assign(reinterpret_cast<const char*>(variable->data()), name_length);
  member.compressed_size = recorded.compressed;
  member.uncompressed_size = recorded.uncompressed;
  member.local_header_offset = recorded.local_header_offset;
  CUSTODY_TRY(apply_zip64_extra(path, at, index, variable->subspan(name_length), recorded, member));
  return entry_size;
}

// The entries of the central directory, and where each lies (for messages).
struct CentralDirectory {
  std::vector<ZipMember> members;
  std::vector<std::uint64_t> entry_at;  // absolute offset of each member's entry
  std::uint64_t end = 0;                // just past the last entry parsed
};

// Step 4. Reads `entries` entries from [cd_start, cd_end).
Result<CentralDirectory> read_central_directory(const OpenFile& file,
                                                std::uint64_t cd_start,
                                                std::uint64_t cd_end,
                                                std::uint64_t entries) {
  WindowReader window(file.fd, file.path, cd_end);
  CentralDirectory directory;
  // Not by the claimed count: memory grows only with entries actually read from the file.
  const auto expected = static_cast<std::size_t>(std::min<std::uint64_t>(entries, 4096));
  directory.members.reserve(expected);
  directory.entry_at.reserve(expected);
  std::uint64_t at = cd_start;
  for (std::uint64_t index = 0; index < entries; ++index) {
    ZipMember member;
    auto entry_size = read_central_entry(window, file.path, at, cd_end, index, member);
    CUSTODY_TRY(entry_size);
    directory.members.push_back(std::move(member));
    directory.entry_at.push_back(at);
    at += *entry_size;
  }
  directory.end = at;
  return directory;
}

// Step 5. Names must be safe and unique. Returns the indices of `members` sorted by name (stable,
// so that of two equal names the earlier entry is reported first).
Result<std::vector<std::size_t>> index_member_names(const OpenFile& file,
                                                    const std::vector<ZipMember>& members,
                                                    const std::vector<std::uint64_t>& entry_at) {
  for (std::size_t index = 0; index < members.size(); ++index) {
    if (const char* reason = unsafe_name_reason(members[index].name)) {
      return corrupt(file.path, entry_at[index],
                     fmt::format("unsafe member name \"{}\" in central directory entry {}: {}",
                                 printable(members[index].name), index, reason));
    }
  }
  std::vector<std::size_t> by_name(members.size());
  for (std::size_t index = 0; index < members.size(); ++index) {
    by_name[index] = index;
  }
  std::stable_sort(by_name.begin(), by_name.end(),
                   [&](std::size_t a, std::size_t b) { return members[a].name < members[b].name; });
  for (std::size_t k = 1; k < by_name.size(); ++k) {
    const std::size_t first = by_name[k - 1];
    const std::size_t second = by_name[k];
    if (members[first].name == members[second].name) {
      return corrupt(file.path, entry_at[second],
                     fmt::format("duplicate member name \"{}\" (central directory entries {} and "
                                 "{})",
                                 printable(members[first].name), first, second));
    }
  }
  return by_name;
}

// Reads the local header `member` points to (its offset still relative to the archive) into
// `local`, and checks that it lies before the central directory and agrees with the entry on the
// name and compression method. Returns the absolute offset of the member's first data byte; the
// local header's extra field may differ in length from the central directory's.
Result<std::uint64_t> read_local_header(const OpenFile& file,
                                        std::uint64_t cd_start,
                                        std::uint64_t header_at,
                                        const ZipMember& member,
                                        const std::string& what,
                                        std::uint64_t entry_at,
                                        std::vector<std::byte>& local) {
  const std::uint64_t header_size = k_local_header_size + member.name.size();
  if (!fits(header_at, header_size, file.size)) {
    return corrupt(file.path, entry_at, what + " points past the end of the file");
  }
  if (!fits(header_at, header_size, cd_start)) {
    return corrupt(file.path, entry_at,
                   what + " points into the central directory, not to a local header");
  }
  local.resize(static_cast<std::size_t>(header_size));
  CUSTODY_TRY(pread_exact(file.fd, local, file.path, header_at));
  if (load_u32(local, 0) != k_local_header_signature) {
    return corrupt(file.path, header_at, fmt::format("no local header where {} points", what));
  }
  const std::uint16_t local_name_length = load_u16(local, 26);
  const std::uint16_t local_extra_length = load_u16(local, 28);
  if (local_name_length != member.name.size() ||
      std::memcmp(local.data() + k_local_header_size, member.name.data(), member.name.size()) !=
          0) {
    return corrupt(file.path, header_at,
                   fmt::format("the local header of {} names another member", what));
  }
  if (load_u16(local, 8) != member.method) {
    return corrupt(file.path, header_at,
                   fmt::format("the local header of {} gives compression method {}, the "
                               "central directory {}",
                               what, load_u16(local, 8), member.method));
  }
  return header_at + header_size + local_extra_length;
}

// The member's data must lie in the file and before the central directory (so members cannot
// overlap the directory that describes them), and a stored member's two sizes must agree.
Result<void> check_member_data(const OpenFile& file,
                               std::uint64_t cd_start,
                               const ZipMember& member,
                               const std::string& what,
                               std::uint64_t entry_at) {
  if (!fits(member.data_offset, member.compressed_size, file.size)) {
    return corrupt(file.path, entry_at,
                   fmt::format("the data of {} ({} bytes at offset {}) runs past the end of "
                               "the file",
                               what, member.compressed_size, member.data_offset));
  }
  if (!fits(member.data_offset, member.compressed_size, cd_start)) {
    return corrupt(file.path, entry_at,
                   fmt::format("the data of {} ({} bytes at offset {}) runs into the central "
                               "directory",
                               what, member.compressed_size, member.data_offset));
  }
  if (member.method == k_method_stored && (member.flags & k_flag_encrypted) == 0 &&
      member.compressed_size != member.uncompressed_size) {
    return corrupt(file.path, entry_at,
                   fmt::format("{} is stored, but records a compressed size of {} and an "
                               "uncompressed size of {}",
                               what, member.compressed_size, member.uncompressed_size));
  }
  return {};
}

// Step 6. Local headers, and where each member's data lies: makes every member's
// local_header_offset absolute and sets its data_offset.
Result<void> locate_member_data(const OpenFile& file,
                                std::uint64_t cd_start,
                                std::uint64_t global_offset,
                                std::vector<ZipMember>& members,
                                const std::vector<std::uint64_t>& entry_at) {
  std::vector<std::byte> local;  // reused for every local header
  for (std::size_t index = 0; index < members.size(); ++index) {
    ZipMember& member = members[index];
    const std::string what =
        fmt::format("central directory entry {} (\"{}\")", index, printable(member.name));
    if (member.local_header_offset > std::numeric_limits<std::uint64_t>::max() - global_offset) {
      return corrupt(file.path, entry_at[index], what + " points past the end of the file");
    }
    const std::uint64_t header_at = member.local_header_offset + global_offset;
    auto data_at =
        read_local_header(file, cd_start, header_at, member, what, entry_at[index], local);
    CUSTODY_TRY(data_at);
    member.local_header_offset = header_at;
    member.data_offset = *data_at;
    CUSTODY_TRY(check_member_data(file, cd_start, member, what, entry_at[index]));
  }
  return {};
}

// --- reading members ---------------------------------------------------------------------------

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

}  // namespace

// The steps are the functions above, each checking what the next one relies on; every error
// names the record and its offset.
Result<ZipReader> ZipReader::open(const std::string& path) {
  ZipReader reader;
  reader.m_path = path;
  auto opened = open_archive_file(path);
  CUSTODY_TRY(opened);
  reader.m_fd = std::move(opened->first);
  reader.m_file_size = opened->second;
  const OpenFile file{reader.m_fd.get(), path, reader.m_file_size};

  auto eocd = read_end_of_central_directory(file);
  CUSTODY_TRY(eocd);
  reader.m_end_offset = eocd->end_offset;
  reader.m_comment = std::move(eocd->comment);

  auto claim = read_directory_claim(file, *eocd);
  CUSTODY_TRY(claim);
  CUSTODY_TRY(check_directory_claim(file, *claim));
  // Where the directory is, less where the archive says it is: the length of prepended data.
  reader.m_cd_offset = claim->records_at - claim->size;
  reader.m_global_offset = reader.m_cd_offset - claim->offset;

  auto directory =
      read_central_directory(file, reader.m_cd_offset, claim->records_at, claim->entries);
  CUSTODY_TRY(directory);
  reader.m_cd_size = directory->end - reader.m_cd_offset;
  reader.m_members = std::move(directory->members);

  auto by_name = index_member_names(file, reader.m_members, directory->entry_at);
  CUSTODY_TRY(by_name);
  reader.m_by_name = std::move(*by_name);
  CUSTODY_TRY(locate_member_data(file, reader.m_cd_offset, reader.m_global_offset, reader.m_members,
                                 directory->entry_at));
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

}  // namespace custody::internal
