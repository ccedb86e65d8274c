// SPDX-License-Identifier: Apache-2.0
// ZipWriter: writes STORED members with ZIP64 records (aff4-subset.md §1.4 "Recommended writer")
// to a new archive or after the last byte of an existing one, aligned member data with direct I/O.
#include "zip/zip.hpp"
#include "zip/zip_format.hpp"

#include <custody/text.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_set>

namespace custody::internal {

using namespace zip;  // the record layouts and helpers of zip_format.hpp

namespace {

// Local header Zip64 extra: id, length, uncompressed size, compressed size.
constexpr std::uint16_t k_local_zip64_extra_size = 20;
// "Made by" Unix, version 4.5, with mode 0644 regular file in the external attributes. Made by
// MS-DOS, Info-ZIP unzip converts the central directory name from CP437 despite the UTF-8 flag and
// then reports a mismatch with the local name; made by Unix without a mode, it extracts files
// with mode 0000.
constexpr std::uint16_t k_made_by_unix = (3U << 8U) | k_version_zip64;
constexpr std::uint32_t k_external_attributes = 0100644U << 16U;
// Every member gets 1980-01-01 00:00 (the DOS epoch): the archive's bytes then depend only on
// its content, so two runs over the same evidence give identical files, and acquisition times
// live in information.turtle and the custody record, where they are signed.
constexpr std::uint16_t k_dos_time = 0;
constexpr std::uint16_t k_dos_date = (0U << 9U) | (1U << 5U) | 1U;

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

tl::unexpected<Error> moved_from() {
  return make_error(Errc::invalid_argument, "this ZipWriter was moved from");
}

// --- records ---------------------------------------------------------------------------------

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

// The records after the central directory: Zip64 EOCD, Zip64 locator and EOCD with `comment`.
// The offsets are relative to the archive start.
void build_end_records(RecordBuilder& out,
                       std::uint64_t entries,
                       std::uint64_t directory_size,
                       std::uint64_t directory_offset,
                       std::uint64_t zip64_offset,
                       std::string_view comment) {
  out.u32(k_zip64_eocd_signature);
  out.u64(k_zip64_eocd_record_size);
  out.u16(k_version_zip64);
  out.u16(k_version_zip64);
  out.u32(0);  // this disk
  out.u32(0);  // disk with the central directory
  out.u64(entries);
  out.u64(entries);
  out.u64(directory_size);
  out.u64(directory_offset);

  out.u32(k_zip64_locator_signature);
  out.u32(0);  // disk with the Zip64 EOCD
  out.u64(zip64_offset);
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
}

// --- checks on new member names ------------------------------------------------------------

// Non-ASCII names must be strict UTF-8 (is_valid_utf8 in text.hpp), because the writer sets the
// UTF-8 flag on them and readers such as Python's zipfile then decode them.
bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// --- direct I/O ------------------------------------------------------------------------------

bool is_direct_aligned(std::uint64_t value) {
  return value % k_direct_alignment == 0;
}

bool is_direct_aligned(const std::byte* address) {
  return is_direct_aligned(reinterpret_cast<std::uintptr_t>(address));
}

std::size_t round_down_to_direct(std::size_t value) {
  return value - value % k_direct_alignment;
}

// Frees the staging buffer, which comes from std::aligned_alloc.
struct FreeDeleter {
  void operator()(std::byte* memory) const { std::free(memory); }
};

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

Result<void> ZipWriter::add_plain_member(std::string_view name, std::span<const std::byte> data) {
  if (!m_state) {
    return moved_from();
  }
  CUSTODY_TRY(m_state->usable());
  CUSTODY_TRY(m_state->check_new_name(name));
  constexpr std::uint64_t k_u32_limit = 0xFFFFFFFFU;
  if (data.size() >= k_u32_limit || m_state->position >= k_u32_limit) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} cannot be written without a Zip64 extra field", name));
  }
  constexpr std::uint16_t k_version_plain = 20;  // 2.0: stored, no Zip64
  WrittenEntry entry = m_state->start_entry(name);
  entry.crc32 = crc32_update(0, data);
  entry.size = data.size();
  RecordBuilder header;
  header.u32(k_local_header_signature);
  header.u16(k_version_plain);
  header.u16(entry.flags);
  header.u16(k_method_stored);
  header.u16(k_dos_time);
  header.u16(k_dos_date);
  header.u32(entry.crc32);
  header.u32(static_cast<std::uint32_t>(entry.size));
  header.u32(static_cast<std::uint32_t>(entry.size));
  header.u16(static_cast<std::uint16_t>(name.size()));
  header.u16(0);
  header.text(name);
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
  build_end_records(out, entries, directory_size, directory_at - state.base, zip64_at - state.base,
                    comment);
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
