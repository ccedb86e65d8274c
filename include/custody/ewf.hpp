// SPDX-License-Identifier: Apache-2.0
// EWF (E01, the EnCase 6 format) output settings: how custody-export writes an image for EnCase,
// FTK, X-Ways, Autopsy and The Sleuth Kit. The writing itself is export_image() with
// ExportFormat::e01 (export.hpp); libewf stays behind the library.
#pragma once

#include <custody/error.hpp>
#include <custody/record.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custody {

// Chunk compression of an E01: none, fast (deflate level 1, the ewfacquire default) or best.
enum class EwfCompression : std::uint8_t { none, fast, best };

// "none", "fast", "best"; anything else is Errc::invalid_argument.
Result<EwfCompression> parse_ewf_compression(std::string_view name);
const char* ewf_compression_name(EwfCompression compression);

struct EwfWriteOptions {
  // Largest segment file (NAME.E01, NAME.E02, ...); default libewf's 1.4 GiB, at least 1 MiB.
  std::optional<std::uint64_t> segment_size;
  EwfCompression compression = EwfCompression::fast;
  // Header values; each field set here overrides what the container's record holds.
  CaseInfo case_info;
};

// The first segment file of an E01 set named `output_base`: "NAME.E01" (a trailing ".E01" or
// ".e01" is not doubled).
std::string ewf_first_segment_path(const std::string& output_base);

}  // namespace custody
