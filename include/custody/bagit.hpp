// SPDX-License-Identifier: Apache-2.0
// BagIt (RFC 8493, and the drafts 0.93 to 0.97 before it): validate a bag on disk, write a bag
// as a directory, a pax tar or a zip64 into a ByteSink, and extract a received tar or zip safely.
//
// Validation. validate_bag() reads a bag directory and returns a BagReport that lists every
// problem with the file it concerns; a bad bag is a verdict (data), never an Error. An Error
// means the bag could not be read at all (a directory that cannot be opened, a read error). The
// rules of the bag's own version apply where the versions differ: percent-encoding of CR, LF and
// % in paths and the ban on duplicate manifest entries are 1.0 rules; bag-info labels with
// spaces around the colon are accepted before 1.0; package-info.txt is the 0.93-0.95 bag-info.
// Every file is read once, with all algorithms of all manifests that list it.
//
// Writing. write_bag_directory() and write_bag_archive() stream each payload file once (a few
// MiB of memory whatever its size), hash it with SHA-256 and SHA-512 as it is written, and
// produce members in this order, which is also the order in a tar or zip:
//
//   ROOT/bagit.txt                 BagIt-Version: 1.0, UTF-8
//   ROOT/bag-info.txt              Payload-Oxum, Bag-Size, Bagging-Date, then the caller's fields
//   ROOT/data/...                  the payload, in the caller's order
//   ROOT/manifest-sha256.txt
//   ROOT/manifest-sha512.txt
//   ROOT/<caller's tag files>      e.g. custody/acquisition.json, in the caller's order
//   ROOT/tagmanifest-sha256.txt    all tag files above (not the tag manifests themselves)
//   ROOT/tagmanifest-sha512.txt
//
// bag-info.txt comes before the payload (its Payload-Oxum is known from the file sizes), so a
// receiver can bound the payload before reading it; extract_bag_archive() does. The tag manifests
// come last and cover every other tag file, so signing their bytes (returned in BagWriteResult)
// signs the whole bag. Tar is POSIX pax (any size, UTF-8 names); zip is stored (not deflated:
// evidence containers are compressed already) with zip64 extensions for every member.
//
// Extraction. extract_bag_archive() reads a tar or zip and refuses (Errc::corrupt, naming the
// entry) absolute paths, ".." components, symlinks, hard links, devices, FIFOs, sockets, names
// with a backslash, duplicate names (also "x" and "x/" or "./x"), entries outside a single bag
// root directory, more payload than bag-info.txt's Payload-Oxum declares (when bag-info.txt
// comes before the payload), and anything beyond the limits. It extracts into a private (0700)
// temporary directory beside the destination, validates the bag there, and renames it to the
// destination only if the bag is valid; otherwise the temporary directory is removed. The
// destination must not exist (not even as a symlink, which is never followed).
#pragma once

#include <custody/byte_sink.hpp>
#include <custody/error.hpp>
#include <custody/progress.hpp>
#include <custody/verdict.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace custody {

// ---- Validation -------------------------------------------------------------------------------

// A problem of a bag has the verdict fail (the bag is not valid) or warn (the bag is valid, but
// something is unusual, e.g. "./data/x" in a manifest).
struct BagProblem {
  Verdict verdict = Verdict::fail;
  std::string file;  // relative to the bag ("data/a.txt", "manifest-sha256.txt"); "" = the bag
  std::string message;
};

struct BagInfoField {
  std::string label;
  std::string value;
};

struct BagReport {
  std::string directory;
  std::string version;             // from bagit.txt ("1.0"); "" if it could not be read
  std::string tag_file_encoding;   // from bagit.txt ("UTF-8")
  std::vector<BagInfoField> info;  // bag-info.txt (package-info.txt before 0.96), in file order
  std::vector<std::string> payload_algorithms;  // of the manifest-<alg>.txt files ("sha256")
  std::vector<std::string> tag_algorithms;      // of the tagmanifest-<alg>.txt files
  std::uint64_t payload_files = 0;              // regular files found under data/
  std::uint64_t payload_bytes = 0;
  std::vector<BagProblem> problems;  // in the order found: bagit.txt, bag-info, manifests, files

  // True when no problem fails (warnings allowed).
  bool valid() const;
  // Problems of one verdict (fail or warn), as "file: message" lines, for diagnostics.
  std::vector<std::string> lines(Verdict verdict) const;
};

// Validates the bag in `directory` (see the file comment). Errc::not_found if it does not exist,
// Errc::io_error if it cannot be read.
Result<BagReport> validate_bag(const std::string& directory);

struct BagValidateOptions {
  // Payload files ("data/disk1.aff4") that only grew by appends since the bag was made, such as
  // a received evidence container with its "received" custody event: each counts (Payload-Oxum)
  // and is hashed as its first N bytes, and is an error when it is shorter.
  std::map<std::string, std::uint64_t> payload_prefixes;
};
Result<BagReport> validate_bag(const std::string& directory, const BagValidateOptions& options);

// ---- Writing ----------------------------------------------------------------------------------

struct BagPayloadFile {
  std::string source_path;  // the file to copy; read once, never modified
  std::string name;         // its path under data/ ("E1/disk1.aff4"); '/'-separated, relative
};

struct BagTagFile {
  std::string name;     // path relative to the bag root ("custody/acquisition.json")
  std::string content;  // the bytes
};

struct BagSpec {
  std::vector<BagPayloadFile> payload;
  std::vector<BagTagFile> tag_files;  // not bagit.txt, bag-info.txt or (tag)manifests
  std::vector<BagInfoField> info;     // appended to bag-info.txt after the generated fields
  std::string bagging_date;           // "YYYY-MM-DD"; empty = today (UTC)
  // Called once the tag manifests are written (their bytes are in the result): tag files to add
  // after them, which they therefore do not list, such as a signature over
  // tagmanifest-sha256.txt and its timestamp. Empty function: none.
  std::function<Result<std::vector<BagTagFile>>(const struct BagWriteResult&)> after_tag_manifests;
  const CancelToken* cancel = nullptr;  // checked between blocks: Errc::cancelled
};

struct BagFileDigest {
  std::string name;  // relative to the bag root ("data/E1/disk1.aff4", "manifest-sha256.txt")
  std::uint64_t size = 0;
  std::string sha256;
  std::string sha512;
};

struct BagWriteResult {
  std::string payload_oxum;              // "OCTETS.COUNT", as in bag-info.txt
  std::vector<BagFileDigest> payload;    // in the caller's order
  std::vector<BagFileDigest> tag_files;  // every tag file the tag manifests cover, in order
  std::string tagmanifest_sha256;        // the bytes of tagmanifest-sha256.txt (to sign)
  std::string tagmanifest_sha512;        // the bytes of tagmanifest-sha512.txt
};

// Writes the bag to `directory`, which must not exist: it is built in a temporary directory
// beside it (private, 0700), fsynced, and renamed into place. Errc::already_exists if
// `directory` exists, Errc::invalid_argument for a bad name in `spec`, Errc::io_error, and
// Errc::corrupt if a payload file changes size while it is copied.
Result<BagWriteResult> write_bag_directory(const BagSpec& spec, const std::string& directory);

enum class BagArchiveFormat : std::uint8_t { tar, zip };

// Writes the bag as a tar or zip whose members all lie under `root_name/` into `sink`, and
// finishes the sink when everything was written (not after a failure: a FileByteSink then
// leaves nothing). Errors as write_bag_directory(), plus whatever the sink reports.
Result<BagWriteResult> write_bag_archive(const BagSpec& spec,
                                         BagArchiveFormat format,
                                         const std::string& root_name,
                                         ByteSink& sink);

// ---- Extraction -------------------------------------------------------------------------------

// A source of bytes read once from start to end (a pipe, a decrypting layer).
class ByteStream {
 public:
  ByteStream() = default;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;
  virtual ~ByteStream() = default;
  // Fills up to `buffer.size()` bytes; returns 0 only at the end of the stream.
  virtual Result<std::size_t> read(std::span<std::byte> buffer) = 0;
};

struct BagExtractLimits {
  std::uint64_t max_total_bytes = std::numeric_limits<std::uint64_t>::max();  // all members
  std::uint64_t max_entries = 1'000'000;
  std::uint64_t max_tag_file_bytes = 64ULL << 20U;  // each member outside data/
  const CancelToken* cancel = nullptr;  // checked between blocks: Errc::cancelled, nothing kept
};

struct BagExtractOutcome {
  bool extracted = false;  // true: `destination` now holds the bag, and the bag is valid
  BagReport report;        // the validation of what was extracted (files named within the bag)
};

// Extracts a tar or zip holding one bag (see the file comment) to `destination`. A hostile or
// malformed archive is Errc::corrupt naming the entry; a well-formed archive whose bag does not
// validate is a successful Result with extracted == false and the report. Errc::already_exists if
// `destination` exists.
Result<BagExtractOutcome> extract_bag_archive(const std::string& archive_path,
                                              const std::string& destination,
                                              const BagExtractLimits& limits = {});
// The same from a stream (tar or zip, read sequentially: for zip the local headers count).
Result<BagExtractOutcome> extract_bag_archive(ByteStream& archive,
                                              const std::string& destination,
                                              const BagExtractLimits& limits = {});

}  // namespace custody
