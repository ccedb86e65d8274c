// SPDX-License-Identifier: Apache-2.0
// What an acquisition's record means, in plain words, for every renderer (custody-acquire's
// terminal output, custody-info): sources, unreadable ranges, and the assessment of a result.
#include <custody/acquisition.hpp>
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

}  // namespace custody
