// SPDX-License-Identifier: Apache-2.0
#include "internal/posix_file.hpp"

#include <custody/source.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace custody {

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::file:
      return "file";
    case SourceKind::block_device:
      return "block-device";
    case SourceKind::stream:
      return "stream";
  }
  return "unknown";
}

namespace {

// Reads one sysfs attribute, trimmed; empty optional if absent or blank.
std::optional<std::string> read_sysfs(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string value;
  if (!in || !std::getline(in, value)) {
    return std::nullopt;
  }
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return std::nullopt;
  }
  return value.substr(first, last - first + 1);
}

// Vendor, model and serial of the disk behind a block device (its parent for a partition), as
// the kernel exposes them in sysfs. Loop and RAM devices have none; that is recorded as unknown.
void read_device_identity(dev_t device, SourceInfo& info) {
  std::error_code ignored;
  std::filesystem::path node = std::filesystem::canonical(
      fmt::format("/sys/dev/block/{}:{}", major(device), minor(device)), ignored);
  if (node.empty()) {
    return;
  }
  if (std::filesystem::exists(node / "partition", ignored)) {
    node = node.parent_path();
  }
  info.vendor = read_sysfs(node / "device" / "vendor");
  info.model = read_sysfs(node / "device" / "model");
  info.serial = read_sysfs(node / "device" / "serial");
  if (!info.serial) {
    info.serial = read_sysfs(node / "serial");  // NVMe and virtio expose it here
  }
}

Error device_ioctl_error(const std::string& path, const char* what) {
  return Error{Errc::io_error, fmt::format("cannot query {}", what), path, {}, errno, {}};
}

Result<void> read_block_device_facts(int fd, const struct stat& status, SourceInfo& info) {
  std::uint64_t size = 0;
  if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
    return tl::unexpected(device_ioctl_error(info.path, "device size (BLKGETSIZE64)"));
  }
  int logical = 0;
  unsigned int physical = 0;
  int read_only = 0;
  if (::ioctl(fd, BLKSSZGET, &logical) == 0 && logical > 0) {
    info.logical_sector_size = static_cast<std::uint32_t>(logical);
  }
  if (::ioctl(fd, BLKPBSZGET, &physical) == 0 && physical > 0) {
    info.physical_sector_size = physical;
  }
  if (::ioctl(fd, BLKROGET, &read_only) == 0) {
    info.kernel_read_only = read_only != 0;
  }
  info.size = size;
  read_device_identity(status.st_rdev, info);
  return {};
}

// A source read sequentially through one descriptor: file, block device or stream.
class DescriptorSource final : public Source {
 public:
  DescriptorSource(internal::UniqueFd fd, SourceInfo info)
      : m_fd(std::move(fd)), m_info(std::move(info)) {}

  const SourceInfo& info() const override { return m_info; }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    auto got = internal::read_full(m_fd.get(), buffer, m_info.path, m_offset);
    CUSTODY_TRY(got);
    m_offset += *got;
    return *got;
  }

 private:
  internal::UniqueFd m_fd;
  SourceInfo m_info;
  std::uint64_t m_offset = 0;
};

Result<internal::UniqueFd> open_read_only(const std::string& path) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    const int error = errno;
    Error failure{
        error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path, {}, error, {}};
    failure.hint = error == ENOENT ? "check the path" : "check permissions (devices need root)";
    return tl::unexpected(std::move(failure));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<Source>> open_source(const std::string& path) {
  SourceInfo info;
  info.path = path;
  internal::UniqueFd fd;
  if (path == "-") {
    fd = internal::UniqueFd(::dup(STDIN_FILENO));
    if (!fd) {
      return make_sys_error(Errc::io_error, "cannot use standard input", path, errno);
    }
  } else {
    auto opened = open_read_only(path);
    CUSTODY_TRY(opened);
    fd = std::move(*opened);
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (S_ISREG(status.st_mode)) {
    info.kind = SourceKind::file;
    info.size = static_cast<std::uint64_t>(status.st_size);
    // Sequential read-ahead helps; failure to advise is harmless.
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  } else if (S_ISBLK(status.st_mode)) {
    info.kind = SourceKind::block_device;
    CUSTODY_TRY(read_block_device_facts(fd.get(), status, info));
  } else if (S_ISFIFO(status.st_mode) || S_ISSOCK(status.st_mode) || S_ISCHR(status.st_mode)) {
    info.kind = SourceKind::stream;
  } else {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is a directory or another kind of file that cannot be "
                                  "imaged; give a file, a block device or '-'",
                                  path));
  }
  return std::make_unique<DescriptorSource>(std::move(fd), std::move(info));
}

namespace {

// Several files read as one continuous stream (a split raw image).
class ConcatenatedSource final : public Source {
 public:
  ConcatenatedSource(std::vector<std::string> paths, SourceInfo info)
      : m_paths(std::move(paths)), m_info(std::move(info)) {}

  const SourceInfo& info() const override { return m_info; }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t done = 0;
    while (done < buffer.size() && m_index < m_paths.size()) {
      if (!m_fd) {
        auto opened = open_read_only(m_paths[m_index]);
        CUSTODY_TRY(opened);
        m_fd = std::move(*opened);
        m_file_offset = 0;
      }
      auto got =
          internal::read_full(m_fd.get(), buffer.subspan(done), m_paths[m_index], m_file_offset);
      CUSTODY_TRY(got);
      done += *got;
      m_file_offset += *got;
      if (done < buffer.size()) {
        m_fd = internal::UniqueFd();
        ++m_index;
      }
    }
    return done;
  }

 private:
  std::vector<std::string> m_paths;
  SourceInfo m_info;
  std::size_t m_index = 0;
  internal::UniqueFd m_fd;
  std::uint64_t m_file_offset = 0;
};

}  // namespace

Result<std::unique_ptr<Source>> open_concatenated_files(const std::vector<std::string>& paths) {
  SourceInfo info;
  info.path = paths.empty() ? std::string() : paths.front();
  info.kind = SourceKind::file;
  std::uint64_t total = 0;
  for (const std::string& path : paths) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
      const int error = errno;
      return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                            error);
    }
    total += static_cast<std::uint64_t>(status.st_size);
  }
  info.size = total;
  return std::make_unique<ConcatenatedSource>(paths, std::move(info));
}

void fill_with_unreadable_pattern(std::span<std::byte> out, std::uint64_t image_offset) {
  static constexpr std::string_view k_word = "UNREADABLEDATA";
  constexpr std::uint64_t k_tile = std::uint64_t{1} << 20U;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint64_t in_tile = (image_offset + i) % k_tile;
    out[i] = static_cast<std::byte>(k_word[static_cast<std::size_t>(in_tile % k_word.size())]);
  }
}

}  // namespace custody
