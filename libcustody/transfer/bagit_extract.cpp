// SPDX-License-Identifier: Apache-2.0
// Safe extraction of a received bag (see bagit.hpp). Every entry is checked before a byte of it
// is written; everything is created with openat/mkdirat below a fresh private directory, with
// O_NOFOLLOW and O_EXCL, so nothing in the archive can make us write elsewhere.
#include "core/posix_file.hpp"
#include "core/utf8_locale.hpp"
#include "transfer/bagit_text.hpp"

#include <custody/bagit.hpp>

#include <fmt/format.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>

namespace custody {
namespace {

namespace fs = std::filesystem;
using internal::UniqueFd;

constexpr std::size_t k_block = 1U << 20U;

struct ReadArchiveDeleter {
  void operator()(archive* handle) const { archive_read_free(handle); }
};
using ReadArchive = std::unique_ptr<archive, ReadArchiveDeleter>;

tl::unexpected<Error> refuse(const std::string& entry, const std::string& reason) {
  Error error{Errc::corrupt,
              "refusing the archive: entry \"" + entry + "\" " + reason,
              entry,
              {},
              0,
              "do not extract this archive by other means; ask the sender for a package made by "
              "custody (or a plain tar/zip of one bag directory)"};
  return tl::unexpected(std::move(error));
}

// Where libarchive reads from: a file (seekable when it is a regular file, so that a zip's
// central directory is what counts) or a ByteStream.
class ArchiveInput {
 public:
  explicit ArchiveInput(ByteStream* stream) : m_stream(stream), m_buffer(k_block) {}
  ArchiveInput(UniqueFd fd, std::string path, bool seekable)
      : m_fd(std::move(fd)), m_path(std::move(path)), m_seekable(seekable), m_buffer(k_block) {}

  Result<void> open(archive* handle) {
    archive_read_set_callback_data(handle, this);
    archive_read_set_read_callback(handle, &ArchiveInput::read_callback);
    if (m_seekable) {
      archive_read_set_seek_callback(handle, &ArchiveInput::seek_callback);
    }
    if (archive_read_open1(handle) != ARCHIVE_OK) {
      return error_of(handle, "cannot read the archive");
    }
    return {};
  }

  // The input's own error when it caused the failure, else libarchive's, as Errc::corrupt.
  tl::unexpected<Error> error_of(archive* handle, const std::string& what) const {
    if (m_error) {
      return tl::unexpected(*m_error);
    }
    const char* reason = archive_error_string(handle);
    Error error{Errc::corrupt,
                fmt::format("{}: {}", what, reason != nullptr ? reason : "not a tar or zip file"),
                m_path,
                {},
                0,
                "check that this is the complete tar or zip file that was sent"};
    return tl::unexpected(std::move(error));
  }

 private:
  ByteStream* m_stream = nullptr;
  UniqueFd m_fd;
  std::string m_path;
  bool m_seekable = false;
  std::vector<std::byte> m_buffer;
  std::optional<Error> m_error;

  static la_ssize_t read_callback(archive* /*handle*/, void* self, const void** block) {
    auto* input = static_cast<ArchiveInput*>(self);
    *block = input->m_buffer.data();
    if (input->m_stream != nullptr) {
      auto got = input->m_stream->read(input->m_buffer);
      if (!got) {
        input->m_error = got.error();
        return -1;
      }
      return static_cast<la_ssize_t>(*got);
    }
    for (;;) {
      const ssize_t got = ::read(input->m_fd.get(), input->m_buffer.data(), input->m_buffer.size());
      if (got >= 0) {
        return got;
      }
      if (errno != EINTR) {
        input->m_error = make_sys_error(Errc::io_error, "read error", input->m_path, errno).value();
        return -1;
      }
    }
  }

  static la_int64_t seek_callback(archive* /*handle*/, void* self, la_int64_t offset, int whence) {
    auto* input = static_cast<ArchiveInput*>(self);
    const off_t at = ::lseek(input->m_fd.get(), static_cast<off_t>(offset), whence);
    return at < 0 ? ARCHIVE_FATAL : static_cast<la_int64_t>(at);
  }
};

// An entry's name split into checked components.
struct EntryName {
  std::string display;             // as in the archive
  std::vector<std::string> parts;  // root, then the path inside the bag
  bool trailing_slash = false;
};

Result<EntryName> check_name(const char* raw) {
  if (raw == nullptr) {
    return refuse("(unnamed)", "has a name that cannot be read");
  }
  EntryName name{raw, {}, false};
  std::string_view text = raw;
  if (text.find('\\') != std::string_view::npos) {
    return refuse(name.display, "has a backslash in its name (a Windows path?)");
  }
  if (text.starts_with("/")) {
    return refuse(name.display, "has an absolute path");
  }
  while (text.starts_with("./")) {
    text.remove_prefix(2);
  }
  while (text.ends_with("/")) {
    text.remove_suffix(1);
    name.trailing_slash = true;
  }
  std::size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    const std::size_t end = std::min(text.find('/', start), text.size());
    const std::string part(text.substr(start, end - start));
    if (part == "..") {
      return refuse(name.display, "uses \"..\" to climb out of the destination");
    }
    if (part.empty() || part == ".") {
      return refuse(name.display, "has an empty or \".\" component in its name");
    }
    name.parts.push_back(part);
    start = end + 1;
  }
  return name;
}

std::string joined(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t index = from; index < parts.size(); ++index) {
    out += (out.empty() ? "" : "/") + parts[index];
  }
  return out;
}

class Extractor {
 public:
  Extractor(const std::string& destination, const BagExtractLimits& limits) : m_limits(limits) {
    fs::path target = fs::path(destination).lexically_normal();
    if (!target.has_filename()) {
      target = target.parent_path();
    }
    m_target = target.string();
    m_parent = target.has_parent_path() ? target.parent_path().string() : ".";
  }

  ~Extractor() {
    if (!m_temporary.empty() && !m_renamed) {
      std::error_code ignored;
      fs::remove_all(m_temporary, ignored);
    }
  }
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;

  Result<void> prepare() {
    struct stat status {};
    if (::lstat(m_target.c_str(), &status) == 0) {
      Error error{Errc::already_exists,
                  "refusing to extract over an existing path",
                  m_target,
                  {},
                  0,
                  "choose a destination that does not exist yet"};
      return tl::unexpected(std::move(error));
    }
    std::string pattern =
        (fs::path(m_parent) / ("." + fs::path(m_target).filename().string() + ".extract-XXXXXX"))
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {  // mode 0700
      return make_sys_error(Errc::io_error, "cannot create a private temporary directory", pattern,
                            errno);
    }
    m_temporary = pattern;
    m_root_fd =
        UniqueFd(::open(m_temporary.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!m_root_fd) {
      return make_sys_error(Errc::io_error, "cannot open", m_temporary, errno);
    }
    return {};
  }

  Result<BagExtractOutcome> run(archive* handle, ArchiveInput& input) {
    for (;;) {
      archive_entry* entry = nullptr;
      const int status = archive_read_next_header(handle, &entry);
      if (status == ARCHIVE_EOF) {
        break;
      }
      if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
        return input.error_of(handle, "cannot read the archive");
      }
      CUSTODY_TRY(extract_entry(handle, input, entry));
    }
    if (m_root.empty()) {
      return refuse("(none)", "missing: the archive holds no bag");
    }
    CUSTODY_TRY(sync_directories());
    return finish();
  }

 private:
  BagExtractLimits m_limits;
  std::string m_target;
  std::string m_parent;
  std::string m_temporary;
  bool m_renamed = false;
  UniqueFd m_root_fd;
  std::string m_root;
  std::set<std::string> m_seen;
  std::vector<std::string> m_directories;
  std::uint64_t m_entries = 0;
  std::uint64_t m_total = 0;
  std::uint64_t m_payload_bytes = 0;
  std::uint64_t m_payload_files = 0;
  bool m_seen_payload = false;
  std::optional<internal::PayloadOxum> m_oxum;

  Result<void> extract_entry(archive* handle, ArchiveInput& input, archive_entry* entry) {
    const char* raw = archive_entry_pathname_utf8(entry);
    auto name = check_name(raw != nullptr ? raw : archive_entry_pathname(entry));
    if (!name) {
      return tl::unexpected(name.error());
    }
    const std::string& shown = name->display;
    if (++m_entries > m_limits.max_entries) {
      return refuse(shown, fmt::format("is one entry too many (limit {})", m_limits.max_entries));
    }
    if (archive_entry_hardlink(entry) != nullptr) {
      return refuse(shown, "is a hard link; a bag holds regular files only");
    }
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFLNK || archive_entry_symlink(entry) != nullptr) {
      return refuse(shown, "is a symbolic link; a bag holds regular files only");
    }
    if (type != AE_IFREG && type != AE_IFDIR) {
      return refuse(shown, "is a device, FIFO or socket; a bag holds regular files only");
    }
    const bool directory = type == AE_IFDIR;
    if (name->trailing_slash && !directory) {
      return refuse(shown, "is a file with a directory's name (trailing '/')");
    }
    if (name->parts.empty()) {
      if (directory) {
        return {};  // "./": the archive's own top, nothing to create
      }
      return refuse(shown, "has an empty name");
    }
    const std::string key = joined(name->parts, 0);
    if (!m_seen.insert(key).second) {
      return refuse(shown,
                    "appears twice in the archive (names compared without \"./\" and "
                    "trailing '/')");
    }
    if (m_root.empty()) {
      m_root = name->parts.front();
    } else if (name->parts.front() != m_root) {
      return refuse(shown, "is not under the bag root \"" + m_root +
                               "/\": the archive must hold one bag directory");
    }
    if (name->parts.size() == 1) {
      if (!directory) {
        return refuse(shown, "is a file at the top of the archive, outside a bag directory");
      }
      return {};
    }
    const std::vector<std::string> inside(name->parts.begin() + 1, name->parts.end());
    if (directory) {
      auto made = open_directory(inside, inside.size(), shown);
      return made ? Result<void>{} : tl::unexpected(made.error());
    }
    return extract_file(handle, input, entry, inside, shown);
  }

  // Opens (creating when needed) the directory made of the first `count` parts of `parts`,
  // never following a symlink.
  Result<UniqueFd> open_directory(const std::vector<std::string>& parts,
                                  std::size_t count,
                                  const std::string& shown) {
    UniqueFd current(::dup(m_root_fd.get()));
    std::string relative;
    for (std::size_t index = 0; index < count; ++index) {
      relative += (relative.empty() ? "" : "/") + parts[index];
      if (::mkdirat(current.get(), parts[index].c_str(), 0755) == 0) {
        m_directories.push_back(relative);
      } else if (errno != EEXIST) {
        return make_sys_error(Errc::io_error, "cannot create directory",
                              m_temporary + "/" + relative, errno);
      }
      UniqueFd next(::openat(current.get(), parts[index].c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) {
        return refuse(shown, "lies below \"" + relative + "\", which is not a directory");
      }
      current = std::move(next);
    }
    return current;
  }

  // Checks `size` more bytes of `relative` against the limits and Payload-Oxum.
  Result<void> account(const std::string& shown,
                       bool payload,
                       std::uint64_t file_bytes,
                       std::uint64_t more) {
    if (more > m_limits.max_total_bytes - m_total) {
      return refuse(shown, fmt::format("takes the archive beyond the limit of {} bytes",
                                       m_limits.max_total_bytes));
    }
    if (!payload && file_bytes + more > m_limits.max_tag_file_bytes) {
      return refuse(shown, fmt::format("is a tag file larger than the limit of {} bytes",
                                       m_limits.max_tag_file_bytes));
    }
    if (payload && m_oxum && more > m_oxum->octets - std::min(m_oxum->octets, m_payload_bytes)) {
      return refuse(shown, fmt::format("takes the payload beyond the {} bytes that bag-info.txt "
                                       "declares (Payload-Oxum)",
                                       m_oxum->octets));
    }
    return {};
  }

  Result<void> extract_file(archive* handle,
                            ArchiveInput& input,
                            archive_entry* entry,
                            const std::vector<std::string>& inside,
                            const std::string& shown) {
    const bool payload = inside.size() > 1 && inside.front() == "data";
    const bool bag_info = inside.size() == 1 && inside.front() == "bag-info.txt";
    if (payload) {
      m_seen_payload = true;
      if (m_oxum && ++m_payload_files > m_oxum->files) {
        return refuse(shown, fmt::format("is one payload file more than the {} that bag-info.txt "
                                         "declares (Payload-Oxum)",
                                         m_oxum->files));
      }
    }
    if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) >= 0) {
      CUSTODY_TRY(
          account(shown, payload, 0, static_cast<std::uint64_t>(archive_entry_size(entry))));
    }
    auto parent = open_directory(inside, inside.size() - 1, shown);
    if (!parent) {
      return tl::unexpected(parent.error());
    }
    const std::string path = m_temporary + "/" + joined(inside, 0);
    UniqueFd fd(::openat(parent->get(), inside.back().c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) {
      return make_sys_error(Errc::io_error, "cannot create", path, errno);
    }
    std::string kept;  // bag-info.txt, for its Payload-Oxum
    std::vector<std::byte> buffer(k_block);
    std::uint64_t written = 0;
    for (;;) {
      const la_ssize_t got = archive_read_data(handle, buffer.data(), buffer.size());
      if (got < 0) {
        return input.error_of(handle, "cannot read entry \"" + shown + "\"");
      }
      if (got == 0) {
        break;
      }
      if (m_limits.cancel != nullptr && m_limits.cancel->cancelled()) {
        return make_error(Errc::cancelled, "interrupted while unpacking the package");
      }
      const auto size = static_cast<std::size_t>(got);
      CUSTODY_TRY(account(shown, payload, written, size));
      CUSTODY_TRY(internal::write_full(fd.get(), std::span(buffer).first(size), path, written));
      written += size;
      m_total += size;
      if (payload) {
        m_payload_bytes += size;
      }
      if (bag_info) {
        kept.append(reinterpret_cast<const char*>(buffer.data()), size);
      }
    }
    CUSTODY_TRY(internal::fsync_checked(fd.get(), path));
    CUSTODY_TRY(fd.close_checked(path));
    if (bag_info && !m_seen_payload) {
      m_oxum = oxum_of(kept);
    }
    return {};
  }

  // Payload-Oxum from bag-info.txt bytes; UTF-8 (ours) or any ASCII-compatible encoding.
  static std::optional<internal::PayloadOxum> oxum_of(std::string_view bytes) {
    for (const auto line : internal::split_lines(bytes)) {
      const std::string_view label = "Payload-Oxum:";
      if (line.starts_with(label)) {
        std::string_view value = line.substr(label.size());
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        return internal::parse_payload_oxum(value);
      }
    }
    return std::nullopt;
  }

  Result<void> sync_directories() {
    for (const auto& relative : m_directories) {
      UniqueFd fd(::openat(m_root_fd.get(), relative.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        return make_sys_error(Errc::io_error, "cannot open", m_temporary + "/" + relative, errno);
      }
      CUSTODY_TRY(internal::fsync_checked(fd.get(), m_temporary + "/" + relative));
    }
    return internal::fsync_checked(m_root_fd.get(), m_temporary);
  }

  Result<BagExtractOutcome> finish() {
    BagExtractOutcome outcome;
    auto report = validate_bag(m_temporary);
    if (!report) {
      return tl::unexpected(report.error());
    }
    outcome.report = std::move(*report);
    outcome.report.directory = m_target;
    if (!outcome.report.valid()) {
      return outcome;  // the destructor removes the temporary directory
    }
    if (::renameat2(AT_FDCWD, m_temporary.c_str(), AT_FDCWD, m_target.c_str(), RENAME_NOREPLACE) !=
        0) {
      const int error = errno;
      return make_sys_error(error == EEXIST ? Errc::already_exists : Errc::io_error,
                            "cannot rename the extracted bag into place", m_target, error);
    }
    m_renamed = true;
    outcome.extracted = true;
    CUSTODY_TRY(internal::fsync_parent_directory(m_target));
    return outcome;
  }
};

Result<BagExtractOutcome> extract_from(ArchiveInput& input,
                                       const std::string& destination,
                                       const BagExtractLimits& limits) {
  const internal::ScopedUtf8Locale utf8;  // for libarchive's name conversions
  Extractor extractor(destination, limits);
  CUSTODY_TRY(extractor.prepare());
  ReadArchive handle(archive_read_new());
  archive_read_support_format_tar(handle.get());
  archive_read_support_format_zip(handle.get());
  CUSTODY_TRY(input.open(handle.get()));
  return extractor.run(handle.get(), input);
}

}  // namespace

Result<BagExtractOutcome> extract_bag_archive(const std::string& archive_path,
                                              const std::string& destination,
                                              const BagExtractLimits& limits) {
  UniqueFd fd(::open(archive_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error,
                          "cannot open the archive", archive_path, error);
  }
  struct stat status {};
  const bool seekable = ::fstat(fd.get(), &status) == 0 && S_ISREG(status.st_mode);
  ArchiveInput input(std::move(fd), archive_path, seekable);
  return extract_from(input, destination, limits);
}

Result<BagExtractOutcome> extract_bag_archive(ByteStream& archive,
                                              const std::string& destination,
                                              const BagExtractLimits& limits) {
  ArchiveInput input(&archive);
  return extract_from(input, destination, limits);
}

}  // namespace custody
