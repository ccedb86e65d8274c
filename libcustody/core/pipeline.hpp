// SPDX-License-Identifier: Apache-2.0
// The block pipeline under acquisition, hashing and verification: the calling thread reads a
// Source into blocks from a fixed pool; every block goes to every sink, each sink on its own
// thread with its own queue. The reader waits only when the pool is empty, so no sink waits for
// another and memory is bounded by the pool (block_size * block_count).
#pragma once

#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/progress.hpp>
#include <custody/source.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

namespace custody::internal {

// Block memory is aligned for O_DIRECT output (k_block_alignment).
inline constexpr std::size_t k_block_alignment = 4096;

struct AlignedFree {
  void operator()(std::byte* memory) const;
};

struct Block {
  std::unique_ptr<std::byte[], AlignedFree> memory;
  std::span<std::byte> storage;
  std::size_t size = 0;
  std::uint64_t offset = 0;        // of the first byte within the source
  std::vector<ByteRange> defects;  // unreadable ranges within this block (absolute offsets)
  std::atomic<std::size_t> pending{0};

  std::span<const std::byte> data() const { return {storage.data(), size}; }
};

// Receives every block of a run, in order, on a thread of its own.
class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual Result<void> consume(const Block& block) = 0;
  // Called once after the last block, also after a cancellation or another sink's failure.
  virtual Result<void> finish() = 0;
  // Called from another thread when some sink failed: a sink that may be waiting for another
  // sink's output (the container writer waits for compressed blocks) must stop waiting.
  virtual void abort() noexcept {}
};

struct PipelineConfig {
  std::size_t block_size = std::size_t{1} << 20U;
  std::size_t block_count = 64;
};

struct PipelineOutcome {
  std::uint64_t bytes = 0;
  bool cancelled = false;
};

// Reads `source` to its end (or until cancelled) and feeds every sink. Returns the first error
// of the reader or of any sink; sinks are always finished and their threads joined.
Result<PipelineOutcome> run_pipeline(Source& source,
                                     std::span<BlockSink* const> sinks,
                                     std::uint64_t expected_total,
                                     ProgressSink* progress,
                                     const CancelToken* cancel,
                                     PipelineConfig config = {});

// Where an image is cut into segments: one unbounded segment, fixed-size segments, or a list of
// sizes (as found on disk when verifying).
class SegmentLayout {
 public:
  static constexpr std::uint64_t k_unbounded = std::numeric_limits<std::uint64_t>::max();

  static SegmentLayout single() { return SegmentLayout({}, 0); }
  static SegmentLayout fixed(std::uint64_t size) { return SegmentLayout({}, size); }
  static SegmentLayout sizes(std::vector<std::uint64_t> sizes) {
    return SegmentLayout(std::move(sizes), 0);
  }

  // True when there is at most one segment, whose digest is the whole image's.
  bool is_single() const { return m_fixed == 0 && m_sizes.size() <= 1; }
  // Length of segment `index`; k_unbounded for the open-ended last one.
  std::uint64_t length(std::size_t index) const;

 private:
  SegmentLayout(std::vector<std::uint64_t> sizes, std::uint64_t fixed)
      : m_sizes(std::move(sizes)), m_fixed(fixed) {}
  std::vector<std::uint64_t> m_sizes;
  std::uint64_t m_fixed;
};

// Hashes the whole stream with one algorithm, and each segment too unless the layout is single.
class DigestSink final : public BlockSink {
 public:
  DigestSink(Hasher total, std::unique_ptr<Hasher> per_segment, SegmentLayout layout);
  Result<void> consume(const Block& block) override;
  Result<void> finish() override;

  HashAlgorithm algorithm() const { return m_total.algorithm(); }
  const std::string& total_digest() const { return m_total_digest; }
  // One digest per segment; for a single layout, the total digest.
  const std::vector<std::string>& segment_digests() const { return m_segment_digests; }
  // Bytes hashed (after a failure elsewhere this can differ from what was written).
  std::uint64_t bytes() const { return m_bytes; }

 private:
  Hasher m_total;
  std::unique_ptr<Hasher> m_segment;
  SegmentLayout m_layout;
  std::size_t m_index = 0;
  std::uint64_t m_bytes = 0;
  std::uint64_t m_segment_done = 0;
  std::string m_total_digest;
  std::vector<std::string> m_segment_digests;
};

Result<std::vector<std::unique_ptr<DigestSink>>> make_digest_sinks(
    std::span<const HashAlgorithm> algorithms, const SegmentLayout& layout);

// A piece of per-block work and its cost (seconds for a 256 KiB sample on this machine).
struct WorkUnit {
  BlockSink* sink = nullptr;
  double cost = 0.0;
};

// Seconds `algorithm` needs to hash a warm 256 KiB sample here.
double measure_hash_cost(HashAlgorithm algorithm);

// Groups work units into at most one sink per core, balancing their costs (longest first onto
// the least-loaded group). On two cores MD5 gets a worker of its own and SHA-1 + SHA-256 share the
// other, instead of three threads time-sliced over two cores, which would hold the slowest hash to
// two thirds of a core.
std::vector<std::unique_ptr<BlockSink>> group_work(std::vector<WorkUnit> units, unsigned cores = 0);

// group_work over digest sinks with their measured costs.
std::vector<std::unique_ptr<BlockSink>> group_digest_sinks(
    const std::vector<std::unique_ptr<DigestSink>>& sinks, unsigned cores = 0);

// Plain pointers to `sinks`, appended to `out` (or a new vector).
template <typename Owned>
std::vector<BlockSink*> sink_pointers(const std::vector<std::unique_ptr<Owned>>& sinks,
                                      std::vector<BlockSink*> out = {}) {
  for (const auto& sink : sinks) {
    out.push_back(sink.get());
  }
  return out;
}

}  // namespace custody::internal
