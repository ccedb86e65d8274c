// SPDX-License-Identifier: Apache-2.0
// The libewf side of E01 export: a pipeline sink that writes the image into an EWF set. libewf
// types stay in ewf.cpp.
#pragma once

#include "core/pipeline.hpp"

#include <custody/ewf.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace custody::internal {

struct EwfWriteSettings {
  std::string output_base;  // segment files are output_base.E01, .E02, ...
  std::uint64_t media_size = 0;
  std::uint32_t bytes_per_sector = 512;
  EwfCompression compression = EwfCompression::fast;
  std::optional<std::uint64_t> segment_size;
  // libewf header value identifier -> value ("case_number", "examiner_name", ...).
  std::map<std::string, std::string> headers;
  // (first sector, number of sectors) of each unreadable range.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> acquiry_errors;
  bool overwrite = false;
};

// Receives the image in order and hands it to libewf, which compresses and writes the chunks.
class EwfWriterSink : public BlockSink {
 public:
  // Stores MD5 and SHA-1 (hex, from `hashes`) in the set, writes its closing sections and closes
  // it. Call once, after the pipeline finished without error.
  virtual Result<void> finalize(const DigestSet& hashes) = 0;
  // The segment files written, in order (complete after finalize).
  virtual std::vector<std::string> paths() const = 0;
};

// Creates the set (the first segment file at once, so that a bad output path fails before any
// reading). Errc::already_exists if output_base.E01 exists and !overwrite; with overwrite, the
// segment files of an earlier set of that name are removed first.
Result<std::unique_ptr<EwfWriterSink>> create_ewf_writer(const EwfWriteSettings& settings);

}  // namespace custody::internal
