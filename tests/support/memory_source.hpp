// SPDX-License-Identifier: Apache-2.0
// In-memory Sources for tests: one that serves a byte vector in reads of at most `max_read`
// bytes, optionally failing at a chosen offset.
#pragma once

#include <custody/source.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace custody::test {

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::vector<char> data, std::optional<std::uint64_t> fail_at = {})
      : m_data(std::move(data)), m_fail_at(fail_at) {
    m_info.path = "memory";
    m_info.kind = SourceKind::stream;
  }
  const SourceInfo& info() const override { return m_info; }
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t take = std::min(buffer.size(), m_data.size() - m_offset);
    if (m_fail_at && m_offset + take > *m_fail_at) {
      return make_sys_error(Errc::io_error, "read error", "memory", EIO, *m_fail_at);
    }
    if (take > 0) {
      std::memcpy(buffer.data(), m_data.data() + m_offset, take);
    }
    m_offset += take;
    return take;
  }

 private:
  std::vector<char> m_data;
  std::optional<std::uint64_t> m_fail_at;
  std::size_t m_offset = 0;
  SourceInfo m_info;
};

}  // namespace custody::test
