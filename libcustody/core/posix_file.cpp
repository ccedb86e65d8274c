// SPDX-License-Identifier: Apache-2.0
// POSIX file helpers: full reads and writes, fsync of files and directories, atomic small
// files, and the errors for outputs that cannot be created.
#include "core/posix_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

namespace custody::internal {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Result<void> UniqueFd::close_checked(const std::string& path) {
  const int fd = release();
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) {
    return make_sys_error(Errc::io_error, "cannot close", path, errno);
  }
  return {};
}

Result<std::size_t> read_full(int fd,
                              std::span<std::byte> buffer,
                              const std::string& path,
                              std::uint64_t offset) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t got = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_sys_error(Errc::io_error, "read error", path, errno, offset + done);
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

tl::unexpected<Error> write_failure(int error, const std::string& path, std::uint64_t offset) {
  auto failure = make_sys_error(Errc::io_error, "write error", path, error, offset);
  if (error == ENOSPC || error == EDQUOT) {
    failure.value().message = "disk full while writing";
    failure.value().hint = "free space on the output disk or choose another output, then run again";
  }
  return failure;
}

Result<void> write_full(int fd,
                        std::span<const std::byte> data,
                        const std::string& path,
                        std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t put = ::write(fd, data.data() + done, data.size() - done);
    if (put < 0) {
      if (errno == EINTR) {
        continue;
      }
      return write_failure(errno, path, offset + done);
    }
    done += static_cast<std::size_t>(put);
  }
  return {};
}

Result<std::size_t> pread_full(int fd,
                               std::span<std::byte> buffer,
                               const std::string& path,
                               std::uint64_t offset) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t got =
        ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_sys_error(Errc::io_error, "read error", path, errno, offset + done);
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

Result<void> pwrite_full(int fd,
                         std::span<const std::byte> data,
                         const std::string& path,
                         std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t put =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (put < 0) {
      if (errno == EINTR) {
        continue;
      }
      return write_failure(errno, path, offset + done);
    }
    done += static_cast<std::size_t>(put);
  }
  return {};
}

Result<void> fsync_checked(int fd, const std::string& path) {
  if (::fsync(fd) != 0) {
    return make_sys_error(Errc::io_error, "cannot flush to disk (fsync)", path, errno);
  }
  return {};
}

Result<void> fsync_parent_directory(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) {
    directory = ".";
  }
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return make_sys_error(Errc::io_error, "cannot open directory", directory, errno);
  }
  return fsync_checked(fd.get(), directory);
}

Result<void> write_file_atomically(const std::string& path,
                                   std::string_view content,
                                   bool overwrite) {
  if (!overwrite && path_exists(path)) {
    Error error{Errc::already_exists,
                "refusing to overwrite",
                path,
                {},
                0,
                "use --force to replace it, or choose another output name"};
    return tl::unexpected(std::move(error));
  }
  std::random_device entropy;
  const std::string temporary = fmt::format("{}.tmp-{:08x}", path, entropy());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    return creation_failure(errno, path);
  }
  auto written =
      write_full(fd.get(), std::as_bytes(std::span(content.data(), content.size())), temporary, 0);
  if (written) {
    written = fsync_checked(fd.get(), temporary);
  }
  if (written) {
    written = fd.close_checked(temporary);
  }
  if (written && (overwrite || !path_exists(path))) {
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      written = make_sys_error(Errc::io_error, "cannot rename into place", path, errno);
    }
  } else if (written) {
    written = tl::unexpected(Error{
        Errc::already_exists, "refusing to overwrite", path, {}, 0, "use --force to replace it"});
  }
  if (!written) {
    ::unlink(temporary.c_str());
    return written;
  }
  return fsync_parent_directory(path);
}

tl::unexpected<Error> creation_failure(int sys_errno, const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string directory = parent.empty() ? std::string(".") : parent.string();
  if (sys_errno == ENOENT || sys_errno == ENOTDIR) {
    Error error{Errc::cannot_create,
                "the output directory does not exist",
                directory,
                {},
                0,
                fmt::format("create it first (mkdir -p {}), or choose another output", directory)};
    return tl::unexpected(std::move(error));
  }
  if (sys_errno == EACCES || sys_errno == EROFS || sys_errno == EPERM) {
    Error error{Errc::cannot_create,
                "cannot create",
                path,
                {},
                sys_errno,
                "choose an output directory you may write to"};
    return tl::unexpected(std::move(error));
  }
  if (sys_errno == EEXIST) {
    Error error{Errc::already_exists,
                "refusing to overwrite",
                path,
                {},
                0,
                "use --force to replace it, or choose another output name"};
    return tl::unexpected(std::move(error));
  }
  return make_sys_error(Errc::io_error, "cannot create", path, sys_errno);
}

Result<void> check_output_directory(const std::string& output) {
  const std::filesystem::path parent = std::filesystem::path(output).parent_path();
  std::error_code ignored;
  if (!parent.empty() && !std::filesystem::is_directory(parent, ignored)) {
    return creation_failure(ENOENT, output);
  }
  return {};
}

tl::unexpected<Error> directory_given(const std::string& path) {
  Error error{Errc::invalid_argument,
              fmt::format("{} is a directory, not a file", path),
              {},
              {},
              0,
              "give the file itself (NAME.aff4, NAME.acquisition.json, a package file)"};
  return tl::unexpected(std::move(error));
}

Result<std::string> read_small_file(const std::string& path, std::size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (S_ISDIR(status.st_mode)) {
    return directory_given(path);
  }
  if (!S_ISREG(status.st_mode) || static_cast<std::uint64_t>(status.st_size) > limit) {
    return make_error(Errc::corrupt, fmt::format("{} is not a regular file of at most {} bytes: "
                                                 "not a custody file",
                                                 path, limit));
  }
  // One byte more than the size, to notice a file that grew since fstat.
  std::string content(static_cast<std::size_t>(status.st_size) + 1, '\0');
  auto got = read_full(fd.get(), std::as_writable_bytes(std::span(content.data(), content.size())),
                       path, 0);
  CUSTODY_TRY(got);
  if (*got > limit) {
    return make_error(Errc::corrupt,
                      fmt::format("{} is larger than {} bytes: not a custody file", path, limit));
  }
  content.resize(*got);
  return content;
}

bool path_exists(const std::string& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0;
}

}  // namespace custody::internal
