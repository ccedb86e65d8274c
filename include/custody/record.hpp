// SPDX-License-Identifier: Apache-2.0
// The acquisition record: what was acquired, from what, by whom, when, into which files, and the
// hashes of the image and of every segment. Stored as JSON next to the image; the format is
// specified in custody-acquisition(5).
#pragma once

#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/source.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace custody {

// The "format" and "version" members of a record file.
inline constexpr const char* k_record_format = "custody-acquisition";
inline constexpr int k_record_version = 1;

// Case fields as the examiner typed them; empty optionals are not recorded.
struct CaseInfo {
  std::optional<std::string> case_number;
  std::optional<std::string> evidence_number;
  std::optional<std::string> examiner;
  std::optional<std::string> description;
  std::optional<std::string> notes;
};

// One file of the image.
struct SegmentRecord {
  std::string file;  // name relative to the record's directory
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  DigestSet hashes;
};

// Where an AFF4 image lives: the container and its object names.
struct ContainerRecord {
  std::string file;  // name of the .aff4 file (relative to where the record was written)
  std::string volume_urn;
  std::string image_urn;
  std::string compression;
  std::uint32_t chunk_size = 0;
  std::uint64_t stored_chunks = 0;
  std::uint64_t zero_chunks = 0;
};

// A re-read after acquisition: of the written image, or of the source.
struct PostVerification {
  bool matches = false;  // the re-read gave the recorded hashes
  DigestSet hashes;      // of the re-read
  std::string time;      // RFC 3339 UTC, when it finished
};

// One file of an image that was made elsewhere and imported (custody-acquire --from-image).
struct ImportedFile {
  std::string name;  // as found (the path given, or its siblings in the same directory)
  std::uint64_t size = 0;
};

// What an imported image (an E01 set, a raw file or a split raw set) said about itself.
struct ImportRecord {
  std::string format;  // "e01", "raw" or "split-raw"
  std::vector<ImportedFile> files;
  std::uint32_t bytes_per_sector = 512;
  // Hashes stored in the image by whoever made it (E01: MD5, SHA-1), and whether the bytes read
  // now give the same (empty when the image claims none).
  DigestSet claimed_hashes;
  std::optional<bool> hashes_match;
  // E01 header values by libewf identifier: case_number, evidence_number, examiner_name,
  // description, notes, acquiry_date, system_date, acquiry_software_version, ...
  std::map<std::string, std::string> headers;
  // Byte ranges the image's maker could not read (E01 acquiry error list), and chunks whose
  // checksum failed on reading now (damage to the E01 itself).
  std::vector<ByteRange> acquiry_errors;
  std::vector<ByteRange> checksum_errors;
};

// Logical acquisition (custody-acquire --logical; see logical.hpp). A source as given.
struct LogicalSourceRecord {
  std::string path;            // as given
  std::string label;           // its top-level name in the container
  std::string kind;            // "directory", "file" or "archive"
  std::string archive_format;  // libarchive's name of it ("ZIP 2.0 (deflation)", "GNU tar format")
  std::optional<std::uint64_t> size;  // archive or file: its size
  DigestSet hashes;                   // archive: of the archive file itself
};

// What was asked to be left out (data minimisation), exactly as given.
struct LogicalFilters {
  std::vector<std::string> include;       // globs; when any, only matching files are taken
  std::vector<std::string> exclude;       // globs; a matching directory is not entered
  std::optional<std::string> newer_than;  // RFC 3339 UTC: only files modified after it
};

// What the filters left out: counts, not names (names can be personal data too).
struct LogicalExclusions {
  std::uint64_t not_included = 0;          // files matching no --include
  std::uint64_t excluded = 0;              // files and links matching an --exclude
  std::uint64_t excluded_directories = 0;  // directories matching an --exclude (not entered)
  std::uint64_t older = 0;                 // files not modified after --newer-than
  std::uint64_t bytes = 0;                 // size of the files left out (entered directories only)
};

// The record's "logical" section: a summary; the file list is custody/files.json, whose SHA-256
// is here (and so covered by record_sha256).
struct LogicalSummary {
  std::string manifest_member = "custody/files.json";
  std::string manifest_sha256;
  std::uint64_t files = 0;
  std::uint64_t directories = 0;
  std::uint64_t links = 0;  // symbolic and hard
  std::uint64_t other = 0;  // fifos, sockets, devices (metadata only)
  std::uint64_t bytes = 0;  // content of the files
  std::uint64_t unreadable = 0;
  std::vector<LogicalSourceRecord> sources;
  LogicalFilters filters;
  LogicalExclusions excluded;
};

enum class AcquisitionStatus : std::uint8_t { complete, interrupted, failed };

// "complete", "interrupted", "failed".
const char* status_name(AcquisitionStatus status);

struct AcquisitionRecord {
  AcquisitionStatus status = AcquisitionStatus::complete;
  std::string error;  // why it failed, when status == failed
  std::string tool_name;
  std::string tool_version;
  std::string hostname;
  std::string system;  // "Linux 6.1.0 x86_64"
  CaseInfo case_info;
  SourceInfo source;
  std::string started;   // RFC 3339 UTC
  std::string finished;  // RFC 3339 UTC
  std::uint64_t bytes_read = 0;
  DigestSet hashes;  // of the whole image, exactly the bytes of the segments in order
  std::string image_format = "raw";  // "raw" or "aff4"
  std::uint64_t image_size = 0;
  std::optional<std::uint64_t> segment_size;
  std::vector<SegmentRecord> segments;       // raw only
  std::optional<ContainerRecord> container;  // aff4 only
  // Unreadable ranges of the source; their bytes in the image (and in the hashes) are the fill.
  std::vector<Defect> defects;
  std::string defect_fill = "zero";  // "zero", "0xNN", or "unreadable-pattern" (AFF4)
  // --verify-image / --verify-source results (raw: in this record; AFF4: in the appended member
  // custody/post-verification.json, as the record is sealed in the container before).
  std::optional<PostVerification> image_verification;
  std::optional<PostVerification> source_verification;
  // Resumptions of an interrupted acquisition: (image offset it continued from, when).
  std::vector<std::pair<std::uint64_t, std::string>> resumed;
  // Set when the source was an image made elsewhere (custody-acquire --from-image).
  std::optional<ImportRecord> imported_from;
  // Set for a logical acquisition: then `hashes` are of custody/files.json, `image_size` is the
  // files' total size and `defects` is empty (unreadable files are listed in the summary's
  // manifest).
  std::optional<LogicalSummary> logical;
};

// Serializes `record` with its record_sha256 member. `pretty` indents for people; the digest is
// always computed over the canonical (sorted, compact) form.
std::string record_to_json(const AcquisitionRecord& record, bool pretty = true);

// Plain words for a record's defect_fill: "zeros", "the byte 0xff", "the UNREADABLEDATA pattern",
// "what the source image holds" (an import: "source-image").
std::string describe_fill(const std::string& defect_fill);

// The verification results alone, for the member custody/post-verification.json of a container.
std::string post_verification_json(const AcquisitionRecord& record);

// A parsed record and whether its record_sha256 matched its content.
struct LoadedRecord {
  AcquisitionRecord record;
  bool digest_matches = false;
  std::string recorded_digest;
  std::string computed_digest;
};

// Parses a record. Errc::corrupt for invalid JSON or a missing/mistyped member,
// Errc::unsupported for another format name or version. A digest mismatch is not an error: it is
// reported in LoadedRecord::digest_matches.
Result<LoadedRecord> parse_record(std::string_view json);

// Reads and parses the record file at `path` (Errc::not_found if absent; the size is limited to
// 16 MiB, larger is Errc::corrupt).
Result<LoadedRecord> load_record(const std::string& path);

}  // namespace custody
