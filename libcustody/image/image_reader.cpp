// SPDX-License-Identifier: Apache-2.0
// Random access to E01 sets and raw images (image_reader.hpp).
#include "image/image_reader.hpp"

#include "core/posix_file.hpp"
#include "image/ewf_handle.hpp"

#include <custody/record.hpp>

#include <fmt/format.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

namespace custody::internal {
namespace {

constexpr std::uint64_t k_raw_unit = 32 * 1024;

tl::unexpected<Error> ewf_failure(const std::string& path,
                                  const std::string& what,
                                  libewf_error_t* error) {
  return tl::unexpected(Error{Errc::corrupt,
                              fmt::format("{}: {}", what, take_ewf_error(error)),
                              path,
                              {},
                              0,
                              "check that every segment file (.E01, .E02, ...) is present and "
                              "undamaged (ewfverify)"});
}

class E01Reader final : public ImageReader {
 public:
  E01Reader() = default;
  E01Reader(const E01Reader&) = delete;
  E01Reader& operator=(const E01Reader&) = delete;
  ~E01Reader() override {
    if (m_handle != nullptr) {
      (void)libewf_handle_close(m_handle, nullptr);
      (void)libewf_handle_free(&m_handle, nullptr);
    }
  }

  Result<void> open(const std::string& path) {
    m_path = path;
    auto segments = ewf_glob(path);
    CUSTODY_TRY(segments);
    libewf_error_t* error = nullptr;
    if (libewf_handle_initialize(&m_handle, &error) != 1) {
      return ewf_failure(path, "cannot set up libewf", error);
    }
    std::vector<char*> names;
    for (std::string& segment : *segments) {
      names.push_back(segment.data());
    }
    if (libewf_handle_open(m_handle, names.data(), static_cast<int>(names.size()), LIBEWF_OPEN_READ,
                           &error) != 1) {
      return ewf_failure(path, "libewf cannot open this E01 set", error);
    }
    std::uint32_t sectors_per_chunk = 0;
    std::uint32_t bytes_per_sector = 0;
    if (libewf_handle_get_media_size(m_handle, &m_size, &error) != 1 ||
        libewf_handle_get_sectors_per_chunk(m_handle, &sectors_per_chunk, &error) != 1 ||
        libewf_handle_get_bytes_per_sector(m_handle, &bytes_per_sector, &error) != 1) {
      return ewf_failure(path, "the E01 set does not say its media size", error);
    }
    m_bytes_per_sector = bytes_per_sector == 0 ? 512 : bytes_per_sector;
    m_chunk_size =
        std::max<std::uint64_t>(1, std::uint64_t{sectors_per_chunk} * m_bytes_per_sector);
    read_identity();
    return {};
  }

  std::uint64_t size() const override { return m_size; }
  std::uint64_t chunk_size() const override { return m_chunk_size; }
  const DigestSet& recorded_hashes() const override { return m_hashes; }
  const std::string& evidence_id() const override { return m_evidence_id; }

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    if (offset >= m_size || out.empty()) {
      return std::size_t{0};
    }
    const auto wanted =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), m_size - offset));
    if (auto damaged = damaged_overlap(offset, wanted)) {
      return tl::unexpected(std::move(*damaged));
    }
    libewf_error_t* error = nullptr;
    const ssize_t got = libewf_handle_read_random(m_handle, out.data(), wanted,
                                                  static_cast<off64_t>(offset), &error);
    if (got < 0) {
      return ewf_failure(m_path, fmt::format("cannot read the E01 set at byte {}", offset), error);
    }
    // libewf hands out a chunk whose checksum fails (and serves it again from its cache) and
    // only lists it: the list decides, for this read and every later one.
    collect_checksum_errors();
    if (auto damaged = damaged_overlap(offset, wanted)) {
      return tl::unexpected(std::move(*damaged));
    }
    return static_cast<std::size_t>(got);
  }

 private:
  void collect_checksum_errors() {
    std::uint32_t count = 0;
    if (libewf_handle_get_number_of_checksum_errors(m_handle, &count, nullptr) != 1) {
      return;
    }
    for (std::uint32_t index = m_checksum_errors; index < count; ++index) {
      std::uint64_t first_sector = 0;
      std::uint64_t sectors = 0;
      if (libewf_handle_get_checksum_error(m_handle, index, &first_sector, &sectors, nullptr) ==
          1) {
        m_damaged.emplace_back(first_sector * m_bytes_per_sector, sectors * m_bytes_per_sector);
      }
    }
    m_checksum_errors = count;
  }

  std::optional<Error> damaged_overlap(std::uint64_t offset, std::size_t length) const {
    for (const auto& [start, size] : m_damaged) {
      if (offset < start + size && start < offset + length) {
        return Error{Errc::corrupt,
                     fmt::format("image bytes {}..{} of {} fail their chunk checksum: they are "
                                 "damaged",
                                 start, start + size, m_path),
                     m_path,
                     start,
                     0,
                     "ewfverify lists the damaged chunks; read what is intact around them"};
      }
    }
    return std::nullopt;
  }

  void read_identity() {
    std::array<std::uint8_t, 20> digest{};
    if (libewf_handle_get_md5_hash(m_handle, digest.data(), 16, nullptr) == 1) {
      m_hashes[HashAlgorithm::md5] = to_hex(std::span(digest.data(), 16));
    }
    if (libewf_handle_get_sha1_hash(m_handle, digest.data(), 20, nullptr) == 1) {
      m_hashes[HashAlgorithm::sha1] = to_hex(std::span(digest.data(), 20));
    }
    static constexpr std::string_view k_identifier = "evidence_number";
    const auto* name = reinterpret_cast<const std::uint8_t*>(k_identifier.data());
    std::size_t size = 0;
    if (libewf_handle_get_utf8_header_value_size(m_handle, name, k_identifier.size(), &size,
                                                 nullptr) == 1 &&
        size > 1) {
      std::string value(size, '\0');
      if (libewf_handle_get_utf8_header_value(m_handle, name, k_identifier.size(),
                                              reinterpret_cast<std::uint8_t*>(value.data()), size,
                                              nullptr) == 1) {
        m_evidence_id = value.substr(0, value.find('\0'));
      }
    }
    if (m_evidence_id.empty()) {
      m_evidence_id = std::filesystem::path(m_path).filename().string();
    }
  }

  std::string m_path;
  libewf_handle_t* m_handle = nullptr;
  std::uint64_t m_size = 0;
  std::uint64_t m_chunk_size = 0;
  std::uint32_t m_checksum_errors = 0;
  std::uint32_t m_bytes_per_sector = 512;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> m_damaged;  // (offset, length) in bytes
  DigestSet m_hashes;
  std::string m_evidence_id;
};

struct Segment {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  UniqueFd fd;
};

class RawReader final : public ImageReader {
 public:
  RawReader(std::vector<Segment> segments, std::uint64_t size, DigestSet hashes, std::string id)
      : m_segments(std::move(segments)),
        m_size(size),
        m_hashes(std::move(hashes)),
        m_evidence_id(std::move(id)) {}

  std::uint64_t size() const override { return m_size; }
  std::uint64_t chunk_size() const override { return k_raw_unit; }
  const DigestSet& recorded_hashes() const override { return m_hashes; }
  const std::string& evidence_id() const override { return m_evidence_id; }

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    std::size_t done = 0;
    while (done < out.size() && offset + done < m_size) {
      const std::uint64_t at = offset + done;
      const auto segment =
          std::find_if(m_segments.begin(), m_segments.end(),
                       [at](const Segment& s) { return at >= s.offset && at < s.offset + s.size; });
      if (segment == m_segments.end()) {
        return make_error(Errc::corrupt, fmt::format("no segment holds image byte {}", at));
      }
      const auto piece = static_cast<std::size_t>(
          std::min<std::uint64_t>(out.size() - done, segment->offset + segment->size - at));
      auto got = pread_full(segment->fd.get(), out.subspan(done, piece), segment->path,
                            at - segment->offset);
      CUSTODY_TRY(got);
      if (*got < piece) {
        return make_error(Errc::corrupt, fmt::format("{} is shorter than its record says ({} "
                                                     "bytes): it was cut or replaced",
                                                     segment->path, segment->size));
      }
      done += piece;
    }
    return done;
  }

 private:
  std::vector<Segment> m_segments;
  std::uint64_t m_size;
  DigestSet m_hashes;
  std::string m_evidence_id;
};

}  // namespace

Result<std::unique_ptr<ImageReader>> open_e01_reader(const std::string& first_segment) {
  auto reader = std::make_unique<E01Reader>();
  CUSTODY_TRY(reader->open(first_segment));
  return std::unique_ptr<ImageReader>(std::move(reader));
}

Result<std::unique_ptr<ImageReader>> open_raw_reader(const std::string& record_path) {
  auto loaded = load_record(record_path);
  CUSTODY_TRY(loaded);
  const AcquisitionRecord& record = loaded->record;
  const std::filesystem::path directory = std::filesystem::path(record_path).parent_path();
  std::vector<Segment> segments;
  for (const SegmentRecord& recorded : record.segments) {
    // Only files beside the record: a name with a directory in it could point anywhere.
    if (recorded.file.empty() || recorded.file.find('/') != std::string::npos ||
        recorded.file == "." || recorded.file == "..") {
      return make_error(Errc::corrupt, fmt::format("segment name \"{}\" in {} is not a plain "
                                                   "file name",
                                                   recorded.file, record_path));
    }
    Segment segment;
    segment.path = (directory / recorded.file).string();
    segment.offset = recorded.offset;
    segment.size = recorded.size;
    segment.fd = UniqueFd(::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!segment.fd) {
      return make_error(errno == ENOENT ? Errc::not_found : Errc::io_error,
                        fmt::format("cannot open the image segment {}", segment.path));
    }
    segments.push_back(std::move(segment));
  }
  if (segments.empty()) {
    return make_error(Errc::corrupt, fmt::format("{} names no image file", record_path));
  }
  std::string id = record.case_info.evidence_number.value_or("");
  if (id.empty()) {
    id = std::filesystem::path(record_path).filename().string();
  }
  return std::unique_ptr<ImageReader>(
      std::make_unique<RawReader>(std::move(segments), record.image_size, record.hashes, id));
}

}  // namespace custody::internal
