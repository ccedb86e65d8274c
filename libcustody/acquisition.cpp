// SPDX-License-Identifier: Apache-2.0
#include "internal/pipeline.hpp"
#include "internal/posix_file.hpp"

#include <custody/acquisition.hpp>
#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>

namespace custody {

namespace {

constexpr std::uint64_t k_min_segment_size = std::uint64_t{1} << 20U;
constexpr std::uint64_t k_segment_alignment = 512;
// Start write-back of image data every this many bytes, so the final fsync is short and the
// page cache does not fill with dirty evidence.
constexpr std::uint64_t k_writeback_interval = std::uint64_t{32} << 20U;

std::string file_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// Writes the image into one file or fixed-size segments, opening each segment when its first
// byte arrives (the first at construction, so an empty source still yields an image file).
class SegmentWriterSink final : public internal::BlockSink {
 public:
  SegmentWriterSink(std::string base, std::optional<std::uint64_t> segment_size, bool overwrite)
      : m_base(std::move(base)), m_segment_size(segment_size), m_overwrite(overwrite) {}

  Result<void> open_first() { return open_segment(); }

  Result<void> consume(const internal::Block& block) override {
    std::span<const std::byte> data = block.data();
    while (!data.empty()) {
      if (m_segment_size && m_current.size == *m_segment_size) {
        CUSTODY_TRY(close_segment());
        CUSTODY_TRY(open_segment());
      }
      const std::uint64_t room =
          m_segment_size ? *m_segment_size - m_current.size : internal::SegmentLayout::k_unbounded;
      const std::size_t take = room < data.size() ? static_cast<std::size_t>(room) : data.size();
      CUSTODY_TRY(write_chunk(data.first(take)));
      m_current.size += take;
      data = data.subspan(take);
      start_writeback();
    }
    return {};
  }

  Result<void> finish() override {
    if (m_fd) {
      return close_segment();
    }
    return {};
  }

  const std::vector<SegmentRecord>& segments() const { return m_segments; }
  const std::vector<std::string>& paths() const { return m_paths; }

 private:
  Result<void> open_segment() {
    m_path = segment_path_for(m_base, m_segments.size(), m_segment_size.has_value());
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (m_overwrite ? O_TRUNC : O_EXCL);
    // Direct I/O spares a copy of every byte into the page cache (and the flush of it later);
    // file systems without it (tmpfs) get ordinary writes.
    m_fd = internal::UniqueFd(::open(m_path.c_str(), flags | O_DIRECT, 0644));
    m_direct = static_cast<bool>(m_fd);
    if (!m_fd && errno == EINVAL) {
      m_fd = internal::UniqueFd(::open(m_path.c_str(), flags, 0644));
    }
    if (!m_fd) {
      const int error = errno;
      Error failure{error == EEXIST ? Errc::already_exists : Errc::io_error,
                    error == EEXIST ? "refusing to overwrite" : "cannot create image file",
                    m_path,
                    {},
                    error == EEXIST ? 0 : error,
                    {}};
      failure.hint = error == EEXIST ? "use --force to replace it, or choose another output name"
                                     : "check that the output directory exists and is writable";
      return tl::unexpected(std::move(failure));
    }
    m_current = SegmentRecord{file_name(m_path), m_offset, 0, {}};
    m_paths.push_back(m_path);
    m_synced = 0;
    return {};
  }

  Result<void> close_segment() {
    CUSTODY_TRY(internal::fsync_checked(m_fd.get(), m_path));
    CUSTODY_TRY(m_fd.close_checked(m_path));
    m_offset += m_current.size;
    m_segments.push_back(m_current);
    return {};
  }

  // Writes at the current end of the segment. Direct I/O needs aligned memory, offset and length;
  // the first chunk that is not (the source's tail, a segment cut not on 4 KiB) switches the file
  // to buffered writes for good.
  Result<void> write_chunk(std::span<const std::byte> chunk) {
    if (m_direct && !direct_io_allows(chunk)) {
      stop_direct_io();
    }
    auto written = internal::write_full(m_fd.get(), chunk, m_path, m_current.size);
    if (!written && m_direct && written.error().sys_errno == EINVAL) {
      stop_direct_io();
      written = internal::write_full(m_fd.get(), chunk, m_path, m_current.size);
    }
    return written;
  }

  bool direct_io_allows(std::span<const std::byte> chunk) const {
    constexpr std::size_t k_alignment = internal::k_block_alignment;
    return chunk.size() % k_alignment == 0 && m_current.size % k_alignment == 0 &&
           reinterpret_cast<std::uintptr_t>(chunk.data()) % k_alignment == 0;
  }

  void stop_direct_io() {
    const int flags = ::fcntl(m_fd.get(), F_GETFL);
    (void)::fcntl(m_fd.get(), F_SETFL, flags & ~O_DIRECT);
    m_direct = false;
    m_synced = m_current.size;
  }

  void start_writeback() {
    if (!m_direct && m_current.size - m_synced >= k_writeback_interval) {
      // Advisory: an error here resurfaces at fsync, which is checked.
      (void)::sync_file_range(m_fd.get(), static_cast<off_t>(m_synced),
                              static_cast<off_t>(m_current.size - m_synced), SYNC_FILE_RANGE_WRITE);
      m_synced = m_current.size;
    }
  }

  std::string m_base;
  std::optional<std::uint64_t> m_segment_size;
  bool m_overwrite;
  internal::UniqueFd m_fd;
  bool m_direct = false;
  std::string m_path;
  SegmentRecord m_current;
  std::uint64_t m_offset = 0;
  std::uint64_t m_synced = 0;
  std::vector<SegmentRecord> m_segments;
  std::vector<std::string> m_paths;
};

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
  const std::string directory = std::filesystem::path(options.output_base).parent_path().string();
  if (!directory.empty() && !std::filesystem::is_directory(directory)) {
    Error failure{Errc::already_exists,
                  "output directory does not exist",
                  directory,
                  {},
                  0,
                  "create it first (mkdir -p), or choose another output"};
    return tl::unexpected(std::move(failure));
  }
  return {};
}

Result<void> refuse_existing_outputs(const AcquireOptions& options) {
  if (options.overwrite) {
    return {};
  }
  for (const std::string& path :
       {record_path_for(options.output_base),
        segment_path_for(options.output_base, 0, options.segment_size.has_value())}) {
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

void describe_host(AcquisitionRecord& record) {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) {
    record.hostname = name;
  }
  struct utsname system {};
  if (::uname(&system) == 0) {
    record.system = fmt::format("{} {} {}", system.sysname, system.release, system.machine);
  }
}

}  // namespace

std::string record_path_for(const std::string& output_base) {
  return output_base + ".acquisition.json";
}

std::string segment_path_for(const std::string& output_base, std::size_t index, bool split) {
  return split ? fmt::format("{}.{:03}", output_base, index + 1) : output_base + ".raw";
}

Result<AcquisitionResult> acquire(const AcquireOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel) {
  CUSTODY_TRY(check_options(options));
  auto source = open_source(options.source_path);
  CUSTODY_TRY(source);
  CUSTODY_TRY(refuse_existing_outputs(options));

  AcquisitionRecord record;
  record.tool_name = options.tool_name;
  record.tool_version = k_version;
  describe_host(record);
  record.case_info = options.case_info;
  record.source = (*source)->info();
  record.segment_size = options.segment_size;
  record.started = utc_now();

  const auto layout = options.segment_size ? internal::SegmentLayout::fixed(*options.segment_size)
                                           : internal::SegmentLayout::single();
  auto digest_sinks = internal::make_digest_sinks(options.algorithms, layout);
  CUSTODY_TRY(digest_sinks);
  SegmentWriterSink writer(options.output_base, options.segment_size, options.overwrite);
  CUSTODY_TRY(writer.open_first());
  const auto hash_workers = internal::group_digest_sinks(*digest_sinks);
  auto sinks = internal::sink_pointers(hash_workers, {&writer});

  auto outcome =
      internal::run_pipeline(**source, sinks, record.source.size.value_or(0), progress, cancel);
  record.finished = utc_now();
  record.segments = writer.segments();
  for (const auto& sink : *digest_sinks) {
    record.hashes[sink->algorithm()] = sink->total_digest();
    const auto& per_segment = sink->segment_digests();
    for (std::size_t index = 0; index < record.segments.size() && index < per_segment.size();
         ++index) {
      record.segments[index].hashes[sink->algorithm()] = per_segment[index];
    }
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
    (void)internal::write_file_atomically(result.record_path, record_to_json(record), true);
    return tl::unexpected(std::move(outcome).error());
  }
  record.status = outcome->cancelled ? AcquisitionStatus::interrupted : AcquisitionStatus::complete;
  remove_stale_segments(options, record.segments.size());
  CUSTODY_TRY(internal::write_file_atomically(result.record_path, record_to_json(record),
                                              options.overwrite));
  result.record = std::move(record);
  return result;
}

}  // namespace custody
