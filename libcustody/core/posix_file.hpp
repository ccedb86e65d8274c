// SPDX-License-Identifier: Apache-2.0
// Thin POSIX file helpers: an owning descriptor, complete reads and writes that survive EINTR and
// short transfers, and durable writes (fsync of the file and of its directory).
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <span>
#include <string>

namespace custody::internal {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  // Closes without checking: for read-only descriptors. Writers call close_checked().
  ~UniqueFd();

  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  // Closes and reports a failure of close(2) (which can carry a delayed write error).
  Result<void> close_checked(const std::string& path);

 private:
  int m_fd = -1;
};

// Reads until `buffer` is full or end of file; returns the count. Errc::io_error with `offset`.
Result<std::size_t> read_full(int fd,
                              std::span<std::byte> buffer,
                              const std::string& path,
                              std::uint64_t offset);

// Writes all of `data`. Disk full and other failures are Errc::io_error naming `path`/`offset`.
Result<void> write_full(int fd,
                        std::span<const std::byte> data,
                        const std::string& path,
                        std::uint64_t offset);

// The error for a failed write of `path` at `offset`: disk full gets a message and a hint of its
// own.
tl::unexpected<Error> write_failure(int sys_errno, const std::string& path, std::uint64_t offset);

// Positioned versions: pread until `buffer` is full or end of file (returns the count), and
// pwrite of all of `data`, with the same error mapping as read_full/write_full.
Result<std::size_t> pread_full(int fd,
                               std::span<std::byte> buffer,
                               const std::string& path,
                               std::uint64_t offset);
Result<void> pwrite_full(int fd,
                         std::span<const std::byte> data,
                         const std::string& path,
                         std::uint64_t offset);

Result<void> fsync_checked(int fd, const std::string& path);

// fsyncs the directory holding `path`, so that a new name in it survives a crash.
Result<void> fsync_parent_directory(const std::string& path);

// Writes `content` to `path` atomically: a temporary file in the same directory, fsync, rename
// over `path` (only if `overwrite` or `path` does not exist), fsync of the directory.
// Errc::already_exists if `path` exists and !overwrite.
Result<void> write_file_atomically(const std::string& path,
                                   std::string_view content,
                                   bool overwrite);

// The error for an output file that open(2) could not create: a missing directory or one we may
// not write to is Errc::cannot_create (exit 73 in every tool) with the next step; EEXIST is
// Errc::already_exists; anything else Errc::io_error.
tl::unexpected<Error> creation_failure(int sys_errno, const std::string& path);

// Errc::cannot_create unless the directory that will hold `output` exists.
Result<void> check_output_directory(const std::string& output);

// The error for a directory named where a file is expected (Errc::invalid_argument).
tl::unexpected<Error> directory_given(const std::string& path);

// Reads a whole small file (at most `limit` bytes; larger is Errc::corrupt; a directory is
// Errc::invalid_argument).
Result<std::string> read_small_file(const std::string& path, std::size_t limit);

bool path_exists(const std::string& path);

}  // namespace custody::internal
