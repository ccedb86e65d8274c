// SPDX-License-Identifier: Apache-2.0
// A destination for a stream of bytes: a file, an encrypting layer in front of a file, an archive
// writer's output. Layers stack (an archive writes into an encrypting sink that writes into a
// file), so that a transfer package is never written to disk in plaintext.
#pragma once
#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace custody {

class ByteSink {
 public:
  ByteSink() = default;
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;
  virtual ~ByteSink() = default;
  // Appends `data` to the stream. After an error the sink is unusable.
  virtual Result<void> write(std::span<const std::byte> data) = 0;
  // Completes the stream (flushes, writes trailers, fsyncs where the sink is a file). No write()
  // may follow. A sink destroyed without finish() leaves no output that looks complete.
  virtual Result<void> finish() = 0;
};

// The bottom of a stack: a file written under a temporary name beside `path` and renamed to
// `path` by finish() after an fsync (then the directory is fsynced too). Destroyed without a
// successful finish(), it removes the temporary file, so a failed or interrupted write never
// leaves a file at `path`.
class FileByteSink final : public ByteSink {
 public:
  // Errc::already_exists if `path` exists and !overwrite; Errc::io_error if the temporary file
  // cannot be created.
  static Result<std::unique_ptr<FileByteSink>> create(const std::string& path, bool overwrite);
  ~FileByteSink() override;

  Result<void> write(std::span<const std::byte> data) override;
  Result<void> finish() override;
  std::uint64_t bytes_written() const { return m_offset; }

 private:
  FileByteSink(std::string path, std::string temporary, int fd, bool overwrite);
  std::string m_path;
  std::string m_temporary;
  int m_fd = -1;
  bool m_overwrite = false;
  bool m_failed = false;
  bool m_finished = false;
  std::uint64_t m_offset = 0;
};

}  // namespace custody
