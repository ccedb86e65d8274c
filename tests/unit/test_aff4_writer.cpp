// SPDX-License-Identifier: Apache-2.0
// The AFF4 writer driven through the pipeline with a source that has unreadable ranges: those
// ranges must read back as the UNREADABLEDATA pattern, be reported by the map, and the linear
// hash of the container must equal the hash of what the source delivered.
#include "../support/temp_dir.hpp"
#include "aff4/aff4_writer.hpp"

#include <custody/container.hpp>

#include <boost/test/unit_test.hpp>

#include <cstring>

namespace custody::internal {
namespace {

// Serves `data`; bytes inside `defects` are delivered as the UNREADABLEDATA pattern and reported.
class DefectiveSource final : public Source {
 public:
  DefectiveSource(std::vector<char> data, std::vector<ByteRange> defects)
      : m_data(std::move(data)), m_defects(std::move(defects)) {
    m_info.path = "defective";
    m_info.size = m_data.size();
  }
  const SourceInfo& info() const override { return m_info; }
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    const std::size_t take = std::min(buffer.size(), m_data.size() - m_offset);
    if (take > 0) {
      std::memcpy(buffer.data(), m_data.data() + m_offset, take);
    }
    m_last.clear();
    for (const ByteRange& range : m_defects) {
      const std::uint64_t from = std::max<std::uint64_t>(range.offset, m_offset);
      const std::uint64_t to =
          std::min<std::uint64_t>(range.offset + range.length, m_offset + take);
      if (from < to) {
        fill_with_unreadable_pattern(buffer.subspan(from - m_offset, to - from), from);
        m_last.push_back(ByteRange{from, to - from});
      }
    }
    m_offset += take;
    return take;
  }
  std::vector<ByteRange> last_read_defects() const override { return m_last; }

 private:
  std::vector<char> m_data;
  std::vector<ByteRange> m_defects;
  std::vector<ByteRange> m_last;
  std::size_t m_offset = 0;
  SourceInfo m_info;
};

std::string sha256(std::span<const std::byte> data) {
  return hash_bytes(data, std::array{HashAlgorithm::sha256})->at(HashAlgorithm::sha256);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(aff4_writer)

BOOST_AUTO_TEST_CASE(unreadable_ranges_map_to_unreadable_data_at_byte_precision) {
  test::TempDir dir;
  auto data = test::random_bytes((3U << 20U) + 1000U, 21);
  std::fill(data.begin() + (1U << 20U), data.begin() + (1U << 20U) + 65536, 0);  // zero chunks
  // One sector inside a data chunk, a whole chunk, and a range across a chunk boundary.
  const std::vector<ByteRange> defects{
      {40960, 512}, {2U << 20U, 32768}, {(2U << 20U) + 98304 - 1024, 2048}};

  Aff4WriterOptions options;
  options.path = dir.file("defects.aff4");
  options.tool = "custody test";
  auto writer = Aff4Writer::create(options);
  BOOST_REQUIRE(writer);
  DefectiveSource source(data, defects);
  std::vector<WorkUnit> units = (*writer)->compression_units(2);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256}, SegmentLayout::single());
  BOOST_REQUIRE(sinks);
  units.push_back(WorkUnit{sinks->front().get(), 1.0});
  const auto workers = group_work(std::move(units), 2);
  auto outcome = run_pipeline(source, sink_pointers(workers, {&(*writer)->writer_sink()}),
                              data.size(), nullptr, nullptr);
  BOOST_REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().to_string()));
  Aff4ImageFacts facts;
  facts.size = data.size();
  facts.hashes[HashAlgorithm::sha256] = sinks->front()->total_digest();
  facts.started = facts.finished = "2026-11-29T00:00:00Z";
  BOOST_REQUIRE((*writer)->finalize(facts, {}));

  auto container = Container::open({options.path});
  BOOST_REQUIRE_MESSAGE(container, (container ? "" : container.error().to_string()));
  const ContainerInfo& info = (*container)->info();
  BOOST_TEST(info.map.unreadable_bytes == 512U + 32768U + 2048U);
  BOOST_REQUIRE(info.map.unreadable_ranges.size() == 3U);
  BOOST_TEST(info.map.unreadable_ranges[0].first == 40960U);
  BOOST_TEST(info.map.unreadable_ranges[0].second == 512U);
  BOOST_TEST(info.map.unreadable_ranges[2].first == (2U << 20U) + 98304U - 1024U);

  // What the container reads back is exactly what the source delivered, pattern included.
  std::vector<std::byte> delivered(data.size());
  std::memcpy(delivered.data(), data.data(), data.size());
  for (const ByteRange& range : defects) {
    fill_with_unreadable_pattern(std::span(delivered).subspan(range.offset, range.length),
                                 range.offset);
  }
  std::vector<std::byte> back(data.size());
  auto got = (*container)->read(0, back);
  BOOST_REQUIRE(got);
  BOOST_TEST(*got == data.size());
  BOOST_TEST((back == delivered));
  BOOST_TEST(sha256(back) == facts.hashes[HashAlgorithm::sha256]);
  BOOST_TEST(info.linear_hashes.at(HashAlgorithm::sha256) == facts.hashes[HashAlgorithm::sha256]);
  // The fully unreadable chunk was not stored.
  BOOST_TEST((*writer)->stored_chunks() < (data.size() + 32767) / 32768);
}

BOOST_AUTO_TEST_CASE(unreadable_pattern_is_phased_by_absolute_offset) {
  std::array<std::byte, 20> out{};
  fill_with_unreadable_pattern(out, 14 * 3 + 2);
  BOOST_TEST(std::string(reinterpret_cast<const char*>(out.data()), out.size()) ==
             "READABLEDATAUNREADAB");
  fill_with_unreadable_pattern(std::span(out).first(4), (1U << 20U) - 2);
  // The tile restarts at every MiB: 1048576 % 14 = 4, so a tile ends "...UNRE".
  BOOST_TEST(std::string(reinterpret_cast<const char*>(out.data()), 4) == "REUN");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
