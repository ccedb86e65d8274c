// SPDX-License-Identifier: Apache-2.0
// A destination for a stream of bytes: a file, an encrypting layer in front of a file, an archive
// writer's output. Layers stack (an archive writes into an encrypting sink that writes into a
// file), so that a transfer package is never written to disk in plaintext.
#pragma once
#include <custody/error.hpp>

#include <cstddef>
#include <span>

namespace custody {

class ByteSink {
 public:
  ByteSink() = default;
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;
  virtual ~ByteSink() = default;
  // Appends `data` to the stream. After an error the sink is unusable.
  virtual Result<void> write(std::span<const std::byte> data) = 0;
  // Completes the stream (flushes, writes trailers, fsyncs where the sink is a file). No write()
  // may follow. A sink destroyed without finish() leaves no output that looks complete.
  virtual Result<void> finish() = 0;
};

}  // namespace custody
