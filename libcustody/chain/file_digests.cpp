// SPDX-License-Identifier: Apache-2.0
// File and member digests of a container in one pass (file_digests.hpp).
#include "chain/file_digests.hpp"

#include "core/pipeline.hpp"

#include <custody/hash.hpp>
#include <custody/source.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

namespace custody::internal {

namespace {

// A source over the first `length` bytes of another.
class PrefixSource final : public Source {
 public:
  PrefixSource(std::unique_ptr<Source> inner, std::uint64_t length)
      : m_inner(std::move(inner)), m_left(length), m_info(m_inner->info()) {
    m_info.size = length;
  }
  const SourceInfo& info() const override { return m_info; }
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), m_left));
    auto got = m_inner->read(buffer.first(take));
    CUSTODY_TRY(got);
    m_left -= *got;
    return *got;
  }

 private:
  std::unique_ptr<Source> m_inner;
  std::uint64_t m_left;
  SourceInfo m_info;
};

// SHA-256 of the whole stream at several lengths (one per seal), in one pass.
class PrefixDigestSink final : public BlockSink {
 public:
  PrefixDigestSink(Hasher hasher, std::vector<std::uint64_t> boundaries)
      : m_hasher(std::move(hasher)), m_boundaries(std::move(boundaries)) {
    std::sort(m_boundaries.begin(), m_boundaries.end());
  }

  Result<void> consume(const Block& block) override {
    std::span<const std::byte> data = block.data();
    std::uint64_t at = block.offset;
    while (!data.empty()) {
      const std::uint64_t next = next_boundary(at);
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), next - at));
      m_hasher.update(data.first(take));
      at += take;
      data = data.subspan(take);
      record_if_boundary(at);
    }
    return {};
  }
  Result<void> finish() override {
    record_if_boundary(m_position_for_empty);
    return {};
  }

  // The digest of the first `length` bytes, if the stream was that long.
  std::optional<std::string> digest_at(std::uint64_t length) const {
    auto found = m_digests.find(length);
    return found == m_digests.end() ? std::nullopt : std::optional(found->second);
  }

 private:
  std::uint64_t next_boundary(std::uint64_t at) const {
    for (std::uint64_t boundary : m_boundaries) {
      if (boundary > at) {
        return boundary;
      }
    }
    return UINT64_MAX;
  }
  void record_if_boundary(std::uint64_t at) {
    if (std::binary_search(m_boundaries.begin(), m_boundaries.end(), at) &&
        m_digests.count(at) == 0) {
      // Finish a copy: the running hash goes on for the longer prefixes.
      Hasher copy = m_hasher.clone();
      m_digests[at] = copy.finish_hex();
    }
  }

  Hasher m_hasher;
  std::vector<std::uint64_t> m_boundaries;
  std::map<std::uint64_t, std::string> m_digests;
  std::uint64_t m_position_for_empty = 0;
};

// SHA-256 of the stored bytes of every member, from the stream of the whole file.
class MemberDigestSink final : public BlockSink {
 public:
  explicit MemberDigestSink(std::vector<ZipMember> members) : m_members(std::move(members)) {
    std::sort(m_members.begin(), m_members.end(),
              [](const auto& a, const auto& b) { return a.data_offset < b.data_offset; });
  }

  Result<void> consume(const Block& block) override {
    const std::uint64_t begin = block.offset;
    const std::uint64_t end = block.offset + block.size;
    while (m_next < m_members.size() && m_members[m_next].data_offset < end) {
      const ZipMember& member = m_members[m_next];
      const std::uint64_t member_end = member.data_offset + member.compressed_size;
      if (!m_current) {
        auto hasher = Hasher::create(HashAlgorithm::sha256);
        CUSTODY_TRY(hasher);
        m_current = std::make_unique<Hasher>(std::move(*hasher));
      }
      const std::uint64_t from = std::max(begin, member.data_offset);
      const std::uint64_t to = std::min(end, member_end);
      if (from < to) {
        m_current->update(block.data().subspan(static_cast<std::size_t>(from - begin),
                                               static_cast<std::size_t>(to - from)));
      }
      if (member_end > end) {
        break;  // continues in the next block
      }
      m_digests[member.name] = m_current->finish_hex();
      m_current.reset();
      ++m_next;
    }
    return {};
  }
  Result<void> finish() override {
    // Empty members at the very end.
    while (m_next < m_members.size() && m_members[m_next].compressed_size == 0) {
      auto hasher = Hasher::create(HashAlgorithm::sha256);
      CUSTODY_TRY(hasher);
      m_digests[m_members[m_next].name] = hasher->finish_hex();
      ++m_next;
    }
    return {};
  }
  const std::map<std::string, std::string>& digests() const { return m_digests; }

 private:
  std::vector<ZipMember> m_members;
  std::size_t m_next = 0;
  std::unique_ptr<Hasher> m_current;
  std::map<std::string, std::string> m_digests;
};

}  // namespace

Result<FileDigests> digest_file(const ZipReader& zip,
                                std::vector<std::uint64_t> prefix_lengths,
                                ProgressSink* progress,
                                const CancelToken* cancel) {
  auto source = open_source(zip.path());
  CUSTODY_TRY(source);
  const std::uint64_t length = zip.end_offset();
  PrefixSource limited(std::move(*source), length);
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  CUSTODY_TRY(hasher);
  PrefixDigestSink prefixes(std::move(*hasher), prefix_lengths);
  MemberDigestSink members(zip.members());
  std::vector<BlockSink*> sinks{&prefixes, &members};
  auto outcome = run_pipeline(limited, sinks, length, progress, cancel);
  CUSTODY_TRY(outcome);
  if (outcome->cancelled) {
    return make_error(Errc::cancelled, "interrupted");
  }
  FileDigests out;
  for (std::uint64_t prefix : prefix_lengths) {
    if (auto digest = prefixes.digest_at(prefix)) {
      out.prefixes[prefix] = *digest;
    }
  }
  out.members = members.digests();
  return out;
}

}  // namespace custody::internal
