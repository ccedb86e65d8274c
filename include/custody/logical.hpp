// SPDX-License-Identifier: Apache-2.0
// Logical acquisition: files, folders and the archives a service provider discloses, taken file
// by file into an AFF4-L container (the layout pyaff4 writes: one ZIP member per file, described
// as an aff4:FileImage in information.turtle), with every file's hashes and all the metadata the
// source has in custody/files.json. The format is specified in custody-container(5).
#pragma once

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/progress.hpp>
#include <custody/record.hpp>
#include <custody/seal.hpp>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace custody {

// The member holding the file list; the record (custody/acquisition.json) holds its SHA-256.
inline constexpr const char* k_logical_manifest_member = "custody/files.json";
inline constexpr const char* k_logical_manifest_format = "custody-files";

// Paths are byte strings (a file name may be any bytes but "/" and NUL). In member names, URNs
// and custody/files.json they are percent-encoded, upper-case hex, so that they survive as valid
// UTF-8: every byte that is a control character, "%", one of the characters Turtle forbids in
// IRIs (space < > " { } | ^ ` \), "#", "?", or part of invalid UTF-8 is written %XX; valid UTF-8
// beyond ASCII is kept (so "ネコ.txt" stays readable). A ".." component becomes "%2E%2E".
std::string encode_logical_path(std::string_view raw);
// The exact bytes back. Errc::corrupt for a "%" not followed by two hex digits.
Result<std::string> decode_logical_path(std::string_view encoded);

enum class LogicalEntryType : std::uint8_t {
  file,
  directory,
  symlink,
  hardlink,  // another name of an earlier file: link_target is that file's path
  fifo,
  socket,
  char_device,
  block_device,
};

// "file", "directory", "symlink", "hardlink", "fifo", "socket", "char-device", "block-device".
const char* logical_entry_type_name(LogicalEntryType type);

// One of an entry's times (RFC 3339 UTC with nanoseconds) as a timespec; nullopt when empty or
// not such a time.
std::optional<timespec> logical_entry_time(std::string_view text);

// One entry of a logical acquisition (or of an AFF4-L container made elsewhere).
struct LogicalEntry {
  std::string path;  // raw bytes, "/"-separated, relative: "<source label>/<path in source>"
  LogicalEntryType type = LogicalEntryType::file;
  std::string member;  // ZIP member (or, sparse, the aff4:Map) holding a file's content
  std::uint64_t size = 0;
  DigestSet hashes;                   // regular files
  std::optional<std::uint32_t> mode;  // permission bits (07777)
  std::optional<std::uint64_t> uid;
  std::optional<std::uint64_t> gid;
  std::optional<std::string> user;
  std::optional<std::string> group;
  // RFC 3339 UTC with nanoseconds; empty when the source does not know.
  std::string mtime;
  std::string atime;
  std::string ctime;
  std::string btime;                          // birth time (statx), where the file system keeps it
  std::map<std::string, std::string> xattrs;  // name -> raw value
  std::string link_target;                    // symlink: target (raw); hardlink: earlier path
  std::optional<std::uint64_t> inode;
  std::optional<std::uint64_t> nlink;
  // Sparse files: the ranges holding data (offset, length); the rest reads as zeros. Empty for
  // a file without holes.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> data_ranges;
  std::string archive_name;  // in an archive: the entry's name as stored there, if it differs
  std::string error;         // why it could not be read; such an entry has no content
};

// A file that could not be taken, and why. Nothing is skipped silently.
struct LogicalDefect {
  std::string path;  // raw bytes
  std::string reason;
  int sys_errno = 0;
};

// The whole list, as stored in custody/files.json.
struct LogicalManifest {
  std::vector<HashAlgorithm> algorithms;
  std::vector<LogicalSourceRecord> sources;
  LogicalFilters filters;
  LogicalExclusions excluded;
  std::vector<LogicalEntry> entries;
  std::vector<LogicalDefect> defects;
};

std::string logical_manifest_to_json(const LogicalManifest& manifest);
// Errc::corrupt for invalid JSON, a mistyped member or a path that does not decode.
Result<LogicalManifest> parse_logical_manifest(std::string_view json);

struct LogicalAcquireOptions {
  std::vector<std::string> sources;  // directories, files, archives (zip, tar, 7z, ...)
  std::string output_base;           // writes output_base.aff4
  std::vector<HashAlgorithm> algorithms;
  LogicalFilters filters;
  CaseInfo case_info;
  bool overwrite = false;
  // A regular file given as a source is read as an archive when libarchive recognises it;
  // false keeps it as one file.
  bool expand_archives = true;
  std::string tool_name = "custody-acquire";
  // A complete acquisition records an "acquired" event; with a signer it is signed and the
  // container sealed (as AcquireOptions::custody).
  EventContext custody;
};

struct LogicalAcquisitionResult {
  AcquisitionRecord record;  // record.logical holds the summary
  LogicalManifest manifest;
  std::string container_path;
  std::string record_json;
  std::optional<AppendResult> event;  // the "acquired" event, when recorded
  std::optional<SealResult> seal;     // the seal made with the context's signer
};

// What a finished logical acquisition took, as lines for a terminal: counts and rate over
// `seconds`, the container, each source with its hashes, what the filters left out, the file
// list's SHA-256 and the seal made (`signer`: its certificate's subject).
std::vector<std::string> logical_summary_lines(const LogicalAcquisitionResult& result,
                                               double seconds,
                                               const std::string& signer);

// "completed with defects: 2 entries could not be taken (completely); they are listed in
// custody/files.json", then one line per entry: "PATH: reason".
std::vector<std::string> logical_defect_lines(const LogicalManifest& manifest);

// Errc::invalid_argument (options, a source given twice), Errc::not_found (a source),
// Errc::already_exists (the output exists and !overwrite), Errc::io_error (writing). A file that
// cannot be read is not an error: it is a defect in the manifest and the record. A cancelled job
// returns a result whose record has status "interrupted".
Result<LogicalAcquisitionResult> acquire_logical(const LogicalAcquireOptions& options,
                                                 ProgressSink* progress = nullptr,
                                                 const CancelToken* cancel = nullptr);

// Reads an AFF4-L container: ours (entries from custody/files.json) or one made elsewhere, e.g.
// by pyaff4 (entries from the aff4:FileImage objects of information.turtle).
class LogicalContainer {
 public:
  // Errc::not_found, Errc::corrupt (damaged ZIP, turtle or manifest), Errc::unsupported (a file
  // stored in a way this reader does not know, e.g. a pyaff4 aff4:ImageStream).
  static Result<std::unique_ptr<LogicalContainer>> open(const std::string& path);
  virtual ~LogicalContainer() = default;

  virtual const std::string& path() const = 0;
  virtual const std::string& volume_urn() const = 0;
  virtual const std::string& tool() const = 0;  // from version.txt
  virtual const LogicalManifest& manifest() const = 0;
  // custody/acquisition.json, when present.
  virtual const std::optional<std::string>& custody_record() const = 0;
  // custody/files.json exactly as stored (empty for a container made elsewhere).
  virtual const std::string& manifest_bytes() const = 0;

  // Delivers the content of a regular file in order: (offset, length, data), data == nullptr for
  // a hole (zeros). Errc::corrupt for a damaged member or map.
  using PieceSink = std::function<Result<void>(
      std::uint64_t offset, std::uint64_t length, const std::byte* data)>;
  virtual Result<void> read_file(const LogicalEntry& entry, const PieceSink& sink) const = 0;
  // Reads up to out.size() bytes of a regular file at `offset` (fewer only at its end; holes read
  // as zeros). Direct for a file stored whole (how custody stores files); a deflated or sparse one
  // is read from its start up to the bytes wanted. Unchecked: hash_file checks the content.
  virtual Result<std::size_t> read_at(const LogicalEntry& entry,
                                      std::uint64_t offset,
                                      std::span<std::byte> out) const = 0;
  // Hashes a regular file's content with `algorithms`.
  virtual Result<DigestSet> hash_file(const LogicalEntry& entry,
                                      std::span<const HashAlgorithm> algorithms) const = 0;
};

struct LogicalExtractOptions {
  std::string container;
  std::string output;      // a directory (must not exist, or be empty), or NAME.tar
  bool overwrite = false;  // a tar file only
  // Records an "exported" event in the container's custody log, as ExportOptions::custody.
  std::optional<EventContext> custody;
};

struct LogicalExtractResult {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> warnings;  // skipped entries, metadata not restored
  // Files whose content does not give the recorded hashes (raw paths).
  std::vector<std::string> mismatches;
  std::uint64_t custody_event = 0;  // the "exported" event's number (0: none recorded)
  std::string not_recorded;         // why no event was recorded although one was asked for
};

// Writes every entry back out with its metadata (mode, times; user.* xattrs where the file
// system allows). Safe against hostile containers: names are created below the output with
// openat and O_NOFOLLOW, never outside; symbolic links are recreated only when their target
// stays inside the output, else skipped with a warning; devices are skipped with a warning.
// Errc::already_exists (the output exists and is not an empty directory), Errc::io_error.
Result<LogicalExtractResult> extract_logical(const LogicalExtractOptions& options,
                                             ProgressSink* progress = nullptr,
                                             const CancelToken* cancel = nullptr);

}  // namespace custody
