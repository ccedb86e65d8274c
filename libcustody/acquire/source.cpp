// SPDX-License-Identifier: Apache-2.0
// Sources: files, block devices and pipes opened read-only, their facts (size, sectors, model,
// write protection), and reading with retries that records unreadable sectors exactly.
#include "acquire/hidden_areas.hpp"
#include "core/posix_file.hpp"

#include <custody/source.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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

// The bus a disk hangs on, from the sysfs path of its device ("unknown" is left empty).
std::optional<std::string> transport_of(const std::filesystem::path& node) {
  std::error_code ignored;
  const std::string device = std::filesystem::canonical(node / "device", ignored).string();
  if (device.empty()) {
    return node.filename().string().starts_with("loop") ? std::optional<std::string>("loop")
                                                        : std::nullopt;
  }
  for (const char* bus : {"usb", "nvme", "ata", "mmc", "virtio", "scsi"}) {
    if (device.find(std::string("/") + bus) != std::string::npos) {
      return std::string(bus);
    }
  }
  return std::nullopt;
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
  info.firmware = read_sysfs(node / "device" / "rev");
  if (!info.firmware) {
    info.firmware = read_sysfs(node / "device" / "firmware_rev");  // NVMe
  }
  if (auto removable = read_sysfs(node / "removable")) {
    info.removable = *removable == "1";
  }
  if (auto rotational = read_sysfs(node / "queue" / "rotational")) {
    info.rotational = *rotational == "1";
  }
  info.transport = transport_of(node);
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

// A stream (pipe, socket, terminal): read once, in order; a read error ends it.
class StreamSource final : public Source {
 public:
  StreamSource(internal::UniqueFd fd, SourceInfo info)
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

// pread on the file or device; careful reads go through a second, O_DIRECT descriptor (when the
// kernel allows one) into an aligned bounce buffer.
class DescriptorReader final : public PositionedReader {
 public:
  DescriptorReader(internal::UniqueFd fd, std::string path, std::uint32_t alignment)
      : m_fd(std::move(fd)), m_path(std::move(path)), m_alignment(std::max(alignment, 512U)) {}

  Result<std::size_t> read_at(std::uint64_t offset,
                              std::span<std::byte> out,
                              bool careful) override {
    if (careful && offset % m_alignment == 0 && open_direct()) {
      return read_direct(offset, out);
    }
    return pread_full(m_fd.get(), offset, out);
  }

 private:
  Result<std::size_t> pread_full(int fd, std::uint64_t offset, std::span<std::byte> out) {
    return internal::pread_full(fd, out, m_path, offset);
  }

  bool open_direct() {
    if (!m_direct_tried) {
      m_direct_tried = true;
      m_direct = internal::UniqueFd(::open(("/proc/self/fd/" + std::to_string(m_fd.get())).c_str(),
                                           O_RDONLY | O_DIRECT | O_CLOEXEC));
    }
    return static_cast<bool>(m_direct);
  }

  Result<std::size_t> read_direct(std::uint64_t offset, std::span<std::byte> out) {
    const std::size_t rounded = (out.size() + m_alignment - 1) / m_alignment * m_alignment;
    if (m_bounce_size < rounded) {
      void* memory = std::aligned_alloc(4096, (rounded + 4095) / 4096 * 4096);
      if (memory == nullptr) {
        return make_error(Errc::internal, "out of memory for a careful read");
      }
      m_bounce.reset(static_cast<std::byte*>(memory));
      m_bounce_size = rounded;
    }
    auto got = pread_full(m_direct.get(), offset, std::span(m_bounce.get(), rounded));
    if (!got && got.error().sys_errno == EINVAL) {
      m_direct = internal::UniqueFd();  // this device refuses direct I/O: use the normal path
      return pread_full(m_fd.get(), offset, out);
    }
    CUSTODY_TRY(got);
    const std::size_t take = std::min(*got, out.size());
    std::memcpy(out.data(), m_bounce.get(), take);
    return take;
  }

  struct Free {
    void operator()(std::byte* memory) const { std::free(memory); }
  };

  internal::UniqueFd m_fd;
  std::string m_path;
  std::uint32_t m_alignment;
  bool m_direct_tried = false;
  internal::UniqueFd m_direct;
  std::unique_ptr<std::byte, Free> m_bounce;
  std::size_t m_bounce_size = 0;
};

class RecoveringSource final : public Source {
 public:
  RecoveringSource(std::unique_ptr<PositionedReader> reader,
                   SourceInfo info,
                   std::uint32_t sector_size,
                   ReadPolicy policy,
                   std::uint64_t start)
      : m_reader(std::move(reader)),
        m_info(std::move(info)),
        m_sector(std::max<std::uint32_t>(sector_size, 1)),
        m_policy(policy),
        m_offset(start) {}

  const SourceInfo& info() const override { return m_info; }
  std::vector<ByteRange> last_read_defects() const override { return m_last; }
  std::vector<Defect> defects() const override { return m_defects; }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    m_last.clear();
    std::size_t want = buffer.size();
    if (m_info.size) {
      want = static_cast<std::size_t>(
          std::min<std::uint64_t>(want, *m_info.size - std::min(m_offset, *m_info.size)));
    }
    if (want == 0) {
      return std::size_t{0};
    }
    const std::span<std::byte> out = buffer.first(want);
    auto got = attempt(m_offset, out, false);
    if (got) {
      // A short read before the size known at the start is judged by the pipeline
      // (run_pipeline): the source ended early.
      m_offset += *got;
      return *got;
    }
    if (device_gone(got.error().sys_errno)) {
      return tl::unexpected(std::move(got.error()));
    }
    // Something in this block is unreadable: find exactly which sectors, keep the rest.
    CUSTODY_TRY(salvage(m_offset, out));
    m_offset += want;
    return want;
  }

 private:
  // The device was removed or switched off: no sector of it can be read any more, so this is
  // the end of the acquisition, not a bad sector.
  static bool device_gone(int sys_errno) { return sys_errno == ENXIO || sys_errno == ENODEV; }

  // One read with the policy's retries.
  Result<std::size_t> attempt(std::uint64_t offset, std::span<std::byte> out, bool careful) {
    auto got = m_reader->read_at(offset, out, careful);
    for (unsigned retry = 0; retry < m_policy.retries && !got; ++retry) {
      got = m_reader->read_at(offset, out, true);
    }
    return got;
  }

  // Reads what can be read of `out` by halving the range down to single sectors.
  Result<void> salvage(std::uint64_t offset, std::span<std::byte> out) {
    if (out.size() <= m_sector) {
      auto got = attempt(offset, out, true);
      if (got && *got == out.size()) {
        return {};
      }
      if (!got && device_gone(got.error().sys_errno)) {
        return tl::unexpected(std::move(got.error()));
      }
      return record_defect(offset, out, got ? ENODATA : got.error().sys_errno);
    }
    auto got = m_reader->read_at(offset, out, true);
    if (got && *got == out.size()) {
      return {};
    }
    if (!got && device_gone(got.error().sys_errno)) {
      return tl::unexpected(std::move(got.error()));
    }
    const std::size_t sectors = (out.size() + m_sector - 1) / m_sector;
    const std::size_t half = sectors / 2 * m_sector;
    CUSTODY_TRY(salvage(offset, out.first(half)));
    return salvage(offset + half, out.subspan(half));
  }

  Result<void> record_defect(std::uint64_t offset, std::span<std::byte> out, int sys_errno) {
    switch (m_policy.fill) {
      case ReadPolicy::Fill::zero:
        std::fill(out.begin(), out.end(), std::byte{0});
        break;
      case ReadPolicy::Fill::byte:
        std::fill(out.begin(), out.end(), m_policy.fill_byte);
        break;
      case ReadPolicy::Fill::unreadable_pattern:
        fill_with_unreadable_pattern(out, offset);
        break;
    }
    if (!m_last.empty() && m_last.back().offset + m_last.back().length == offset) {
      m_last.back().length += out.size();
    } else {
      m_last.push_back(ByteRange{offset, out.size()});
    }
    if (!m_defects.empty() && m_defects.back().offset + m_defects.back().length == offset &&
        m_defects.back().sys_errno == sys_errno) {
      m_defects.back().length += out.size();
    } else {
      m_defects.push_back(Defect{offset, out.size(), m_sector, sys_errno, {}});
    }
    ++m_bad_sectors;
    if (m_policy.max_bad_sectors != 0 && m_bad_sectors > m_policy.max_bad_sectors) {
      Error error{Errc::io_error,
                  fmt::format("more than {} unreadable sectors (the --max-errors limit); "
                              "stopped",
                              m_policy.max_bad_sectors),
                  m_info.path,
                  offset,
                  sys_errno,
                  {}};
      error.hint =
          "the medium may be failing badly: consider a hardware imager, or raise "
          "--max-errors";
      return tl::unexpected(std::move(error));
    }
    return {};
  }

  std::unique_ptr<PositionedReader> m_reader;
  SourceInfo m_info;
  std::uint32_t m_sector;
  ReadPolicy m_policy;
  std::uint64_t m_offset = 0;
  std::uint64_t m_bad_sectors = 0;
  std::vector<ByteRange> m_last;
  std::vector<Defect> m_defects;
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

std::unique_ptr<Source> make_recovering_source(std::unique_ptr<PositionedReader> reader,
                                               SourceInfo info,
                                               std::uint32_t sector_size,
                                               ReadPolicy policy,
                                               std::uint64_t start) {
  return std::make_unique<RecoveringSource>(std::move(reader), std::move(info), sector_size, policy,
                                            start);
}

// BLKROSET: the kernel refuses writes to the device from now on (until someone clears it).
Result<void> set_kernel_read_only(int fd, SourceInfo& info) {
  int read_only = 1;
  if (::ioctl(fd, BLKROSET, &read_only) != 0) {
    Error error{Errc::io_error, "cannot mark the device read-only (BLKROSET)",
                info.path,      {},
                errno,          "this needs root; or mark it with 'blockdev --setro' first"};
    return tl::unexpected(std::move(error));
  }
  info.set_read_only = true;
  if (::ioctl(fd, BLKROGET, &read_only) == 0) {
    info.kernel_read_only = read_only != 0;
  }
  return {};
}

std::string hidden_areas_for(int fd, const SourceInfo& info) {
  if (info.kind != SourceKind::block_device) {
    return "not applicable (not a disk)";
  }
  if (info.transport == "ata") {
    // Read-only ATA commands (IDENTIFY, READ NATIVE MAX ADDRESS EXT, DCO IDENTIFY).
    return internal::check_hidden_areas(fd);
  }
  return fmt::format("not checked (not an ATA device: {})", info.transport.value_or("unknown bus"));
}

Result<std::unique_ptr<Source>> open_source(const std::string& path,
                                            const ReadPolicy& policy,
                                            bool set_read_only,
                                            std::uint64_t start) {
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
  if (set_read_only) {
    if (info.kind != SourceKind::block_device) {
      return make_error(Errc::invalid_argument,
                        fmt::format("--set-readonly applies to block devices; {} is a {}", path,
                                    source_kind_name(info.kind)));
    }
    CUSTODY_TRY(set_kernel_read_only(fd.get(), info));
  }
  info.hidden_areas = hidden_areas_for(fd.get(), info);
  if (info.kind == SourceKind::stream) {
    if (start != 0) {
      return make_error(Errc::invalid_argument,
                        "a stream cannot be resumed: its beginning cannot be skipped");
    }
    return std::make_unique<StreamSource>(std::move(fd), std::move(info));
  }
  const std::uint32_t sector = info.logical_sector_size.value_or(512);
  auto reader = std::make_unique<DescriptorReader>(std::move(fd), path, sector);
  return make_recovering_source(std::move(reader), std::move(info), sector, policy, start);
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
