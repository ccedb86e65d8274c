// SPDX-License-Identifier: Apache-2.0
// Examination access to evidence (custody-mount): the image of a physical AFF4 container, an E01
// set or a raw image served for reading at any offset (each AFF4 chunk checked against its
// recorded CRC-32, each E01 chunk against its checksum, as it is read), or the files of a logical
// (AFF4-L) container, each checked against its recorded hash before it is served; with an
// "accessed" custody event recorded before the first byte is served and a "released" event when
// the access ends (in the container's log, or for an E01 set or a raw image in a standalone
// log). What a file system layer (FUSE) needs, and nothing of FUSE itself.
#pragma once

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/logical.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace custody {

struct AccessOptions {
  // The evidence: an AFF4 container, physical (every volume of a striped image) or logical
  // (AFF4-L); an E01 set (its first segment, or all); a raw image (its acquisition record, or its
  // segment files beside the record)
  std::vector<std::string> container_paths;
  EventContext custody;    // who examines and why (draft.purpose required)
  std::string mountpoint;  // where the image is served, as recorded
  // An E01 set or a raw image cannot hold a custody log: the standalone log that records its
  // accesses (created when missing). Empty for an AFF4 container, which keeps its own.
  std::string log_path;
};

// What one access read, as its "released" event records it.
struct AccessSummary {
  std::uint64_t accessed_event = 0;  // the "accessed" event's number
  std::uint64_t released_event = 0;  // the "released" event's number
  std::string started;               // RFC 3339 UTC
  std::string ended;
  std::uint64_t bytes_read = 0;           // bytes served to readers
  std::uint64_t chunks_read = 0;          // distinct chunks of the image touched
  std::uint64_t damaged_reads = 0;        // reads refused because a chunk or file is damaged
  std::string first_damage;               // what the first of them found
  std::vector<std::string> files_opened;  // logical: the files read, in the order first read
  bool signed_events = false;
};

class EvidenceAccess {
 public:
  // Checks that the context can sign and the purpose is given, opens the evidence read-only (so
  // that damaged evidence is refused first), then records the "accessed" event.
  // Errc::invalid_argument (no purpose, a bad draft, a revoked signer, an E01 set or raw image
  // without a standalone log or a container with one), Errc::unsupported (a transfer package, a
  // bag), Errc::io_error (the log may not be written, so the access could not be recorded: nothing
  // is served), and the errors of opening the evidence.
  static Result<std::unique_ptr<EvidenceAccess>> begin(const AccessOptions& options);
  virtual ~EvidenceAccess() = default;

  // A physical image: its size. A logical container: 0, and files() lists what it serves.
  virtual std::uint64_t size() const = 0;
  virtual const LogicalManifest* files() const = 0;
  virtual std::uint64_t accessed_event() const = 0;
  virtual bool signed_events() const = 0;
  // Reads up to out.size() bytes of the image at `offset` (fewer only at its end). Safe from
  // several threads. A damaged chunk is Errc::corrupt, counted for the "released" event.
  virtual Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) = 0;
  // Reads the regular file files()->entries[index]. The first read of a file hashes all of it and
  // compares with its recorded hash: a file that does not match is Errc::corrupt, and none of it
  // is served. Safe from several threads.
  virtual Result<std::size_t> read_file(std::size_t index,
                                        std::uint64_t offset,
                                        std::span<std::byte> out) = 0;
  // Closes the image and records the "released" event (once; later calls return the same).
  virtual Result<AccessSummary> end() = 0;
};

}  // namespace custody
