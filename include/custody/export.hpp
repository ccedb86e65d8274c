// SPDX-License-Identifier: Apache-2.0
// Export: write the image held in an AFF4 container back out as raw bytes (one file, numbered
// segments, or standard output), hashing what is written in the same pass so that a full export
// is also a verification against the recorded hashes.
#pragma once

#include <custody/custody_log.hpp>
#include <custody/error.hpp>
#include <custody/ewf.hpp>
#include <custody/hash.hpp>
#include <custody/progress.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custody {

// raw: the bytes as they are (one file, NAME.001..., or stdout); e01: an EWF set NAME.E01, ...
enum class ExportFormat : std::uint8_t { raw, e01 };

struct ExportOptions {
  ExportFormat format = ExportFormat::raw;
  std::vector<std::string> container_paths;  // every volume of a striped image
  std::string output;                        // a file name, or "-" for standard output
  std::optional<std::uint64_t> split_size;   // write output.001, output.002, ... of this size
  std::uint64_t offset = 0;                  // first image byte to export
  std::optional<std::uint64_t> length;       // bytes to export (default: to the end)
  bool overwrite = false;
  // Algorithms to hash the exported bytes with; empty = those recorded for the image (or sha256).
  std::vector<HashAlgorithm> algorithms;
  // e01 only (a whole image, to files): segment size, compression, header values. MD5 and SHA-1
  // are always computed and stored in the E01; unreadable ranges become its acquiry error list.
  EwfWriteOptions ewf;
  // Records an "exported" event in the (first) container's custody log, signed by the context's
  // signer, unless the evidence must not be written to (a file nobody may write, or one on
  // read-only media: ExportResult::not_recorded says so). nullopt (the default, as an export
  // must not write to its input unless asked): nothing is recorded.
  std::optional<EventContext> custody;
};

struct ExportResult {
  std::uint64_t bytes = 0;
  std::vector<std::string> files;  // empty for standard output
  DigestSet hashes;                // of the exported bytes
  // For a whole-image export: the recorded hashes it was compared with, and whether all matched.
  DigestSet recorded;
  bool whole_image = false;
  bool matches_record = true;
  // e01: the acquiry error ranges written into the E01 (in sectors of 512 bytes: first, count).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> acquiry_errors;
  CaseInfo case_info;               // e01: the header values written
  std::uint64_t custody_event = 0;  // the "exported" event's number (0: none recorded)
  std::string not_recorded;         // why no event was recorded although one was asked for
};

// Errc::invalid_argument (range outside the image, bad split size), Errc::already_exists
// (output exists and !overwrite, or it is the container), Errc::corrupt (a damaged container),
// Errc::io_error (disk full: the message says so). An export that fails or is cancelled removes
// the files it wrote, so nothing incomplete can be taken for the image.
Result<ExportResult> export_image(const ExportOptions& options,
                                  ProgressSink* progress = nullptr,
                                  const CancelToken* cancel = nullptr);

// The result as versioned JSON ("format": "custody-export-result", "version": 1), as
// custody-export(1) documents it.
std::string export_result_to_json(const ExportResult& result, const ExportOptions& options);

}  // namespace custody
