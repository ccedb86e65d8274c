// SPDX-License-Identifier: Apache-2.0
// AFF4 evidence containers: open one (or the volumes of a striped image), learn what it holds,
// and read the image at any offset. Everything read from the file is bounds-checked; damage is
// reported as Errc::corrupt with the member and offset, never as a crash or wrong data.
#pragma once

#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/progress.hpp>
#include <custody/source.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace custody {

// A ZIP member of the volume.
struct ContainerMember {
  std::string name;
  std::size_t volume = 0;    // index into ContainerInfo::paths
  std::uint64_t size = 0;    // uncompressed
  std::uint64_t stored = 0;  // bytes in the file
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc32 = 0;
  std::uint64_t offset = 0;  // of the member's data in its volume file
};

// An aff4:ImageStream: compressed chunks in bevies.
struct ContainerStream {
  std::string urn;
  std::uint64_t size = 0;
  std::uint32_t chunk_size = 0;
  std::uint32_t chunks_per_bevy = 0;
  std::string compression;  // "snappy", "lz4", "deflate", "zlib", "none"
};

// How the image's bytes are made up, from the map.
struct ContainerMapSummary {
  std::uint64_t entries = 0;
  std::uint64_t stream_bytes = 0;      // read from image streams
  std::uint64_t zero_bytes = 0;        // aff4:Zero (including gaps)
  std::uint64_t fill_bytes = 0;        // aff4:SymbolicStreamXX other than zero
  std::uint64_t unknown_bytes = 0;     // aff4:UnknownData (not acquired)
  std::uint64_t unreadable_bytes = 0;  // aff4:UnreadableData (could not be read)
  // Unreadable ranges of the image: (offset, length).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> unreadable_ranges;
};

struct ContainerInfo {
  std::vector<std::string> paths;
  std::string volume_urn;
  std::string tool;  // from version.txt
  std::string image_urn;
  std::vector<std::string> map_urns;
  std::uint64_t size = 0;
  std::vector<ContainerStream> streams;
  DigestSet linear_hashes;                    // aff4:hash of the image with a linear datatype
  std::optional<std::string> block_map_hash;  // aff4:hash ^^aff4:blockMapHashSHA512, if any
  // Image properties (local name in the aff4: namespace -> value), e.g. "diskModel".
  std::map<std::string, std::string> image_properties;
  // Case and audit objects targeting the image: ("CaseNotes", {"caseNumber": ..., ...}).
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> case_metadata;
  ContainerMapSummary map;
  std::vector<ContainerMember> members;
  std::optional<std::string> custody_record;  // custody/acquisition.json, when present
  // Bytes after the end of the ZIP structure (all volumes): left by an interrupted append, or
  // added by someone; they are not part of what is read or verified.
  std::uint64_t trailing_bytes = 0;
};

// Something in the container that does not match what was recorded about it.
struct IntegrityProblem {
  std::string what;     // "member", "chunk", "block hash", "map hash"
  std::string subject;  // a member name, or "chunk 37 of aff4://..."
  std::size_t volume = 0;
  std::uint64_t file_offset = 0;  // where the damaged bytes start in that volume file
  std::uint64_t length = 0;
  std::string detail;  // plain-language explanation
};

class Container {
 public:
  // Opens an AFF4 v1.0 volume read-only; for a striped image give every volume. Errc::not_found,
  // Errc::corrupt (damaged or truncated ZIP, unsafe member names, invalid map or index),
  // Errc::unsupported (another AFF4 version, an unknown compression or map target).
  static Result<std::unique_ptr<Container>> open(const std::vector<std::string>& paths);
  virtual ~Container() = default;

  virtual const ContainerInfo& info() const = 0;
  // Reads up to out.size() bytes of the image at `offset`; fewer only at the end of the image.
  // A damaged chunk is Errc::corrupt naming the chunk, its bevy and the image offset.
  virtual Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) = 0;
  // From now on, read() also checks each chunk's stored bytes against the CRC-32 recorded at
  // acquisition (custody/chunk-crc32, in containers custody wrote), so that a changed chunk is
  // Errc::corrupt naming it, never wrong bytes. Off by default: a verification or export hashes
  // every byte anyway and then names the damaged chunks all at once (check_members).
  virtual void check_chunk_crcs_on_read() = 0;
  // A Source over [offset, offset + length) of the image, for pipelines. The Container must
  // outlive it.
  virtual std::unique_ptr<Source> image_source(std::uint64_t offset, std::uint64_t length) = 0;
  // Reads a small member whole (at most `limit` bytes).
  virtual Result<std::string> read_member(const std::string& name, std::size_t limit) = 0;

  // Recomputes the CRC-32 of every member's bytes and compares it with the ZIP directory. For a
  // damaged bevy it names the damaged chunks (from custody/chunk-crc32, when present) with their
  // image offsets. Reads the whole file once.
  virtual Result<std::vector<IntegrityProblem>> check_members(ProgressSink* progress,
                                                              const CancelToken* cancel) = 0;
  // Checks AFF4 block hashes (<bevy>.blockHash.<algo>, BlockHashes, map hashes and the
  // blockMapHash) where the container has them; `checked` receives a description of each family
  // of hashes that was checked. Returns the mismatches.
  virtual Result<std::vector<IntegrityProblem>> check_block_hashes(
      std::vector<std::string>& checked) = 0;
};

// `info` as versioned JSON ("format": "custody-container-info", "version": 1); the custody record,
// when present, is embedded as parsed JSON under "record".
std::string container_info_to_json(const ContainerInfo& info);

}  // namespace custody
