// SPDX-License-Identifier: Apache-2.0
// The BagIt writer (see bagit.hpp for the member order). One driver produces the members; a
// BagOutput puts them into a directory or, through libarchive, into a tar or zip in a ByteSink.
#include "core/posix_file.hpp"
#include "core/utf8_locale.hpp"
#include "transfer/bagit_text.hpp"

#include <custody/bagit.hpp>
#include <custody/version.hpp>

#include <fmt/format.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>

namespace custody {
namespace {

namespace fs = std::filesystem;
using internal::UniqueFd;

// Payload is copied in blocks of this size: memory stays bounded whatever the file size.
constexpr std::size_t k_copy_block = 4U << 20U;

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

tl::unexpected<Error> bad_spec(const std::string& name, const std::string& problem) {
  Error error{Errc::invalid_argument,
              "cannot put \"" + name + "\" in a bag: " + problem,
              name,
              {},
              0,
              "give a relative name with '/' between its parts"};
  return tl::unexpected(std::move(error));
}

// Where the members of a bag go. Names are relative to the bag root.
class BagOutput {
 public:
  BagOutput() = default;
  BagOutput(const BagOutput&) = delete;
  BagOutput& operator=(const BagOutput&) = delete;
  virtual ~BagOutput() = default;
  virtual Result<void> add_directory(const std::string& name) = 0;
  virtual Result<void> begin_file(const std::string& name, std::uint64_t size) = 0;
  virtual Result<void> write(std::span<const std::byte> data) = 0;
  virtual Result<void> end_file() = 0;
  virtual Result<void> finish() = 0;
};

// ---- The directory output ---------------------------------------------------------------------

class DirectoryOutput final : public BagOutput {
 public:
  static Result<std::unique_ptr<DirectoryOutput>> create(const std::string& directory) {
    fs::path target = fs::path(directory).lexically_normal();
    if (!target.has_filename()) {
      target = target.parent_path();
    }
    struct stat status {};
    if (::lstat(target.c_str(), &status) == 0) {
      Error error{Errc::already_exists,
                  "refusing to write a bag over an existing path",
                  target.string(),
                  {},
                  0,
                  "choose a new directory name for the bag"};
      return tl::unexpected(std::move(error));
    }
    const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string pattern = (parent / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return make_sys_error(Errc::io_error, "cannot create a temporary directory for the bag",
                            pattern, errno);
    }
    return std::unique_ptr<DirectoryOutput>(new DirectoryOutput(target.string(), pattern));
  }

  ~DirectoryOutput() override {
    if (!m_finished) {
      std::error_code ignored;
      fs::remove_all(m_temporary, ignored);
    }
  }

  Result<void> add_directory(const std::string& name) override {
    const std::string path = m_temporary + "/" + name;
    if (::mkdir(path.c_str(), 0755) != 0) {
      return make_sys_error(Errc::io_error, "cannot create directory", path, errno);
    }
    m_directories.push_back(path);
    return {};
  }

  Result<void> begin_file(const std::string& name, std::uint64_t /*size*/) override {
    m_path = m_temporary + "/" + name;
    m_offset = 0;
    m_fd = UniqueFd(
        ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!m_fd) {
      return make_sys_error(Errc::io_error, "cannot create", m_path, errno);
    }
    return {};
  }

  Result<void> write(std::span<const std::byte> data) override {
    CUSTODY_TRY(internal::write_full(m_fd.get(), data, m_path, m_offset));
    m_offset += data.size();
    return {};
  }

  Result<void> end_file() override {
    CUSTODY_TRY(internal::fsync_checked(m_fd.get(), m_path));
    return m_fd.close_checked(m_path);
  }

  Result<void> finish() override {
    m_directories.push_back(m_temporary);
    for (const auto& directory : m_directories) {
      UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd) {
        return make_sys_error(Errc::io_error, "cannot open directory", directory, errno);
      }
      CUSTODY_TRY(internal::fsync_checked(fd.get(), directory));
    }
    if (::renameat2(AT_FDCWD, m_temporary.c_str(), AT_FDCWD, m_target.c_str(), RENAME_NOREPLACE) !=
        0) {
      const int error = errno;
      return make_sys_error(error == EEXIST ? Errc::already_exists : Errc::io_error,
                            "cannot rename the finished bag into place", m_target, error);
    }
    m_finished = true;
    return internal::fsync_parent_directory(m_target);
  }

 private:
  DirectoryOutput(std::string target, std::string temporary)
      : m_target(std::move(target)), m_temporary(std::move(temporary)) {}
  std::string m_target;
  std::string m_temporary;
  std::vector<std::string> m_directories;
  bool m_finished = false;
  UniqueFd m_fd;
  std::string m_path;
  std::uint64_t m_offset = 0;
};

// ---- The archive output -----------------------------------------------------------------------

struct ArchiveDeleter {
  void operator()(archive* handle) const { archive_write_free(handle); }
};
struct EntryDeleter {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

class ArchiveOutput final : public BagOutput {
 public:
  static Result<std::unique_ptr<ArchiveOutput>> create(BagArchiveFormat format,
                                                       const std::string& root,
                                                       ByteSink& sink) {
    auto output = std::unique_ptr<ArchiveOutput>(new ArchiveOutput(root, sink));
    archive* handle = output->m_archive.get();
    int status = ARCHIVE_OK;
    if (format == BagArchiveFormat::tar) {
      status = archive_write_set_format_pax(handle);
    } else {
      // Stored, not deflated: evidence containers are compressed already, and a stored member
      // can be checked with any tool. zip64 for every member: sizes of many GiB are the rule.
      status = archive_write_set_format_zip(handle);
      if (status == ARCHIVE_OK) {
        status = archive_write_set_options(handle,
                                           "zip:compression=store,zip:zip64,"
                                           "zip:hdrcharset=UTF-8");
      }
      if (status == ARCHIVE_OK) {
        status = archive_write_set_bytes_per_block(handle, 0);
      }
    }
    if (status == ARCHIVE_OK) {
      status = archive_write_open2(handle, output.get(), nullptr, &ArchiveOutput::write_callback,
                                   nullptr, nullptr);
    }
    if (status != ARCHIVE_OK) {
      return output->failure("cannot start the archive");
    }
    return output;
  }

  // libarchive flushes what it holds when the archive is freed, through write_callback: that must
  // happen while every member is alive (m_sink_error is destroyed before m_archive otherwise, and
  // was then assigned after its destruction, a leak that ASan reported on a full disk), and must
  // not reach the sink of an archive given up.
  ArchiveOutput(const ArchiveOutput&) = delete;
  ArchiveOutput& operator=(const ArchiveOutput&) = delete;
  ~ArchiveOutput() override {
    m_closing = true;
    m_archive.reset();
  }

  Result<void> add_directory(const std::string& name) override {
    return add_header(name + "/", AE_IFDIR, 0755, 0);
  }

  Result<void> begin_file(const std::string& name, std::uint64_t size) override {
    return add_header(name, AE_IFREG, 0644, size);
  }

  Result<void> write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      const la_ssize_t put = archive_write_data(m_archive.get(), data.data(), data.size());
      if (put <= 0) {
        return failure("cannot write " + m_current);
      }
      data = data.subspan(static_cast<std::size_t>(put));
    }
    return {};
  }

  Result<void> end_file() override {
    if (archive_write_finish_entry(m_archive.get()) != ARCHIVE_OK) {
      return failure("cannot finish " + m_current);
    }
    return {};
  }

  Result<void> finish() override {
    if (archive_write_close(m_archive.get()) != ARCHIVE_OK) {
      return failure("cannot finish the archive");
    }
    return {};
  }

 private:
  ArchiveOutput(std::string root, ByteSink& sink)
      : m_root(std::move(root)),
        m_sink(sink),
        m_archive(archive_write_new()),
        m_time(std::time(nullptr)) {}

  static la_ssize_t write_callback(archive* /*handle*/, void* self, const void* data, size_t size) {
    auto* output = static_cast<ArchiveOutput*>(self);
    if (output->m_closing) {
      return -1;  // freed without finish(): nothing more goes to the sink
    }
    auto written = output->m_sink.write(std::span(static_cast<const std::byte*>(data), size));
    if (!written) {
      output->m_sink_error = written.error();
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }

  Result<void> add_header(const std::string& name, unsigned type, int mode, std::uint64_t size) {
    m_current = name == "/" ? m_root + "/" : m_root + "/" + name;
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname_utf8(entry.get(), m_current.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), static_cast<mode_t>(mode));
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), m_time, 0);
    if (archive_write_header(m_archive.get(), entry.get()) != ARCHIVE_OK) {
      return failure("cannot write the header of " + m_current);
    }
    return {};
  }

  // The sink's own error when it caused the failure, else libarchive's message.
  tl::unexpected<Error> failure(const std::string& what) {
    if (m_sink_error) {
      return tl::unexpected(*m_sink_error);
    }
    const char* reason = archive_error_string(m_archive.get());
    return make_error(Errc::io_error,
                      fmt::format("{}: {}", what, reason != nullptr ? reason : "libarchive error"));
  }

  std::string m_root;
  ByteSink& m_sink;
  std::unique_ptr<archive, ArchiveDeleter> m_archive;
  std::time_t m_time;
  std::string m_current;
  std::optional<Error> m_sink_error;
  bool m_closing = false;
};

// ---- The driver -------------------------------------------------------------------------------

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  return fmt::format("{:04}-{:02}-{:02}", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday);
}

// "1.5 GB": Bag-Size is for people; Payload-Oxum is the exact figure.
std::string human_size(std::uint64_t bytes) {
  if (bytes < 1000) {
    return fmt::format("{} bytes", bytes);
  }
  const char* units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  auto value = static_cast<double>(bytes) / 1000.0;
  std::size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < std::size(units)) {
    value /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

bool reserved_tag_name(const std::string& name) {
  return name == "bagit.txt" || name == "bag-info.txt" || name == "fetch.txt" || name == "data" ||
         name.starts_with("data/") || name.starts_with("manifest-") ||
         name.starts_with("tagmanifest-");
}

Result<void> check_spec(const BagSpec& spec) {
  std::set<std::string> names;
  for (const auto& file : spec.payload) {
    if (auto problem = internal::bag_name_problem(file.name); !problem.empty()) {
      return bad_spec(file.name, problem);
    }
    if (!names.insert("data/" + file.name).second) {
      return bad_spec(file.name, "the payload holds this name twice");
    }
  }
  for (const auto& tag : spec.tag_files) {
    if (auto problem = internal::bag_name_problem(tag.name); !problem.empty()) {
      return bad_spec(tag.name, problem);
    }
    if (reserved_tag_name(tag.name)) {
      return bad_spec(tag.name, "the writer makes this file itself (or it is the payload)");
    }
    if (!names.insert(tag.name).second) {
      return bad_spec(tag.name, "two tag files have this name");
    }
  }
  for (const auto& field : spec.info) {
    if (field.label.empty() || field.label.find_first_of(":\r\n") != std::string::npos ||
        field.label.front() == ' ' || field.label.back() == ' ' ||
        field.value.find_first_of("\r\n") != std::string::npos) {
      return bad_spec(field.label,
                      "a bag-info label must be non-empty without ':', CR, LF or "
                      "surrounding spaces, and a value must be one line");
    }
  }
  return {};
}

class BagBuilder {
 public:
  BagBuilder(const BagSpec& spec, BagOutput& output) : m_spec(spec), m_output(output) {}

  Result<BagWriteResult> run() {
    CUSTODY_TRY(check_spec(m_spec));
    std::uint64_t octets = 0;
    for (const auto& file : m_spec.payload) {
      auto size = source_size(file.source_path);
      if (!size) {
        return tl::unexpected(size.error());
      }
      m_sizes.push_back(*size);
      octets += *size;
    }
    m_result.payload_oxum = fmt::format("{}.{}", octets, m_spec.payload.size());
    CUSTODY_TRY(add_tag("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"));
    CUSTODY_TRY(add_tag("bag-info.txt", bag_info(octets)));
    CUSTODY_TRY(ensure_directory("data/"));
    for (std::size_t index = 0; index < m_spec.payload.size(); ++index) {
      CUSTODY_TRY(copy_payload(m_spec.payload[index], m_sizes[index]));
    }
    CUSTODY_TRY(add_tag("manifest-sha256.txt", manifest(&BagFileDigest::sha256, m_result.payload)));
    CUSTODY_TRY(add_tag("manifest-sha512.txt", manifest(&BagFileDigest::sha512, m_result.payload)));
    for (const auto& tag : m_spec.tag_files) {
      CUSTODY_TRY(add_tag(tag.name, tag.content));
    }
    const auto tag_files = m_result.tag_files;  // the tag manifests cover what came before them
    m_result.tagmanifest_sha256 = manifest(&BagFileDigest::sha256, tag_files);
    m_result.tagmanifest_sha512 = manifest(&BagFileDigest::sha512, tag_files);
    CUSTODY_TRY(add_tag("tagmanifest-sha256.txt", m_result.tagmanifest_sha256));
    CUSTODY_TRY(add_tag("tagmanifest-sha512.txt", m_result.tagmanifest_sha512));
    m_result.tag_files.resize(tag_files.size());
    if (m_spec.after_tag_manifests) {
      // Signatures over the tag manifests: tag files the manifests cannot cover.
      auto trailing = m_spec.after_tag_manifests(m_result);
      CUSTODY_TRY(trailing);
      for (const auto& tag : *trailing) {
        if (auto problem = internal::bag_name_problem(tag.name); !problem.empty()) {
          return bad_spec(tag.name, problem);
        }
        CUSTODY_TRY(add_tag(tag.name, tag.content));
      }
      m_result.tag_files.resize(tag_files.size());
    }
    CUSTODY_TRY(m_output.finish());
    return std::move(m_result);
  }

 private:
  const BagSpec& m_spec;
  BagOutput& m_output;
  BagWriteResult m_result;
  std::vector<std::uint64_t> m_sizes;
  std::set<std::string> m_directories;

  static Result<std::uint64_t> source_size(const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
      const int error = errno;
      return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error,
                            "cannot read a payload file", path, error);
    }
    if (!S_ISREG(status.st_mode)) {
      return make_error(
          Errc::invalid_argument,
          "a payload file must be a regular file (its size is declared in advance): " + path);
    }
    return static_cast<std::uint64_t>(status.st_size);
  }

  std::string bag_info(std::uint64_t octets) const {
    std::string text = fmt::format("Payload-Oxum: {}\nBag-Size: {}\nBagging-Date: {}\n",
                                   m_result.payload_oxum, human_size(octets),
                                   m_spec.bagging_date.empty() ? today_utc() : m_spec.bagging_date);
    text += fmt::format("Bag-Software-Agent: custody {}\n", k_version);
    for (const auto& field : m_spec.info) {
      text += field.label + ": " + field.value + "\n";
    }
    return text;
  }

  static std::string manifest(std::string BagFileDigest::*digest,
                              const std::vector<BagFileDigest>& files) {
    std::string text;
    for (const auto& file : files) {
      text += file.*digest + "  " + internal::percent_encode_bag_path(file.name) + "\n";
    }
    return text;
  }

  // Adds the directories above `name` that are not there yet ("custody/" for
  // "custody/acquisition.json").
  Result<void> ensure_directory(const std::string& name) {
    std::size_t slash = name.find('/');
    while (slash != std::string::npos) {
      const std::string directory = name.substr(0, slash);
      if (m_directories.insert(directory).second) {
        CUSTODY_TRY(m_output.add_directory(directory));
      }
      slash = name.find('/', slash + 1);
    }
    return {};
  }

  Result<void> add_tag(const std::string& name, std::string_view content) {
    CUSTODY_TRY(ensure_directory(name));
    CUSTODY_TRY(m_output.begin_file(name, content.size()));
    CUSTODY_TRY(m_output.write(bytes_of(content)));
    CUSTODY_TRY(m_output.end_file());
    auto digests = digest_of(content);
    if (!digests) {
      return tl::unexpected(digests.error());
    }
    m_result.tag_files.push_back(
        {name, content.size(), (*digests)["sha256"], (*digests)["sha512"]});
    return {};
  }

  static Result<std::map<std::string, std::string>> digest_of(std::string_view content) {
    auto digest = internal::MultiDigest::create({"sha256", "sha512"});
    if (!digest) {
      return tl::unexpected(digest.error());
    }
    digest->update(bytes_of(content));
    return digest->finish();
  }

  Result<void> copy_payload(const BagPayloadFile& file, std::uint64_t size) {
    const std::string name = "data/" + file.name;
    CUSTODY_TRY(ensure_directory(name));
    UniqueFd fd(::open(file.source_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return make_sys_error(Errc::io_error, "cannot open a payload file", file.source_path, errno);
    }
    auto digest = internal::MultiDigest::create({"sha256", "sha512"});
    if (!digest) {
      return tl::unexpected(digest.error());
    }
    CUSTODY_TRY(m_output.begin_file(name, size));
    std::vector<std::byte> buffer(k_copy_block);
    std::uint64_t done = 0;
    for (;;) {
      auto got = internal::read_full(fd.get(), buffer, file.source_path, done);
      if (!got) {
        return tl::unexpected(got.error());
      }
      if (*got == 0) {
        break;
      }
      if (done + *got > size) {
        break;  // grew: reported below
      }
      if (m_spec.cancel != nullptr && m_spec.cancel->cancelled()) {
        return make_error(Errc::cancelled, "packing was interrupted");
      }
      const auto block = std::span<const std::byte>(buffer).first(*got);
      digest->update(block);
      CUSTODY_TRY(m_output.write(block));
      done += *got;
    }
    if (done != size) {
      Error error{Errc::corrupt,
                  fmt::format("payload file changed size while it was bagged ({} bytes declared, "
                              "{} found)",
                              size, done),
                  file.source_path,
                  {},
                  0,
                  "bag a file nothing writes to (an evidence container after acquisition)"};
      return tl::unexpected(std::move(error));
    }
    CUSTODY_TRY(m_output.end_file());
    auto digests = digest->finish();
    m_result.payload.push_back({name, size, digests["sha256"], digests["sha512"]});
    return {};
  }
};

}  // namespace

Result<BagWriteResult> write_bag_directory(const BagSpec& spec, const std::string& directory) {
  CUSTODY_TRY(check_spec(spec));
  auto output = DirectoryOutput::create(directory);
  if (!output) {
    return tl::unexpected(output.error());
  }
  return BagBuilder(spec, **output).run();
}

Result<BagWriteResult> write_bag_archive(const BagSpec& spec,
                                         BagArchiveFormat format,
                                         const std::string& root_name,
                                         ByteSink& sink) {
  if (auto problem = internal::bag_name_problem(root_name);
      !problem.empty() || root_name.find('/') != std::string::npos) {
    return bad_spec(root_name, problem.empty() ? "the bag root is one name, without '/'" : problem);
  }
  CUSTODY_TRY(check_spec(spec));
  const internal::ScopedUtf8Locale utf8;  // for libarchive's name conversions
  auto output = ArchiveOutput::create(format, root_name, sink);
  if (!output) {
    return tl::unexpected(output.error());
  }
  CUSTODY_TRY((*output)->add_directory(""));
  auto result = BagBuilder(spec, **output).run();
  if (!result) {
    return result;
  }
  CUSTODY_TRY(sink.finish());
  return result;
}

}  // namespace custody
