// SPDX-License-Identifier: Apache-2.0
// Acquisition: image a Source into a raw image (one file or fixed-size segments) while hashing it,
// then write the acquisition record. Reading, hashing (one worker per algorithm) and writing run
// as a pipeline over a fixed pool of blocks, so memory is bounded whatever the source size.
#pragma once

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/progress.hpp>
#include <custody/record.hpp>
#include <custody/seal.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custody {

enum class ImageFormat : std::uint8_t { aff4, raw };

struct AcquireOptions {
  std::string source_path;  // file, block device, or "-" for stdin
  // source_path is an image made elsewhere (E01 set, raw, NAME.001...): its media data is
  // acquired, and the record's imported_from says what it claimed (see open_image_file).
  bool from_image = false;
  // aff4: writes output_base.aff4 (a trailing ".aff4" in output_base is not doubled), holding the
  // record as custody/acquisition.json. raw: writes output_base.raw or output_base.001..., and the
  // record beside it as output_base.acquisition.json.
  std::string output_base;
  ImageFormat format = ImageFormat::aff4;
  std::string compression = "snappy";         // aff4: snappy, lz4, deflate, none
  std::uint32_t chunk_size = 32768;           // aff4: a power of two from 4 KiB to 1 MiB
  std::optional<std::uint64_t> segment_size;  // raw: split when set; >= 1 MiB, multiple of 512
  std::vector<HashAlgorithm> algorithms;      // at least one
  CaseInfo case_info;
  // Retries, error limit and (raw only) fill of unreadable sectors; AFF4 always records them as
  // aff4:UnreadableData and fills with its pattern, so that a reader gets what was hashed.
  ReadPolicy read_policy;
  bool overwrite = false;
  // After writing: re-read the image (the container, or the raw files) and compare the hashes;
  // re-read the source and compare (not possible for a stream).
  bool set_read_only = false;  // mark a block device read-only in the kernel first (BLKROSET)
  // Continue the interrupted AFF4 acquisition in output_base.aff4 from where it stopped: the
  // image already in the container is re-read for the hashes, the rest is read from the source.
  bool resume = false;
  bool verify_image = false;
  bool verify_source = false;
  std::string tool_name = "custody-acquire";
  // AFF4 only: a complete acquisition records an "acquired" event (or "imported" with
  // from_image) in the container's custody log, examiner from case_info when the context names
  // nobody; with a signer, the event is signed and the container is then sealed by it. The
  // signer and the context are checked before anything is read or written.
  EventContext custody;
};

// The outcome of an acquisition that got as far as writing its record.
struct AcquisitionResult {
  AcquisitionRecord record;
  std::string record_path;               // for aff4, the container (the record is inside)
  std::vector<std::string> image_paths;  // the image files (the container for aff4)
  std::string record_json;               // the record exactly as stored
  std::optional<AppendResult> event;     // the "acquired" or "imported" event, when recorded
  std::optional<SealResult> seal;        // the seal made with AcquireOptions::custody.signer
};

// The container file name for `output_base`.
std::string container_path_for(const std::string& output_base);

// Output paths for `output_base`: the record file, and the name of segment `index` (0-based) in
// a split (`split` = true) or single-file image.
std::string record_path_for(const std::string& output_base);
std::string segment_path_for(const std::string& output_base, std::size_t index, bool split);

// Images the source. Errors: Errc::invalid_argument (options), Errc::not_found (source),
// Errc::already_exists (an output file exists and !overwrite), Errc::io_error (read or write
// failure, disk full; the image files written so far are left in place and a record with status
// "failed" is written when possible). A cancelled job returns a result whose record has status
// "interrupted" (the image so far is complete and hashed). Errors of the custody event or the
// seal after a complete acquisition are returned as errors (the container stays, unsealed).
Result<AcquisitionResult> acquire(const AcquireOptions& options,
                                  ProgressSink* progress = nullptr,
                                  const CancelToken* cancel = nullptr);

// --- What a result means, in plain words, for every renderer ----------------------------------

// "file, 1048576 bytes, sectors 512/4096, kernel read-only: no, model X, serial Y, bus usb".
std::string describe_source(const SourceInfo& source);
// "sectors 80-95 (16 sectors of 512 bytes, bytes 40960..49152): Input/output error".
std::string describe_defect(const Defect& defect);
// "sectors 0-7, sectors 100-100" for byte ranges counted in sectors of `sector_size`.
std::string describe_sector_ranges(const std::vector<ByteRange>& ranges, std::uint32_t sector_size);
// "completed with defects: 18 unreadable sectors in 3 ranges, filled with zeros in the image and
// its hashes".
std::string describe_defects(const AcquisitionRecord& record);

enum class AcquisitionVerdict : std::uint8_t {
  complete,                // every byte read, every requested check passed
  completed_with_defects,  // complete, with unreadable ranges recorded
  interrupted,             // stopped on request; the partial image is hashed and recorded
  failed_check,            // a check failed (read-back, source re-read, an imported image's own
                           // hashes or checksums) or the acquisition failed
};

// The verdict on a finished acquisition, and what to tell the user: errors (each names what
// failed and what to do next), warnings, and checks that passed.
struct AcquisitionAssessment {
  AcquisitionVerdict verdict = AcquisitionVerdict::complete;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<std::string> passed;
};
AcquisitionAssessment assess_acquisition(const AcquisitionRecord& record);

// What a finished acquisition produced, as lines for a terminal: bytes and rate over `seconds`,
// the container or image files, the record, the source and every hash; for an imported image,
// what it was and its stored hashes; the seal made (`signer`: its certificate's subject).
std::vector<std::string> acquisition_summary_lines(const AcquisitionResult& result,
                                                   double seconds,
                                                   const std::string& signer);

// --fill TEXT ("zero", or one byte such as "0xff") applied to `policy`; raw images only.
Result<ReadPolicy> parse_fill(const std::string& text, ImageFormat format, ReadPolicy policy);

}  // namespace custody
