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
  std::optional<std::string> firmware;
  std::optional<std::string> transport;  // "ata", "scsi", "usb", "nvme", "virtio", "mmc", ...
  std::optional<bool> removable;
  std::optional<bool> rotational;
  bool set_read_only = false;  // custody set the kernel read-only flag (BLKROSET) before reading
  // Hidden areas (ATA HPA/DCO): what was found, or why they were not checked.
  std::string hidden_areas = "not checked";
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

// An unreadable range found while reading a source.
struct Defect {
  std::uint64_t offset = 0;  // first byte
  std::uint64_t length = 0;  // bytes (whole sectors, but for a short last sector)
  std::uint32_t sector_size = 512;
  int sys_errno = 0;  // of the last failed attempt
  // Why, when not a read error here (sys_errno 0): e.g. listed as unreadable by an imported image.
  std::string reason;
};

// What made a defect: its reason, or the text of its errno ("Input/output error").
std::string defect_cause(const Defect& defect);

// How a file or block device source deals with read errors (a stream cannot be re-read: its
// read errors end the acquisition).
struct ReadPolicy {
  // Extra attempts of a failed read: of the whole block first, then of each sector.
  unsigned retries = 2;
  // Stop (Errc::io_error) when more sectors than this are unreadable; 0 = no limit.
  std::uint64_t max_bad_sectors = 0;
  // What unreadable sectors are filled with in the data the source delivers.
  enum class Fill : std::uint8_t { zero, byte, unreadable_pattern };
  Fill fill = Fill::zero;
  std::byte fill_byte{0};
};

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
  // Every unreadable range found so far, in order, adjacent ranges merged.
  virtual std::vector<Defect> defects() const { return {}; }
};

// One attempt to read at a position, for sources that recover from read errors. `careful` asks
// for a read that bypasses caches (O_DIRECT), used when narrowing down an error so that one bad
// sector does not fail its whole page.
class PositionedReader {
 public:
  virtual ~PositionedReader() = default;
  // Reads out.size() bytes at `offset` (fewer only at the end). Errc::io_error with sys_errno.
  virtual Result<std::size_t> read_at(std::uint64_t offset,
                                      std::span<std::byte> out,
                                      bool careful) = 0;
};

// A source over `reader` that retries failed reads, narrows them down to single sectors of
// `sector_size` bytes, fills exactly the unreadable sectors as `policy` says, and keeps going.
std::unique_ptr<Source> make_recovering_source(std::unique_ptr<PositionedReader> reader,
                                               SourceInfo info,
                                               std::uint32_t sector_size,
                                               ReadPolicy policy,
                                               std::uint64_t start = 0);

// Opens `path` read-only: "-" is standard input; a block device gets its size and sector sizes
// from the kernel and its vendor/model/serial from sysfs where present. Errc::not_found if it does
// not exist, Errc::io_error if it cannot be opened (permissions), Errc::invalid_argument for a
// directory or another kind of file that cannot be imaged.
// Files and block devices recover from read errors as `policy` says (see make_recovering_source).
// With `set_read_only`, a block device is marked read-only in the kernel (BLKROSET, needs root)
// before anything is read; for other sources it is Errc::invalid_argument.
// `start` skips that many bytes of a file or block device (to resume an acquisition).
Result<std::unique_ptr<Source>> open_source(const std::string& path,
                                            const ReadPolicy& policy = {},
                                            bool set_read_only = false,
                                            std::uint64_t start = 0);

// Opens the files in `paths` as one continuous read-only source (a split image). Errc::not_found
// names the first missing file.
Result<std::unique_ptr<Source>> open_concatenated_files(const std::vector<std::string>& paths);

}  // namespace custody
