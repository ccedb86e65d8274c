// SPDX-License-Identifier: Apache-2.0
// Random access to the bytes of an image that is not an AFF4 container, for custody-mount: an
// E01 set (through libewf, every chunk's checksum checked) and a raw image (single or split, the
// segments its acquisition record names).
#pragma once

#include <custody/error.hpp>
#include <custody/hash.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace custody::internal {

class ImageReader {
 public:
  virtual ~ImageReader() = default;
  virtual std::uint64_t size() const = 0;
  // The unit in which reads are counted ("distinct chunks read"): an E01's chunk; 32 KiB for raw.
  virtual std::uint64_t chunk_size() const = 0;
  // What identifies the image in a custody event: the recorded hashes (an E01's stored MD5 and
  // SHA-1, a raw record's hashes) and an evidence id (the evidence number, else the file name).
  virtual const DigestSet& recorded_hashes() const = 0;
  virtual const std::string& evidence_id() const = 0;
  // Reads up to out.size() bytes at `offset` (fewer only at the end). Errc::corrupt for a chunk
  // whose checksum fails (E01) or a segment that is shorter than recorded (raw).
  virtual Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) = 0;
};

// The E01 set of `first_segment` (every segment beside it, .E01, .E02, ...).
Result<std::unique_ptr<ImageReader>> open_e01_reader(const std::string& first_segment);

// The raw image that the acquisition record at `record_path` describes.
Result<std::unique_ptr<ImageReader>> open_raw_reader(const std::string& record_path);

}  // namespace custody::internal
