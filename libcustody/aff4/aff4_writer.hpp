// SPDX-License-Identifier: Apache-2.0
// Writes an AFF4 v1.0 ZIP volume with one image: an ImageStream of compressed chunks in bevies, a
// Map that covers every byte (all-zero chunks map to aff4:Zero and are not stored), and
// information.turtle. It plugs into the block pipeline: compression stripes run on the hashing
// cores (grouped by cost), the writer sink on a thread of its own writes in order.
#pragma once

#include "aff4/codec.hpp"
#include "core/pipeline.hpp"

#include <custody/hash.hpp>
#include <custody/record.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace custody::internal {

struct Aff4WriterOptions {
  std::string path;
  bool overwrite = false;
  Compression compression = Compression::snappy;
  std::uint32_t chunk_size = 32768;  // a power of two dividing block_size
  std::uint32_t chunks_per_bevy = 2048;
  std::size_t block_size = std::size_t{1} << 20U;  // the pipeline's block size
  std::string tool;                                // "custody 0.1.0"
};

// What information.turtle says about the image; known when the pipeline has finished.
struct Aff4ImageFacts {
  std::uint64_t size = 0;
  DigestSet hashes;
  CaseInfo case_info;
  SourceInfo source;
  std::string started;
  std::string finished;
  std::string completion_state = "Completed Normally";  // aff4:acquisitionCompletionState
};

// The URNs of a written volume.
struct Aff4Names {
  std::string volume;
  std::string image;
  std::string map;
  std::string stream;
};

class Aff4Writer {
 public:
  // Creates the volume file and writes container.description and version.txt.
  // Errc::already_exists if it exists and !overwrite.
  static Result<std::unique_ptr<Aff4Writer>> create(const Aff4WriterOptions& options);
  ~Aff4Writer();
  Aff4Writer(const Aff4Writer&) = delete;
  Aff4Writer& operator=(const Aff4Writer&) = delete;

  // Reopens a container that custody-acquire wrote and that was interrupted, to continue its
  // image from image byte `resume_at` (the image size it holds, a multiple of the block size).
  // The pipeline then feeds every block from 0 (the held part re-read from the container, so the
  // hashes cover the whole image); blocks below `resume_at` are skipped by the writer. The last,
  // partly filled bevy, the map, idx, information.turtle and the custody members are superseded
  // by new members; no existing byte of the file is rewritten. Errc::unsupported for a
  // container that custody did not write.
  static Result<std::unique_ptr<Aff4Writer>> resume(const Aff4WriterOptions& options,
                                                    std::uint64_t resume_at);

  // `stripes` compression units (each compresses every stripes-th block), with their measured
  // costs, to be grouped with the hash workers.
  std::vector<WorkUnit> compression_units(unsigned stripes);
  // The sink that writes bevies, indexes and the map, in block order (run it on its own thread).
  BlockSink& writer_sink();

  // After the pipeline: information.turtle, then `extra_members` (name, bytes), then the central
  // directory; fsync of file and directory.
  Result<void> finalize(const Aff4ImageFacts& facts,
                        const std::vector<std::pair<std::string, std::string>>& extra_members);

  const Aff4Names& names() const;
  std::uint64_t stream_size() const;
  std::uint64_t stored_chunks() const;
  std::uint64_t zero_chunks() const;
  // Image bytes the writer has placed (stored or mapped), also after a failure.
  std::uint64_t image_bytes() const;

  struct State;  // defined in aff4_writer.cpp

 private:
  explicit Aff4Writer(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

// The turtle for `facts` (exposed for tests).
std::string aff4_turtle(const Aff4Names& names,
                        const Aff4WriterOptions& options,
                        const Aff4ImageFacts& facts,
                        std::uint64_t stream_size);

}  // namespace custody::internal
