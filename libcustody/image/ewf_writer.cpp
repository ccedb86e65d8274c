// SPDX-License-Identifier: Apache-2.0
// The E01 writer: a pipeline sink that hands the image to libewf, with the case header values,
// the acquiry error list and the MD5/SHA-1 every E01 reader checks.
#include "image/ewf_writer.hpp"

#include "core/host.hpp"
#include "core/posix_file.hpp"
#include "image/ewf_handle.hpp"

#include <custody/version.hpp>

#include <fmt/format.h>

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>

namespace custody {
namespace internal {

namespace {

void free_handle(libewf_handle_t* handle) {
  if (handle != nullptr) {
    (void)libewf_handle_close(handle, nullptr);
    (void)libewf_handle_free(&handle, nullptr);
  }
}

std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string operating_system() {
  std::string release = internal::describe_this_host().system_release;
  return release.empty() ? std::string("Linux") : release;
}

class LibewfWriter final : public EwfWriterSink {
 public:
  explicit LibewfWriter(EwfWriteSettings settings)
      : m_settings(std::move(settings)), m_base(ewf_base_name(m_settings.output_base)) {}
  ~LibewfWriter() override { free_handle(m_handle); }
  LibewfWriter(const LibewfWriter&) = delete;
  LibewfWriter& operator=(const LibewfWriter&) = delete;

  Result<void> open() {
    libewf_error_t* error = nullptr;
    if (libewf_handle_initialize(&m_handle, &error) != 1) {
      return failure("cannot set up libewf", error);
    }
    // libewf appends .E01, .E02, ... to the name it is given.
    char* names[] = {m_base.data()};
    if (libewf_handle_open(m_handle, names, 1, LIBEWF_OPEN_WRITE, &error) != 1) {
      return failure("cannot create the E01 set", error);
    }
    CUSTODY_TRY(
        check(libewf_handle_set_format(m_handle, LIBEWF_FORMAT_ENCASE6, &error), error, "format"));
    CUSTODY_TRY(check(libewf_handle_set_media_size(m_handle, m_settings.media_size, &error), error,
                      "media size"));
    CUSTODY_TRY(
        check(libewf_handle_set_bytes_per_sector(m_handle, m_settings.bytes_per_sector, &error),
              error, "bytes per sector"));
    CUSTODY_TRY(check(libewf_handle_set_media_type(m_handle, LIBEWF_MEDIA_TYPE_FIXED, &error),
                      error, "media type"));
    CUSTODY_TRY(check(libewf_handle_set_media_flags(m_handle, LIBEWF_MEDIA_FLAG_PHYSICAL, &error),
                      error, "media flags"));
    CUSTODY_TRY(
        check(libewf_handle_set_compression_values(m_handle, compression_level(), 0, &error), error,
              "compression"));
    if (m_settings.segment_size) {
      CUSTODY_TRY(
          check(libewf_handle_set_maximum_segment_size(m_handle, *m_settings.segment_size, &error),
                error, "segment size"));
    }
    CUSTODY_TRY(set_headers());
    for (const auto& [first, count] : m_settings.acquiry_errors) {
      CUSTODY_TRY(check(libewf_handle_append_acquiry_error(m_handle, first, count, &error), error,
                        "acquiry error list"));
    }
    return {};
  }

  Result<void> consume(const Block& block) override {
    const std::span<const std::byte> data = block.data();
    std::size_t done = 0;
    while (done < data.size()) {
      libewf_error_t* error = nullptr;
      const ssize_t written =
          libewf_handle_write_buffer(m_handle, data.data() + done, data.size() - done, &error);
      if (written <= 0) {
        return failure(
            fmt::format("cannot write image offset {} to the E01 set", block.offset + done), error,
            Errc::io_error);
      }
      done += static_cast<std::size_t>(written);
    }
    return {};
  }

  Result<void> finish() override { return {}; }

  Result<void> finalize(const DigestSet& hashes) override {
    libewf_error_t* error = nullptr;
    if (auto md5 = hashes.find(HashAlgorithm::md5); md5 != hashes.end()) {
      auto bytes = from_hex(md5->second);
      CUSTODY_TRY(check(libewf_handle_set_md5_hash(m_handle, bytes.data(), bytes.size(), &error),
                        error, "MD5"));
    }
    if (auto sha1 = hashes.find(HashAlgorithm::sha1); sha1 != hashes.end()) {
      auto bytes = from_hex(sha1->second);
      CUSTODY_TRY(check(libewf_handle_set_sha1_hash(m_handle, bytes.data(), bytes.size(), &error),
                        error, "SHA-1"));
    }
    if (libewf_handle_write_finalize(m_handle, &error) < 0) {
      return failure("cannot complete the E01 set", error, Errc::io_error);
    }
    if (libewf_handle_close(m_handle, &error) != 0) {
      return failure("cannot close the E01 set", error, Errc::io_error);
    }
    (void)libewf_handle_free(&m_handle, nullptr);
    m_handle = nullptr;
    return {};
  }

  std::vector<std::string> paths() const override {
    auto names = ewf_glob(m_base + ".E01");
    return names ? *names : std::vector<std::string>{};
  }

 private:
  std::int8_t compression_level() const {
    switch (m_settings.compression) {
      case EwfCompression::none:
        return LIBEWF_COMPRESSION_NONE;
      case EwfCompression::fast:
        return LIBEWF_COMPRESSION_FAST;
      case EwfCompression::best:
        return LIBEWF_COMPRESSION_BEST;
    }
    return LIBEWF_COMPRESSION_FAST;
  }

  Result<void> set_headers() {
    std::map<std::string, std::string> headers = m_settings.headers;
    headers.emplace("acquiry_software_version", fmt::format("custody {}", k_version));
    headers.emplace("acquiry_operating_system", operating_system());
    for (const auto& [name, value] : headers) {
      libewf_error_t* error = nullptr;
      const int set = libewf_handle_set_utf8_header_value(
          m_handle, reinterpret_cast<const std::uint8_t*>(name.data()), name.size(),
          reinterpret_cast<const std::uint8_t*>(value.data()), value.size(), &error);
      CUSTODY_TRY(check(set, error, "header value " + name));
    }
    return {};
  }

  tl::unexpected<Error> failure(const std::string& what,
                                libewf_error_t* error,
                                Errc code = Errc::invalid_argument) const {
    const int sys_errno = errno;
    // libewf reports a full disk as a stack of its own layers' messages: say it in our words.
    if (code == Errc::io_error && output_is_full(sys_errno)) {
      libewf_error_free(&error);
      Error out{Errc::io_error,
                fmt::format("disk full while writing the E01 set ({})", what),
                m_base + ".E01",
                {},
                ENOSPC,
                "free space on the output disk or export elsewhere, then run again; the "
                "incomplete E01 files were removed"};
      return tl::unexpected(std::move(out));
    }
    Error out{code,
              fmt::format("{}: {}", what, take_ewf_error(error)),
              m_base + ".E01",
              {},
              0,
              "check that the output directory exists and is writable, and the options"};
    return tl::unexpected(std::move(out));
  }

  // Whether a failed write was for want of space: libewf's errno, or (when a later call of
  // libewf changed it) the output file system's free space.
  bool output_is_full(int sys_errno) const {
    if (sys_errno == ENOSPC || sys_errno == EDQUOT) {
      return true;
    }
    std::string directory = std::filesystem::path(m_base).parent_path().string();
    struct statvfs space {};
    return ::statvfs(directory.empty() ? "." : directory.c_str(), &space) == 0 &&
           static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize < (std::uint64_t{1} << 20U);
  }

  Result<void> check(int status, libewf_error_t* error, const std::string& what) const {
    if (status == 1) {
      return {};
    }
    return failure(fmt::format("libewf refused the {}", what), error);
  }

  EwfWriteSettings m_settings;
  std::string m_base;
  libewf_handle_t* m_handle = nullptr;
};

// With --force, the files of an earlier, longer set would otherwise be globbed into this one.
Result<void> clear_earlier_set(const EwfWriteSettings& settings, const std::string& first) {
  if (!path_exists(first)) {
    return {};
  }
  if (!settings.overwrite) {
    Error failure{Errc::already_exists,
                  "refusing to overwrite existing output",
                  first,
                  {},
                  0,
                  "use --force to replace it, or choose another output name"};
    return tl::unexpected(std::move(failure));
  }
  auto earlier = ewf_glob(first);
  CUSTODY_TRY(earlier);
  for (const std::string& path : *earlier) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return make_sys_error(Errc::io_error, "cannot remove the earlier E01 segment", path, errno);
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<EwfWriterSink>> create_ewf_writer(const EwfWriteSettings& settings) {
  const std::string first = ewf_first_segment_path(settings.output_base);
  CUSTODY_TRY(check_output_directory(first));
  if (settings.segment_size && *settings.segment_size < (std::uint64_t{1} << 20U)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("E01 segment size {} is too small: it must be at least 1M",
                                  *settings.segment_size));
  }
  CUSTODY_TRY(clear_earlier_set(settings, first));
  auto writer = std::make_unique<LibewfWriter>(settings);
  CUSTODY_TRY(writer->open());
  return writer;
}

}  // namespace internal
}  // namespace custody
