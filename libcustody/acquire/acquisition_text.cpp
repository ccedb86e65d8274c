// SPDX-License-Identifier: Apache-2.0
// What an acquisition's record means, in plain words, for every renderer (custody-acquire's
// terminal output, custody-info): sources, unreadable ranges, and the assessment of a result.
#include <custody/acquisition.hpp>
#include <custody/logical.hpp>
#include <custody/record.hpp>
#include <custody/source.hpp>

#include <fmt/format.h>

#include <cstdio>

namespace custody {
namespace {

std::uint64_t sectors_in(std::uint64_t length, std::uint32_t sector_size) {
  return (length + sector_size - 1) / sector_size;
}

// A damaged or altered image brought in with --from-image: the container holds it as it is, and
// says so; the acquisition must not be taken as a good one.
void assess_import(const AcquisitionRecord& record, AcquisitionAssessment& assessment) {
  const ImportRecord& imported = *record.imported_from;
  if (!imported.acquiry_errors.empty()) {
    assessment.warnings.push_back(fmt::format(
        "the image's maker could not read {}; they are recorded as defects and hold what the "
        "image holds",
        describe_sector_ranges(imported.acquiry_errors, imported.bytes_per_sector)));
  }
  if (!imported.checksum_errors.empty()) {
    assessment.errors.push_back(fmt::format(
        "the source image is damaged: chunk checksums fail in {}; the bytes were imported as "
        "they are",
        describe_sector_ranges(imported.checksum_errors, imported.bytes_per_sector)));
  }
  if (imported.hashes_match == false) {
    for (const auto& [algorithm, claimed] : imported.claimed_hashes) {
      auto found = record.hashes.find(algorithm);
      assessment.errors.push_back(
          fmt::format("{} stored in the source image {}, computed {}", hash_name(algorithm),
                      claimed, found == record.hashes.end() ? "(not computed)" : found->second));
    }
    assessment.errors.push_back(
        "the source image does not hold what its maker hashed (damaged or altered); the "
        "container was written and its record holds both hashes; get another copy of the image "
        "from its maker");
  }
}

void assess_post_verification(const AcquisitionRecord& record, AcquisitionAssessment& assessment) {
  if (record.image_verification) {
    if (record.image_verification->matches) {
      assessment.passed.push_back(
          "image verification: OK, the image holds exactly the data that was hashed");
    } else {
      assessment.errors.push_back(
          "image verification FAILED: reading the image back gives other hashes; the output "
          "medium may be failing, do not use this image");
    }
  }
  if (record.source_verification) {
    if (record.source_verification->matches) {
      assessment.passed.push_back(
          "source verification: OK, the source delivered the same data again");
    } else {
      assessment.errors.push_back(
          "source verification FAILED: the source gave different data on the second reading (a "
          "failing or changing device); the image holds the first reading");
    }
  }
}

}  // namespace

std::string describe_source(const SourceInfo& source) {
  std::string text = source_kind_name(source.kind);
  if (source.size) {
    text += fmt::format(", {} bytes", *source.size);
  }
  if (source.logical_sector_size) {
    text += fmt::format(", sectors {}/{}", *source.logical_sector_size,
                        source.physical_sector_size.value_or(0));
  }
  if (source.kernel_read_only) {
    text += *source.kernel_read_only ? ", kernel read-only: yes" : ", kernel read-only: no";
  }
  if (source.model) {
    text += fmt::format(", model {}", *source.model);
  }
  if (source.serial) {
    text += fmt::format(", serial {}", *source.serial);
  }
  if (source.transport) {
    text += fmt::format(", bus {}", *source.transport);
  }
  if (source.set_read_only) {
    text += " (set read-only by custody)";
  }
  return text;
}

std::string describe_defect(const Defect& defect) {
  const std::uint64_t first = defect.offset / defect.sector_size;
  const std::uint64_t count = sectors_in(defect.length, defect.sector_size);
  return fmt::format("sectors {}-{} ({} sector{} of {} bytes, bytes {}..{}): {}", first,
                     first + count - 1, count, count == 1 ? "" : "s", defect.sector_size,
                     defect.offset, defect.offset + defect.length, defect_cause(defect));
}

std::string describe_sector_ranges(const std::vector<ByteRange>& ranges,
                                   std::uint32_t sector_size) {
  std::string text;
  for (const ByteRange& range : ranges) {
    const std::uint64_t first = range.offset / sector_size;
    const std::uint64_t count = sectors_in(range.length, sector_size);
    text += fmt::format("{}sectors {}-{}", text.empty() ? "" : ", ", first, first + count - 1);
  }
  return text;
}

std::string describe_defects(const AcquisitionRecord& record) {
  std::uint64_t sectors = 0;
  for (const Defect& defect : record.defects) {
    sectors += sectors_in(defect.length, defect.sector_size);
  }
  return fmt::format(
      "completed with defects: {} unreadable sector{} in {} range{}, filled with {} in the "
      "image and its hashes",
      sectors, sectors == 1 ? "" : "s", record.defects.size(),
      record.defects.size() == 1 ? "" : "s", describe_fill(record.defect_fill));
}

AcquisitionAssessment assess_acquisition(const AcquisitionRecord& record) {
  AcquisitionAssessment assessment;
  // custody never writes to the source, but other software on the machine can (automounters, a
  // journal replay): say so when the kernel does not block writes to the device.
  const SourceInfo& source = record.source;
  if (source.kind == SourceKind::block_device && source.kernel_read_only == false) {
    assessment.warnings.push_back(
        fmt::format("the kernel does not mark {} read-only; custody opened it read-only, but use "
                    "a hardware write blocker or 'blockdev --setro {}' so nothing else can write "
                    "to it",
                    source.path, source.path));
  }
  if (record.imported_from) {
    assess_import(record, assessment);
  }
  assess_post_verification(record, assessment);
  if (record.status == AcquisitionStatus::failed) {
    assessment.errors.push_back("the acquisition failed: " + record.error);
  }
  if (!assessment.errors.empty()) {
    assessment.verdict = AcquisitionVerdict::failed_check;
  } else if (record.status == AcquisitionStatus::interrupted) {
    assessment.verdict = AcquisitionVerdict::interrupted;
  } else if (!record.defects.empty()) {
    assessment.verdict = AcquisitionVerdict::completed_with_defects;
  }
  return assessment;
}

Result<ReadPolicy> parse_fill(const std::string& text, ImageFormat format, ReadPolicy policy) {
  if (format == ImageFormat::aff4) {
    return make_error(Errc::invalid_argument,
                      "--fill applies to raw images; an AFF4 container records unreadable sectors "
                      "as aff4:UnreadableData, which readers show as the UNREADABLEDATA pattern");
  }
  unsigned value = 0;
  if (text == "zero") {
    policy.fill = ReadPolicy::Fill::zero;
    policy.fill_byte = std::byte{0};
  } else if (text.size() == 4 && text.starts_with("0x") &&
             std::sscanf(text.c_str() + 2, "%2x", &value) == 1) {
    policy.fill = ReadPolicy::Fill::byte;
    policy.fill_byte = static_cast<std::byte>(value);
  } else {
    return make_error(
        Errc::invalid_argument,
        fmt::format("invalid fill '{}' (use zero, or one byte in hex such as 0xff)", text));
  }
  return policy;
}

namespace {

void add_import_lines(const ImportRecord& imported, std::vector<std::string>& lines) {
  lines.push_back(fmt::format(
      "imported {} image, {} file{}: {}{}", imported.format, imported.files.size(),
      imported.files.size() == 1 ? "" : "s", imported.files.front().name,
      imported.files.size() > 1 ? fmt::format(" ... {}", imported.files.back().name) : ""));
  for (const auto& [name, value] : imported.headers) {
    lines.push_back(fmt::format("  {:<25} {}", name, value));
  }
  for (const auto& [algorithm, hex] : imported.claimed_hashes) {
    lines.push_back(fmt::format("  stored {:<7} {}{}", hash_name(algorithm), hex,
                                imported.hashes_match == true ? "  matches" : ""));
  }
}

void add_seal_line(const std::optional<SealResult>& seal,
                   const std::string& signer,
                   std::vector<std::string>& lines) {
  if (seal) {
    lines.push_back(fmt::format("sealed  seal {} by {}", seal->number, signer));
  }
}

// The files written: the container, one image file, or the first and last segment.
std::string image_files_line(const AcquisitionResult& result) {
  const AcquisitionRecord& record = result.record;
  if (record.container) {
    return fmt::format("container {} ({}, {} chunks stored, {} all-zero chunks not stored)",
                       result.image_paths.front(), record.container->compression,
                       record.container->stored_chunks, record.container->zero_chunks);
  }
  if (result.image_paths.size() == 1) {
    return fmt::format("image   {}", result.image_paths.front());
  }
  return fmt::format("image   {} ... {} ({} segments)", result.image_paths.front(),
                     result.image_paths.back(), result.image_paths.size());
}

}  // namespace

std::vector<std::string> acquisition_summary_lines(const AcquisitionResult& result,
                                                   double seconds,
                                                   const std::string& signer) {
  const AcquisitionRecord& record = result.record;
  std::vector<std::string> lines;
  lines.push_back(fmt::format(
      "acquired {} bytes from {} in {:.1f} s ({:.0f} MB/s)", record.image_size, record.source.path,
      seconds, seconds > 0 ? static_cast<double>(record.image_size) / seconds / 1e6 : 0.0));
  lines.push_back(image_files_line(result));
  if (!record.container) {
    lines.push_back(fmt::format("record  {}", result.record_path));
  }
  lines.push_back(fmt::format("source  {}", describe_source(record.source)));
  for (const auto& [algorithm, hex] : record.hashes) {
    lines.push_back(fmt::format("{:<7} {}", hash_name(algorithm), hex));
  }
  add_seal_line(result.seal, signer, lines);
  if (record.imported_from) {
    add_import_lines(*record.imported_from, lines);
  }
  return lines;
}

std::vector<std::string> logical_summary_lines(const LogicalAcquisitionResult& result,
                                               double seconds,
                                               const std::string& signer) {
  const LogicalSummary& summary = *result.record.logical;
  const double rate = seconds > 0 ? 1.0 / seconds : 0.0;
  std::vector<std::string> lines;
  lines.push_back(fmt::format(
      "acquired {} files ({} bytes), {} directories, {} links, {} other from {} in {:.1f} s "
      "({:.0f} files/s, {:.0f} MB/s)",
      summary.files, summary.bytes, summary.directories, summary.links, summary.other,
      result.record.source.path, seconds, static_cast<double>(summary.files) * rate,
      static_cast<double>(result.record.bytes_read) * rate / 1e6));
  lines.push_back(fmt::format("container {} (AFF4-L, one member per file)", result.container_path));
  for (const LogicalSourceRecord& source : summary.sources) {
    lines.push_back(fmt::format("source  {} ({}{})", source.path, source.kind,
                                source.archive_format.empty() ? "" : ", " + source.archive_format));
    for (const auto& [algorithm, hex] : source.hashes) {
      lines.push_back(fmt::format("  {:<7} {}", hash_name(algorithm), hex));
    }
  }
  const LogicalExclusions& excluded = summary.excluded;
  if (excluded.not_included + excluded.excluded + excluded.older + excluded.excluded_directories >
      0) {
    lines.push_back(fmt::format(
        "left out by the filters: {} not included, {} excluded, {} not newer, {} excluded "
        "directories ({} bytes)",
        excluded.not_included, excluded.excluded, excluded.older, excluded.excluded_directories,
        excluded.bytes));
  }
  lines.push_back(fmt::format("file list custody/files.json sha256 {}", summary.manifest_sha256));
  add_seal_line(result.seal, signer, lines);
  return lines;
}

std::vector<std::string> logical_defect_lines(const LogicalManifest& manifest) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format(
      "completed with defects: {} entr{} could not be taken (completely); they are listed in "
      "custody/files.json:",
      manifest.defects.size(), manifest.defects.size() == 1 ? "y" : "ies"));
  for (const LogicalDefect& defect : manifest.defects) {
    lines.push_back(fmt::format("  {}: {}", encode_logical_path(defect.path), defect.reason));
  }
  return lines;
}

}  // namespace custody
