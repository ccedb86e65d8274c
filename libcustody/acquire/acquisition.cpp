// SPDX-License-Identifier: Apache-2.0
// Physical acquisition and import (below the custody transaction): open the source, run the
// read-hash-write pipeline into a raw image or an AFF4 container, write the record, resume.
#include "acquire/imaging.hpp"
#include "aff4/aff4_writer.hpp"
#include "core/host.hpp"
#include "core/input_guard.hpp"
#include "core/pipeline.hpp"
#include "core/posix_file.hpp"
#include "core/segment_writer.hpp"
#include "zip/zip.hpp"

#include <custody/acquisition.hpp>
#include <custody/container.hpp>
#include <custody/import.hpp>
#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace custody {

namespace {

constexpr std::uint64_t k_min_segment_size = std::uint64_t{1} << 20U;
constexpr std::uint64_t k_segment_alignment = 512;

Result<void> check_options(const AcquireOptions& options) {
  if (options.algorithms.empty()) {
    return make_error(Errc::invalid_argument, "no hash algorithm requested");
  }
  if (options.output_base.empty()) {
    return make_error(Errc::invalid_argument, "no output name given (use -o DIR/NAME)");
  }
  if (options.segment_size && (*options.segment_size < k_min_segment_size ||
                               *options.segment_size % k_segment_alignment != 0)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("segment size {} is invalid: it must be at least 1M and a "
                                  "multiple of 512 bytes",
                                  *options.segment_size));
  }
  if (options.format == ImageFormat::aff4 && options.segment_size) {
    return make_error(Errc::invalid_argument,
                      "--segment-size applies to raw images; an AFF4 container is one file");
  }
  if (options.format == ImageFormat::aff4 &&
      (options.chunk_size < 4096 || options.chunk_size > (1U << 20U) ||
       (options.chunk_size & (options.chunk_size - 1)) != 0)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("chunk size {} is invalid: it must be a power of two from 4K "
                                  "to 1M",
                                  options.chunk_size));
  }
  return internal::check_output_directory(options.output_base);
}

Result<void> refuse_existing_outputs(const AcquireOptions& options) {
  if (options.overwrite) {
    return {};
  }
  std::vector<std::string> outputs;
  if (options.format == ImageFormat::aff4) {
    outputs = {container_path_for(options.output_base)};
  } else {
    outputs = {record_path_for(options.output_base),
               segment_path_for(options.output_base, 0, options.segment_size.has_value())};
  }
  for (const std::string& path : outputs) {
    if (internal::path_exists(path)) {
      Error failure{Errc::already_exists,
                    "refusing to overwrite existing output",
                    path,
                    {},
                    0,
                    "use --force to replace it, or choose another output name"};
      return tl::unexpected(std::move(failure));
    }
  }
  return {};
}

// Whatever --force says, no output may be the source or a file of an imported image: compared by
// device and inode before anything is opened for writing, so that a hard link, a symbolic link,
// a bind mount or a segment name (NAME.001) of the source is refused too.
Result<void> refuse_outputs_that_are_inputs(const AcquireOptions& options,
                                            const std::vector<std::string>& inputs) {
  internal::InputGuard guard;
  guard.add_all(inputs);
  if (options.format == ImageFormat::aff4) {
    return guard.check_output(container_path_for(options.output_base));
  }
  CUSTODY_TRY(guard.check_output(record_path_for(options.output_base)));
  CUSTODY_TRY(guard.check_output(segment_path_for(options.output_base, 0, false)));
  return guard.check_outputs_named(options.output_base + ".",
                                   internal::InputGuard::is_segment_number);
}

// With --force, numbered segments of an earlier, longer image would otherwise sit beside the new
// ones and be taken for part of it by "cat NAME.0*".
void remove_stale_segments(const AcquireOptions& options, std::size_t first_stale) {
  if (!options.overwrite || !options.segment_size) {
    return;
  }
  for (std::size_t index = first_stale;; ++index) {
    const std::string path = segment_path_for(options.output_base, index, true);
    if (!internal::path_exists(path) || ::unlink(path.c_str()) != 0) {
      return;
    }
  }
}

// A failed acquisition keeps everything it read: the message says where.
tl::unexpected<Error> failed_keeping(Error error, std::uint64_t bytes, const std::string& where) {
  const std::string kept =
      fmt::format("the {} bytes read so far are kept in {}, marked \"failed\"", bytes, where);
  error.hint = error.hint.empty() ? kept : error.hint + "; " + kept;
  return tl::unexpected(std::move(error));
}

void describe_host(AcquisitionRecord& record) {
  const internal::HostDescription host = internal::describe_this_host();
  record.hostname = host.name;
  record.system = host.system;
}

}  // namespace

std::string record_path_for(const std::string& output_base) {
  return output_base + ".acquisition.json";
}

std::string segment_path_for(const std::string& output_base, std::size_t index, bool split) {
  return split ? fmt::format("{}.{:03}", output_base, index + 1) : output_base + ".raw";
}

std::string container_path_for(const std::string& output_base) {
  return output_base.ends_with(".aff4") ? output_base : output_base + ".aff4";
}

namespace {

std::string fill_name(const AcquireOptions& options) {
  if (options.from_image) {
    return "source-image";  // an imported image's reported errors keep the bytes it holds
  }
  if (options.format == ImageFormat::aff4) {
    return "unreadable-pattern";
  }
  switch (options.read_policy.fill) {
    case ReadPolicy::Fill::zero:
      return "zero";
    case ReadPolicy::Fill::byte:
      return fmt::format("0x{:02x}", static_cast<unsigned>(options.read_policy.fill_byte));
    case ReadPolicy::Fill::unreadable_pattern:
      return "unreadable-pattern";
  }
  return "zero";
}

AcquisitionRecord start_record(const AcquireOptions& options, const SourceInfo& source) {
  AcquisitionRecord record;
  record.defect_fill = fill_name(options);
  record.tool_name = options.tool_name;
  record.tool_version = k_version;
  describe_host(record);
  record.case_info = options.case_info;
  record.source = source;
  record.started = utc_now();
  return record;
}

// For an imported image: what it said about itself, and whether its stored hashes hold.
void complete_import(const Source& source, AcquisitionRecord& record) {
  const auto* image = dynamic_cast<const ImageFileSource*>(&source);
  if (image == nullptr) {
    return;
  }
  ImportRecord imported = image->import_record();
  if (!imported.claimed_hashes.empty() && record.status == AcquisitionStatus::complete) {
    imported.hashes_match = std::all_of(
        imported.claimed_hashes.begin(), imported.claimed_hashes.end(), [&](const auto& claimed) {
          auto computed = record.hashes.find(claimed.first);
          return computed != record.hashes.end() && computed->second == claimed.second;
        });
  }
  record.imported_from = std::move(imported);
}

void collect_digests(const std::vector<std::unique_ptr<internal::DigestSink>>& sinks,
                     AcquisitionRecord& record) {
  for (const auto& sink : sinks) {
    record.hashes[sink->algorithm()] = sink->total_digest();
    const auto& per_segment = sink->segment_digests();
    for (std::size_t index = 0; index < record.segments.size() && index < per_segment.size();
         ++index) {
      record.segments[index].hashes[sink->algorithm()] = per_segment[index];
    }
  }
}

Result<PostVerification> rehash(Source& source,
                                const AcquisitionRecord& record,
                                ProgressSink* progress,
                                const CancelToken* cancel) {
  std::vector<HashAlgorithm> algorithms;
  for (const auto& entry : record.hashes) {
    algorithms.push_back(entry.first);
  }
  auto digests = hash_source(source, algorithms, progress, cancel);
  CUSTODY_TRY(digests);
  PostVerification check;
  check.hashes = *digests;
  check.matches = *digests == record.hashes;
  check.time = utc_now();
  return check;
}

// --verify-image and --verify-source, after the image is complete.
Result<void> verify_after(const AcquireOptions& options,
                          const std::vector<std::string>& image_paths,
                          AcquisitionRecord& record,
                          ProgressSink* progress,
                          const CancelToken* cancel) {
  if (options.verify_image) {
    std::unique_ptr<Container> container;
    std::unique_ptr<Source> image;
    if (options.format == ImageFormat::aff4) {
      auto opened = Container::open(image_paths);
      CUSTODY_TRY(opened);
      container = std::move(*opened);
      image = container->image_source(0, container->info().size);
    } else {
      auto opened = open_concatenated_files(image_paths);
      CUSTODY_TRY(opened);
      image = std::move(*opened);
    }
    auto check = rehash(*image, record, progress, cancel);
    CUSTODY_TRY(check);
    record.image_verification = *check;
  }
  if (options.verify_source) {
    // Read the source as the acquisition did, fills included, or a disk with bad sectors could
    // never match.
    ReadPolicy policy = options.read_policy;
    if (options.format == ImageFormat::aff4) {
      policy.fill = ReadPolicy::Fill::unreadable_pattern;
    }
    std::unique_ptr<Source> source;
    if (options.from_image) {
      auto image = open_image_file(options.source_path);
      CUSTODY_TRY(image);
      source = std::move(*image);
    } else {
      auto opened = open_source(options.source_path, policy);
      CUSTODY_TRY(opened);
      source = std::move(*opened);
    }
    auto check = rehash(*source, record, progress, cancel);
    CUSTODY_TRY(check);
    record.source_verification = *check;
  }
  return {};
}

Result<AcquisitionResult> acquire_raw(const AcquireOptions& options,
                                      Source& source,
                                      ProgressSink* progress,
                                      const CancelToken* cancel) {
  AcquisitionRecord record = start_record(options, source.info());
  record.segment_size = options.segment_size;
  const auto layout = options.segment_size ? internal::SegmentLayout::fixed(*options.segment_size)
                                           : internal::SegmentLayout::single();
  auto digest_sinks = internal::make_digest_sinks(options.algorithms, layout);
  CUSTODY_TRY(digest_sinks);
  internal::SegmentWriterSink writer(
      [&](std::size_t index) {
        return segment_path_for(options.output_base, index, options.segment_size.has_value());
      },
      options.segment_size, options.overwrite);
  CUSTODY_TRY(writer.open_first());
  const auto hash_workers = internal::group_digest_sinks(*digest_sinks);
  auto sinks = internal::sink_pointers(hash_workers, {&writer});

  auto outcome =
      internal::run_pipeline(source, sinks, record.source.size.value_or(0), progress, cancel);
  record.finished = utc_now();
  record.defects = source.defects();
  record.segments = writer.segments();
  collect_digests(*digest_sinks, record);
  if (outcome) {
    record.status =
        outcome->cancelled ? AcquisitionStatus::interrupted : AcquisitionStatus::complete;
    complete_import(source, record);
  }
  for (const SegmentRecord& segment : record.segments) {
    record.image_size += segment.size;
  }
  record.bytes_read = outcome ? outcome->bytes : record.image_size;

  AcquisitionResult result;
  result.record_path = record_path_for(options.output_base);
  result.image_paths = writer.paths();
  if (!outcome) {
    // Leave what was written, and say in the record that it is not a complete image.
    record.status = AcquisitionStatus::failed;
    record.error = outcome.error().to_string();
    if (internal::write_file_atomically(result.record_path, record_to_json(record), true)) {
      return failed_keeping(std::move(outcome).error(), record.image_size,
                            fmt::format("the image beside its record {}", result.record_path));
    }
    return tl::unexpected(std::move(outcome).error());
  }
  record.status = outcome->cancelled ? AcquisitionStatus::interrupted : AcquisitionStatus::complete;
  remove_stale_segments(options, record.segments.size());
  if (record.status == AcquisitionStatus::complete) {
    CUSTODY_TRY(verify_after(options, result.image_paths, record, progress, cancel));
  }
  result.record_json = record_to_json(record);
  CUSTODY_TRY(
      internal::write_file_atomically(result.record_path, result.record_json, options.overwrite));
  result.record = std::move(record);
  return result;
}

// Runs the AFF4 pipeline into `writer` and closes the container. `record` holds what is known
// before (a new record, or the interrupted one being resumed); `earlier_defects` were found
// before a resumption.
Result<AcquisitionResult> run_aff4(const AcquireOptions& options,
                                   Source& source,
                                   internal::Aff4Writer& writer,
                                   const internal::Aff4WriterOptions& writer_options,
                                   std::vector<HashAlgorithm> algorithms,
                                   AcquisitionRecord record,
                                   ProgressSink* progress,
                                   const CancelToken* cancel) {
  const std::vector<Defect> earlier_defects = record.defects;
  auto digest_sinks = internal::make_digest_sinks(algorithms, internal::SegmentLayout::single());
  CUSTODY_TRY(digest_sinks);
  std::vector<internal::WorkUnit> units;
  for (const auto& sink : *digest_sinks) {
    units.push_back(internal::WorkUnit{sink.get(), internal::measure_hash_cost(sink->algorithm())});
  }
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  for (const internal::WorkUnit& unit : writer.compression_units(2 * cores)) {
    units.push_back(unit);
  }
  const auto workers = internal::group_work(std::move(units), cores);
  auto sinks = internal::sink_pointers(workers, {&writer.writer_sink()});

  const internal::PipelineConfig pipeline;
  auto outcome = internal::run_pipeline(source, sinks, source.info().size.value_or(0), progress,
                                        cancel, pipeline);
  record.finished = utc_now();
  record.defects = earlier_defects;
  for (const Defect& defect : source.defects()) {
    record.defects.push_back(defect);
  }
  record.hashes.clear();
  record.bytes_read = outcome ? outcome->bytes : writer.image_bytes();
  record.image_size = writer.image_bytes();
  // After a write failure the hashers may have run ahead of what reached the container; hashes
  // of bytes that are not in it would only mislead, so they are left out.
  if (std::all_of(digest_sinks->begin(), digest_sinks->end(),
                  [&](const auto& sink) { return sink->bytes() == record.image_size; })) {
    collect_digests(*digest_sinks, record);
  }
  const internal::Aff4Names& names = writer.names();
  record.container =
      ContainerRecord{std::filesystem::path(writer_options.path).filename().string(),
                      names.volume,
                      names.image,
                      std::string(internal::compression_name(writer_options.compression)),
                      writer_options.chunk_size,
                      writer.stored_chunks(),
                      writer.zero_chunks()};
  if (!outcome) {
    record.status = AcquisitionStatus::failed;
    record.error = outcome.error().to_string();
  } else {
    record.status =
        outcome->cancelled ? AcquisitionStatus::interrupted : AcquisitionStatus::complete;
    complete_import(source, record);
  }
  internal::Aff4ImageFacts facts{record.image_size, record.hashes,  record.case_info,
                                 record.source,     record.started, record.finished};
  facts.completion_state = record.status == AcquisitionStatus::complete      ? "Completed Normally"
                           : record.status == AcquisitionStatus::interrupted ? "Interrupted"
                                                                             : "Failed";
  const std::string record_json = record_to_json(record);
  auto finalized = writer.finalize(facts, {{"custody/acquisition.json", record_json}});
  if (!outcome) {
    // A read error leaves a closed, readable container that says "failed"; a write error
    // usually leaves none (the finalize above fails too).
    if (finalized) {
      return failed_keeping(std::move(outcome).error(), record.image_size, writer_options.path);
    }
    return tl::unexpected(std::move(outcome).error());
  }
  CUSTODY_TRY(finalized);
  AcquisitionResult result;
  result.record_path = writer_options.path;
  result.image_paths = {writer_options.path};
  result.record_json = record_json;
  if (record.status == AcquisitionStatus::complete &&
      (options.verify_image || options.verify_source)) {
    CUSTODY_TRY(verify_after(options, result.image_paths, record, progress, cancel));
    // The record is already sealed inside the container: the results go into a new member.
    auto zip = internal::ZipWriter::open_for_append(writer_options.path);
    CUSTODY_TRY(zip);
    const std::string json = post_verification_json(record);
    CUSTODY_TRY(zip->add_member("custody/post-verification.json",
                                std::as_bytes(std::span(json.data(), json.size()))));
    CUSTODY_TRY(zip->finish(names.volume));
  }
  result.record = std::move(record);
  return result;
}

internal::Aff4WriterOptions writer_options_for(const AcquireOptions& options,
                                               internal::Compression compression) {
  internal::Aff4WriterOptions writer_options;
  writer_options.path = container_path_for(options.output_base);
  writer_options.overwrite = options.overwrite;
  writer_options.compression = compression;
  writer_options.chunk_size = options.chunk_size;
  writer_options.tool = fmt::format("custody {}", k_version);
  writer_options.block_size = internal::PipelineConfig{}.block_size;
  return writer_options;
}

Result<AcquisitionResult> acquire_aff4(const AcquireOptions& options,
                                       Source& source,
                                       ProgressSink* progress,
                                       const CancelToken* cancel) {
  auto compression = internal::parse_compression_name(options.compression);
  CUSTODY_TRY(compression);
  const internal::Aff4WriterOptions writer_options = writer_options_for(options, *compression);
  auto writer = internal::Aff4Writer::create(writer_options);
  CUSTODY_TRY(writer);
  AcquisitionRecord record = start_record(options, source.info());
  record.image_format = "aff4";
  return run_aff4(options, source, **writer, writer_options, options.algorithms, std::move(record),
                  progress, cancel);
}

// The image held by an interrupted container, then the source from where it stopped: one stream,
// so that the hashes cover the whole image.
class ResumedSource final : public Source {
 public:
  ResumedSource(std::unique_ptr<Source> held, std::unique_ptr<Source> rest)
      : m_held(std::move(held)), m_rest(std::move(rest)), m_info(m_rest->info()) {}

  const SourceInfo& info() const override { return m_info; }
  std::vector<ByteRange> last_read_defects() const override {
    return m_in_rest ? m_rest->last_read_defects() : std::vector<ByteRange>{};
  }
  std::vector<Defect> defects() const override { return m_rest->defects(); }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (!m_in_rest) {
      auto got = m_held->read(buffer);
      CUSTODY_TRY(got);
      if (*got > 0) {
        return *got;
      }
      m_in_rest = true;
    }
    return m_rest->read(buffer);
  }

 private:
  std::unique_ptr<Source> m_held;
  std::unique_ptr<Source> m_rest;
  SourceInfo m_info;
  bool m_in_rest = false;
};

Result<AcquisitionResult> resume_aff4(const AcquireOptions& options,
                                      ProgressSink* progress,
                                      const CancelToken* cancel) {
  const std::string path = container_path_for(options.output_base);
  auto container = Container::open({path});
  CUSTODY_TRY(container);
  const ContainerInfo& info = (*container)->info();
  if (!info.custody_record) {
    return make_error(Errc::unsupported,
                      fmt::format("{} has no custody record: only containers written by "
                                  "custody-acquire can be resumed",
                                  path));
  }
  auto loaded = parse_record(*info.custody_record);
  CUSTODY_TRY(loaded);
  AcquisitionRecord record = loaded->record;
  if (record.status != AcquisitionStatus::interrupted || !record.container) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is {}, not interrupted: there is nothing to resume", path,
                                  status_name(record.status)));
  }
  if (record.source.path != options.source_path) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} was acquired from {}; resume from the same source", path,
                                  record.source.path));
  }
  ReadPolicy policy = options.read_policy;
  policy.fill = ReadPolicy::Fill::unreadable_pattern;
  auto rest = open_source(options.source_path, policy, options.set_read_only, info.size);
  CUSTODY_TRY(rest);
  if ((*rest)->info().size != record.source.size) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is not the same size as when the acquisition began; it "
                                  "cannot be resumed",
                                  options.source_path));
  }
  auto compression = internal::parse_compression_name(record.container->compression);
  CUSTODY_TRY(compression);
  AcquireOptions resumed = options;
  resumed.chunk_size = record.container->chunk_size;
  internal::Aff4WriterOptions writer_options = writer_options_for(resumed, *compression);
  auto writer = internal::Aff4Writer::resume(writer_options, info.size);
  CUSTODY_TRY(writer);
  std::vector<HashAlgorithm> algorithms;
  for (const auto& entry : record.hashes) {
    algorithms.push_back(entry.first);
  }
  record.resumed.emplace_back(info.size, utc_now());
  ResumedSource source((*container)->image_source(0, info.size), std::move(*rest));
  return run_aff4(resumed, source, **writer, writer_options, algorithms, std::move(record),
                  progress, cancel);
}

// --from-image: the image's media data is the source; its stored hashes must be computed too.
Result<AcquisitionResult> acquire_image_file(const AcquireOptions& options,
                                             ProgressSink* progress,
                                             const CancelToken* cancel) {
  if (options.set_read_only) {
    return make_error(Errc::invalid_argument,
                      "--set-readonly applies to block devices, not to --from-image");
  }
  auto image = open_image_file(options.source_path);
  CUSTODY_TRY(image);
  AcquireOptions effective = options;
  for (const auto& claimed : (*image)->import_record().claimed_hashes) {
    if (std::find(effective.algorithms.begin(), effective.algorithms.end(), claimed.first) ==
        effective.algorithms.end()) {
      effective.algorithms.push_back(claimed.first);
    }
  }
  std::sort(effective.algorithms.begin(), effective.algorithms.end());
  // Case fields not given default to the image's own header values (E01).
  const auto& headers = (*image)->import_record().headers;
  const std::pair<std::optional<std::string>*, const char*> fields[] = {
      {&effective.case_info.case_number, "case_number"},
      {&effective.case_info.evidence_number, "evidence_number"},
      {&effective.case_info.examiner, "examiner_name"},
      {&effective.case_info.description, "description"},
      {&effective.case_info.notes, "notes"}};
  for (const auto& [field, name] : fields) {
    if (auto found = headers.find(name); !*field && found != headers.end()) {
      *field = found->second;
    }
  }
  std::vector<std::string> inputs{options.source_path};
  for (const ImportedFile& file : (*image)->import_record().files) {
    inputs.push_back(file.name);
  }
  CUSTODY_TRY(refuse_outputs_that_are_inputs(effective, inputs));
  CUSTODY_TRY(refuse_existing_outputs(effective));
  if (effective.format == ImageFormat::raw) {
    return acquire_raw(effective, **image, progress, cancel);
  }
  return acquire_aff4(effective, **image, progress, cancel);
}

}  // namespace

Result<AcquisitionResult> internal::image_source(const AcquireOptions& options,
                                                 ProgressSink* progress,
                                                 const CancelToken* cancel) {
  if (options.resume) {
    if (options.format != ImageFormat::aff4) {
      return make_error(Errc::invalid_argument, "--resume applies to AFF4 containers");
    }
    if (options.from_image) {
      return make_error(Errc::invalid_argument,
                        "--resume does not apply to --from-image: import the image again");
    }
    CUSTODY_TRY(refuse_outputs_that_are_inputs(options, {options.source_path}));
    return resume_aff4(options, progress, cancel);
  }
  CUSTODY_TRY(check_options(options));
  if (options.from_image) {
    return acquire_image_file(options, progress, cancel);
  }
  if (options.verify_source && options.source_path == "-") {
    return make_error(Errc::invalid_argument,
                      "--verify-source cannot re-read standard input; hash the source where it "
                      "is instead");
  }
  CUSTODY_TRY(refuse_outputs_that_are_inputs(options, {options.source_path}));
  ReadPolicy policy = options.read_policy;
  if (options.format == ImageFormat::aff4) {
    policy.fill = ReadPolicy::Fill::unreadable_pattern;
  }
  auto source = open_source(options.source_path, policy, options.set_read_only);
  CUSTODY_TRY(source);
  CUSTODY_TRY(refuse_existing_outputs(options));
  if (options.format == ImageFormat::raw) {
    return acquire_raw(options, **source, progress, cancel);
  }
  return acquire_aff4(options, **source, progress, cancel);
}

}  // namespace custody
