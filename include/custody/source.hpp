// SPDX-License-Identifier: Apache-2.0
// Sources of evidence: a regular file, a block device or a stream (stdin, a pipe). A Source is
// always opened read-only; custody never writes to what it acquires.
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace custody {

enum class SourceKind : std::uint8_t { file, block_device, stream };

// "file", "block-device", "stream".
const char* source_kind_name(SourceKind kind);

// What is known about a source before reading it. Unknown facts are empty, never guessed.
struct SourceInfo {
  std::string path;  // as given; "-" for standard input
  SourceKind kind = SourceKind::file;
  std::optional<std::uint64_t> size;  // empty for streams
  std::optional<std::uint32_t> logical_sector_size;
  std::optional<std::uint32_t> physical_sector_size;
  std::optional<bool> kernel_read_only;  // block devices: BLKROGET
  std::optional<std::string> vendor;
  std::optional<std::string> model;
  std::optional<std::string> serial;
};

// A range of bytes of a source, by absolute offset.
struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool operator==(const ByteRange&) const = default;
};

// Fills `out`, which holds the image bytes starting at `image_offset`, with the AFF4
// UNREADABLEDATA pattern ("UNREADABLEDATA" repeated, tiled per MiB, phased by absolute offset):
// what a reader of an AFF4 image returns for bytes that could not be read.
void fill_with_unreadable_pattern(std::span<std::byte> out, std::uint64_t image_offset);

// A readable source of bytes, read once from start to end. Not thread-safe: one reader at a time.
class Source {
 public:
  virtual ~Source() = default;
  virtual const SourceInfo& info() const = 0;
  // Fills `buffer` from the current position; returns the number of bytes read, which is less than
  // buffer.size() only at the end of the source (0 = end). Errc::io_error carries the offset of
  // the failed read.
  virtual Result<std::size_t> read(std::span<std::byte> buffer) = 0;
  // Ranges of the bytes returned by the last read() that could not be read from the medium and
  // were filled instead (absolute offsets, ascending). Empty for sources without such defects.
  virtual std::vector<ByteRange> last_read_defects() const { return {}; }
};

// Opens `path` read-only: "-" is standard input; a block device gets its size and sector sizes
// from the kernel and its vendor/model/serial from sysfs where present. Errc::not_found if it does
// not exist, Errc::io_error if it cannot be opened (permissions), Errc::invalid_argument for a
// directory or another kind of file that cannot be imaged.
Result<std::unique_ptr<Source>> open_source(const std::string& path);

// Opens the files in `paths` as one continuous read-only source (a split image). Errc::not_found
// names the first missing file.
Result<std::unique_ptr<Source>> open_concatenated_files(const std::vector<std::string>& paths);

}  // namespace custody
