// SPDX-License-Identifier: Apache-2.0
// The acquisition pipeline: a reader, one hashing worker per algorithm and the sinks share a
// fixed pool of blocks, so memory is bounded whatever the source size.
#include "core/pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace custody::internal {

void AlignedFree::operator()(std::byte* memory) const {
  std::free(memory);
}

namespace {

class BlockPool {
 public:
  explicit BlockPool(const PipelineConfig& config) : m_blocks(config.block_count) {
    for (Block& block : m_blocks) {
      void* memory = std::aligned_alloc(k_block_alignment, config.block_size);
      if (memory == nullptr) {
        throw std::bad_alloc();
      }
      block.memory.reset(static_cast<std::byte*>(memory));
      block.storage = std::span(block.memory.get(), config.block_size);
      m_free.push_back(&block);
    }
  }

  Block* acquire() {
    std::unique_lock lock(m_mutex);
    m_available.wait(lock, [this] { return !m_free.empty(); });
    Block* block = m_free.back();
    m_free.pop_back();
    return block;
  }

  void release(Block* block) {
    {
      std::lock_guard lock(m_mutex);
      m_free.push_back(block);
    }
    m_available.notify_one();
  }

 private:
  std::vector<Block> m_blocks;
  std::vector<Block*> m_free;
  std::mutex m_mutex;
  std::condition_variable m_available;
};

// A sink, its queue and its thread. A null block ends the queue.
class SinkWorker {
 public:
  SinkWorker(BlockSink& sink,
             BlockPool& pool,
             std::atomic<bool>& failed,
             std::function<void()> on_failure)
      : m_sink(sink),
        m_pool(pool),
        m_failed(failed),
        m_on_failure(std::move(on_failure)),
        m_thread([this] { run(); }) {}
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;
  ~SinkWorker() { join(); }

  void push(Block* block) {
    {
      std::lock_guard lock(m_mutex);
      m_queue.push_back(block);
    }
    m_ready.notify_one();
  }

  void join() {
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

  std::optional<Error>& error() { return m_error; }

 private:
  Block* pop() {
    std::unique_lock lock(m_mutex);
    m_ready.wait(lock, [this] { return !m_queue.empty(); });
    Block* block = m_queue.front();
    m_queue.pop_front();
    return block;
  }

  void run() {
    while (Block* block = pop()) {
      // After any failure the remaining blocks are only released: the run is over.
      if (!m_error && !m_failed.load(std::memory_order_relaxed)) {
        if (auto done = m_sink.consume(*block); !done) {
          fail(std::move(done).error());
        }
      }
      if (block->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        m_pool.release(block);
      }
    }
    if (auto done = m_sink.finish(); !done && !m_error) {
      fail(std::move(done).error());
    }
  }

  void fail(Error error) {
    m_error = std::move(error);
    m_failed.store(true, std::memory_order_relaxed);
    m_on_failure();
  }

  BlockSink& m_sink;
  BlockPool& m_pool;
  std::atomic<bool>& m_failed;
  std::function<void()> m_on_failure;
  std::optional<Error> m_error;
  std::deque<Block*> m_queue;
  std::mutex m_mutex;
  std::condition_variable m_ready;
  std::thread m_thread;  // last: starts after every other member exists
};

}  // namespace

Result<PipelineOutcome> run_pipeline(Source& source,
                                     std::span<BlockSink* const> sinks,
                                     std::uint64_t expected_total,
                                     ProgressSink* progress,
                                     const CancelToken* cancel,
                                     PipelineConfig config) {
  BlockPool pool(config);
  std::atomic<bool> failed{false};
  std::vector<std::unique_ptr<SinkWorker>> workers;
  workers.reserve(sinks.size());
  const auto abort_all = [sinks] {
    for (BlockSink* sink : sinks) {
      sink->abort();
    }
  };
  for (BlockSink* sink : sinks) {
    workers.push_back(std::make_unique<SinkWorker>(*sink, pool, failed, abort_all));
  }

  PipelineOutcome outcome;
  std::optional<Error> read_error;
  while (!failed.load(std::memory_order_relaxed)) {
    if (cancel != nullptr && cancel->cancelled()) {
      outcome.cancelled = true;
      break;
    }
    Block* block = pool.acquire();
    auto got = source.read(block->storage);
    if (!got || *got == 0) {
      if (!got) {
        read_error = std::move(got).error();
      }
      pool.release(block);
      break;
    }
    block->size = *got;
    block->offset = outcome.bytes;
    block->defects = source.last_read_defects();
    block->pending.store(workers.size(), std::memory_order_relaxed);
    for (auto& worker : workers) {
      worker->push(block);
    }
    outcome.bytes += *got;
    if (progress != nullptr) {
      progress->update(outcome.bytes, expected_total);
    }
    if (*got < block->storage.size()) {
      break;  // a short read is the end of the source
    }
  }

  const std::optional<std::uint64_t> known_size = source.info().size;
  if (!read_error && !outcome.cancelled && known_size && outcome.bytes < *known_size) {
    // A file cut short, or a device that shrank or went away, while it was read: what was read
    // reaches the sinks, but it is not the whole source.
    read_error = Error{Errc::io_error,
                       fmt::format("the source ended after {} of the {} bytes it had when "
                                   "reading began: it shrank or went away while being read",
                                   outcome.bytes, *known_size),
                       source.info().path,
                       outcome.bytes,
                       0,
                       "check the source (was the file changed, or the device unplugged?) and "
                       "read it again"};
  }
  for (auto& worker : workers) {
    worker->push(nullptr);
  }
  for (auto& worker : workers) {
    worker->join();
  }
  // A sink's failure (a write error) caused the stop, so it is the error to report.
  for (auto& worker : workers) {
    if (worker->error()) {
      return tl::unexpected(std::move(*worker->error()));
    }
  }
  if (read_error) {
    return tl::unexpected(std::move(*read_error));
  }
  return outcome;
}

std::uint64_t SegmentLayout::length(std::size_t index) const {
  if (m_fixed != 0) {
    return m_fixed;
  }
  if (index + 1 < m_sizes.size()) {
    return m_sizes[index];
  }
  return k_unbounded;
}

DigestSink::DigestSink(Hasher total, std::unique_ptr<Hasher> per_segment, SegmentLayout layout)
    : m_total(std::move(total)), m_segment(std::move(per_segment)), m_layout(std::move(layout)) {}

Result<void> DigestSink::consume(const Block& block) {
  std::span<const std::byte> data = block.data();
  m_total.update(data);
  m_bytes += data.size();
  if (!m_segment) {
    return {};
  }
  while (!data.empty()) {
    const std::uint64_t room = m_layout.length(m_index) - m_segment_done;
    const std::size_t take = room < data.size() ? static_cast<std::size_t>(room) : data.size();
    m_segment->update(data.first(take));
    m_segment_done += take;
    data = data.subspan(take);
    if (m_segment_done == m_layout.length(m_index)) {
      m_segment_digests.push_back(m_segment->finish_hex());
      ++m_index;
      m_segment_done = 0;
    }
  }
  return {};
}

Result<void> DigestSink::finish() {
  m_total_digest = m_total.finish_hex();
  if (!m_segment) {
    m_segment_digests = {m_total_digest};
  } else if (m_segment_done > 0 || m_segment_digests.empty()) {
    m_segment_digests.push_back(m_segment->finish_hex());
  }
  return {};
}

Result<std::vector<std::unique_ptr<DigestSink>>> make_digest_sinks(
    std::span<const HashAlgorithm> algorithms, const SegmentLayout& layout) {
  std::vector<std::unique_ptr<DigestSink>> sinks;
  for (HashAlgorithm algorithm : algorithms) {
    auto total = Hasher::create(algorithm);
    CUSTODY_TRY(total);
    std::unique_ptr<Hasher> per_segment;
    if (!layout.is_single()) {
      auto segment = Hasher::create(algorithm);
      CUSTODY_TRY(segment);
      per_segment = std::make_unique<Hasher>(std::move(*segment));
    }
    sinks.push_back(
        std::make_unique<DigestSink>(std::move(*total), std::move(per_segment), layout));
  }
  return sinks;
}

namespace {

// Feeds every block to several sinks in turn, on one thread.
class GroupSink final : public BlockSink {
 public:
  void add(BlockSink& sink) { m_members.push_back(&sink); }
  Result<void> consume(const Block& block) override {
    for (BlockSink* member : m_members) {
      CUSTODY_TRY(member->consume(block));
    }
    return {};
  }
  Result<void> finish() override {
    Result<void> outcome;
    for (BlockSink* member : m_members) {
      auto done = member->finish();
      if (!done && outcome) {
        outcome = std::move(done);
      }
    }
    return outcome;
  }
  void abort() noexcept override {
    for (BlockSink* member : m_members) {
      member->abort();
    }
  }

 private:
  std::vector<BlockSink*> m_members;
};

}  // namespace

double measure_hash_cost(HashAlgorithm algorithm) {
  static const std::vector<std::byte> sample(std::size_t{256} << 10U, std::byte{0x5a});
  auto hasher = Hasher::create(algorithm);
  if (!hasher) {
    return 1.0;
  }
  hasher->update(sample);  // warm up: page in code and tables
  const auto start = std::chrono::steady_clock::now();
  hasher->update(sample);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::unique_ptr<BlockSink>> group_work(std::vector<WorkUnit> units, unsigned cores) {
  if (cores == 0) {
    cores = std::max(1U, std::thread::hardware_concurrency());
  }
  const std::size_t group_count = std::min<std::size_t>(cores, units.size());
  std::stable_sort(units.begin(), units.end(), [](const WorkUnit& left, const WorkUnit& right) {
    return left.cost > right.cost;
  });
  std::vector<std::unique_ptr<GroupSink>> groups;
  std::vector<double> load(group_count, 0.0);
  for (std::size_t index = 0; index < group_count; ++index) {
    groups.push_back(std::make_unique<GroupSink>());
  }
  for (const WorkUnit& unit : units) {
    const auto lightest =
        static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    groups[lightest]->add(*unit.sink);
    load[lightest] += unit.cost;
  }
  std::vector<std::unique_ptr<BlockSink>> out;
  for (auto& group : groups) {
    out.push_back(std::move(group));
  }
  return out;
}

std::vector<std::unique_ptr<BlockSink>> group_digest_sinks(
    const std::vector<std::unique_ptr<DigestSink>>& sinks, unsigned cores) {
  std::vector<WorkUnit> units;
  for (const auto& sink : sinks) {
    units.push_back(WorkUnit{sink.get(), measure_hash_cost(sink->algorithm())});
  }
  return group_work(std::move(units), cores);
}

}  // namespace custody::internal
