// SPDX-License-Identifier: Apache-2.0
// Safe extraction of a transfer package's tar or zip (extract_bag_archive from a ByteStream),
// with small limits so that a run stays quick.
#include "fuzz_support.hpp"

#include <custody/bagit.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace {
class InputStream final : public custody::ByteStream {
 public:
  explicit InputStream(std::string_view bytes) : m_bytes(bytes) {}
  custody::Result<std::size_t> read(std::span<std::byte> buffer) override {
    const std::size_t n = std::min(buffer.size(), m_bytes.size() - m_at);
    std::memcpy(buffer.data(), m_bytes.data() + m_at, n);
    m_at += n;
    return n;
  }

 private:
  std::string_view m_bytes;
  std::size_t m_at = 0;
};
}  // namespace

CUSTODY_FUZZ_TARGET(extract)(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const fs::path destination = fs::path(custody::fuzz::scratch_dir()) / "extracted";
  std::error_code ignored;
  fs::remove_all(destination, ignored);
  InputStream stream(custody::fuzz::as_text(data, size));
  custody::BagExtractLimits limits;
  limits.max_total_bytes = std::uint64_t{4} << 20U;
  limits.max_entries = 200;
  limits.max_tag_file_bytes = std::uint64_t{1} << 20U;
  (void)custody::extract_bag_archive(stream, destination.string(), limits);
  fs::remove_all(destination, ignored);
  return 0;
}
