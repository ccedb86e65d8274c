// SPDX-License-Identifier: Apache-2.0
// Writing an image out of a container (below the custody transaction of export_custody.cpp):
// raw, split raw or E01, hashed and compared with the record; partial output removed.
#include "core/input_guard.hpp"
#include "core/pipeline.hpp"
#include "core/posix_file.hpp"
#include "core/segment_writer.hpp"
#include "image/ewf_writer.hpp"
#include "image/exporting.hpp"

#include <custody/container.hpp>
#include <custody/export.hpp>
#include <custody/record.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>

namespace custody {

namespace {

constexpr std::uint64_t k_min_split = std::uint64_t{1} << 20U;

// Writes the stream to standard output (a pipe or a terminal: nothing else goes there).
class StdoutSink final : public internal::BlockSink {
 public:
  Result<void> consume(const internal::Block& block) override {
    return internal::write_full(STDOUT_FILENO, block.data(), "standard output", block.offset);
  }
  Result<void> finish() override { return {}; }
};

DigestSet recorded_hashes(const ContainerInfo& info) {
  DigestSet recorded = info.linear_hashes;
  if (info.custody_record) {
    if (auto loaded = parse_record(*info.custody_record)) {
      for (const auto& [algorithm, hex] : loaded->record.hashes) {
        recorded.emplace(algorithm, hex);
      }
    }
  }
  return recorded;
}

std::optional<AcquisitionRecord> custody_record(const ContainerInfo& info) {
  if (info.custody_record) {
    if (auto loaded = parse_record(*info.custody_record)) {
      return loaded->record;
    }
  }
  return std::nullopt;
}

// Case fields: the options, else the custody record, else the AFF4 case objects (images made by
// other AFF4 tools have no custody record).
CaseInfo case_info_for(const ExportOptions& options,
                       const ContainerInfo& info,
                       const std::optional<AcquisitionRecord>& record) {
  CaseInfo out = options.ewf.case_info;
  CaseInfo held = record ? record->case_info : CaseInfo{};
  for (const auto& [type, properties] : info.case_metadata) {
    const std::pair<const char*, std::optional<std::string>*> fields[] = {
        {"caseNumber", &held.case_number},
        {"evidenceNumber", &held.evidence_number},
        {"examiner", &held.examiner},
        {"caseDescription", &held.description}};
    for (const auto& [name, field] : fields) {
      if (auto found = properties.find(name); found != properties.end() && !*field) {
        *field = found->second;
      }
    }
  }
  const std::pair<std::optional<std::string>*, const std::optional<std::string>*> merge[] = {
      {&out.case_number, &held.case_number},
      {&out.evidence_number, &held.evidence_number},
      {&out.examiner, &held.examiner},
      {&out.description, &held.description},
      {&out.notes, &held.notes}};
  for (const auto& [mine, theirs] : merge) {
    if (!*mine) {
      *mine = *theirs;
    }
  }
  return out;
}

// Unreadable ranges as whole sectors (first, count), merged: the container map's UnreadableData
// and the record's defects (an imported image's reported errors are not in the map).
std::vector<std::pair<std::uint64_t, std::uint64_t>> unreadable_sectors(
    const ContainerInfo& info,
    const std::optional<AcquisitionRecord>& record,
    std::uint32_t sector_size) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  auto add = [&](std::uint64_t offset, std::uint64_t length) {
    if (length > 0) {
      const std::uint64_t first = offset / sector_size;
      const std::uint64_t end = (offset + length + sector_size - 1) / sector_size;
      ranges.emplace_back(first, end);
    }
  };
  for (const auto& [offset, length] : info.map.unreadable_ranges) {
    add(offset, length);
  }
  if (record) {
    for (const Defect& defect : record->defects) {
      add(defect.offset, defect.length);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
  for (const auto& [first, end] : ranges) {
    if (!merged.empty() && first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, end);
    } else {
      merged.emplace_back(first, end);
    }
  }
  for (auto& [first, end] : merged) {
    end -= first;  // (first, count)
  }
  return merged;
}

std::map<std::string, std::string> ewf_headers(const CaseInfo& info,
                                               const std::optional<AcquisitionRecord>& record) {
  std::map<std::string, std::string> headers;
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"case_number", &info.case_number},
      {"evidence_number", &info.evidence_number},
      {"examiner_name", &info.examiner},
      {"description", &info.description},
      {"notes", &info.notes}};
  for (const auto& [name, value] : fields) {
    if (*value) {
      headers[name] = **value;
    }
  }
  if (record && record->source.model) {
    headers["model"] = *record->source.model;
  }
  if (record && record->source.serial) {
    headers["serial_number"] = *record->source.serial;
  }
  // The acquisition's date, not the export's: E01 readers show it as "Acquisition date".
  // libewf keeps header dates as "YYYY MM DD hh mm ss" (UTC here, as every custody time).
  if (record && record->finished.size() >= 19) {
    std::string date = record->finished.substr(0, 19);  // 2026-12-02T22:28:24
    for (char& c : date) {
      c = (c == '-' || c == 'T' || c == ':') ? ' ' : c;
    }
    headers["acquiry_date"] = date;
  }
  return headers;
}

Result<void> check_e01_options(const ExportOptions& options) {
  if (options.output == "-") {
    return make_error(Errc::invalid_argument,
                      "an E01 set is written to files: give -o NAME (writes NAME.E01, ...)");
  }
  if (options.split_size) {
    return make_error(Errc::invalid_argument,
                      "--split applies to raw output; use --segment-size for an E01 set");
  }
  if (options.offset != 0 || options.length) {
    return make_error(Errc::invalid_argument,
                      "an E01 set holds the whole image: --offset and --length apply to raw "
                      "output");
  }
  return {};
}

// Whatever --force says, no output may be a volume of the container being read (device and
// inode: links and bind mounts count), standard output included.
Result<void> refuse_outputs_that_are_inputs(const ExportOptions& options) {
  internal::InputGuard guard;
  guard.add_all(options.container_paths);
  if (options.format == ExportFormat::e01) {
    return guard.check_outputs_named(options.output + ".", internal::InputGuard::is_ewf_segment);
  }
  if (options.split_size) {
    return guard.check_outputs_named(options.output + ".", internal::InputGuard::is_segment_number);
  }
  return guard.check_output(options.output);
}

}  // namespace

std::string export_result_to_json(const ExportResult& result, const ExportOptions& options) {
  using nlohmann::ordered_json;
  const auto digests = [](const DigestSet& set) {
    ordered_json out = ordered_json::object();
    for (const auto& [algorithm, hex] : set) {
      out[std::string(hash_name(algorithm))] = hex;
    }
    return out;
  };
  ordered_json errors = ordered_json::array();
  for (const auto& [first, count] : result.acquiry_errors) {
    errors.push_back({{"first_sector", first}, {"sectors", count}});
  }
  ordered_json out;
  out["format"] = "custody-export-result";
  out["version"] = 1;
  out["containers"] = options.container_paths;
  out["output_format"] = options.format == ExportFormat::e01 ? "e01" : "raw";
  out["output"] = options.output == "-" ? ordered_json(nullptr) : ordered_json(options.output);
  out["files"] = result.files;
  out["offset"] = options.offset;
  out["bytes"] = result.bytes;
  out["whole_image"] = result.whole_image;
  out["hashes"] = digests(result.hashes);
  out["recorded_hashes"] = digests(result.recorded);
  out["matches_record"] =
      result.recorded.empty() ? ordered_json(nullptr) : ordered_json(result.matches_record);
  out["acquiry_errors"] = std::move(errors);
  out["custody_event"] =
      result.custody_event == 0 ? ordered_json(nullptr) : ordered_json(result.custody_event);
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

// The options that need no image to be checked.
Result<void> check_export_options(const ExportOptions& options) {
  if (options.split_size && (*options.split_size < k_min_split || *options.split_size % 512 != 0)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("split size {} is invalid: it must be at least 1M and a "
                                  "multiple of 512 bytes",
                                  *options.split_size));
  }
  if (options.format == ExportFormat::e01) {
    CUSTODY_TRY(check_e01_options(options));
  }
  if (options.output == "-" && options.split_size) {
    return make_error(Errc::invalid_argument, "--split cannot be used with standard output");
  }
  return refuse_outputs_that_are_inputs(options);
}

// The number of bytes to export from --offset: --length, or up to the end of the image.
Result<std::uint64_t> export_length(const ExportOptions& options, const ContainerInfo& info) {
  if (options.offset > info.size) {
    return make_error(Errc::invalid_argument,
                      fmt::format("offset {} is beyond the end of the image ({} bytes)",
                                  options.offset, info.size));
  }
  const std::uint64_t available = info.size - options.offset;
  const std::uint64_t length = options.length.value_or(available);
  if (length > available) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the range {}+{} reaches beyond the end of the image ({} bytes)",
                                  options.offset, length, info.size));
  }
  return length;
}

// --hash, else what the record holds (so that the export can be compared with it), else SHA-256;
// an E01 always gets MD5 and SHA-1 too: it stores both, and every E01 reader checks them.
std::vector<HashAlgorithm> export_algorithms(const ExportOptions& options,
                                             const DigestSet& recorded) {
  std::vector<HashAlgorithm> algorithms = options.algorithms;
  if (algorithms.empty()) {
    for (const auto& entry : recorded) {
      algorithms.push_back(entry.first);
    }
  }
  if (algorithms.empty()) {
    algorithms = {HashAlgorithm::sha256};
  }
  if (options.format == ExportFormat::e01) {
    for (HashAlgorithm needed : {HashAlgorithm::md5, HashAlgorithm::sha1}) {
      if (std::find(algorithms.begin(), algorithms.end(), needed) == algorithms.end()) {
        algorithms.push_back(needed);
      }
    }
  }
  return algorithms;
}

// Where the exported bytes go: an E01 set, standard output, or raw files (one, or split).
struct ExportOutput {
  std::unique_ptr<internal::BlockSink> sink;
  internal::SegmentWriterSink* files = nullptr;  // raw files, when written
  internal::EwfWriterSink* ewf = nullptr;        // the E01 set, when written

  std::vector<std::string> paths() const {
    if (files != nullptr) {
      return files->paths();
    }
    return ewf != nullptr ? ewf->paths() : std::vector<std::string>{};
  }

  // An export that did not complete leaves no file that could be taken for the image.
  tl::unexpected<Error> discard(Error error) {
    const std::vector<std::string> written = paths();
    sink.reset();  // closes the files (libewf's handle too) before they are removed
    for (const std::string& path : written) {
      ::unlink(path.c_str());
    }
    if (!written.empty() && error.hint.find("removed") == std::string::npos) {
      error.hint += error.hint.empty() ? "" : "; ";
      error.hint += "the incomplete output was removed";
    }
    return tl::unexpected(std::move(error));
  }
};

// Opens the output; for an E01 also sets the case information and the unreadable sectors that
// go into it on `result`.
Result<ExportOutput> open_export_output(const ExportOptions& options,
                                        const ContainerInfo& info,
                                        ExportResult& result) {
  ExportOutput output;
  if (options.format == ExportFormat::e01) {
    const auto record = custody_record(info);
    internal::EwfWriteSettings settings;
    settings.output_base = options.output;
    settings.media_size = info.size;
    settings.compression = options.ewf.compression;
    settings.segment_size = options.ewf.segment_size;
    settings.overwrite = options.overwrite;
    result.case_info = case_info_for(options, info, record);
    settings.headers = ewf_headers(result.case_info, record);
    settings.acquiry_errors = unreadable_sectors(info, record, settings.bytes_per_sector);
    result.acquiry_errors = settings.acquiry_errors;
    auto writer = internal::create_ewf_writer(settings);
    CUSTODY_TRY(writer);
    output.ewf = writer->get();
    output.sink = std::move(*writer);
  } else if (options.output == "-") {
    output.sink = std::make_unique<StdoutSink>();
  } else {
    const bool split = options.split_size.has_value();
    auto writer = std::make_unique<internal::SegmentWriterSink>(
        [&options, split](std::size_t index) {
          return split ? fmt::format("{}.{:03}", options.output, index + 1) : options.output;
        },
        options.split_size, options.overwrite);
    CUSTODY_TRY(writer->open_first());
    output.files = writer.get();
    output.sink = std::move(writer);
  }
  return output;
}

}  // namespace

Result<ExportResult> internal::write_export(const ExportOptions& options,
                                            ProgressSink* progress,
                                            const CancelToken* cancel) {
  CUSTODY_TRY(check_export_options(options));
  auto container = Container::open(options.container_paths);
  CUSTODY_TRY(container);
  const ContainerInfo& info = (*container)->info();
  auto length = export_length(options, info);
  CUSTODY_TRY(length);

  ExportResult result;
  result.whole_image = options.offset == 0 && *length == info.size;
  if (result.whole_image) {
    result.recorded = recorded_hashes(info);
  }
  auto digest_sinks = internal::make_digest_sinks(export_algorithms(options, result.recorded),
                                                  internal::SegmentLayout::single());
  CUSTODY_TRY(digest_sinks);
  const auto workers = internal::group_digest_sinks(*digest_sinks);
  auto output = open_export_output(options, info, result);
  CUSTODY_TRY(output);

  auto source = (*container)->image_source(options.offset, *length);
  auto outcome = internal::run_pipeline(
      *source, internal::sink_pointers(workers, {output->sink.get()}), *length, progress, cancel);
  if (!outcome) {
    return output->discard(std::move(outcome).error());
  }
  if (outcome->cancelled) {
    return output->discard(Error{Errc::cancelled, "export was interrupted", {}, {}, 0, {}});
  }
  result.bytes = outcome->bytes;
  if (output->ewf != nullptr) {
    DigestSet digests;
    for (const auto& sink : *digest_sinks) {
      digests[sink->algorithm()] = sink->total_digest();
    }
    if (auto finalized = output->ewf->finalize(digests); !finalized) {
      return output->discard(std::move(finalized).error());
    }
  }
  result.files = output->paths();
  for (const auto& sink : *digest_sinks) {
    result.hashes[sink->algorithm()] = sink->total_digest();
    auto recorded = result.recorded.find(sink->algorithm());
    if (recorded != result.recorded.end() && recorded->second != sink->total_digest()) {
      result.matches_record = false;
    }
  }
  return result;
}

}  // namespace custody
