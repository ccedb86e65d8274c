// SPDX-License-Identifier: Apache-2.0
// FileByteSink: a file written under a temporary name and renamed into place only when complete,
// so that no one can take a half-written package for a whole one.
#include "core/posix_file.hpp"

#include <custody/byte_sink.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

namespace custody {

namespace {

tl::unexpected<Error> refuse_overwrite(const std::string& path) {
  return tl::unexpected(Error{Errc::already_exists,
                              "refusing to overwrite",
                              path,
                              {},
                              0,
                              "choose another output name, or remove the existing file first"});
}

}  // namespace

Result<std::unique_ptr<FileByteSink>> FileByteSink::create(const std::string& path,
                                                           bool overwrite) {
  if (!overwrite && internal::path_exists(path)) {
    return refuse_overwrite(path);
  }
  std::random_device entropy;
  std::string temporary = fmt::format("{}.tmp-{:08x}", path, entropy());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return internal::creation_failure(errno, path);
  }
  return std::unique_ptr<FileByteSink>(new FileByteSink(path, std::move(temporary), fd, overwrite));
}

FileByteSink::FileByteSink(std::string path, std::string temporary, int fd, bool overwrite)
    : m_path(std::move(path)),
      m_temporary(std::move(temporary)),
      m_fd(fd),
      m_overwrite(overwrite) {}

FileByteSink::~FileByteSink() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  if (!m_finished) {
    ::unlink(m_temporary.c_str());
  }
}

Result<void> FileByteSink::write(std::span<const std::byte> data) {
  if (m_failed || m_finished || m_fd < 0) {
    return make_error(Errc::internal, "write to a finished or failed file sink: " + m_path);
  }
  auto written = internal::write_full(m_fd, data, m_temporary, m_offset);
  if (!written) {
    m_failed = true;
    return written;
  }
  m_offset += data.size();
  return {};
}

Result<void> FileByteSink::finish() {
  if (m_failed || m_finished || m_fd < 0) {
    return make_error(Errc::internal, "finish of a finished or failed file sink: " + m_path);
  }
  m_failed = true;  // until everything below succeeded
  CUSTODY_TRY(internal::fsync_checked(m_fd, m_temporary));
  internal::UniqueFd fd(m_fd);
  m_fd = -1;
  CUSTODY_TRY(fd.close_checked(m_temporary));
  // The file keeps 0600: a transfer package is nobody else's business. RENAME_NOREPLACE closes
  // the window between the existence check in create() and now.
  const unsigned flags = m_overwrite ? 0U : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, m_temporary.c_str(), AT_FDCWD, m_path.c_str(), flags) != 0) {
    if (errno == EEXIST) {
      return refuse_overwrite(m_path);
    }
    return make_sys_error(Errc::io_error, "cannot rename into place", m_path, errno);
  }
  m_finished = true;
  m_failed = false;
  return internal::fsync_parent_directory(m_path);
}

}  // namespace custody
