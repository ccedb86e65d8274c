// SPDX-License-Identifier: Apache-2.0
// Logical acquisition (see logical.hpp): walks directories without following links, reads
// archives through libarchive, and writes each regular file as one STORED ZIP member of an AFF4-L
// volume, hashing it with every requested algorithm in the same pass. Sparse files keep their
// holes out of the container: their data goes to "<member>/data" and an aff4:Map puts it in place.
#include "acquire/imaging.hpp"
#include "aff4/aff4_format.hpp"
#include "aff4/logical_json.hpp"
#include "aff4/turtle.hpp"
#include "core/host.hpp"
#include "core/input_guard.hpp"
#include "core/posix_file.hpp"
#include "core/utf8_locale.hpp"
#include "zip/zip.hpp"

#include <custody/acquisition.hpp>
#include <custody/logical.hpp>
#include <custody/text.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

namespace custody {
namespace {

namespace aff4 = internal::aff4;
using internal::UniqueFd;

constexpr std::size_t k_block = std::size_t{1} << 20U;
constexpr int k_max_depth = 4096;  // deeper trees are refused rather than overflow the stack

// Top-level names a source label must not take: they are the container's own members.
const std::set<std::string, std::less<>> k_reserved_labels = {"information.turtle", "version.txt",
                                                              "container.description", "custody"};

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

const std::array<std::byte, k_block>& zeros() {
  static const std::array<std::byte, k_block> block{};
  return block;
}

// Every requested algorithm over one file, in one pass.
class FileHashers {
 public:
  static Result<FileHashers> create(std::span<const HashAlgorithm> algorithms) {
    FileHashers out;
    for (HashAlgorithm algorithm : algorithms) {
      auto hasher = Hasher::create(algorithm);
      CUSTODY_TRY(hasher);
      out.m_hashers.push_back(std::move(*hasher));
    }
    return out;
  }
  void update(std::span<const std::byte> data) {
    for (Hasher& hasher : m_hashers) {
      hasher.update(data);
    }
  }
  void update_zeros(std::uint64_t length) {
    while (length > 0) {
      const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(length, k_block));
      update(std::span(zeros().data(), piece));
      length -= piece;
    }
  }
  DigestSet finish() {
    DigestSet out;
    for (Hasher& hasher : m_hashers) {
      out[hasher.algorithm()] = hasher.finish_hex();
    }
    return out;
  }

 private:
  std::vector<Hasher> m_hashers;
};

tl::unexpected<Error> fail(Errc code, std::string message, std::string path, std::string hint) {
  return tl::unexpected(Error{code, std::move(message), std::move(path), {}, 0, std::move(hint)});
}

std::string errno_reason(int sys_errno) {
  return std::strerror(sys_errno);
}

// --include/--exclude: a pattern without "/" matches the last component, one with "/" the path
// below the source ("*" crosses "/" there). --newer-than compares the modification time.
class Filters {
 public:
  enum class Verdict : std::uint8_t { take, not_included, excluded, older };

  static Result<Filters> create(const LogicalFilters& filters) {
    Filters out;
    out.m_filters = filters;
    if (filters.newer_than) {
      const auto time = internal::parse_ns_time(*filters.newer_than);
      if (!time) {
        return make_error(Errc::invalid_argument,
                          fmt::format("invalid --newer-than date '{}' (use 2024-05-01 or "
                                      "2024-05-01T12:00:00Z)",
                                      *filters.newer_than));
      }
      out.m_newer_than = *time;
    }
    return out;
  }

  bool excluded(std::string_view path) const { return matches_any(m_filters.exclude, path); }

  Verdict file(std::string_view path, const timespec& mtime) const {
    if (excluded(path)) {
      return Verdict::excluded;
    }
    if (!m_filters.include.empty() && !matches_any(m_filters.include, path)) {
      return Verdict::not_included;
    }
    if (m_newer_than &&
        (mtime.tv_sec < m_newer_than->tv_sec ||
         (mtime.tv_sec == m_newer_than->tv_sec && mtime.tv_nsec <= m_newer_than->tv_nsec))) {
      return Verdict::older;
    }
    return Verdict::take;
  }

 private:
  static bool matches_any(const std::vector<std::string>& patterns, std::string_view path) {
    const std::string full(path);
    const std::size_t slash = full.rfind('/');
    const std::string last = slash == std::string::npos ? full : full.substr(slash + 1);
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
      const std::string& subject = pattern.find('/') == std::string::npos ? last : full;
      return ::fnmatch(pattern.c_str(), subject.c_str(), FNM_PERIOD) == 0;
    });
  }

  LogicalFilters m_filters;
  std::optional<timespec> m_newer_than;
};

// Names of users and groups, looked up once each.
class NameCache {
 public:
  std::optional<std::string> user(std::uint64_t uid) {
    return lookup(m_users, uid, [](std::uint64_t id) -> std::optional<std::string> {
      std::array<char, 4096> buffer{};
      passwd entry{};
      passwd* found = nullptr;
      if (::getpwuid_r(static_cast<uid_t>(id), &entry, buffer.data(), buffer.size(), &found) == 0 &&
          found != nullptr) {
        return std::string(found->pw_name);
      }
      return std::nullopt;
    });
  }
  std::optional<std::string> group(std::uint64_t gid) {
    return lookup(m_groups, gid, [](std::uint64_t id) -> std::optional<std::string> {
      std::array<char, 4096> buffer{};
      struct group entry {};
      struct group* found = nullptr;
      if (::getgrgid_r(static_cast<gid_t>(id), &entry, buffer.data(), buffer.size(), &found) == 0 &&
          found != nullptr) {
        return std::string(found->gr_name);
      }
      return std::nullopt;
    });
  }

 private:
  template <typename F>
  static std::optional<std::string> lookup(
      std::map<std::uint64_t, std::optional<std::string>>& cache, std::uint64_t id, F resolve) {
    auto found = cache.find(id);
    if (found == cache.end()) {
      found = cache.emplace(id, resolve(id)).first;
    }
    return found->second;
  }

  std::map<std::uint64_t, std::optional<std::string>> m_users;
  std::map<std::uint64_t, std::optional<std::string>> m_groups;
};

// The AFF4-L volume being written: ZIP members, the turtle and the file list.
class LogicalWriter {
 public:
  LogicalWriter(internal::ZipWriter zip,
                std::string volume,
                const LogicalAcquireOptions& options,
                ProgressSink* progress,
                const CancelToken* cancel)
      : m_zip(std::move(zip)),
        m_volume(std::move(volume)),
        m_options(options),
        m_progress(progress),
        m_cancel(cancel) {
    m_manifest.algorithms = options.algorithms;
    m_manifest.filters = options.filters;
  }

  internal::ZipWriter& zip() { return m_zip; }
  LogicalManifest& manifest() { return m_manifest; }
  const std::string& volume() const { return m_volume; }
  std::uint64_t bytes_read() const { return m_bytes_read; }
  bool cancelled() const { return m_cancel != nullptr && m_cancel->cancelled(); }

  void add_defect(const std::string& path, std::string reason, int sys_errno) {
    m_manifest.defects.push_back(LogicalDefect{path, std::move(reason), sys_errno});
  }

  // The content of `entry` arrives as (offset, data) pieces in increasing offset order; a gap
  // between them, or up to the size at finish, is a hole. Sparse content (holes expected) goes
  // to "<member>/data" with an aff4:Map; otherwise holes are written out as zeros.
  class Content {
   public:
    Content(LogicalWriter& writer, LogicalEntry& entry, bool sparse, FileHashers hashers)
        : m_writer(writer), m_entry(entry), m_sparse(sparse), m_hashers(std::move(hashers)) {}

    Result<void> begin() {
      return m_writer.m_zip.begin_member(m_sparse ? m_entry.member + "/data" : m_entry.member);
    }

    Result<void> put(std::uint64_t offset, std::span<const std::byte> data) {
      if (offset < m_position) {
        return make_error(Errc::corrupt, "the source delivered overlapping data");
      }
      CUSTODY_TRY(hole(offset - m_position));
      if (data.empty()) {
        return {};
      }
      m_hashers.update(data);
      CUSTODY_TRY(m_writer.m_zip.write_member_data(data));
      if (!m_entry.data_ranges.empty() &&
          m_entry.data_ranges.back().first + m_entry.data_ranges.back().second == m_position) {
        m_entry.data_ranges.back().second += data.size();
      } else {
        m_entry.data_ranges.emplace_back(m_position, data.size());
      }
      m_position += data.size();
      m_writer.m_bytes_read += data.size();
      m_writer.report_progress();
      return {};
    }

    // `size`: the file's size (a trailing hole is added up to it).
    Result<void> finish(std::uint64_t size) {
      CUSTODY_TRY(hole(size > m_position ? size - m_position : 0));
      CUSTODY_TRY(m_writer.m_zip.end_member());
      m_entry.size = m_position;
      m_entry.hashes = m_hashers.finish();
      if (m_sparse) {
        CUSTODY_TRY(write_map());
      } else {
        m_entry.data_ranges.clear();  // no holes: the whole member is data
      }
      return {};
    }

   private:
    Result<void> hole(std::uint64_t length) {
      if (length == 0) {
        return {};
      }
      m_hashers.update_zeros(length);
      if (!m_sparse) {
        for (std::uint64_t left = length; left > 0;) {
          const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(left, k_block));
          CUSTODY_TRY(m_writer.m_zip.write_member_data(std::span(zeros().data(), piece)));
          left -= piece;
        }
      }
      m_position += length;
      return {};
    }

    // <member>/map and <member>/idx as for a physical image (aff4-subset.md §4.3): data ranges
    // point into <member>/data (target 0), holes at aff4:Zero (target 1), every byte mapped.
    Result<void> write_map() {
      std::string map;
      std::uint64_t mapped = 0;
      std::uint64_t stored = 0;
      const auto add = [&map](std::uint64_t at, std::uint64_t length, std::uint64_t target,
                              std::uint32_t id) {
        std::array<std::byte, aff4::k_map_entry_size> record{};
        aff4::put_u64(record.data(), at);
        aff4::put_u64(record.data() + 8, length);
        aff4::put_u64(record.data() + 16, target);
        aff4::put_u32(record.data() + 24, id);
        map.append(reinterpret_cast<const char*>(record.data()), record.size());
      };
      for (const auto& [offset, length] : m_entry.data_ranges) {
        if (offset > mapped) {
          add(mapped, offset - mapped, mapped, 1);
        }
        add(offset, length, stored, 0);
        stored += length;
        mapped = offset + length;
      }
      if (m_entry.size > mapped) {
        add(mapped, m_entry.size - mapped, mapped, 1);
      }
      const std::string urn = m_writer.m_volume + "/" + m_entry.member;
      const std::string idx = urn + "/data\n" + aff4::term("Zero") + "\n";
      CUSTODY_TRY(m_writer.m_zip.add_member(m_entry.member + "/map", bytes_of(map)));
      CUSTODY_TRY(m_writer.m_zip.add_member(m_entry.member + "/idx", bytes_of(idx)));
      return {};
    }

    LogicalWriter& m_writer;
    LogicalEntry& m_entry;
    bool m_sparse;
    FileHashers m_hashers;
    std::uint64_t m_position = 0;
  };

  // Chooses the member for a new file entry; false if the path was already taken.
  bool claim_member(LogicalEntry& entry) {
    entry.member = encode_logical_path(entry.path);
    return m_paths.insert(entry.path).second && !m_zip.has_member(entry.member);
  }
  bool claim_path(const std::string& path) { return m_paths.insert(path).second; }

  void add_entry(LogicalEntry entry) { m_manifest.entries.push_back(std::move(entry)); }

  void report_progress() {
    if (m_progress != nullptr) {
      m_progress->update(m_bytes_read, 0);
    }
  }

  NameCache& names() { return m_names; }
  const LogicalAcquireOptions& options() const { return m_options; }

 private:
  internal::ZipWriter m_zip;
  std::string m_volume;
  const LogicalAcquireOptions& m_options;
  ProgressSink* m_progress;
  const CancelToken* m_cancel;
  LogicalManifest m_manifest;
  std::set<std::string> m_paths;
  NameCache m_names;
  std::uint64_t m_bytes_read = 0;
};

void count_exclusion(LogicalExclusions& excluded, Filters::Verdict verdict, std::uint64_t size) {
  switch (verdict) {
    case Filters::Verdict::not_included:
      ++excluded.not_included;
      break;
    case Filters::Verdict::excluded:
      ++excluded.excluded;
      break;
    case Filters::Verdict::older:
      ++excluded.older;
      break;
    case Filters::Verdict::take:
      return;
  }
  excluded.bytes += size;
}

LogicalEntryType type_of_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return LogicalEntryType::directory;
    case S_IFLNK:
      return LogicalEntryType::symlink;
    case S_IFIFO:
      return LogicalEntryType::fifo;
    case S_IFSOCK:
      return LogicalEntryType::socket;
    case S_IFCHR:
      return LogicalEntryType::char_device;
    case S_IFBLK:
      return LogicalEntryType::block_device;
    default:
      return LogicalEntryType::file;
  }
}

std::string time_of(const statx_timestamp& time) {
  return internal::format_ns_time(time.tv_sec, time.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// Directories and files on a file system.

class TreeWalker {
 public:
  TreeWalker(LogicalWriter& writer, Filters& filters, dev_t output_dev, ino_t output_ino)
      : m_writer(writer), m_filters(filters), m_output_dev(output_dev), m_output_ino(output_ino) {}

  // `dirfd`/`name`: the entry; `full_path`: for xattr calls and messages; `label_path`: the
  // entry's path in the container; `relative`: its path below the source (for the filters).
  Result<void> visit(int dirfd,
                     const std::string& name,
                     const std::string& full_path,
                     const std::string& label_path,
                     const std::string& relative,
                     int depth) {
    if (m_writer.cancelled()) {
      return {};
    }
    struct statx status {};
    if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
                STATX_BASIC_STATS | STATX_BTIME, &status) != 0) {
      const int sys_errno = errno;
      m_writer.add_defect(label_path, "cannot read its metadata: " + errno_reason(sys_errno),
                          sys_errno);
      return {};
    }
    LogicalEntry entry = describe(status, full_path, label_path);
    if (entry.type == LogicalEntryType::directory) {
      return visit_directory(dirfd, name, full_path, std::move(entry), relative, depth);
    }
    const timespec mtime{status.stx_mtime.tv_sec, status.stx_mtime.tv_nsec};
    const auto verdict =
        relative.empty() ? Filters::Verdict::take : m_filters.file(relative, mtime);
    if (verdict != Filters::Verdict::take) {
      count_exclusion(m_writer.manifest().excluded, verdict, status.stx_size);
      return {};
    }
    if (entry.type == LogicalEntryType::symlink) {
      entry.link_target = read_link(dirfd, name, label_path);
    } else if (entry.type == LogicalEntryType::file) {
      return visit_file(dirfd, name, status, std::move(entry));
    }
    m_writer.claim_path(entry.path);
    m_writer.add_entry(std::move(entry));
    return {};
  }

 private:
  LogicalEntry describe(const struct statx& status,
                        const std::string& full_path,
                        const std::string& label_path) {
    LogicalEntry entry;
    entry.path = label_path;
    entry.type = type_of_mode(status.stx_mode);
    entry.size = entry.type == LogicalEntryType::file ? status.stx_size : 0;
    entry.mode = status.stx_mode & 07777U;
    entry.uid = status.stx_uid;
    entry.gid = status.stx_gid;
    entry.user = m_writer.names().user(status.stx_uid);
    entry.group = m_writer.names().group(status.stx_gid);
    entry.mtime = time_of(status.stx_mtime);
    entry.atime = time_of(status.stx_atime);
    entry.ctime = time_of(status.stx_ctime);
    if ((status.stx_mask & STATX_BTIME) != 0) {
      entry.btime = time_of(status.stx_btime);
    }
    entry.inode = status.stx_ino;
    entry.nlink = status.stx_nlink;
    read_xattrs(full_path, entry);
    return entry;
  }

  // Extended attributes of the entry itself (l*xattr: a link's own, never its target's).
  void read_xattrs(const std::string& full_path, LogicalEntry& entry) {
    std::string names(4096, '\0');
    ssize_t length = ::llistxattr(full_path.c_str(), names.data(), names.size());
    if (length < 0 && errno == ERANGE) {
      length = ::llistxattr(full_path.c_str(), nullptr, 0);
      names.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
      length = ::llistxattr(full_path.c_str(), names.data(), names.size());
    }
    if (length < 0) {
      if (errno != ENOTSUP) {
        const int sys_errno = errno;
        m_writer.add_defect(entry.path,
                            "cannot list its extended attributes: " + errno_reason(sys_errno),
                            sys_errno);
      }
      return;
    }
    names.resize(static_cast<std::size_t>(length));
    for (std::size_t start = 0; start < names.size();) {
      const std::string name = names.c_str() + start;
      start += name.size() + 1;
      const ssize_t size = ::lgetxattr(full_path.c_str(), name.c_str(), nullptr, 0);
      std::string value(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
      const ssize_t got =
          size > 0 ? ::lgetxattr(full_path.c_str(), name.c_str(), value.data(), value.size()) : 0;
      if (size < 0 || got < 0) {
        const int sys_errno = errno;
        m_writer.add_defect(
            entry.path,
            fmt::format("cannot read its extended attribute {}: {}", name, errno_reason(sys_errno)),
            sys_errno);
        continue;
      }
      value.resize(static_cast<std::size_t>(got));
      entry.xattrs[name] = value;
    }
  }

  std::string read_link(int dirfd, const std::string& name, const std::string& label_path) {
    std::string target(4096, '\0');
    const ssize_t length = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (length < 0) {
      const int sys_errno = errno;
      m_writer.add_defect(label_path, "cannot read the link: " + errno_reason(sys_errno),
                          sys_errno);
      return {};
    }
    target.resize(static_cast<std::size_t>(length));
    return target;
  }

  // O_NOFOLLOW: a name swapped for a link since statx is refused, not followed. O_NOATIME keeps
  // the access times as they were, where we may (owner or CAP_FOWNER).
  static UniqueFd open_entry(int dirfd, const std::string& name, int flags) {
    int fd = ::openat(dirfd, name.c_str(), flags | O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM) {
      fd = ::openat(dirfd, name.c_str(), flags | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    return UniqueFd(fd);
  }

  Result<void> visit_directory(int dirfd,
                               const std::string& name,
                               const std::string& full_path,
                               LogicalEntry entry,
                               const std::string& relative,
                               int depth) {
    if (!relative.empty() && m_filters.excluded(relative)) {
      ++m_writer.manifest().excluded.excluded_directories;
      return {};
    }
    if (depth > k_max_depth) {
      m_writer.add_defect(entry.path, "nested too deeply; its content was not taken", 0);
      m_writer.add_entry(std::move(entry));
      return {};
    }
    const std::string label_path = entry.path;
    m_writer.claim_path(label_path);
    m_writer.add_entry(std::move(entry));
    UniqueFd fd = open_entry(dirfd, name, O_DIRECTORY | O_NONBLOCK);
    if (!fd) {
      const int sys_errno = errno;
      m_writer.add_defect(
          label_path,
          "cannot open the directory: " + errno_reason(sys_errno) + "; its content was not taken",
          sys_errno);
      return {};
    }
    auto names = list_directory(fd.get(), label_path);
    for (const std::string& child : names) {
      CUSTODY_TRY(visit(fd.get(), child, full_path + "/" + child, label_path + "/" + child,
                        relative.empty() ? child : relative + "/" + child, depth + 1));
    }
    return {};
  }

  std::vector<std::string> list_directory(int fd, const std::string& label_path) {
    std::vector<std::string> names;
    const int copy = ::dup(fd);
    DIR* dir = copy >= 0 ? ::fdopendir(copy) : nullptr;
    if (dir == nullptr) {
      const int sys_errno = errno;
      if (copy >= 0) {
        ::close(copy);
      }
      m_writer.add_defect(label_path, "cannot list the directory: " + errno_reason(sys_errno),
                          sys_errno);
      return names;
    }
    errno = 0;
    while (const dirent* item = ::readdir(dir)) {
      const std::string child = item->d_name;
      if (child != "." && child != "..") {
        names.push_back(child);
      }
      errno = 0;
    }
    if (errno != 0) {
      const int sys_errno = errno;
      m_writer.add_defect(
          label_path, "the directory could not be listed completely: " + errno_reason(sys_errno),
          sys_errno);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());  // the same tree gives the same container order
    return names;
  }

  Result<void> visit_file(int dirfd,
                          const std::string& name,
                          const struct statx& status,
                          LogicalEntry entry) {
    if (status.stx_dev_major == major(m_output_dev) &&
        status.stx_dev_minor == minor(m_output_dev) && status.stx_ino == m_output_ino) {
      m_writer.add_defect(entry.path, "this is the container being written; not taken", 0);
      return {};
    }
    if (status.stx_nlink > 1) {
      const auto key = std::make_tuple(status.stx_dev_major, status.stx_dev_minor, status.stx_ino);
      const auto [found, inserted] = m_links.emplace(key, entry.path);
      if (!inserted) {
        entry.type = LogicalEntryType::hardlink;
        entry.link_target = found->second;
        entry.size = 0;
        m_writer.claim_path(entry.path);
        m_writer.add_entry(std::move(entry));
        return {};
      }
    }
    if (!m_writer.claim_member(entry)) {
      m_writer.add_defect(entry.path, "the same path was given twice; the first one was taken", 0);
      return {};
    }
    UniqueFd fd = open_entry(dirfd, name, O_NONBLOCK);
    if (!fd) {
      return unreadable(std::move(entry), errno, "cannot open it");
    }
    struct stat opened {};
    if (::fstat(fd.get(), &opened) != 0 || !S_ISREG(opened.st_mode) ||
        opened.st_ino != status.stx_ino) {
      return unreadable(std::move(entry), 0, "it was replaced while it was being read");
    }
    return copy_file(fd.get(), status.stx_size, std::move(entry));
  }

  Result<void> unreadable(LogicalEntry entry, int sys_errno, const std::string& what) {
    entry.error = sys_errno != 0 ? fmt::format("{}: {}", what, errno_reason(sys_errno)) : what;
    entry.member.clear();
    m_writer.add_defect(entry.path, entry.error, sys_errno);
    m_writer.add_entry(std::move(entry));
    return {};
  }

  // Reads only the data of a sparse file (SEEK_DATA/SEEK_HOLE); holes are hashed as zeros.
  Result<void> copy_file(int fd, std::uint64_t size, LogicalEntry entry) {
    const off_t first_hole = size > 0 ? ::lseek(fd, 0, SEEK_HOLE) : 0;
    const bool sparse = first_hole >= 0 && static_cast<std::uint64_t>(first_hole) < size;
    auto hashers = FileHashers::create(m_writer.options().algorithms);
    CUSTODY_TRY(hashers);
    LogicalWriter::Content content(m_writer, entry, sparse, std::move(*hashers));
    CUSTODY_TRY(content.begin());
    std::vector<std::byte> buffer(k_block);
    std::uint64_t offset = 0;
    std::string problem;
    int problem_errno = 0;
    while (offset < size && !m_writer.cancelled()) {
      std::uint64_t data_end = size;
      if (sparse) {
        const off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
        if (data < 0) {
          break;  // ENXIO: only a hole is left
        }
        const off_t hole = ::lseek(fd, data, SEEK_HOLE);
        offset = static_cast<std::uint64_t>(data);
        data_end =
            std::min<std::uint64_t>(size, hole < 0 ? size : static_cast<std::uint64_t>(hole));
      }
      while (offset < data_end) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(k_block, data_end - offset));
        const ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) {
          continue;
        }
        if (got <= 0) {
          problem_errno = got < 0 ? errno : 0;
          problem = got < 0 ? fmt::format("read error at byte {}: {}", offset,
                                          errno_reason(problem_errno))
                            : fmt::format("it became shorter while it was read ({} of {} bytes)",
                                          offset, size);
          break;
        }
        CUSTODY_TRY(content.put(offset, std::span(buffer.data(), static_cast<std::size_t>(got))));
        offset += static_cast<std::uint64_t>(got);
      }
      if (!problem.empty()) {
        break;
      }
    }
    CUSTODY_TRY(content.finish(problem.empty() && !m_writer.cancelled() ? size : offset));
    if (!problem.empty()) {
      // What was read is kept and hashed; the entry says it is incomplete.
      entry.error = problem + "; the bytes before it are kept";
      m_writer.add_defect(entry.path, entry.error, problem_errno);
    }
    m_writer.add_entry(std::move(entry));
    return {};
  }

  LogicalWriter& m_writer;
  Filters& m_filters;
  dev_t m_output_dev;
  ino_t m_output_ino;
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>, std::string> m_links;
};

// ---------------------------------------------------------------------------------------------
// Archives (zip, tar, 7z, ...) through libarchive.

struct ReadArchiveDeleter {
  void operator()(archive* handle) const { archive_read_free(handle); }
};
using ReadArchive = std::unique_ptr<archive, ReadArchiveDeleter>;

ReadArchive new_archive_reader() {
  ReadArchive handle(archive_read_new());
  archive_read_support_filter_all(handle.get());
  // Real archive formats only: "raw", "empty" and "mtree" would take any file for an archive.
  for (auto* enable : {archive_read_support_format_tar, archive_read_support_format_zip,
                       archive_read_support_format_7zip, archive_read_support_format_cpio,
                       archive_read_support_format_rar, archive_read_support_format_rar5,
                       archive_read_support_format_iso9660, archive_read_support_format_cab,
                       archive_read_support_format_lha, archive_read_support_format_xar,
                       archive_read_support_format_ar}) {
    enable(handle.get());
  }
  return handle;
}

// Normalised path of an archive entry: no leading "/" or "./", no "." or empty components
// (".." stays, and is encoded so that it never climbs).
std::string normalise_archive_path(std::string_view name) {
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      slash = name.size();
    }
    const std::string_view component = name.substr(start, slash - start);
    if (!component.empty() && component != ".") {
      out += (out.empty() ? "" : "/") + std::string(component);
    }
    start = slash + 1;
  }
  return out;
}

std::string archive_time(bool is_set, std::int64_t seconds, long nanoseconds) {
  return is_set ? internal::format_ns_time(seconds, static_cast<std::uint32_t>(nanoseconds))
                : std::string();
}

class ArchiveReader {
 public:
  ArchiveReader(LogicalWriter& writer, Filters& filters, std::string label)
      : m_writer(writer), m_filters(filters), m_label(std::move(label)) {}

  // Reads every entry of the archive open on `fd`; false if libarchive does not know it (then
  // nothing was added).
  Result<bool> read(int fd, LogicalSourceRecord& source) {
    const internal::ScopedUtf8Locale utf8;
    ReadArchive handle = new_archive_reader();
    if (::lseek(fd, 0, SEEK_SET) != 0 ||
        archive_read_open_fd(handle.get(), fd, static_cast<std::size_t>(k_block)) != ARCHIVE_OK) {
      return false;
    }
    archive_entry* header = nullptr;
    int status = archive_read_next_header(handle.get(), &header);
    if (status == ARCHIVE_EOF || status == ARCHIVE_FATAL) {
      return false;
    }
    const char* format = archive_format_name(handle.get());
    source.archive_format = format != nullptr ? format : "unknown";
    source.kind = "archive";
    m_writer.claim_path(m_label);
    LogicalEntry root;
    root.path = m_label;
    root.type = LogicalEntryType::directory;
    m_writer.add_entry(std::move(root));
    std::uint64_t index = 0;
    for (; status != ARCHIVE_EOF && !m_writer.cancelled();
         status = archive_read_next_header(handle.get(), &header), ++index) {
      if (status == ARCHIVE_FATAL) {
        m_writer.add_defect(m_label,
                            fmt::format("the archive cannot be read beyond entry {}: {}", index,
                                        error_text(handle.get())),
                            archive_errno(handle.get()));
        break;
      }
      if (status == ARCHIVE_RETRY) {
        continue;
      }
      auto kept = entry(handle.get(), header, index, status == ARCHIVE_WARN);
      CUSTODY_TRY(kept);
      if (!*kept) {
        break;
      }
    }
    return true;
  }

 private:
  static std::string error_text(archive* handle) {
    const char* text = archive_error_string(handle);
    return text != nullptr ? text : "unknown error";
  }

  // One entry; false if reading it broke the archive (nothing after it can be read).
  Result<bool> entry(archive* handle, archive_entry* header, std::uint64_t index, bool warned) {
    const char* raw_name = archive_entry_pathname(header);
    const std::string name = raw_name != nullptr ? raw_name : fmt::format("entry-{}", index);
    const std::string relative = normalise_archive_path(name);
    if (relative.empty()) {
      return true;  // "./": the archive's root, already listed
    }
    LogicalEntry entry;
    entry.path = m_label + "/" + relative;
    if (relative != name) {
      entry.archive_name = name;
    }
    describe(header, entry);
    if (warned) {
      m_writer.add_defect(entry.path, "the archive reported: " + error_text(handle),
                          archive_errno(handle));
    }
    if (entry.type == LogicalEntryType::directory) {
      if (m_filters.excluded(relative)) {
        ++m_writer.manifest().excluded.excluded_directories;
      } else if (m_writer.claim_path(entry.path)) {
        m_writer.add_entry(std::move(entry));
      }
      return true;
    }
    const timespec mtime{archive_entry_mtime(header), archive_entry_mtime_nsec(header)};
    // A file inside an excluded directory is excluded too (archives list paths, not a tree).
    const auto verdict = excluded_by_directory(relative) ? Filters::Verdict::excluded
                                                         : m_filters.file(relative, mtime);
    if (verdict != Filters::Verdict::take) {
      count_exclusion(m_writer.manifest().excluded, verdict, entry.size);
      return true;
    }
    if (entry.type != LogicalEntryType::file) {
      if (!m_writer.claim_path(entry.path)) {
        m_writer.add_defect(entry.path, "the archive holds this name twice; the first is kept", 0);
        return true;
      }
      m_writer.add_entry(std::move(entry));
      return true;
    }
    if (!m_writer.claim_member(entry)) {
      m_writer.add_defect(entry.path, "the archive holds this name twice; the first is kept", 0);
      return true;
    }
    return copy(handle, header, std::move(entry));
  }

  bool excluded_by_directory(const std::string& relative) const {
    for (std::size_t slash = relative.find('/'); slash != std::string::npos;
         slash = relative.find('/', slash + 1)) {
      if (m_filters.excluded(relative.substr(0, slash))) {
        return true;
      }
    }
    return false;
  }

  void describe(archive_entry* header, LogicalEntry& entry) {
    const char* hardlink = archive_entry_hardlink(header);
    entry.type = hardlink != nullptr ? LogicalEntryType::hardlink
                                     : type_of_mode(archive_entry_filetype(header));
    if (hardlink != nullptr) {
      entry.link_target = m_label + "/" + normalise_archive_path(hardlink);
    } else if (const char* target = archive_entry_symlink(header); target != nullptr) {
      entry.type = LogicalEntryType::symlink;
      entry.link_target = target;
    }
    entry.size = archive_entry_size_is_set(header) != 0 && entry.type == LogicalEntryType::file
                     ? static_cast<std::uint64_t>(archive_entry_size(header))
                     : 0;
    entry.mode = archive_entry_perm(header) & 07777U;
    entry.uid = static_cast<std::uint64_t>(archive_entry_uid(header));
    entry.gid = static_cast<std::uint64_t>(archive_entry_gid(header));
    if (const char* user = archive_entry_uname(header); user != nullptr && *user != '\0') {
      entry.user = user;
    }
    if (const char* group = archive_entry_gname(header); group != nullptr && *group != '\0') {
      entry.group = group;
    }
    entry.mtime = archive_time(archive_entry_mtime_is_set(header) != 0, archive_entry_mtime(header),
                               archive_entry_mtime_nsec(header));
    entry.atime = archive_time(archive_entry_atime_is_set(header) != 0, archive_entry_atime(header),
                               archive_entry_atime_nsec(header));
    entry.ctime = archive_time(archive_entry_ctime_is_set(header) != 0, archive_entry_ctime(header),
                               archive_entry_ctime_nsec(header));
    entry.btime =
        archive_time(archive_entry_birthtime_is_set(header) != 0, archive_entry_birthtime(header),
                     archive_entry_birthtime_nsec(header));
    archive_entry_xattr_reset(header);
    const char* xattr_name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    while (archive_entry_xattr_next(header, &xattr_name, &value, &size) == ARCHIVE_OK) {
      entry.xattrs[xattr_name] = std::string(static_cast<const char*>(value), size);
    }
  }

  Result<bool> copy(archive* handle, archive_entry* header, LogicalEntry entry) {
    const bool sparse = archive_entry_sparse_reset(header) > 0;
    auto hashers = FileHashers::create(m_writer.options().algorithms);
    CUSTODY_TRY(hashers);
    LogicalWriter::Content content(m_writer, entry, sparse, std::move(*hashers));
    CUSTODY_TRY(content.begin());
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int status = ARCHIVE_OK;
    while ((status = archive_read_data_block(handle, &block, &size, &offset)) == ARCHIVE_OK) {
      CUSTODY_TRY(content.put(static_cast<std::uint64_t>(offset),
                              std::span(static_cast<const std::byte*>(block), size)));
    }
    const bool failed = status != ARCHIVE_EOF;
    const std::uint64_t declared = entry.size;
    CUSTODY_TRY(content.finish(failed ? 0 : declared));
    if (failed) {
      entry.error = fmt::format("cannot be read from the archive: {}; the bytes before it are kept",
                                error_text(handle));
      m_writer.add_defect(entry.path, entry.error, archive_errno(handle));
    }
    m_writer.add_entry(std::move(entry));
    return status != ARCHIVE_FATAL;
  }

  LogicalWriter& m_writer;
  Filters& m_filters;
  std::string m_label;
};

// ---------------------------------------------------------------------------------------------

// The top-level name of a source in the container: its last component, made unique.
std::string label_for(const std::string& path, std::set<std::string>& taken) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  std::string base =
      trimmed.substr(trimmed.rfind('/') == std::string::npos ? 0 : trimmed.rfind('/') + 1);
  if (base.empty() || base == "." || base == ".." || base == "/") {
    char cwd[4096] = {};
    const char* resolved = ::realpath(trimmed.c_str(), cwd);
    const std::string full = resolved != nullptr ? resolved : "";
    base = full.size() > 1 ? full.substr(full.rfind('/') + 1) : "root";
  }
  std::string label = base;
  for (int n = 2; taken.contains(label) || k_reserved_labels.contains(label); ++n) {
    label = fmt::format("{}-{}", base, n);
  }
  taken.insert(label);
  return label;
}

Result<DigestSet> hash_whole_file(int fd,
                                  std::span<const HashAlgorithm> algorithms,
                                  const std::string& path) {
  auto hashers = FileHashers::create(algorithms);
  CUSTODY_TRY(hashers);
  std::vector<std::byte> buffer(k_block);
  for (std::uint64_t offset = 0;;) {
    auto got = internal::pread_full(fd, buffer, path, offset);
    CUSTODY_TRY(got);
    if (*got == 0) {
      break;
    }
    hashers->update(std::span(buffer.data(), *got));
    offset += *got;
  }
  return hashers->finish();
}

Result<void> acquire_source(LogicalWriter& writer,
                            Filters& filters,
                            const std::string& path,
                            const std::string& label,
                            const struct stat& output) {
  LogicalSourceRecord source;
  source.path = path;
  source.label = label;
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    return fail(Errc::not_found, "cannot read the source: " + errno_reason(errno), path,
                "check the path; give directories, files or archives");
  }
  if (S_ISDIR(status.st_mode)) {
    source.kind = "directory";
  } else if (S_ISREG(status.st_mode) && writer.options().expand_archives) {
    // A file that cannot be opened or read here is not an archive; taking it as a file below
    // records why it is unreadable as a defect.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    auto hashes = fd ? hash_whole_file(fd.get(), writer.options().algorithms, path)
                     : Result<DigestSet>(DigestSet{});
    if (fd && hashes) {
      ArchiveReader reader(writer, filters, label);
      source.size = static_cast<std::uint64_t>(status.st_size);
      auto is_archive = reader.read(fd.get(), source);
      CUSTODY_TRY(is_archive);
      if (*is_archive) {
        source.hashes = std::move(*hashes);
        writer.manifest().sources.push_back(std::move(source));
        return {};
      }
    }
    source.kind = "file";
  } else {
    source.kind = S_ISREG(status.st_mode) ? "file" : "special";
  }
  // A directory, or one file (or link, fifo, ...): walked from its parent.
  const std::string parent = path.find('/') == std::string::npos
                                 ? "."
                                 : (path.rfind('/') == 0 ? "/" : path.substr(0, path.rfind('/')));
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  UniqueFd parent_fd;
  if (source.kind == "directory") {
    // Open the directory itself and visit "." so that "dir/", "." and "/" all work.
    parent_fd = UniqueFd(::open(trimmed.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    name = ".";
  } else {
    parent_fd = UniqueFd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!parent_fd) {
    return fail(Errc::io_error, "cannot open the source: " + errno_reason(errno), path,
                "check its permissions");
  }
  if (source.kind == "file") {
    source.size = static_cast<std::uint64_t>(status.st_size);
  }
  writer.manifest().sources.push_back(source);
  TreeWalker walker(writer, filters, output.st_dev, output.st_ino);
  return walker.visit(parent_fd.get(), name, trimmed, label, "", 0);
}

// information.turtle: each file with content as pyaff4 describes it (aff4:FileImage).
std::string logical_turtle(const std::string& volume, const LogicalManifest& manifest) {
  internal::TurtleWriter turtle;
  turtle.add_iri(volume, internal::k_rdf_type, aff4::term("ZipVolume"));
  const std::pair<HashAlgorithm, const char*> types[] = {{HashAlgorithm::md5, "MD5"},
                                                         {HashAlgorithm::sha1, "SHA1"},
                                                         {HashAlgorithm::sha256, "SHA256"},
                                                         {HashAlgorithm::sha512, "SHA512"},
                                                         {HashAlgorithm::blake2b_512, "Blake2b"}};
  for (const LogicalEntry& entry : manifest.entries) {
    if (entry.type != LogicalEntryType::file || entry.member.empty()) {
      continue;
    }
    const std::string urn = volume + "/" + entry.member;
    turtle.add_iri(urn, internal::k_rdf_type, aff4::term("FileImage"));
    turtle.add_iri(urn, internal::k_rdf_type, aff4::term("Image"));
    const bool sparse = !entry.data_ranges.empty();
    turtle.add_iri(urn, internal::k_rdf_type, aff4::term(sparse ? "Map" : "zip_segment"));
    const std::pair<const char*, const std::string*> times[] = {{"birthTime", &entry.btime},
                                                                {"lastAccessed", &entry.atime},
                                                                {"lastWritten", &entry.mtime},
                                                                {"recordChanged", &entry.ctime}};
    for (const auto& [predicate, value] : times) {
      if (!value->empty()) {
        turtle.add_literal(urn, aff4::term(predicate), *value, aff4::xsd("dateTime"));
      }
    }
    for (const auto& [algorithm, type] : types) {
      if (auto found = entry.hashes.find(algorithm); found != entry.hashes.end()) {
        turtle.add_literal(urn, aff4::term("hash"), found->second, aff4::term(type));
      }
    }
    turtle.add_literal(urn, aff4::term("originalFileName"), entry.path, aff4::xsd("string"));
    turtle.add_literal(urn, aff4::term("size"), std::to_string(entry.size), aff4::xsd("long"));
    turtle.add_iri(urn, aff4::term("stored"), volume);
    if (sparse) {
      turtle.add_iri(urn, aff4::term("dependentStream"), urn + "/data");
      turtle.add_iri(urn, aff4::term("mapGapDefaultStream"), aff4::term("Zero"));
      turtle.add_iri(urn + "/data", internal::k_rdf_type, aff4::term("zip_segment"));
      turtle.add_iri(urn + "/data", aff4::term("stored"), volume);
    }
  }
  return turtle.str();
}

LogicalSummary summarise(const LogicalManifest& manifest) {
  LogicalSummary summary;
  for (const LogicalEntry& entry : manifest.entries) {
    switch (entry.type) {
      case LogicalEntryType::file:
        ++summary.files;
        summary.bytes += entry.size;
        break;
      case LogicalEntryType::directory:
        ++summary.directories;
        break;
      case LogicalEntryType::symlink:
      case LogicalEntryType::hardlink:
        ++summary.links;
        break;
      default:
        ++summary.other;
    }
  }
  summary.unreadable = manifest.defects.size();
  summary.sources = manifest.sources;
  summary.filters = manifest.filters;
  summary.excluded = manifest.excluded;
  return summary;
}

AcquisitionRecord start_record(const LogicalAcquireOptions& options) {
  AcquisitionRecord record;
  record.tool_name = options.tool_name;
  record.tool_version = k_version;
  const internal::HostDescription host = internal::describe_this_host();
  record.hostname = host.name;
  record.system = host.system;
  record.case_info = options.case_info;
  std::string sources;
  for (const std::string& source : options.sources) {
    sources += (sources.empty() ? "" : ", ") + source;
  }
  record.source.path = sources;
  record.source.kind = SourceKind::file;
  record.source.hidden_areas = "not applicable (logical acquisition)";
  record.started = utc_now();
  record.image_format = "aff4";
  record.defect_fill = "zero";
  return record;
}

Result<void> check_options(const LogicalAcquireOptions& options) {
  if (options.sources.empty()) {
    return fail(Errc::invalid_argument, "no source to acquire", {},
                "give directories, files or archives after --logical");
  }
  if (options.algorithms.empty()) {
    return make_error(Errc::invalid_argument, "no hash algorithm given");
  }
  if (options.output_base.empty()) {
    return make_error(Errc::invalid_argument, "no output name given");
  }
  return {};
}

}  // namespace

Result<LogicalAcquisitionResult> internal::take_files(const LogicalAcquireOptions& options,
                                                      ProgressSink* progress,
                                                      const CancelToken* cancel) {
  CUSTODY_TRY(check_options(options));
  auto filters = Filters::create(options.filters);
  CUSTODY_TRY(filters);
  for (const std::string& source : options.sources) {
    struct stat status {};
    if (::lstat(source.c_str(), &status) != 0) {
      return fail(Errc::not_found, "source not found", source,
                  "check the path; give directories, files or archives");
    }
  }
  AcquisitionRecord record = start_record(options);
  const std::string path = container_path_for(options.output_base);
  // Never over a source, and never inside a source folder (a new file there alters the evidence).
  internal::InputGuard guard;
  guard.add_all(options.sources);
  CUSTODY_TRY(guard.check_output(path));
  auto zip = internal::ZipWriter::create(path, options.overwrite);
  CUSTODY_TRY(zip);
  struct stat output {};
  ::stat(path.c_str(), &output);
  const std::string volume = aff4::new_urn();
  CUSTODY_TRY(zip->add_member("container.description", bytes_of(volume)));
  const std::string version = fmt::format("major=1\nminor=1\ntool=custody {}\n", k_version);
  CUSTODY_TRY(zip->add_member("version.txt", bytes_of(version)));

  LogicalWriter writer(std::move(*zip), volume, options, progress, cancel);
  std::set<std::string> labels;
  for (const std::string& source : options.sources) {
    if (writer.cancelled()) {
      break;
    }
    CUSTODY_TRY(acquire_source(writer, *filters, source, label_for(source, labels), output));
  }

  LogicalManifest& manifest = writer.manifest();
  const std::string manifest_json = logical_manifest_to_json(manifest);
  auto manifest_hashes = hash_bytes(bytes_of(manifest_json), options.algorithms);
  CUSTODY_TRY(manifest_hashes);
  auto manifest_sha256 = hash_bytes(bytes_of(manifest_json), std::array{HashAlgorithm::sha256});
  CUSTODY_TRY(manifest_sha256);

  LogicalSummary summary = summarise(manifest);
  summary.manifest_sha256 = manifest_sha256->at(HashAlgorithm::sha256);
  record.status = writer.cancelled() ? AcquisitionStatus::interrupted : AcquisitionStatus::complete;
  record.finished = utc_now();
  record.bytes_read = writer.bytes_read();
  record.hashes = *manifest_hashes;
  record.image_size = summary.bytes;
  record.source.size = summary.bytes;
  ContainerRecord container;
  container.file = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  container.volume_urn = volume;
  container.image_urn = volume;  // no single image: the files are aff4:FileImage objects
  container.compression = "none";
  container.stored_chunks = summary.files;
  record.container = container;
  record.logical = std::move(summary);

  LogicalAcquisitionResult result;
  result.record_json = record_to_json(record);
  const std::string turtle = logical_turtle(volume, manifest);
  internal::ZipWriter& out = writer.zip();
  CUSTODY_TRY(out.add_member("information.turtle", bytes_of(turtle)));
  CUSTODY_TRY(out.add_member(k_logical_manifest_member, bytes_of(manifest_json)));
  CUSTODY_TRY(out.add_member("custody/acquisition.json", bytes_of(result.record_json)));
  CUSTODY_TRY(out.finish(volume));
  result.record = std::move(record);
  result.manifest = std::move(manifest);
  result.container_path = path;
  return result;
}

}  // namespace custody
