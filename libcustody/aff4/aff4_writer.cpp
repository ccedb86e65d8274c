// SPDX-License-Identifier: Apache-2.0
// The AFF4 writer: an ImageStream of compressed chunks in bevies, its Map and index, and
// information.turtle, over the ZIP64 writer; unreadable ranges as aff4:UnreadableData.
#include "aff4/aff4_writer.hpp"

#include "aff4/aff4_format.hpp"
#include "aff4/turtle.hpp"
#include "core/posix_file.hpp"
#include "zip/zip.hpp"

#include <custody/container.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

namespace custody::internal {

namespace {

// Target ids in the map's idx member.
constexpr std::uint32_t k_stream_target = 0;
constexpr std::uint32_t k_zero_target = 1;
constexpr std::uint32_t k_unreadable_target = 2;
// Map entries kept in memory before they are spooled to a temporary file: a disk that alternates
// zero and data chunks could otherwise need one entry per chunk in memory.
constexpr std::size_t k_map_entries_in_memory = std::size_t{1} << 16U;

std::uint32_t crc_of(std::span<const std::byte> data) {
  return static_cast<std::uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

bool all_zero(std::span<const std::byte> data) {
  static const std::array<std::byte, 4096> k_zeros{};
  while (!data.empty()) {
    const std::size_t take = std::min(data.size(), k_zeros.size());
    if (std::memcmp(data.data(), k_zeros.data(), take) != 0) {
      return false;
    }
    data = data.subspan(take);
  }
  return true;
}

// One chunk as the writer stores it.
struct ChunkResult {
  std::uint32_t logical_length = 0;  // bytes of the image (the final chunk may be short)
  bool zero = false;                 // all zero: mapped to aff4:Zero, not stored
  std::uint32_t stored_length = 0;   // bytes in the bevy
  std::uint32_t crc = 0;             // CRC-32 of the stored bytes
  // Where the stored bytes are: in the pipeline block itself (a full chunk stored raw, which
  // spares a copy), else in CompressedBlock::bytes.
  bool in_block = false;
  std::size_t offset = 0;  // of the stored bytes in the block or in CompressedBlock::bytes
};

struct CompressedBlock {
  std::vector<std::byte> bytes;
  std::vector<ChunkResult> chunks;
};

// Hands compressed blocks from the stripes to the writer, by block index.
class CompressedBlockTable {
 public:
  void put(std::uint64_t index, CompressedBlock block) {
    {
      std::lock_guard lock(m_mutex);
      m_ready.emplace(index, std::move(block));
    }
    m_changed.notify_all();
  }

  Result<CompressedBlock> take(std::uint64_t index) {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_aborted || m_ready.count(index) != 0; });
    if (m_aborted) {
      return make_error(Errc::cancelled, "container writing stopped after another failure");
    }
    auto node = m_ready.extract(index);
    return std::move(node.mapped());
  }

  void abort() {
    {
      std::lock_guard lock(m_mutex);
      m_aborted = true;
    }
    m_changed.notify_all();
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<std::uint64_t, CompressedBlock> m_ready;
  bool m_aborted = false;
};

// Compresses every `count`-th block (starting at `stripe`) chunk by chunk.
class CompressorStripe final : public BlockSink {
 public:
  CompressorStripe(const Aff4WriterOptions& options,
                   CompressedBlockTable& table,
                   unsigned stripe,
                   unsigned count,
                   std::uint64_t skip_below)
      : m_skip_below(skip_below),
        m_options(options),
        m_table(table),
        m_stripe(stripe),
        m_count(count),
        m_padded(options.chunk_size),
        m_compressed(compress_bound(options.compression, options.chunk_size)) {}

  Result<void> consume(const Block& block) override {
    const std::uint64_t index = block.offset / m_options.block_size;
    if (index % m_count != m_stripe || block.offset < m_skip_below) {
      return {};
    }
    CompressedBlock out;
    const std::span<const std::byte> data = block.data();
    for (std::size_t at = 0; at < data.size(); at += m_options.chunk_size) {
      const std::size_t take = std::min<std::size_t>(data.size() - at, m_options.chunk_size);
      CUSTODY_TRY(add_chunk(data.subspan(at, take), at, out));
    }
    m_table.put(index, std::move(out));
    return {};
  }

  Result<void> finish() override { return {}; }
  void abort() noexcept override { m_table.abort(); }

 private:
  Result<void> add_chunk(std::span<const std::byte> chunk,
                         std::size_t offset_in_block,
                         CompressedBlock& out) {
    ChunkResult result;
    result.logical_length = static_cast<std::uint32_t>(chunk.size());
    if (all_zero(chunk)) {
      result.zero = true;
      out.chunks.push_back(result);
      return {};
    }
    // The final chunk is zero-padded to the chunk size before compression (AFF4 1.0a §3.2), so a
    // raw-stored short chunk is never mistaken for a compressed one.
    std::span<const std::byte> full = chunk;
    if (chunk.size() < m_options.chunk_size) {
      std::fill(m_padded.begin(), m_padded.end(), std::byte{0});
      std::memcpy(m_padded.data(), chunk.data(), chunk.size());
      full = m_padded;
    }
    std::span<const std::byte> stored = full;
    if (m_options.compression != Compression::stored) {
      auto length = compress(m_options.compression, full, m_compressed);
      CUSTODY_TRY(length);
      if (*length + aff4::k_min_compression_saving <= m_options.chunk_size) {
        stored = std::span<const std::byte>(m_compressed.data(), *length);
      }
    }
    result.stored_length = static_cast<std::uint32_t>(stored.size());
    result.crc = crc_of(stored);
    if (stored.data() == chunk.data()) {
      result.in_block = true;
      result.offset = offset_in_block;
    } else {
      result.offset = out.bytes.size();
      out.bytes.insert(out.bytes.end(), stored.begin(), stored.end());
    }
    out.chunks.push_back(result);
    return {};
  }

  std::uint64_t m_skip_below;
  const Aff4WriterOptions& m_options;
  CompressedBlockTable& m_table;
  unsigned m_stripe;
  unsigned m_count;
  std::vector<std::byte> m_padded;
  std::vector<std::byte> m_compressed;
};

// Map entries, merged as they come and spooled to an unnamed temporary file when many.
class MapBuilder {
 public:
  explicit MapBuilder(std::string directory) : m_directory(std::move(directory)) {}

  Result<void> add(std::uint64_t mapped,
                   std::uint64_t length,
                   std::uint64_t target,
                   std::uint32_t id) {
    if (m_has_last && m_last.target_id == id && m_last.mapped_offset + m_last.length == mapped &&
        m_last.target_offset + m_last.length == target) {
      m_last.length += length;
      return {};
    }
    if (m_has_last) {
      CUSTODY_TRY(emit(m_last));
    }
    m_last = aff4::MapEntry{mapped, length, target, id};
    m_has_last = true;
    return {};
  }

  // Bytes the map will still need when it is written (what is not spooled yet).
  std::uint64_t size_estimate() const {
    return m_pending.size() + aff4::k_map_entry_size + m_spooled;
  }

  // Streams every entry into the current member of `zip`.
  Result<void> write_to(ZipWriter& zip) {
    if (m_has_last) {
      CUSTODY_TRY(emit(m_last));
      m_has_last = false;
    }
    if (m_spool) {
      CUSTODY_TRY(spill());
      std::vector<std::byte> buffer(std::size_t{1} << 20U);
      std::uint64_t offset = 0;
      while (true) {
        const ssize_t got =
            ::pread(m_spool.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
        if (got < 0) {
          return make_sys_error(Errc::io_error, "cannot read the map spool", m_directory, errno);
        }
        if (got == 0) {
          break;
        }
        CUSTODY_TRY(zip.write_member_data(std::span(buffer.data(), static_cast<std::size_t>(got))));
        offset += static_cast<std::uint64_t>(got);
      }
      return {};
    }
    return zip.write_member_data(m_pending);
  }

 private:
  Result<void> emit(const aff4::MapEntry& entry) {
    const std::size_t at = m_pending.size();
    m_pending.resize(at + aff4::k_map_entry_size);
    aff4::put_u64(&m_pending[at], entry.mapped_offset);
    aff4::put_u64(&m_pending[at + 8], entry.length);
    aff4::put_u64(&m_pending[at + 16], entry.target_offset);
    aff4::put_u32(&m_pending[at + 24], entry.target_id);
    if (m_pending.size() >= k_map_entries_in_memory * aff4::k_map_entry_size) {
      return spill();
    }
    return {};
  }

  Result<void> spill() {
    if (!m_spool) {
      m_spool = UniqueFd(::open(m_directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
      if (!m_spool) {
        return make_sys_error(Errc::io_error, "cannot create a temporary map spool in", m_directory,
                              errno);
      }
    }
    CUSTODY_TRY(write_full(m_spool.get(), m_pending, "map spool", m_spooled));
    m_spooled += m_pending.size();
    m_pending.clear();
    return {};
  }

  std::string m_directory;
  aff4::MapEntry m_last;
  bool m_has_last = false;
  std::vector<std::byte> m_pending;
  UniqueFd m_spool;
  std::uint64_t m_spooled = 0;
};

std::string hash_datatype(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::md5:
      return aff4::term("MD5");
    case HashAlgorithm::sha1:
      return aff4::term("SHA1");
    case HashAlgorithm::sha256:
      return aff4::term("SHA256");
    case HashAlgorithm::sha512:
      return aff4::term("SHA512");
    case HashAlgorithm::blake2b_512:
      return aff4::term("Blake2b");
    case HashAlgorithm::sha3_256:
      return {};  // AFF4 has no datatype for it: it is kept in the custody record only
  }
  return {};
}

}  // namespace

struct Aff4Writer::State {
  Aff4WriterOptions options;
  Aff4Names names;
  std::string stream_member;
  ZipWriter zip;
  CompressedBlockTable table;
  std::vector<std::unique_ptr<CompressorStripe>> stripes;
  std::unique_ptr<BlockSink> writer;
  MapBuilder map;
  // Bevy in progress.
  std::uint64_t bevy = 0;
  bool bevy_open = false;
  std::uint64_t bevy_offset = 0;
  std::vector<std::byte> index;
  std::vector<std::byte> chunk_crcs;
  // Totals.
  std::uint64_t stream_size = 0;
  std::uint64_t stored_chunks = 0;
  std::uint64_t zero_chunks = 0;
  std::uint64_t image_bytes = 0;
  std::uint64_t unreadable_bytes = 0;
  std::uint64_t skip_below = 0;  // resume: image bytes already in the container

  State(Aff4WriterOptions opts, ZipWriter writer_zip)
      : options(std::move(opts)), zip(std::move(writer_zip)), map(directory_of(options.path)) {}

  static std::string directory_of(const std::string& path) {
    const std::string directory = std::filesystem::path(path).parent_path().string();
    return directory.empty() ? "." : directory;
  }

  Result<void> close_bevy() {
    if (!bevy_open) {
      return {};
    }
    CUSTODY_TRY(zip.end_member());
    const std::string member = aff4::bevy_member(stream_member, bevy);
    CUSTODY_TRY(zip.add_member(member + ".index", index));
    CUSTODY_TRY(zip.add_member(fmt::format("custody/chunk-crc32/{:08d}", bevy), chunk_crcs));
    index.clear();
    chunk_crcs.clear();
    bevy_open = false;
    bevy_offset = 0;
    ++bevy;
    return {};
  }

  // Stored chunks that lie next to each other in memory, written with one call.
  struct Run {
    const std::byte* data = nullptr;
    std::size_t length = 0;
    std::uint32_t crc = 0;
  };

  Result<void> flush(Run& run) {
    if (run.length > 0) {
      CUSTODY_TRY(zip.write_member_data(std::span(run.data, run.length), run.crc));
    }
    run = Run{};
    return {};
  }

  Result<void> write_block(const Block& source, const CompressedBlock& block) {
    std::uint64_t image_offset = source.offset;
    Run run;
    for (const ChunkResult& chunk : block.chunks) {
      if (!source.defects.empty() &&
          overlaps_defect(source.defects, image_offset, chunk.logical_length)) {
        CUSTODY_TRY(flush(run));
        CUSTODY_TRY(write_defective_chunk(source, block, chunk, image_offset));
        image_offset += chunk.logical_length;
        continue;
      }
      if (chunk.zero) {
        CUSTODY_TRY(map.add(image_offset, chunk.logical_length, image_offset, k_zero_target));
        ++zero_chunks;
        image_offset += chunk.logical_length;
        continue;
      }
      if (!bevy_open) {
        CUSTODY_TRY(zip.begin_member(aff4::bevy_member(stream_member, bevy), true));
        bevy_open = true;
      }
      const std::byte* stored =
          (chunk.in_block ? source.storage.data() : block.bytes.data()) + chunk.offset;
      if (run.length > 0 && run.data + run.length != stored) {
        CUSTODY_TRY(flush(run));
      }
      if (run.length == 0) {
        run.data = stored;
      }
      run.crc = static_cast<std::uint32_t>(
          ::crc32_combine(run.crc, chunk.crc, static_cast<z_off_t>(chunk.stored_length)));
      run.length += chunk.stored_length;
      append_index(chunk);
      CUSTODY_TRY(map.add(image_offset, chunk.logical_length, stream_size, k_stream_target));
      // Every stored chunk but the stream's last is a full chunk, so stream offsets stay aligned.
      stream_size += chunk.logical_length;
      ++stored_chunks;
      image_offset += chunk.logical_length;
      if (index.size() / aff4::k_index_entry_size == options.chunks_per_bevy) {
        CUSTODY_TRY(flush(run));
        CUSTODY_TRY(close_bevy());
      }
    }
    image_bytes = image_offset;
    return flush(run);
  }

  static bool overlaps_defect(const std::vector<ByteRange>& defects,
                              std::uint64_t offset,
                              std::uint64_t length) {
    return std::any_of(defects.begin(), defects.end(), [&](const ByteRange& range) {
      return range.offset < offset + length && offset < range.offset + range.length;
    });
  }

  // A chunk with unreadable bytes: those map to aff4:UnreadableData (phase = image offset, as
  // the reference images do), the readable rest to the stored chunk (or aff4:Zero). A chunk that
  // is unreadable throughout is not stored at all.
  Result<void> write_defective_chunk(const Block& source,
                                     const CompressedBlock& block,
                                     const ChunkResult& chunk,
                                     std::uint64_t image_offset) {
    const std::uint64_t end = image_offset + chunk.logical_length;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> bad;  // clipped to the chunk
    std::uint64_t bad_bytes = 0;
    for (const ByteRange& range : source.defects) {
      const std::uint64_t from = std::max(range.offset, image_offset);
      const std::uint64_t to = std::min(range.offset + range.length, end);
      if (from < to) {
        bad.emplace_back(from, to);
        bad_bytes += to - from;
      }
    }
    unreadable_bytes += bad_bytes;
    const bool store = bad_bytes < chunk.logical_length && !chunk.zero;
    const std::uint64_t chunk_stream_offset = stream_size;
    if (store) {
      if (!bevy_open) {
        CUSTODY_TRY(zip.begin_member(aff4::bevy_member(stream_member, bevy), true));
        bevy_open = true;
      }
      const std::byte* stored =
          (chunk.in_block ? source.storage.data() : block.bytes.data()) + chunk.offset;
      CUSTODY_TRY(zip.write_member_data(std::span(stored, chunk.stored_length), chunk.crc));
      append_index(chunk);
      stream_size += chunk.logical_length;
      ++stored_chunks;
    }
    std::uint64_t at = image_offset;
    for (const auto& [from, to] : bad) {
      CUSTODY_TRY(map_readable(at, from, image_offset, chunk_stream_offset, store));
      CUSTODY_TRY(map.add(from, to - from, from, k_unreadable_target));
      at = to;
    }
    CUSTODY_TRY(map_readable(at, end, image_offset, chunk_stream_offset, store));
    if (store && index.size() / aff4::k_index_entry_size == options.chunks_per_bevy) {
      CUSTODY_TRY(close_bevy());
    }
    return {};
  }

  Result<void> map_readable(std::uint64_t from,
                            std::uint64_t to,
                            std::uint64_t chunk_image_offset,
                            std::uint64_t chunk_stream_offset,
                            bool stored) {
    if (from >= to) {
      return {};
    }
    if (!stored) {
      return map.add(from, to - from, from, k_zero_target);
    }
    return map.add(from, to - from, chunk_stream_offset + (from - chunk_image_offset),
                   k_stream_target);
  }

  void append_index(const ChunkResult& chunk) {
    const std::size_t at = index.size();
    index.resize(at + aff4::k_index_entry_size);
    aff4::put_u64(&index[at], bevy_offset);
    aff4::put_u32(&index[at + 8], chunk.stored_length);
    const std::size_t crc_at = chunk_crcs.size();
    chunk_crcs.resize(crc_at + 4);
    aff4::put_u32(&chunk_crcs[crc_at], chunk.crc);
    bevy_offset += chunk.stored_length;
  }

  Result<void> write_map() {
    CUSTODY_TRY(close_bevy());
    const std::string map_member = aff4::member_name_for(names.map, names.volume);
    CUSTODY_TRY(zip.begin_member(map_member + "/map"));
    CUSTODY_TRY(map.write_to(zip));
    CUSTODY_TRY(zip.end_member());
    std::string idx = names.stream + "\n" + aff4::term("Zero") + "\n";
    if (unreadable_bytes > 0) {
      idx += aff4::term("UnreadableData") + "\n";
    }
    return zip.add_member(map_member + "/idx", std::as_bytes(std::span(idx.data(), idx.size())));
  }
};

namespace {

// Writes blocks in order as the stripes deliver them; closes the last bevy and writes the map at
// the end.
class Aff4WriterSink final : public BlockSink {
 public:
  explicit Aff4WriterSink(Aff4Writer::State& state) : m_state(state) {}

  Result<void> consume(const Block& block) override {
    if (block.offset < m_state.skip_below) {
      return {};  // resume: already in the container
    }
    auto compressed = m_state.table.take(block.offset / m_state.options.block_size);
    CUSTODY_TRY(compressed);
    CUSTODY_TRY(ensure_room(compressed->bytes.size() + block.size));
    return m_state.write_block(block, *compressed);
  }

  Result<void> finish() override { return m_state.write_map(); }
  void abort() noexcept override { m_state.table.abort(); }

 private:
  // Stops before the output disk is full, while there is still room to close the container
  // (map, metadata, record, central directory): a full disk then leaves a readable container
  // marked failed instead of a broken file.
  Result<void> ensure_room(std::uint64_t next_write) {
    struct statvfs disk {};
    const std::string directory = Aff4Writer::State::directory_of(m_state.options.path);
    if (::statvfs(directory.c_str(), &disk) != 0) {
      return {};  // cannot tell: the writes themselves will report a full disk
    }
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize;
    const std::uint64_t closing = k_closing_reserve + m_state.map.size_estimate();
    if (free_bytes < next_write + closing) {
      Error error{Errc::io_error,
                  fmt::format("disk full: the output disk has {} bytes free; stopped at image "
                              "offset {} and closed the container, marked failed",
                              free_bytes, m_state.image_bytes),
                  m_state.options.path,
                  {},
                  ENOSPC,
                  "free space on the output disk or choose another output, then run again"};
      return tl::unexpected(std::move(error));
    }
    return {};
  }

  static constexpr std::uint64_t k_closing_reserve = std::uint64_t{4} << 20U;
  Aff4Writer::State& m_state;
};

}  // namespace

Aff4Writer::Aff4Writer(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Aff4Writer::~Aff4Writer() = default;

Result<std::unique_ptr<Aff4Writer>> Aff4Writer::create(const Aff4WriterOptions& options) {
  if (options.chunk_size < 512 || options.block_size % options.chunk_size != 0 ||
      (options.chunk_size & (options.chunk_size - 1)) != 0) {
    return make_error(Errc::invalid_argument,
                      fmt::format("chunk size {} is invalid: it must be a power of two from 512 "
                                  "bytes to {}",
                                  options.chunk_size, options.block_size));
  }
  auto zip = ZipWriter::create(options.path, options.overwrite);
  CUSTODY_TRY(zip);
  auto state = std::make_unique<State>(options, std::move(*zip));
  state->names = Aff4Names{aff4::new_urn(), aff4::new_urn(), aff4::new_urn(), aff4::new_urn()};
  state->stream_member = aff4::member_name_for(state->names.stream, state->names.volume);
  const std::string& volume = state->names.volume;
  CUSTODY_TRY(state->zip.add_member("container.description",
                                    std::as_bytes(std::span(volume.data(), volume.size()))));
  const std::string version = fmt::format("major=1\nminor=0\ntool={}\n", options.tool);
  CUSTODY_TRY(state->zip.add_member("version.txt",
                                    std::as_bytes(std::span(version.data(), version.size()))));
  state->writer = std::make_unique<Aff4WriterSink>(*state);
  return std::unique_ptr<Aff4Writer>(new Aff4Writer(std::move(state)));
}

Result<std::unique_ptr<Aff4Writer>> Aff4Writer::resume(const Aff4WriterOptions& options,
                                                       std::uint64_t resume_at) {
  auto container = Container::open({options.path});
  CUSTODY_TRY(container);
  const ContainerInfo& info = (*container)->info();
  if (info.streams.size() != 1 || info.map_urns.size() != 1 || !info.custody_record) {
    return make_error(Errc::unsupported,
                      fmt::format("{} was not written by custody-acquire; only its own "
                                  "containers can be resumed",
                                  options.path));
  }
  const ContainerStream& stream = info.streams.front();
  if (stream.chunk_size != options.chunk_size || resume_at % options.block_size != 0 ||
      resume_at != info.size) {
    return make_error(Errc::unsupported,
                      fmt::format("{} cannot be resumed: its image ({} bytes, {}-byte chunks) does "
                                  "not end on a block boundary of this acquisition",
                                  options.path, info.size, stream.chunk_size));
  }
  auto reader = ZipReader::open(options.path);
  CUSTODY_TRY(reader);
  Aff4Names names{info.volume_urn, info.image_urn, info.map_urns.front(), stream.urn};
  const std::string stream_member = aff4::member_name_for(names.stream, names.volume);
  const std::string map_member = aff4::member_name_for(names.map, names.volume);
  const std::uint64_t stored = stream.size / stream.chunk_size;
  const std::uint64_t last_bevy = stored == 0 ? 0 : (stored - 1) / stream.chunks_per_bevy;
  const bool partial_bevy = stored % stream.chunks_per_bevy != 0;

  std::vector<std::string> superseded{map_member + "/map", map_member + "/idx",
                                      "information.turtle", "custody/acquisition.json"};
  if (reader->find("custody/post-verification.json") != nullptr) {
    superseded.push_back("custody/post-verification.json");
  }
  const std::string bevy_name = aff4::bevy_member(stream_member, last_bevy);
  const std::string crc_name = fmt::format("custody/chunk-crc32/{:08d}", last_bevy);
  std::string bevy_bytes;
  std::string index_bytes;
  std::string crc_bytes;
  if (partial_bevy) {
    for (const std::string* name : {&bevy_name, &crc_name}) {
      if (reader->find(*name) == nullptr || reader->find(bevy_name + ".index") == nullptr) {
        return make_error(Errc::unsupported, fmt::format("{} lacks {}", options.path, *name));
      }
    }
    auto bytes = reader->read_member(*reader->find(bevy_name), SIZE_MAX);
    CUSTODY_TRY(bytes);
    bevy_bytes = std::move(*bytes);
    auto index = reader->read_member(*reader->find(bevy_name + ".index"), SIZE_MAX);
    CUSTODY_TRY(index);
    index_bytes = std::move(*index);
    auto crcs = reader->read_member(*reader->find(crc_name), SIZE_MAX);
    CUSTODY_TRY(crcs);
    crc_bytes = std::move(*crcs);
    superseded.insert(superseded.end(), {bevy_name, bevy_name + ".index", crc_name});
  }
  auto map_bytes = reader->read_member(*reader->find(map_member + "/map"), SIZE_MAX);
  CUSTODY_TRY(map_bytes);

  auto zip = ZipWriter::open_for_append(options.path, superseded);
  CUSTODY_TRY(zip);
  auto state = std::make_unique<State>(options, std::move(*zip));
  state->names = names;
  state->stream_member = stream_member;
  state->skip_below = resume_at;
  state->image_bytes = resume_at;
  state->stream_size = stream.size;
  state->stored_chunks = stored;
  const auto* entry = reinterpret_cast<const std::byte*>(map_bytes->data());
  for (std::size_t at = 0; at + aff4::k_map_entry_size <= map_bytes->size();
       at += aff4::k_map_entry_size) {
    const std::uint64_t length = aff4::get_u64(entry + at + 8);
    const std::uint32_t target = aff4::get_u32(entry + at + 24);
    if (target == k_zero_target) {
      state->zero_chunks += length / options.chunk_size;
    } else if (target == k_unreadable_target) {
      state->unreadable_bytes += length;
    }
    CUSTODY_TRY(
        state->map.add(aff4::get_u64(entry + at), length, aff4::get_u64(entry + at + 16), target));
  }
  state->bevy = partial_bevy ? last_bevy : (stored == 0 ? 0 : last_bevy + 1);
  if (partial_bevy) {
    // The partly filled last bevy is written again, whole, under its name, then continued.
    CUSTODY_TRY(state->zip.begin_member(bevy_name, true));
    CUSTODY_TRY(state->zip.write_member_data(
        std::as_bytes(std::span(bevy_bytes.data(), bevy_bytes.size()))));
    state->bevy_open = true;
    state->bevy_offset = bevy_bytes.size();
    const auto* index = reinterpret_cast<const std::byte*>(index_bytes.data());
    state->index.assign(index, index + index_bytes.size());
    const auto* crcs = reinterpret_cast<const std::byte*>(crc_bytes.data());
    state->chunk_crcs.assign(crcs, crcs + crc_bytes.size());
  }
  state->writer = std::make_unique<Aff4WriterSink>(*state);
  return std::unique_ptr<Aff4Writer>(new Aff4Writer(std::move(state)));
}

std::vector<WorkUnit> Aff4Writer::compression_units(unsigned stripes) {
  stripes = std::max(1U, stripes);
  // Cost: compress and CRC a 256 KiB sample of incompressible bytes, as most evidence is.
  std::vector<std::byte> sample(std::size_t{256} << 10U);
  std::uint32_t state = 2463534242U;
  for (std::byte& byte : sample) {
    state ^= state << 13U;
    state ^= state >> 17U;
    state ^= state << 5U;
    byte = static_cast<std::byte>(state & 0xFFU);
  }
  std::vector<std::byte> out(compress_bound(m_state->options.compression, sample.size()));
  (void)compress(m_state->options.compression, sample, out);  // warm up
  const auto start = std::chrono::steady_clock::now();
  (void)compress(m_state->options.compression, sample, out);
  (void)crc_of(sample);
  const double cost =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<WorkUnit> units;
  for (unsigned stripe = 0; stripe < stripes; ++stripe) {
    m_state->stripes.push_back(std::make_unique<CompressorStripe>(
        m_state->options, m_state->table, stripe, stripes, m_state->skip_below));
    units.push_back(WorkUnit{m_state->stripes.back().get(), cost / stripes});
  }
  return units;
}

BlockSink& Aff4Writer::writer_sink() {
  return *m_state->writer;
}

const Aff4Names& Aff4Writer::names() const {
  return m_state->names;
}
std::uint64_t Aff4Writer::stream_size() const {
  return m_state->stream_size;
}
std::uint64_t Aff4Writer::stored_chunks() const {
  return m_state->stored_chunks;
}
std::uint64_t Aff4Writer::zero_chunks() const {
  return m_state->zero_chunks;
}
std::uint64_t Aff4Writer::image_bytes() const {
  return m_state->image_bytes;
}

Result<void> Aff4Writer::finalize(
    const Aff4ImageFacts& facts,
    const std::vector<std::pair<std::string, std::string>>& extra_members) {
  const std::string turtle =
      aff4_turtle(m_state->names, m_state->options, facts, m_state->stream_size);
  CUSTODY_TRY(m_state->zip.add_member("information.turtle",
                                      std::as_bytes(std::span(turtle.data(), turtle.size()))));
  for (const auto& [name, content] : extra_members) {
    CUSTODY_TRY(
        m_state->zip.add_member(name, std::as_bytes(std::span(content.data(), content.size()))));
  }
  return m_state->zip.finish(m_state->names.volume);
}

std::string aff4_turtle(const Aff4Names& names,
                        const Aff4WriterOptions& options,
                        const Aff4ImageFacts& facts,
                        std::uint64_t stream_size) {
  using aff4::term;
  using aff4::xsd;
  TurtleWriter out;
  const std::string type = k_rdf_type;
  const std::string case_details = aff4::new_urn();
  const std::string case_notes = aff4::new_urn();
  const std::string times = aff4::new_urn();

  out.add_iri(names.volume, type, term("ZipVolume"));
  for (const std::string* object :
       {&names.image, &names.map, &names.stream, &case_details, &case_notes, &times}) {
    out.add_iri(names.volume, term("contains"), *object);
  }
  out.add_literal(names.volume, term("creationTime"), facts.started, xsd("dateTime"));

  out.add_iri(names.image, type, term("DiskImage"));
  out.add_iri(names.image, type, term("ContiguousImage"));
  out.add_iri(names.image, type, term("Image"));
  out.add_iri(names.image, term("dataStream"), names.map);
  out.add_literal(names.image, term("size"), std::to_string(facts.size), xsd("long"));
  out.add_iri(names.image, term("stored"), names.volume);
  out.add_literal(names.image, term("acquisitionCompletionState"), facts.completion_state);
  for (const auto& [algorithm, hex] : facts.hashes) {
    const std::string datatype = hash_datatype(algorithm);
    if (!datatype.empty()) {
      out.add_literal(names.image, term("hash"), hex, datatype);
    }
  }
  const SourceInfo& source = facts.source;
  out.add_literal(names.image, term("diskDeviceName"), source.path);
  if (source.logical_sector_size) {
    out.add_literal(names.image, term("blockSize"), std::to_string(*source.logical_sector_size),
                    xsd("int"));
    out.add_literal(names.image, term("sectorCount"),
                    std::to_string(facts.size / *source.logical_sector_size), xsd("long"));
  }
  if (source.vendor) {
    out.add_literal(names.image, term("diskMake"), *source.vendor);
  }
  if (source.model) {
    out.add_literal(names.image, term("diskModel"), *source.model);
  }
  if (source.serial) {
    out.add_literal(names.image, term("diskSerial"), *source.serial);
  }
  if (source.firmware) {
    out.add_literal(names.image, term("diskFirmware"), *source.firmware);
  }
  if (source.transport) {
    out.add_literal(names.image, term("diskInterfaceType"), *source.transport);
  }

  out.add_iri(names.map, type, term("Map"));
  out.add_literal(names.map, term("size"), std::to_string(facts.size), xsd("long"));
  out.add_iri(names.map, term("dependentStream"), names.stream);
  out.add_iri(names.map, term("mapGapDefaultStream"), term("Zero"));
  out.add_iri(names.map, term("stored"), names.volume);
  out.add_iri(names.map, term("target"), names.image);

  out.add_iri(names.stream, type, term("ImageStream"));
  out.add_literal(names.stream, term("size"), std::to_string(stream_size), xsd("long"));
  out.add_literal(names.stream, term("chunkSize"), std::to_string(options.chunk_size), xsd("int"));
  out.add_literal(names.stream, term("chunksInSegment"), std::to_string(options.chunks_per_bevy),
                  xsd("int"));
  out.add_iri(names.stream, term("compressionMethod"),
              std::string(compression_uri(options.compression)));
  out.add_iri(names.stream, term("stored"), names.volume);
  out.add_iri(names.stream, term("target"), names.map);
  out.add_literal(names.stream, term("version"), "1", xsd("int"));

  const CaseInfo& info = facts.case_info;
  out.add_iri(case_details, type, term("CaseDetails"));
  if (info.case_number) {
    out.add_literal(case_details, term("caseName"), *info.case_number);
  }
  if (info.description) {
    out.add_literal(case_details, term("caseDescription"), *info.description);
  }
  if (info.examiner) {
    out.add_literal(case_details, term("examiner"), *info.examiner);
  }
  out.add_iri(case_details, term("stored"), names.volume);
  out.add_iri(case_details, term("target"), names.image);

  out.add_iri(case_notes, type, term("CaseNotes"));
  if (info.case_number) {
    out.add_literal(case_notes, term("caseNumber"), *info.case_number);
  }
  if (info.evidence_number) {
    out.add_literal(case_notes, term("evidenceNumber"), *info.evidence_number);
  }
  if (info.examiner) {
    out.add_literal(case_notes, term("examiner"), *info.examiner);
  }
  if (info.notes) {
    out.add_literal(case_notes, term("notes"), *info.notes);
  }
  out.add_literal(case_notes, term("timestamp"), facts.finished, xsd("dateTime"));
  out.add_iri(case_notes, term("stored"), names.volume);
  out.add_iri(case_notes, term("target"), names.image);

  out.add_iri(times, type, term("TimeStamps"));
  out.add_literal(times, term("startTime"), facts.started, xsd("dateTime"));
  out.add_literal(times, term("endTime"), facts.finished, xsd("dateTime"));
  out.add_literal(times, term("operation"), "CAPTURE");
  out.add_literal(times, term("timeSource"), "local system clock (UTC)");
  out.add_iri(times, term("stored"), names.volume);
  out.add_iri(times, term("target"), names.image);
  return out.str();
}

}  // namespace custody::internal
