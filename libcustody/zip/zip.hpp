// SPDX-License-Identifier: Apache-2.0
// ZIP64 archives, the container format of AFF4 volumes (aff4-subset.md §1.1-1.5, §8): a reader
// that treats every byte of its input as hostile, and a writer of STORED members that can also
// append to an existing archive without rewriting any of its bytes.
//
// Offsets: ZIP records store offsets relative to the start of the archive, which is not the start
// of the file when data was prepended (a self-extractor stub, or a carved file). ZipReader works
// out that global offset and reports absolute file offsets only.
#pragma once

#include "core/posix_file.hpp"

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

struct ZipMember {
  std::string name;          // raw bytes as stored (UTF-8 or CP437)
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint16_t flags = 0;   // general purpose bit flags from the central directory
  std::uint32_t crc32 = 0;   // as recorded in the central directory
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;  // absolute file offset of the local header
  std::uint64_t data_offset = 0;          // absolute file offset of the first data byte
};

// Reads a ZIP or ZIP64 archive. Opening parses and checks the whole central directory and every
// local header; afterwards the reads are pread(2)s, so a const ZipReader may be shared by threads.
class ZipReader {
 public:
  // Opens `path` read-only. Finds the last end of central directory record (EOCD) in the final
  // 65557 bytes, preferring one whose comment ends exactly at the end of the file (so that a
  // signature inside a comment is not taken for the record); bytes after the record and its
  // comment are tolerated (see end_offset()). Follows the Zip64 locator and Zip64 EOCD when the
  // EOCD has 0xFFFF/0xFFFFFFFF fields, or whenever a locator precedes the EOCD. Tolerates
  // prepended data: global offset = real central directory position - claimed position.
  // Every entry's Zip64 extra field supplies size, compressed size and local header offset, each
  // only if the 32-bit field is 0xFFFFFFFF. Each local header is read to find data_offset; its
  // name and method must match the central directory, and the member's data must end before the
  // central directory starts. Errc::not_found if `path` does not exist; Errc::unsupported for a
  // multi-disk archive; Errc::corrupt otherwise, with a message that names the record and its
  // offset ("truncated: no end of central directory record", "central directory entry 3 points
  // past the end of the file"; entries count from 0, as in members()). Member names that are
  // empty, contain NUL or a backslash, or have a ".." component are Errc::corrupt ("unsafe member
  // name"), and so is a name that occurs twice (which member would be meant is ambiguous). A
  // leading "/" is allowed (AFF4-L uses absolute names); extractors must still sanitise it.
  static Result<ZipReader> open(const std::string& path);

  // In central directory order.
  const std::vector<ZipMember>& members() const { return m_members; }
  // Exact byte comparison; nullptr when absent. O(log n).
  const ZipMember* find(std::string_view name) const;
  // The EOCD comment, raw (Evimetry ends it with a NUL; stripping it is the caller's business).
  const std::string& comment() const { return m_comment; }
  std::uint64_t file_size() const { return m_file_size; }
  const std::string& path() const { return m_path; }
  // Absolute offset of the first central directory entry.
  std::uint64_t central_directory_offset() const { return m_cd_offset; }
  // Bytes of central directory entries parsed (from central_directory_offset()).
  std::uint64_t central_directory_size() const { return m_cd_size; }
  // Absolute offset just past the EOCD and its comment; less than file_size() if bytes follow.
  std::uint64_t end_offset() const { return m_end_offset; }
  // What the archive's own offsets are relative to (non-zero when data was prepended).
  std::uint64_t global_offset() const { return m_global_offset; }

  // Reads out.size() bytes of a STORED member's data, starting `offset` bytes into the member.
  // Errc::corrupt if the range is outside the member; Errc::unsupported if the member is not
  // stored or is encrypted; Errc::io_error if the file became shorter since open().
  Result<void> read_stored(const ZipMember& member,
                           std::uint64_t offset,
                           std::span<std::byte> out) const;
  // Reads a whole member, stored or deflated (method 8, raw deflate). A member whose recorded
  // uncompressed size exceeds `limit`, or whose deflate stream expands beyond `limit` or to a
  // size other than the recorded one, is Errc::corrupt; memory grows with the data actually
  // produced, never with a claimed size. Does not check the CRC (see compute_crc32()).
  Result<std::string> read_member(const ZipMember& member, std::size_t limit) const;
  // CRC-32 of the member's uncompressed data, streaming through the file in 1 MiB pieces.
  Result<std::uint32_t> compute_crc32(const ZipMember& member) const;
  int fd() const { return m_fd.get(); }

 private:
  ZipReader() = default;

  UniqueFd m_fd;
  std::string m_path;
  std::uint64_t m_file_size = 0;
  std::vector<ZipMember> m_members;
  std::vector<std::size_t> m_by_name;  // indices into m_members, sorted by name
  std::string m_comment;
  std::uint64_t m_cd_offset = 0;
  std::uint64_t m_cd_size = 0;
  std::uint64_t m_end_offset = 0;
  std::uint64_t m_global_offset = 0;
};

// Writes STORED members with ZIP64 records as aff4-subset.md §1.4 "Recommended writer" says:
// version needed 45, a Zip64 extra with the real sizes in every local header (and 0xFFFFFFFF in
// its 32-bit size fields), the real CRC-32 in the local header and no data descriptor, Zip64
// extras in the central directory only for entries that need one, and always a Zip64 EOCD,
// Zip64 locator and EOCD. Writes are buffered; write-back is started every 32 MiB so the final
// fsync is short. The data of aligned streamed members (begin_member(name, true)) goes to disk
// with direct I/O (O_DIRECT) where the file system allows it, sparing a copy of every byte into
// the page cache; elsewhere it is buffered too, with the same bytes in the archive. Not
// thread-safe: one thread drives a writer.
//
// After any failed call the writer refuses further work (the file state is unknown). A writer
// destroyed before finish() succeeded leaves a created archive incomplete on disk (the caller
// removes it), and truncates an appended archive back to its original length, so the original
// stays readable by tools that look for the EOCD only near the end of the file.
class ZipWriter {
 public:
  // Creates a new archive at `path` (O_EXCL, or O_TRUNC when `overwrite`). Errc::already_exists
  // if it exists and !overwrite.
  static Result<ZipWriter> create(const std::string& path, bool overwrite);
  // Opens an existing archive to add members: its central directory is read with ZipReader and
  // writing starts at the current end of the file, after every existing byte. finish() writes a
  // new central directory holding the old entries (copied byte for byte) and the new ones. No
  // existing byte is rewritten; the old central directory stays in the file as dead bytes.
  // Errors of ZipReader::open(); Errc::io_error if another writer holds the archive.
  // Members named in `superseded` are left out of the new central directory (their bytes stay
  // in the file, unused) and may be added again: how a resumed acquisition replaces the map,
  // the metadata and its last bevy without rewriting a byte.
  // `lock_wait_seconds`: how long to wait for another writer's lock (0: fail at once).
  static Result<ZipWriter> open_for_append(const std::string& path,
                                           const std::vector<std::string>& superseded = {},
                                           unsigned lock_wait_seconds = 0);

  ZipWriter(ZipWriter&& other) noexcept;
  ZipWriter& operator=(ZipWriter&& other) noexcept;
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;
  ~ZipWriter();

  // A whole STORED member.
  Result<void> add_member(std::string_view name, std::span<const std::byte> data);
  // The same for a member under 4 GiB at an offset under 4 GiB, with a local header that carries
  // no extra field at all (ASiC's mimetype, EN 319 162-1, must be readable at fixed offsets).
  // Errc::invalid_argument when it would need Zip64.
  Result<void> add_plain_member(std::string_view name, std::span<const std::byte> data);
  // A streamed STORED member: begin, any number of writes, end. The local header is written
  // first with a zero CRC and sizes, and end_member() patches them in place (pwrite), so no data
  // descriptor is needed. `crc_of_piece`, when given, is the CRC-32 of `data` computed by the
  // caller (e.g. on another thread); it is combined with crc32_combine(). It is trusted: a wrong
  // value yields a wrong CRC in the archive, which `unzip -t` reports.
  //
  // With `align_data`, the local header gets an alignment extra field after its Zip64 extra
  // (ID 0xD935, as Android's zipalign writes: a u16 alignment of 4096, then zero bytes) so that
  // the member's data starts at a file offset that is a multiple of 4096; the central directory
  // entry has no such field. The data then goes to disk with O_DIRECT through a 4 MiB staging
  // buffer, or straight from the caller's memory for large pieces aligned to 4096 in memory;
  // position() counts staged bytes as written. Where the file system refuses direct I/O (EINVAL
  // at open or at a write), this and every later member are written buffered instead.
  Result<void> begin_member(std::string_view name, bool align_data = false);
  Result<void> write_member_data(std::span<const std::byte> data,
                                 std::optional<std::uint32_t> crc_of_piece = std::nullopt);
  Result<void> end_member();
  // Central directory, Zip64 EOCD, Zip64 locator and EOCD with `comment` (at most 65535 bytes),
  // then fsync of the file and of its directory. The writer is spent afterwards.
  Result<void> finish(std::string_view comment);

  // Whether a member of that name exists (existing ones too in append mode). Adding or beginning
  // a member under an existing name is Errc::invalid_argument. Names must be valid UTF-8 and
  // pass ZipReader's safety rules.
  bool has_member(std::string_view name) const;
  // Absolute file offset where the next byte will be written.
  std::uint64_t position() const;
  // Whether aligned members' data goes to disk with direct I/O: false before the first aligned
  // member, and once the file system refused it.
  bool writes_direct() const;
  const std::string& path() const;

 private:
  struct State;
  explicit ZipWriter(std::unique_ptr<State> state);

  std::unique_ptr<State> m_state;
};

}  // namespace custody::internal
