// SPDX-License-Identifier: Apache-2.0
#include "internal/pipeline.hpp"
#include "internal/posix_file.hpp"
#include "internal/segment_writer.hpp"

#include <custody/container.hpp>
#include <custody/export.hpp>
#include <custody/record.hpp>

#include <fmt/format.h>

#include <unistd.h>

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

}  // namespace

Result<ExportResult> export_image(const ExportOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel) {
  if (options.split_size && (*options.split_size < k_min_split || *options.split_size % 512 != 0)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("split size {} is invalid: it must be at least 1M and a "
                                  "multiple of 512 bytes",
                                  *options.split_size));
  }
  if (options.output == "-" && options.split_size) {
    return make_error(Errc::invalid_argument, "--split cannot be used with standard output");
  }
  auto container = Container::open(options.container_paths);
  CUSTODY_TRY(container);
  const ContainerInfo& info = (*container)->info();
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

  ExportResult result;
  result.whole_image = options.offset == 0 && length == info.size;
  if (result.whole_image) {
    result.recorded = recorded_hashes(info);
  }
  std::vector<HashAlgorithm> algorithms = options.algorithms;
  if (algorithms.empty()) {
    for (const auto& entry : result.recorded) {
      algorithms.push_back(entry.first);
    }
  }
  if (algorithms.empty()) {
    algorithms = {HashAlgorithm::sha256};
  }
  auto digest_sinks = internal::make_digest_sinks(algorithms, internal::SegmentLayout::single());
  CUSTODY_TRY(digest_sinks);
  const auto workers = internal::group_digest_sinks(*digest_sinks);

  std::unique_ptr<internal::BlockSink> output;
  internal::SegmentWriterSink* files = nullptr;
  if (options.output == "-") {
    output = std::make_unique<StdoutSink>();
  } else {
    const bool split = options.split_size.has_value();
    auto writer = std::make_unique<internal::SegmentWriterSink>(
        [&options, split](std::size_t index) {
          return split ? fmt::format("{}.{:03}", options.output, index + 1) : options.output;
        },
        options.split_size, options.overwrite);
    CUSTODY_TRY(writer->open_first());
    files = writer.get();
    output = std::move(writer);
  }
  auto source = (*container)->image_source(options.offset, length);
  auto outcome = internal::run_pipeline(*source, internal::sink_pointers(workers, {output.get()}),
                                        length, progress, cancel);
  CUSTODY_TRY(outcome);
  if (outcome->cancelled) {
    return make_error(Errc::cancelled, "export was interrupted; the output is incomplete");
  }
  result.bytes = outcome->bytes;
  if (files != nullptr) {
    result.files = files->paths();
  }
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
