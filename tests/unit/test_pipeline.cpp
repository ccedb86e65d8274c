// SPDX-License-Identifier: Apache-2.0
#include "../support/memory_source.hpp"
#include "../support/temp_dir.hpp"
#include "core/pipeline.hpp"

#include <boost/test/unit_test.hpp>

namespace custody::internal {
namespace {

std::string sha256_of(const std::vector<char>& data, std::size_t begin, std::size_t end) {
  auto digests = hash_bytes(std::as_bytes(std::span(data.data() + begin, end - begin)),
                            std::array{HashAlgorithm::sha256});
  return digests->at(HashAlgorithm::sha256);
}

// A sink that fails on the n-th block, as a writer does when the disk fills.
class FailingSink final : public BlockSink {
 public:
  explicit FailingSink(std::size_t fail_on) : m_fail_on(fail_on) {}
  Result<void> consume(const Block&) override {
    if (++m_seen == m_fail_on) {
      return make_error(Errc::io_error, "disk full while writing");
    }
    return {};
  }
  Result<void> finish() override {
    m_finished = true;
    return {};
  }
  bool finished() const { return m_finished; }

 private:
  std::size_t m_fail_on;
  std::size_t m_seen = 0;
  bool m_finished = false;
};

class CancelAfter final : public ProgressSink {
 public:
  CancelAfter(CancelToken& token, std::uint64_t bytes) : m_token(token), m_bytes(bytes) {}
  void update(std::uint64_t done, std::uint64_t) override {
    if (done >= m_bytes) {
      m_token.cancel();
    }
  }

 private:
  CancelToken& m_token;
  std::uint64_t m_bytes;
};

constexpr PipelineConfig k_small{4096, 3};

}  // namespace

BOOST_AUTO_TEST_SUITE(pipeline)

BOOST_AUTO_TEST_CASE(segment_digests_cross_block_boundaries) {
  // 10000-byte segments over 4096-byte blocks: boundaries fall inside blocks.
  const auto data = test::random_bytes(35000, 3);
  test::MemorySource source(data);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256}, SegmentLayout::fixed(10000));
  BOOST_REQUIRE(sinks);
  auto outcome = run_pipeline(source, sink_pointers(*sinks), 0, nullptr, nullptr, k_small);
  BOOST_REQUIRE(outcome);
  BOOST_TEST(outcome->bytes == 35000U);
  const auto& segments = sinks->front()->segment_digests();
  BOOST_REQUIRE(segments.size() == 4U);
  BOOST_TEST(segments[0] == sha256_of(data, 0, 10000));
  BOOST_TEST(segments[1] == sha256_of(data, 10000, 20000));
  BOOST_TEST(segments[3] == sha256_of(data, 30000, 35000));
  BOOST_TEST(sinks->front()->total_digest() == sha256_of(data, 0, 35000));
}

BOOST_AUTO_TEST_CASE(exact_multiple_of_segment_size_has_no_empty_trailing_segment) {
  const auto data = test::random_bytes(20000, 4);
  test::MemorySource source(data);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::md5}, SegmentLayout::fixed(10000));
  BOOST_REQUIRE(sinks);
  BOOST_REQUIRE(run_pipeline(source, sink_pointers(*sinks), 0, nullptr, nullptr, k_small));
  BOOST_TEST(sinks->front()->segment_digests().size() == 2U);
}

BOOST_AUTO_TEST_CASE(explicit_sizes_layout_follows_the_given_sizes) {
  const auto data = test::random_bytes(9000, 5);
  test::MemorySource source(data);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256},
                                 SegmentLayout::sizes({1000, 5000, 3000}));
  BOOST_REQUIRE(sinks);
  BOOST_REQUIRE(run_pipeline(source, sink_pointers(*sinks), 0, nullptr, nullptr, k_small));
  const auto& segments = sinks->front()->segment_digests();
  BOOST_REQUIRE(segments.size() == 3U);
  BOOST_TEST(segments[1] == sha256_of(data, 1000, 6000));
  BOOST_TEST(segments[2] == sha256_of(data, 6000, 9000));
}

BOOST_AUTO_TEST_CASE(sink_failure_stops_the_run_and_is_reported) {
  test::MemorySource source(test::random_bytes(100000, 6));
  FailingSink failing(2);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha1}, SegmentLayout::single());
  BOOST_REQUIRE(sinks);
  auto outcome =
      run_pipeline(source, sink_pointers(*sinks, {&failing}), 0, nullptr, nullptr, k_small);
  BOOST_REQUIRE(!outcome);
  BOOST_TEST(outcome.error().message == "disk full while writing");
  BOOST_TEST(failing.finished());
}

BOOST_AUTO_TEST_CASE(read_error_is_reported_with_its_offset) {
  test::MemorySource source(test::random_bytes(100000, 8), 50000);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256}, SegmentLayout::single());
  BOOST_REQUIRE(sinks);
  auto outcome = run_pipeline(source, sink_pointers(*sinks), 0, nullptr, nullptr, k_small);
  BOOST_REQUIRE(!outcome);
  BOOST_TEST((outcome.error().code == Errc::io_error));
  BOOST_TEST(*outcome.error().offset == 50000U);
}

BOOST_AUTO_TEST_CASE(cancellation_stops_at_a_block_boundary) {
  test::MemorySource source(test::random_bytes(100000, 9));
  CancelToken token;
  CancelAfter cancel_after(token, 8192);
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256}, SegmentLayout::single());
  BOOST_REQUIRE(sinks);
  auto outcome = run_pipeline(source, sink_pointers(*sinks), 0, &cancel_after, &token, k_small);
  BOOST_REQUIRE(outcome);
  BOOST_TEST(outcome->cancelled);
  BOOST_TEST(outcome->bytes == 8192U);
}

BOOST_AUTO_TEST_CASE(empty_source_hashes_the_empty_message) {
  test::MemorySource source({});
  auto sinks = make_digest_sinks(std::array{HashAlgorithm::sha256}, SegmentLayout::fixed(1024));
  BOOST_REQUIRE(sinks);
  BOOST_REQUIRE(run_pipeline(source, sink_pointers(*sinks), 0, nullptr, nullptr, k_small));
  BOOST_TEST(sinks->front()->total_digest() ==
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sinks->front()->segment_digests().size() == 1U);
}

BOOST_AUTO_TEST_CASE(grouped_hashers_use_at_most_one_worker_per_core_and_stay_exact) {
  const auto data = test::random_bytes(50000, 10);
  const std::array algorithms{HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256};
  auto sinks = make_digest_sinks(algorithms, SegmentLayout::single());
  BOOST_REQUIRE(sinks);
  BOOST_TEST(group_digest_sinks(*sinks, 8).size() == 3U);
  BOOST_TEST(group_digest_sinks(*sinks, 1).size() == 1U);
  const auto workers = group_digest_sinks(*sinks, 2);
  BOOST_TEST(workers.size() == 2U);
  test::MemorySource source(data);
  BOOST_REQUIRE(run_pipeline(source, sink_pointers(workers), 0, nullptr, nullptr, k_small));
  auto expected = hash_bytes(std::as_bytes(std::span(data.data(), data.size())), algorithms);
  BOOST_REQUIRE(expected);
  for (const auto& sink : *sinks) {
    BOOST_TEST(sink->total_digest() == expected->at(sink->algorithm()));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
