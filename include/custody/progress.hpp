// SPDX-License-Identifier: Apache-2.0
// How long jobs report progress and learn that they should stop. The library never prints: a
// tool passes a ProgressSink that decides what to show (the tools draw a line on a terminal).
#pragma once

#include <atomic>
#include <cstdint>

namespace custody {

// Receives progress of a long job. Called from the job's reading thread, often (every block):
// implementations must be cheap and throttle their own output.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // `done` bytes processed so far of `total` (0 when the total is not known in advance).
  virtual void update(std::uint64_t done, std::uint64_t total) = 0;
};

// A flag a signal handler or another thread sets to ask a job to stop at the next block.
// Thread-safe and async-signal-safe to set.
class CancelToken {
 public:
  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> m_cancelled{false};
};

}  // namespace custody
