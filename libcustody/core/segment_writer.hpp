// SPDX-License-Identifier: Apache-2.0
// A pipeline sink that writes the stream of blocks into one file or fixed-size segment files,
// with direct I/O where the file system allows it, and fsyncs each file when it is complete.
#pragma once

#include "core/pipeline.hpp"
#include "core/posix_file.hpp"

#include <custody/record.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace custody::internal {

// Start write-back of image data every this many bytes, so the final fsync is short and the
// page cache does not fill with dirty evidence.
inline constexpr std::uint64_t k_writeback_interval = std::uint64_t{32} << 20U;

// Writes the image into one file or fixed-size segments, opening each segment when its first
// byte arrives (the first at construction, so an empty source still yields an image file).
class SegmentWriterSink final : public BlockSink {
 public:
  // `path_for(i)` names segment i (0-based). Without `segment_size` there is one file.
  SegmentWriterSink(std::function<std::string(std::size_t)> path_for,
                    std::optional<std::uint64_t> segment_size,
                    bool overwrite)
      : m_path_for(std::move(path_for)), m_segment_size(segment_size), m_overwrite(overwrite) {}

  Result<void> open_first() { return open_segment(); }

  Result<void> consume(const Block& block) override {
    std::span<const std::byte> data = block.data();
    while (!data.empty()) {
      if (m_segment_size && m_current.size == *m_segment_size) {
        CUSTODY_TRY(close_segment());
        CUSTODY_TRY(open_segment());
      }
      const std::uint64_t room =
          m_segment_size ? *m_segment_size - m_current.size : SegmentLayout::k_unbounded;
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
    m_path = m_path_for(m_segments.size());
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (m_overwrite ? O_TRUNC : O_EXCL);
    // Direct I/O spares a copy of every byte into the page cache (and the flush of it later);
    // file systems without it (tmpfs) get ordinary writes.
    m_fd = UniqueFd(::open(m_path.c_str(), flags | O_DIRECT, 0644));
    m_direct = static_cast<bool>(m_fd);
    if (!m_fd && errno == EINVAL) {
      m_fd = UniqueFd(::open(m_path.c_str(), flags, 0644));
    }
    if (!m_fd) {
      return creation_failure(errno, m_path);
    }
    m_current = SegmentRecord{std::filesystem::path(m_path).filename().string(), m_offset, 0, {}};
    m_paths.push_back(m_path);
    m_synced = 0;
    return {};
  }

  Result<void> close_segment() {
    CUSTODY_TRY(fsync_checked(m_fd.get(), m_path));
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
    auto written = write_full(m_fd.get(), chunk, m_path, m_current.size);
    if (!written && m_direct && written.error().sys_errno == EINVAL) {
      stop_direct_io();
      written = write_full(m_fd.get(), chunk, m_path, m_current.size);
    }
    return written;
  }

  bool direct_io_allows(std::span<const std::byte> chunk) const {
    constexpr std::size_t k_alignment = k_block_alignment;
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

  std::function<std::string(std::size_t)> m_path_for;
  std::optional<std::uint64_t> m_segment_size;
  bool m_overwrite;
  UniqueFd m_fd;
  bool m_direct = false;
  std::string m_path;
  SegmentRecord m_current;
  std::uint64_t m_offset = 0;
  std::uint64_t m_synced = 0;
  std::vector<SegmentRecord> m_segments;
  std::vector<std::string> m_paths;
};

}  // namespace custody::internal
