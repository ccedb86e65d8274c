// SPDX-License-Identifier: Apache-2.0
// Reading images made elsewhere (E01 sets through libewf, raw and split raw) as sources for an
// import, with what they claim of themselves.
#include "image/ewf_handle.hpp"

#include <custody/import.hpp>

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <map>

namespace custody {

namespace {

constexpr const char* k_acquiry_error_reason =
    "reported as unreadable by the source image (its acquiry error list); the bytes are what the "
    "image holds";

Result<std::uint64_t> file_size(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  return static_cast<std::uint64_t>(status.st_size);
}

Result<std::vector<ImportedFile>> describe_files(const std::vector<std::string>& paths) {
  std::vector<ImportedFile> files;
  for (const std::string& path : paths) {
    auto size = file_size(path);
    CUSTODY_TRY(size);
    files.push_back(ImportedFile{path, *size});
  }
  return files;
}

// "NAME.001" -> ("NAME", 1, 3); nothing for a name without a numeric extension.
struct NumberedName {
  std::string stem;
  std::uint64_t number = 0;
  std::size_t digits = 0;
};

std::optional<NumberedName> parse_numbered(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.size() - dot - 1 < 3 || path.size() - dot - 1 > 6) {
    return std::nullopt;
  }
  const std::string digits = path.substr(dot + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return NumberedName{path.substr(0, dot), std::stoull(digits), digits.size()};
}

// A raw image (one file, or a split set read as one stream).
class RawImageSource final : public ImageFileSource {
 public:
  RawImageSource(std::unique_ptr<Source> inner, ImportRecord description, std::string path)
      : m_inner(std::move(inner)), m_record(std::move(description)), m_info(m_inner->info()) {
    m_info.path = std::move(path);
  }
  const SourceInfo& info() const override { return m_info; }
  Result<std::size_t> read(std::span<std::byte> buffer) override { return m_inner->read(buffer); }
  ImportRecord import_record() const override { return m_record; }

 private:
  std::unique_ptr<Source> m_inner;
  ImportRecord m_record;
  SourceInfo m_info;
};

// An E01 set read through libewf: the media data in order, the stored hashes and header values,
// and the acquiry and checksum error lists.
class EwfSource final : public ImageFileSource {
 public:
  EwfSource() = default;
  ~EwfSource() override {
    if (m_handle != nullptr) {
      (void)libewf_handle_close(m_handle, nullptr);
      (void)libewf_handle_free(&m_handle, nullptr);
    }
  }
  EwfSource(const EwfSource&) = delete;
  EwfSource& operator=(const EwfSource&) = delete;

  Result<void> open(const std::string& path) {
    auto segments = internal::ewf_glob(path);
    CUSTODY_TRY(segments);
    auto files = describe_files(*segments);
    CUSTODY_TRY(files);
    m_record.format = "e01";
    m_record.files = std::move(*files);
    libewf_error_t* error = nullptr;
    if (libewf_handle_initialize(&m_handle, &error) != 1) {
      return corrupt(path, "cannot set up libewf", error);
    }
    std::vector<char*> names;
    for (std::string& segment : *segments) {
      names.push_back(segment.data());
    }
    if (libewf_handle_open(m_handle, names.data(), static_cast<int>(names.size()), LIBEWF_OPEN_READ,
                           &error) != 1) {
      return corrupt(path, "libewf cannot open this E01 set", error);
    }
    std::uint64_t size = 0;
    std::uint32_t bytes_per_sector = 0;
    if (libewf_handle_get_media_size(m_handle, &size, &error) != 1 ||
        libewf_handle_get_bytes_per_sector(m_handle, &bytes_per_sector, &error) != 1) {
      return corrupt(path, "the E01 set does not say its media size", error);
    }
    m_record.bytes_per_sector = bytes_per_sector == 0 ? 512 : bytes_per_sector;
    m_info.path = path;
    m_info.kind = SourceKind::file;
    m_info.size = size;
    m_info.logical_sector_size = m_record.bytes_per_sector;
    read_hashes();
    read_headers();
    CUSTODY_TRY(read_acquiry_errors(path));
    return {};
  }

  const SourceInfo& info() const override { return m_info; }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t done = 0;
    while (done < buffer.size() && m_offset < m_info.size.value_or(0)) {
      libewf_error_t* error = nullptr;
      const ssize_t got =
          libewf_handle_read_buffer(m_handle, buffer.data() + done, buffer.size() - done, &error);
      if (got < 0) {
        Error failure{Errc::corrupt,
                      fmt::format("cannot read the E01 set: {}", internal::take_ewf_error(error)),
                      m_info.path,
                      m_offset,
                      0,
                      "run ewfverify on the set; a damaged or missing segment file stops reading"};
        return tl::unexpected(std::move(failure));
      }
      if (got == 0) {
        break;
      }
      done += static_cast<std::size_t>(got);
      m_offset += static_cast<std::uint64_t>(got);
    }
    return done;
  }

  std::vector<Defect> defects() const override {
    std::vector<Defect> out;
    for (const ByteRange& range : m_record.acquiry_errors) {
      out.push_back(
          Defect{range.offset, range.length, m_record.bytes_per_sector, 0, k_acquiry_error_reason});
    }
    return out;
  }

  ImportRecord import_record() const override {
    ImportRecord out = m_record;
    out.checksum_errors = checksum_errors();
    return out;
  }

 private:
  tl::unexpected<Error> corrupt(const std::string& path,
                                const std::string& what,
                                libewf_error_t* error) const {
    Error failure{Errc::corrupt,
                  fmt::format("{}: {}", what, internal::take_ewf_error(error)),
                  path,
                  {},
                  0,
                  "check that every segment file (.E01, .E02, ...) is present and undamaged "
                  "(ewfverify)"};
    return tl::unexpected(std::move(failure));
  }

  void read_hashes() {
    std::array<std::uint8_t, 20> digest{};
    if (libewf_handle_get_md5_hash(m_handle, digest.data(), 16, nullptr) == 1) {
      m_record.claimed_hashes[HashAlgorithm::md5] = to_hex(std::span(digest.data(), 16));
    }
    if (libewf_handle_get_sha1_hash(m_handle, digest.data(), 20, nullptr) == 1) {
      m_record.claimed_hashes[HashAlgorithm::sha1] = to_hex(std::span(digest.data(), 20));
    }
  }

  void read_headers() {
    static constexpr std::array k_identifiers{"case_number",
                                              "evidence_number",
                                              "examiner_name",
                                              "description",
                                              "notes",
                                              "acquiry_date",
                                              "system_date",
                                              "acquiry_operating_system",
                                              "model",
                                              "serial_number",
                                              "acquiry_software_version"};
    for (const std::string identifier : k_identifiers) {
      const auto* name = reinterpret_cast<const std::uint8_t*>(identifier.data());
      std::size_t size = 0;
      if (libewf_handle_get_utf8_header_value_size(m_handle, name, identifier.size(), &size,
                                                   nullptr) != 1 ||
          size <= 1) {
        continue;
      }
      std::string value(size, '\0');
      if (libewf_handle_get_utf8_header_value(m_handle, name, identifier.size(),
                                              reinterpret_cast<std::uint8_t*>(value.data()), size,
                                              nullptr) == 1) {
        value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
        m_record.headers[identifier] = value;
      }
    }
  }

  Result<void> read_acquiry_errors(const std::string& path) {
    std::uint32_t count = 0;
    libewf_error_t* error = nullptr;
    if (libewf_handle_get_number_of_acquiry_errors(m_handle, &count, &error) != 1) {
      return corrupt(path, "cannot read the acquiry error list", error);
    }
    for (std::uint32_t index = 0; index < count; ++index) {
      std::uint64_t first = 0;
      std::uint64_t sectors = 0;
      if (libewf_handle_get_acquiry_error(m_handle, index, &first, &sectors, &error) != 1) {
        return corrupt(path, "cannot read the acquiry error list", error);
      }
      m_record.acquiry_errors.push_back(to_bytes(first, sectors));
    }
    return {};
  }

  std::vector<ByteRange> checksum_errors() const {
    std::vector<ByteRange> out;
    std::uint32_t count = 0;
    if (libewf_handle_get_number_of_checksum_errors(m_handle, &count, nullptr) != 1) {
      return out;
    }
    for (std::uint32_t index = 0; index < count; ++index) {
      std::uint64_t first = 0;
      std::uint64_t sectors = 0;
      if (libewf_handle_get_checksum_error(m_handle, index, &first, &sectors, nullptr) == 1) {
        out.push_back(to_bytes(first, sectors));
      }
    }
    return out;
  }

  // Sectors to bytes, the last range cut at the end of the media.
  ByteRange to_bytes(std::uint64_t first, std::uint64_t sectors) const {
    const std::uint64_t size = m_info.size.value_or(0);
    const std::uint64_t offset = std::min(first * m_record.bytes_per_sector, size);
    const std::uint64_t end = std::min((first + sectors) * m_record.bytes_per_sector, size);
    return ByteRange{offset, end - offset};
  }

  libewf_handle_t* m_handle = nullptr;
  SourceInfo m_info;
  ImportRecord m_record;
  std::uint64_t m_offset = 0;
};

bool has_ewf_signature(const std::string& path) {
  libewf_error_t* error = nullptr;
  const int result = libewf_check_file_signature(path.c_str(), &error);
  if (result < 0) {
    libewf_error_free(&error);
  }
  return result == 1;
}

Result<std::unique_ptr<ImageFileSource>> open_raw(const std::string& path,
                                                  std::vector<std::string> paths,
                                                  const char* format) {
  auto files = describe_files(paths);
  CUSTODY_TRY(files);
  auto inner = open_concatenated_files(paths);
  CUSTODY_TRY(inner);
  ImportRecord record;
  record.format = format;
  record.files = std::move(*files);
  return std::make_unique<RawImageSource>(std::move(*inner), std::move(record), path);
}

}  // namespace

Result<std::vector<std::string>> find_split_raw_set(const std::string& first) {
  const auto numbered = parse_numbered(first);
  if (!numbered || numbered->number != 1) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is not the first file of a split set (NAME.001)", first));
  }
  const std::filesystem::path stem(numbered->stem);
  const std::filesystem::path directory =
      stem.parent_path().empty() ? std::filesystem::path(".") : stem.parent_path();
  std::map<std::uint64_t, std::string> found;
  std::error_code failure;
  for (const auto& entry : std::filesystem::directory_iterator(directory, failure)) {
    const std::string name = entry.path().filename().string();
    const std::string candidate = (stem.parent_path() / name).string();
    const auto parsed = parse_numbered(candidate);
    if (parsed && parsed->stem == numbered->stem && parsed->digits == numbered->digits &&
        parsed->number > 0) {
      found.emplace(parsed->number, candidate);
    }
  }
  if (failure) {
    return make_sys_error(Errc::io_error, "cannot list the directory of", first, failure.value());
  }
  std::vector<std::string> paths;
  for (std::uint64_t number = 1; !found.empty() && number <= found.rbegin()->first; ++number) {
    auto segment = found.find(number);
    if (segment == found.end()) {
      Error gap{Errc::not_found,
                fmt::format("the split image has a gap: segment {}.{:0{}} is missing (found {} "
                            "files up to .{:0{}})",
                            numbered->stem, number, numbered->digits, found.size(),
                            found.rbegin()->first, numbered->digits),
                first,
                {},
                0,
                "find the missing file; a set with a gap would give a different image"};
      return tl::unexpected(std::move(gap));
    }
    paths.push_back(segment->second);
  }
  if (paths.empty()) {
    return make_sys_error(Errc::not_found, "cannot open", first, ENOENT);
  }
  return paths;
}

Result<std::unique_ptr<ImageFileSource>> open_image_file(const std::string& path) {
  auto size = file_size(path);
  CUSTODY_TRY(size);
  if (std::filesystem::is_directory(path)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is a directory, not an image file", path));
  }
  if (has_ewf_signature(path)) {
    auto source = std::make_unique<EwfSource>();
    CUSTODY_TRY(source->open(path));
    return source;
  }
  if (const auto numbered = parse_numbered(path)) {
    if (numbered->number != 1) {
      Error failure{Errc::invalid_argument,
                    fmt::format("{} is not the first file of its split set", path),
                    path,
                    {},
                    0,
                    fmt::format("give {}.{:0{}} instead", numbered->stem, 1, numbered->digits)};
      return tl::unexpected(std::move(failure));
    }
    auto paths = find_split_raw_set(path);
    CUSTODY_TRY(paths);
    return open_raw(path, std::move(*paths), "split-raw");
  }
  return open_raw(path, {path}, "raw");
}

}  // namespace custody
