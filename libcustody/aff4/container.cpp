// SPDX-License-Identifier: Apache-2.0
// The AFF4 reader: ZIP volume(s) -> Turtle graph -> Image -> Map -> ImageStreams and symbolic
// streams. Follows docs/aff4-subset.md §6; everything read from the file is checked
// against the sizes it claims before it is used.
#include "aff4/aff4_format.hpp"
#include "aff4/codec.hpp"
#include "aff4/turtle.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "zip/zip.hpp"

#include <custody/container.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <list>
#include <unordered_map>

namespace custody {

namespace {

using internal::Compression;
using internal::RdfGraph;
using internal::RdfTerm;
using internal::ZipMember;
using internal::ZipReader;
namespace aff4 = internal::aff4;

constexpr std::size_t k_small_member_limit = std::size_t{64} << 20U;
constexpr std::uint32_t k_max_chunk_size = std::uint32_t{64} << 20U;
constexpr std::uint32_t k_max_chunks_per_bevy = std::uint32_t{1} << 24U;
constexpr std::size_t k_chunk_cache_entries = 64;

std::string k_rdf_type_iri() {
  return internal::k_rdf_type;
}

std::optional<std::uint64_t> to_u64(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// What a map entry reads from.
struct Target {
  enum class Kind : std::uint8_t { stream, fill, unknown, unreadable } kind = Kind::fill;
  std::size_t stream = 0;  // index into streams, for Kind::stream
  std::byte fill{0};       // for Kind::fill
};

struct MapRun {
  std::uint64_t mapped = 0;
  std::uint64_t length = 0;
  std::uint64_t target_offset = 0;
  std::size_t target = 0;  // index into targets
};

struct StreamState {
  ContainerStream info;
  Compression compression = Compression::stored;
  std::string member_prefix;
  // Loaded bevy indexes: bevy -> entries.
  std::unordered_map<std::uint64_t, std::vector<aff4::IndexEntry>> indexes;
  // The CRC-32s of the loaded bevy's stored chunks, 4 bytes each, as recorded at acquisition
  // (custody/chunk-crc32/N); empty when none were.
  std::unordered_map<std::uint64_t, std::string> chunk_crcs;
};

const std::string& tile_for(Target::Kind kind) {
  static const std::string k_unknown = [] {
    std::string tile;
    while (tile.size() < aff4::k_symbolic_tile) {
      tile += "UNKNOWN";
    }
    tile.resize(aff4::k_symbolic_tile);
    return tile;
  }();
  static const std::string k_unreadable = [] {
    std::string tile;
    while (tile.size() < aff4::k_symbolic_tile) {
      tile += "UNREADABLEDATA";
    }
    tile.resize(aff4::k_symbolic_tile);
    return tile;
  }();
  return kind == Target::Kind::unknown ? k_unknown : k_unreadable;
}

class Aff4Container;

class ImageSource final : public Source {
 public:
  ImageSource(Aff4Container& container, std::uint64_t offset, std::uint64_t length);
  const SourceInfo& info() const override { return m_info; }
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  Aff4Container& m_container;
  std::uint64_t m_offset;
  std::uint64_t m_end;
  SourceInfo m_info;
};

class Aff4Container final : public Container {
 public:
  const ContainerInfo& info() const override { return m_info; }

  Result<void> open(const std::vector<std::string>& paths) {
    if (paths.empty()) {
      return make_error(Errc::invalid_argument, "no container given");
    }
    for (const std::string& path : paths) {
      auto volume = ZipReader::open(path);
      CUSTODY_TRY(volume);
      m_info.trailing_bytes += volume->file_size() - volume->end_offset();
      m_volumes.push_back(std::make_unique<ZipReader>(std::move(*volume)));
      m_info.paths.push_back(path);
    }
    index_members();
    CUSTODY_TRY(read_volume_identity());
    CUSTODY_TRY(load_graphs());
    CUSTODY_TRY(find_image());
    CUSTODY_TRY(load_maps());
    read_metadata();
    return {};
  }

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    if (offset >= m_info.size) {
      return std::size_t{0};
    }
    const std::uint64_t available = m_info.size - offset;
    const std::size_t total =
        available < out.size() ? static_cast<std::size_t>(available) : out.size();
    std::size_t done = 0;
    while (done < total) {
      auto got = read_some(offset + done, out.subspan(done, total - done));
      CUSTODY_TRY(got);
      done += *got;
    }
    return total;
  }

  void check_chunk_crcs_on_read() override { m_check_chunk_crcs = true; }

  std::unique_ptr<Source> image_source(std::uint64_t offset, std::uint64_t length) override {
    return std::make_unique<ImageSource>(*this, offset, length);
  }

  Result<std::string> read_member(const std::string& name, std::size_t limit) override {
    auto found = m_members.find(name);
    if (found == m_members.end()) {
      return make_error(Errc::corrupt, fmt::format("member {} is missing", name));
    }
    return m_volumes[found->second.first]->read_member(*found->second.second, limit);
  }

 private:
  void index_members() {
    for (std::size_t volume = 0; volume < m_volumes.size(); ++volume) {
      for (const ZipMember& member : m_volumes[volume]->members()) {
        m_members.emplace(member.name, std::make_pair(volume, &member));
        m_info.members.push_back(ContainerMember{member.name, volume, member.uncompressed_size,
                                                 member.compressed_size, member.method,
                                                 member.crc32, member.data_offset});
      }
    }
  }

  Result<void> read_volume_identity() {
    if (auto description = read_member("container.description", 4096)) {
      m_info.volume_urn = *description;
    } else {
      m_info.volume_urn = m_volumes.front()->comment();
    }
    while (!m_info.volume_urn.empty() &&
           (m_info.volume_urn.back() == '\0' || m_info.volume_urn.back() == '\n')) {
      m_info.volume_urn.pop_back();
    }
    auto version = read_member("version.txt", 4096);
    if (!version) {
      return make_error(Errc::unsupported,
                        fmt::format("{} has no version.txt: not an AFF4 v1.0 container (older "
                                    "pre-standard AFF4 is not supported)",
                                    m_info.paths.front()));
    }
    std::map<std::string, std::string> fields;
    std::size_t start = 0;
    while (start < version->size()) {
      std::size_t end = version->find_first_of("\r\n", start);
      if (end == std::string::npos) {
        end = version->size();
      }
      const std::string line = version->substr(start, end - start);
      if (const auto equals = line.find('='); equals != std::string::npos) {
        fields[line.substr(0, equals)] = line.substr(equals + 1);
      }
      start = end + 1;
    }
    if (fields["major"] != "1") {
      return make_error(Errc::unsupported,
                        fmt::format("AFF4 version {}.{} is not supported (custody reads 1.x)",
                                    fields["major"], fields["minor"]));
    }
    m_info.tool = fields["tool"];
    return {};
  }

  Result<void> load_graphs() {
    for (std::size_t volume = 0; volume < m_volumes.size(); ++volume) {
      const ZipMember* member = m_volumes[volume]->find("information.turtle");
      if (member == nullptr) {
        return make_error(Errc::corrupt,
                          fmt::format("{} has no information.turtle", m_info.paths[volume]));
      }
      auto text = m_volumes[volume]->read_member(*member, k_small_member_limit);
      CUSTODY_TRY(text);
      auto graph = RdfGraph::parse_turtle(*text);
      if (!graph) {
        graph.error().message =
            fmt::format("{}: information.turtle: {}", m_info.paths[volume], graph.error().message);
        return tl::unexpected(std::move(graph).error());
      }
      m_graphs.push_back(std::move(*graph));
    }
    return {};
  }

  // Objects of (subject, predicate) over every volume's graph.
  std::vector<const RdfTerm*> objects(const std::string& subject,
                                      const std::string& predicate) const {
    std::vector<const RdfTerm*> out;
    for (const RdfGraph& graph : m_graphs) {
      for (const RdfTerm* term : graph.objects(subject, predicate)) {
        out.push_back(term);
      }
    }
    return out;
  }
  const RdfTerm* object(const std::string& subject, const std::string& predicate) const {
    for (const RdfGraph& graph : m_graphs) {
      if (const RdfTerm* term = graph.object(subject, predicate)) {
        return term;
      }
    }
    return nullptr;
  }
  bool has_type(const std::string& subject, const std::string& type) const {
    return std::any_of(m_graphs.begin(), m_graphs.end(),
                       [&](const RdfGraph& graph) { return graph.has_type(subject, type); });
  }
  std::vector<std::string> subjects_of_type(const std::string& type) const {
    std::vector<std::string> out;
    for (const RdfGraph& graph : m_graphs) {
      for (const std::string& subject : graph.subjects_of_type(type)) {
        if (std::find(out.begin(), out.end(), subject) == out.end()) {
          out.push_back(subject);
        }
      }
    }
    return out;
  }

  Result<std::uint64_t> number(const std::string& subject, const char* local) const {
    const RdfTerm* term = object(subject, aff4::term(local));
    if (term == nullptr) {
      return make_error(Errc::corrupt, fmt::format("{} has no aff4:{}", subject, local));
    }
    auto value = to_u64(term->value);
    if (!value) {
      return make_error(Errc::corrupt, fmt::format("aff4:{} of {} is not a number: \"{}\"", local,
                                                   subject, term->value));
    }
    return *value;
  }

  Result<void> find_image() {
    auto images = subjects_of_type(aff4::term("DiskImage"));
    if (images.empty()) {
      images = subjects_of_type(aff4::term("Image"));
    }
    if (images.empty()) {
      return make_error(Errc::corrupt, "the container holds no aff4:Image");
    }
    m_info.image_urn = images.front();
    auto size = number(m_info.image_urn, "size");
    const RdfTerm* data_stream = object(m_info.image_urn, aff4::term("dataStream"));
    if (data_stream == nullptr) {
      return make_error(Errc::corrupt,
                        fmt::format("image {} has no aff4:dataStream", m_info.image_urn));
    }
    m_data_stream = data_stream->value;
    if (!size) {
      size = number(m_data_stream, "size");
      CUSTODY_TRY(size);
    }
    m_info.size = *size;
    return {};
  }

  Result<std::size_t> stream_index(const std::string& urn) {
    for (std::size_t i = 0; i < m_streams.size(); ++i) {
      if (m_streams[i].info.urn == urn) {
        return i;
      }
    }
    StreamState stream;
    stream.info.urn = urn;
    auto size = number(urn, "size");
    CUSTODY_TRY(size);
    auto chunk_size = number(urn, "chunkSize");
    CUSTODY_TRY(chunk_size);
    if (*chunk_size == 0 || *chunk_size > k_max_chunk_size) {
      return make_error(Errc::corrupt,
                        fmt::format("chunk size {} of {} is out of range", *chunk_size, urn));
    }
    std::uint64_t per_bevy = 1024;  // the pyaff4 and c-aff4 default when absent
    if (object(urn, aff4::term("chunksInSegment")) != nullptr) {
      auto value = number(urn, "chunksInSegment");
      CUSTODY_TRY(value);
      per_bevy = *value;
    }
    if (per_bevy == 0 || per_bevy > k_max_chunks_per_bevy) {
      return make_error(Errc::corrupt,
                        fmt::format("chunksInSegment {} of {} is out of range", per_bevy, urn));
    }
    stream.info.size = *size;
    stream.info.chunk_size = static_cast<std::uint32_t>(*chunk_size);
    stream.info.chunks_per_bevy = static_cast<std::uint32_t>(per_bevy);
    if (const RdfTerm* method = object(urn, aff4::term("compressionMethod"))) {
      auto compression = internal::compression_from_uri(method->value);
      CUSTODY_TRY(compression);
      stream.compression = *compression;
    }
    stream.info.compression = std::string(internal::compression_name(stream.compression));
    stream.member_prefix = aff4::member_name_for(urn, m_info.volume_urn);
    m_streams.push_back(std::move(stream));
    m_info.streams.push_back(m_streams.back().info);
    return m_streams.size() - 1;
  }

  Result<std::size_t> target_for(const std::string& urn) {
    if (auto known = m_target_ids.find(urn); known != m_target_ids.end()) {
      return known->second;
    }
    Target target;
    const std::string symbolic_prefix = aff4::term("SymbolicStream");
    if (urn == aff4::term("Zero")) {
      target.kind = Target::Kind::fill;
    } else if (urn.starts_with(symbolic_prefix) && urn.size() == symbolic_prefix.size() + 2) {
      const auto value = std::stoul(urn.substr(symbolic_prefix.size()), nullptr, 16);
      target.kind = Target::Kind::fill;
      target.fill = static_cast<std::byte>(value);
    } else if (urn == aff4::term("UnknownData")) {
      target.kind = Target::Kind::unknown;
    } else if (urn == aff4::term("UnreadableData")) {
      target.kind = Target::Kind::unreadable;
    } else if (has_type(urn, aff4::term("ImageStream"))) {
      auto stream = stream_index(urn);
      CUSTODY_TRY(stream);
      target.kind = Target::Kind::stream;
      target.stream = *stream;
    } else {
      return make_error(Errc::unsupported,
                        fmt::format("map target {} is neither an image stream of this container "
                                    "nor a known symbolic stream",
                                    urn));
    }
    m_targets.push_back(target);
    m_target_ids.emplace(urn, m_targets.size() - 1);
    return m_targets.size() - 1;
  }

  Result<void> load_maps() {
    if (has_type(m_data_stream, aff4::term("ImageStream"))) {
      // A map-less image: the stream is the image.
      auto target = target_for(m_data_stream);
      CUSTODY_TRY(target);
      m_runs.push_back(MapRun{0, m_info.size, 0, *target});
      summarize();
      return {};
    }
    // Every map of this image (a striped image has one per volume).
    std::vector<std::string> maps;
    for (const std::string& map : subjects_of_type(aff4::term("Map"))) {
      const RdfTerm* target = object(map, aff4::term("target"));
      if (map == m_data_stream || (target != nullptr && target->value == m_info.image_urn)) {
        maps.push_back(map);
      }
    }
    if (maps.empty()) {
      return make_error(Errc::corrupt, fmt::format("the image's data stream {} is not in the "
                                                   "container",
                                                   m_data_stream));
    }
    for (std::size_t volume = 0; volume < m_graphs.size(); ++volume) {
      if (m_graphs[volume].objects(m_info.image_urn, k_rdf_type_iri()).empty()) {
        return make_error(
            Errc::invalid_argument,
            fmt::format("{} is not a volume of image {} (described in {}); give "
                        "only the volumes of one image",
                        m_info.paths[volume], m_info.image_urn, m_info.paths.front()));
      }
    }
    for (const std::string& map : maps) {
      CUSTODY_TRY(load_map(map));
      m_info.map_urns.push_back(map);
    }
    std::sort(m_runs.begin(), m_runs.end(),
              [](const MapRun& a, const MapRun& b) { return a.mapped < b.mapped; });
    // Maps of several volumes may cover the same range with the same content; keep the first.
    std::vector<MapRun> merged;
    for (const MapRun& run : m_runs) {
      if (!merged.empty() && run.mapped < merged.back().mapped + merged.back().length) {
        const std::uint64_t overlap = merged.back().mapped + merged.back().length - run.mapped;
        if (overlap >= run.length) {
          continue;
        }
        merged.push_back(MapRun{run.mapped + overlap, run.length - overlap,
                                run.target_offset + overlap, run.target});
      } else {
        merged.push_back(run);
      }
    }
    m_runs = std::move(merged);
    if (const RdfTerm* gap = object(m_data_stream, aff4::term("mapGapDefaultStream"))) {
      auto target = target_for(gap->value);
      CUSTODY_TRY(target);
      m_gap_target = *target;
    } else {
      auto target = target_for(aff4::term("Zero"));
      CUSTODY_TRY(target);
      m_gap_target = *target;
    }
    summarize();
    return {};
  }

  Result<void> load_map(const std::string& map) {
    const std::string prefix = aff4::member_name_for(map, m_info.volume_urn);
    auto idx = read_member(prefix + "/idx", k_small_member_limit);
    CUSTODY_TRY(idx);
    std::vector<std::size_t> targets;
    std::size_t start = 0;
    while (start < idx->size()) {
      std::size_t end = idx->find('\n', start);
      if (end == std::string::npos) {
        end = idx->size();
      }
      std::string line = idx->substr(start, end - start);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (!line.empty()) {
        auto target = target_for(line);
        CUSTODY_TRY(target);
        targets.push_back(*target);
      }
      start = end + 1;
    }
    auto found = m_members.find(prefix + "/map");
    if (found == m_members.end()) {
      return make_error(Errc::corrupt, fmt::format("member {}/map is missing", prefix));
    }
    const ZipMember& member = *found->second.second;
    if (member.uncompressed_size % aff4::k_map_entry_size != 0) {
      return make_error(Errc::corrupt,
                        fmt::format("member {}/map is {} bytes, not a whole number of 28-byte "
                                    "entries",
                                    prefix, member.uncompressed_size));
    }
    auto bytes = m_volumes[found->second.first]->read_member(member, SIZE_MAX);
    CUSTODY_TRY(bytes);
    const auto* data = reinterpret_cast<const std::byte*>(bytes->data());
    const std::size_t count = bytes->size() / aff4::k_map_entry_size;
    for (std::size_t i = 0; i < count; ++i) {
      const std::byte* entry = data + i * aff4::k_map_entry_size;
      MapRun run{aff4::get_u64(entry), aff4::get_u64(entry + 8), aff4::get_u64(entry + 16), 0};
      const std::uint32_t id = aff4::get_u32(entry + 24);
      if (id >= targets.size()) {
        return make_error(Errc::corrupt,
                          fmt::format("map entry {} of {} names target {} but idx lists {}", i,
                                      prefix, id, targets.size()));
      }
      if (run.length == 0) {
        continue;
      }
      if (run.mapped > m_info.size || run.length > m_info.size - run.mapped ||
          run.target_offset > UINT64_MAX - run.length) {
        return make_error(Errc::corrupt,
                          fmt::format("map entry {} of {} (offset {}, length {}) lies outside "
                                      "the image of {} bytes",
                                      i, prefix, run.mapped, run.length, m_info.size));
      }
      run.target = targets[id];
      m_runs.push_back(run);
    }
    m_info.map.entries += count;
    return {};
  }

  void summarize() {
    ContainerMapSummary& summary = m_info.map;
    std::uint64_t covered = 0;
    for (const MapRun& run : m_runs) {
      covered += run.length;
      const Target& target = m_targets[run.target];
      switch (target.kind) {
        case Target::Kind::stream:
          summary.stream_bytes += run.length;
          break;
        case Target::Kind::fill:
          (target.fill == std::byte{0} ? summary.zero_bytes : summary.fill_bytes) += run.length;
          break;
        case Target::Kind::unknown:
          summary.unknown_bytes += run.length;
          break;
        case Target::Kind::unreadable:
          summary.unreadable_bytes += run.length;
          if (!summary.unreadable_ranges.empty() &&
              summary.unreadable_ranges.back().first + summary.unreadable_ranges.back().second ==
                  run.mapped) {
            summary.unreadable_ranges.back().second += run.length;
          } else {
            summary.unreadable_ranges.emplace_back(run.mapped, run.length);
          }
          break;
      }
    }
    summary.zero_bytes += m_info.size - std::min(covered, m_info.size);  // gaps
  }

  void read_metadata() {
    for (const RdfTerm* hash : objects(m_info.image_urn, aff4::term("hash"))) {
      const std::string& type = hash->datatype;
      const std::pair<const char*, HashAlgorithm> linear[] = {
          {"MD5", HashAlgorithm::md5},
          {"SHA1", HashAlgorithm::sha1},
          {"SHA256", HashAlgorithm::sha256},
          {"SHA512", HashAlgorithm::sha512},
          {"Blake2b", HashAlgorithm::blake2b_512},
          {"blake2b", HashAlgorithm::blake2b_512},
      };
      for (const auto& [local, algorithm] : linear) {
        if (type == aff4::term(local)) {
          m_info.linear_hashes[algorithm] = hash->value;
        }
      }
      if (type == aff4::term("blockMapHashSHA512")) {
        m_info.block_map_hash = hash->value;
      }
    }
    for (const RdfGraph& graph : m_graphs) {
      for (const internal::Triple& triple : graph.triples()) {
        if (triple.subject == m_info.image_urn && triple.predicate.starts_with(aff4::k_ns) &&
            triple.object.kind == RdfTerm::Kind::literal &&
            triple.predicate != aff4::term("hash") && triple.predicate != aff4::term("size")) {
          m_info.image_properties[triple.predicate.substr(aff4::k_ns.size())] = triple.object.value;
        }
      }
    }
    for (const char* kind : {"CaseDetails", "CaseNotes", "TimeStamps"}) {
      for (const std::string& subject : subjects_of_type(aff4::term(kind))) {
        std::map<std::string, std::string> fields;
        for (const RdfGraph& graph : m_graphs) {
          for (const internal::Triple& triple : graph.triples()) {
            if (triple.subject == subject && triple.object.kind == RdfTerm::Kind::literal &&
                triple.predicate.starts_with(aff4::k_ns)) {
              fields[triple.predicate.substr(aff4::k_ns.size())] = triple.object.value;
            }
          }
        }
        m_info.case_metadata.emplace_back(kind, std::move(fields));
      }
    }
    if (m_members.count("custody/acquisition.json") != 0) {
      if (auto record = read_member("custody/acquisition.json", std::size_t{16} << 20U)) {
        m_info.custody_record = std::move(*record);
      }
    }
  }

  // Reads from the run covering `offset` (or the gap before the next run).
  Result<std::size_t> read_some(std::uint64_t offset, std::span<std::byte> out) {
    auto next =
        std::upper_bound(m_runs.begin(), m_runs.end(), offset,
                         [](std::uint64_t value, const MapRun& run) { return value < run.mapped; });
    if (next != m_runs.begin()) {
      const MapRun& run = *std::prev(next);
      if (offset < run.mapped + run.length) {
        const std::uint64_t delta = offset - run.mapped;
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), run.length - delta));
        CUSTODY_TRY(read_target(run.target, run.target_offset + delta, out.first(take)));
        return take;
      }
    }
    const std::uint64_t gap_end = next == m_runs.end() ? m_info.size : next->mapped;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), gap_end - offset));
    CUSTODY_TRY(read_target(m_gap_target, offset, out.first(take)));
    return take;
  }

  Result<void> read_target(std::size_t id, std::uint64_t offset, std::span<std::byte> out) {
    const Target& target = m_targets[id];
    switch (target.kind) {
      case Target::Kind::fill:
        std::fill(out.begin(), out.end(), target.fill);
        return {};
      case Target::Kind::unknown:
      case Target::Kind::unreadable: {
        const std::string& tile = tile_for(target.kind);
        for (std::size_t done = 0; done < out.size();) {
          const std::size_t at = static_cast<std::size_t>((offset + done) % tile.size());
          const std::size_t take = std::min(out.size() - done, tile.size() - at);
          std::memcpy(out.data() + done, tile.data() + at, take);
          done += take;
        }
        return {};
      }
      case Target::Kind::stream:
        return read_stream(m_streams[target.stream], offset, out);
    }
    return {};
  }

  Result<void> read_stream(StreamState& stream, std::uint64_t offset, std::span<std::byte> out) {
    if (offset > stream.info.size || out.size() > stream.info.size - offset) {
      return make_error(
          Errc::corrupt,
          fmt::format("the map reads bytes {}..{} of stream {}, which holds only {}", offset,
                      offset + out.size(), stream.info.urn, stream.info.size));
    }
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = offset + done;
      const std::uint64_t chunk = at / stream.info.chunk_size;
      const std::size_t within = static_cast<std::size_t>(at % stream.info.chunk_size);
      auto data = chunk_data(stream, chunk);
      CUSTODY_TRY(data);
      const std::size_t take = std::min(out.size() - done, (*data)->size() - within);
      std::memcpy(out.data() + done, (*data)->data() + within, take);
      done += take;
    }
    return {};
  }

  Result<const std::vector<aff4::IndexEntry>*> bevy_index(StreamState& stream, std::uint64_t bevy) {
    if (auto found = stream.indexes.find(bevy); found != stream.indexes.end()) {
      return &found->second;
    }
    const std::string name = aff4::bevy_member(stream.member_prefix, bevy);
    auto bytes = read_member(name + ".index",
                             std::size_t{stream.info.chunks_per_bevy} * aff4::k_index_entry_size);
    CUSTODY_TRY(bytes);
    if (bytes->size() % aff4::k_index_entry_size != 0) {
      return make_error(Errc::corrupt, fmt::format("{}.index is {} bytes, not a whole number of "
                                                   "12-byte entries",
                                                   name, bytes->size()));
    }
    auto bevy_member = m_members.find(name);
    if (bevy_member == m_members.end()) {
      return make_error(Errc::corrupt, fmt::format("bevy {} is missing", name));
    }
    const std::uint64_t bevy_size = bevy_member->second.second->uncompressed_size;
    std::vector<aff4::IndexEntry> entries;
    const auto* data = reinterpret_cast<const std::byte*>(bytes->data());
    for (std::size_t i = 0; i < bytes->size() / aff4::k_index_entry_size; ++i) {
      aff4::IndexEntry entry{aff4::get_u64(data + i * 12), aff4::get_u32(data + i * 12 + 8)};
      if (entry.length == 0 || entry.length > stream.info.chunk_size || entry.offset > bevy_size ||
          entry.length > bevy_size - entry.offset) {
        return make_error(Errc::corrupt,
                          fmt::format("index entry {} of {} (offset {}, length {}) does not fit "
                                      "the bevy of {} bytes",
                                      i, name, entry.offset, entry.length, bevy_size));
      }
      entries.push_back(entry);
    }
    stream.indexes.clear();  // keep one bevy's index at a time: memory stays bounded
    return &stream.indexes.emplace(bevy, std::move(entries)).first->second;
  }

  // The CRC-32s custody recorded for a bevy's chunks at acquisition, or none (an empty string):
  // containers of other tools have none, and the members name no stream, so an image of several
  // streams is not checked this way.
  Result<const std::string*> recorded_chunk_crcs(StreamState& stream, std::uint64_t bevy) {
    if (auto found = stream.chunk_crcs.find(bevy); found != stream.chunk_crcs.end()) {
      return &found->second;
    }
    std::string crcs;
    const std::string name = fmt::format("custody/chunk-crc32/{:08d}", bevy);
    if (m_streams.size() == 1 && m_members.count(name) != 0) {
      auto bytes = read_member(name, std::size_t{stream.info.chunks_per_bevy} * 4);
      CUSTODY_TRY(bytes);
      crcs = std::move(*bytes);
    }
    stream.chunk_crcs.clear();  // one bevy at a time, as its index
    return &stream.chunk_crcs.emplace(bevy, std::move(crcs)).first->second;
  }

  // A chunk's stored bytes against their recorded CRC-32: a flipped bit in a stored (or
  // decompressible) chunk would otherwise be served as the image's bytes.
  Result<void> check_chunk_crc(StreamState& stream,
                               std::uint64_t chunk,
                               std::span<const std::byte> stored,
                               std::uint64_t file_offset,
                               std::size_t volume) {
    const std::uint64_t bevy = chunk / stream.info.chunks_per_bevy;
    const std::uint64_t entry_number = chunk % stream.info.chunks_per_bevy;
    if (!m_check_chunk_crcs) {
      return {};
    }
    auto crcs = recorded_chunk_crcs(stream, bevy);
    CUSTODY_TRY(crcs);
    if ((entry_number + 1) * 4 > (*crcs)->size()) {
      return {};
    }
    const auto computed = static_cast<std::uint32_t>(::crc32(
        0, reinterpret_cast<const Bytef*>(stored.data()), static_cast<uInt>(stored.size())));
    const std::uint32_t recorded =
        aff4::get_u32(reinterpret_cast<const std::byte*>((*crcs)->data()) + entry_number * 4);
    if (computed == recorded) {
      return {};
    }
    return make_error(Errc::corrupt,
                      fmt::format("chunk {} (bevy {}, entry {}) at byte {} of {} is damaged: its "
                                  "stored bytes do not match the CRC-32 recorded at "
                                  "acquisition{}",
                                  chunk, bevy, entry_number, file_offset, m_info.paths[volume],
                                  image_range_text(stream, chunk)));
  }

  Result<const std::vector<std::byte>*> chunk_data(StreamState& stream, std::uint64_t chunk) {
    const std::size_t stream_id = static_cast<std::size_t>(&stream - m_streams.data());
    const auto key = std::make_pair(stream_id, chunk);
    if (auto cached = m_cache_index.find(key); cached != m_cache_index.end()) {
      m_cache.splice(m_cache.begin(), m_cache, cached->second);
      return &cached->second->second;
    }
    const std::uint64_t bevy = chunk / stream.info.chunks_per_bevy;
    const std::uint64_t entry_number = chunk % stream.info.chunks_per_bevy;
    auto index = bevy_index(stream, bevy);
    CUSTODY_TRY(index);
    const std::string bevy_name = aff4::bevy_member(stream.member_prefix, bevy);
    if (entry_number >= (*index)->size()) {
      return make_error(Errc::corrupt, fmt::format("chunk {} of stream {} is missing from {}.index",
                                                   chunk, stream.info.urn, bevy_name));
    }
    const aff4::IndexEntry entry = (**index)[entry_number];
    auto found = m_members.find(bevy_name);
    const ZipMember& member = *found->second.second;
    std::vector<std::byte> stored(entry.length);
    CUSTODY_TRY(m_volumes[found->second.first]->read_stored(member, entry.offset, stored));
    CUSTODY_TRY(check_chunk_crc(stream, chunk, stored, member.data_offset + entry.offset,
                                found->second.first));
    std::vector<std::byte> data(stream.info.chunk_size);
    std::size_t length = stored.size();
    if (stored.size() == stream.info.chunk_size || stream.compression == Compression::stored) {
      std::memcpy(data.data(), stored.data(), stored.size());
    } else {
      auto decompressed = internal::decompress(stream.compression, stored, data);
      if (!decompressed) {
        return make_error(
            Errc::corrupt,
            fmt::format("chunk {} (bevy {}, entry {}) at byte {} of {} is damaged: "
                        "{}",
                        chunk, bevy, entry_number, member.data_offset + entry.offset,
                        m_info.paths[found->second.first], decompressed.error().message));
      }
      length = *decompressed;
    }
    const std::uint64_t chunk_start = chunk * stream.info.chunk_size;
    const std::uint64_t needed =
        std::min<std::uint64_t>(stream.info.chunk_size, stream.info.size - chunk_start);
    if (length < needed) {
      return make_error(Errc::corrupt,
                        fmt::format("chunk {} (bevy {}, entry {}) holds {} bytes where {} are "
                                    "needed",
                                    chunk, bevy, entry_number, length, needed));
    }
    data.resize(static_cast<std::size_t>(needed));
    m_cache.emplace_front(key, std::move(data));
    m_cache_index[key] = m_cache.begin();
    if (m_cache.size() > k_chunk_cache_entries) {
      m_cache_index.erase(m_cache.back().first);
      m_cache.pop_back();
    }
    return &m_cache.front().second;
  }

  Result<std::vector<IntegrityProblem>> check_members(ProgressSink* progress,
                                                      const CancelToken* cancel) override {
    std::vector<IntegrityProblem> problems;
    std::uint64_t total = 0;
    std::uint64_t done = 0;
    for (const ContainerMember& member : m_info.members) {
      total += member.stored;
    }
    for (const ContainerMember& member : m_info.members) {
      if (cancel != nullptr && cancel->cancelled()) {
        return make_error(Errc::cancelled, "verification was interrupted");
      }
      const ZipMember& zip_member = *m_volumes[member.volume]->find(member.name);
      auto crc = m_volumes[member.volume]->compute_crc32(zip_member);
      if (!crc) {
        problems.push_back(IntegrityProblem{"member", member.name, member.volume, member.offset,
                                            member.stored, crc.error().message});
      } else if (*crc != member.crc32) {
        problems.push_back(IntegrityProblem{
            "member", member.name, member.volume, member.offset, member.stored,
            fmt::format("bytes {}..{} of {} changed (CRC-32 recorded {:08x}, computed {:08x})",
                        member.offset, member.offset + member.stored, m_info.paths[member.volume],
                        member.crc32, *crc)});
        CUSTODY_TRY(locate_damaged_chunks(member, problems));
      }
      done += member.stored;
      if (progress != nullptr) {
        progress->update(done, total);
      }
    }
    return problems;
  }

  Result<std::vector<IntegrityProblem>> check_block_hashes(
      std::vector<std::string>& checked) override {
    std::vector<IntegrityProblem> problems;
    static const std::pair<const char*, HashAlgorithm> k_algorithms[] = {
        {"md5", HashAlgorithm::md5},
        {"sha1", HashAlgorithm::sha1},
        {"sha256", HashAlgorithm::sha256},
        {"sha512", HashAlgorithm::sha512},
        {"blake2b", HashAlgorithm::blake2b_512},
    };
    // SHA-512 of each algorithm's concatenated block hashes, in algorithm order, for blockMapHash.
    std::string block_hashes_digests;
    for (StreamState& stream : m_streams) {
      for (const auto& [suffix, algorithm] : k_algorithms) {
        const std::string first =
            aff4::bevy_member(stream.member_prefix, 0) + ".blockHash." + suffix;
        if (m_members.count(first) == 0) {
          continue;
        }
        auto all = check_stream_block_hashes(stream, suffix, algorithm, problems);
        CUSTODY_TRY(all);
        auto combined = hash_bytes(std::as_bytes(std::span(all->data(), all->size())),
                                   std::array{HashAlgorithm::sha512});
        CUSTODY_TRY(combined);
        const std::string& digest = combined->at(HashAlgorithm::sha512);
        block_hashes_digests += hex_to_bytes(digest);
        const RdfTerm* recorded =
            object(stream.info.urn + "/blockhash." + suffix, aff4::term("hash"));
        if (recorded != nullptr && recorded->value != digest) {
          problems.push_back(IntegrityProblem{"block hash",
                                              stream.info.urn + "/blockhash." + suffix, 0, 0, 0,
                                              fmt::format("BlockHashes digest mismatch (recorded "
                                                          "{}, computed {})",
                                                          recorded->value, digest)});
        }
        checked.push_back(fmt::format("{} block hashes of {}", suffix, stream.info.urn));
      }
    }
    for (const std::string& map : m_info.map_urns) {
      CUSTODY_TRY(check_map_hashes(map, block_hashes_digests, problems, checked));
    }
    return problems;
  }

 private:
  static std::string hex_to_bytes(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
  }

  static std::string sha512_hex(std::string_view data) {
    auto digest = hash_bytes(std::as_bytes(std::span(data.data(), data.size())),
                             std::array{HashAlgorithm::sha512});
    return digest ? digest->at(HashAlgorithm::sha512) : std::string();
  }

  // Checks every chunk of `stream` against its per-chunk digests; returns all digests
  // concatenated (the BlockHashes stream).
  Result<std::string> check_stream_block_hashes(StreamState& stream,
                                                const char* suffix,
                                                HashAlgorithm algorithm,
                                                std::vector<IntegrityProblem>& problems) {
    std::string all;
    const std::uint64_t chunks =
        (stream.info.size + stream.info.chunk_size - 1) / stream.info.chunk_size;
    const std::uint64_t bevies =
        (chunks + stream.info.chunks_per_bevy - 1) / stream.info.chunks_per_bevy;
    for (std::uint64_t bevy = 0; bevy < bevies; ++bevy) {
      const std::string name =
          aff4::bevy_member(stream.member_prefix, bevy) + ".blockHash." + suffix;
      auto digests = read_member(name, k_small_member_limit);
      CUSTODY_TRY(digests);
      all += *digests;
      auto probe = Hasher::create(algorithm);
      CUSTODY_TRY(probe);
      const std::size_t digest_size = probe->finish_hex().size() / 2;
      const std::uint64_t first = bevy * stream.info.chunks_per_bevy;
      const std::uint64_t count =
          std::min<std::uint64_t>(stream.info.chunks_per_bevy, chunks - first);
      if (digests->size() != count * digest_size) {
        problems.push_back(IntegrityProblem{"block hash", name, 0, 0, 0,
                                            fmt::format("{} bytes, expected {} digests of {} bytes",
                                                        digests->size(), count, digest_size)});
        continue;
      }
      for (std::uint64_t i = 0; i < count; ++i) {
        auto data = chunk_data(stream, first + i);
        CUSTODY_TRY(data);
        probe->update(**data);
        const std::string computed = hex_to_bytes(probe->finish_hex());
        if (digests->compare(static_cast<std::size_t>(i * digest_size), digest_size, computed) !=
            0) {
          problems.push_back(
              IntegrityProblem{"chunk",
                               fmt::format("chunk {} (bevy {}, entry {}) of {}", first + i, bevy, i,
                                           stream.info.urn),
                               0, 0, 0,
                               fmt::format("{} block hash mismatch: the chunk's content changed{}",
                                           suffix, image_range_text(stream, first + i))});
        }
      }
    }
    return all;
  }

  Result<void> check_map_hashes(const std::string& map,
                                const std::string& block_hashes_digests,
                                std::vector<IntegrityProblem>& problems,
                                std::vector<std::string>& checked) {
    const std::string prefix = aff4::member_name_for(map, m_info.volume_urn);
    std::string concatenated;
    std::string point_and_idx;
    const std::pair<const char*, const char*> parts[] = {
        {"map", "mapPointHash"}, {"idx", "mapIdxHash"}, {"mapPath", "mapPathHash"}};
    for (const auto& [member, predicate] : parts) {
      if (m_members.count(prefix + "/" + member) == 0) {
        continue;
      }
      auto bytes = read_member(prefix + "/" + member, SIZE_MAX);
      CUSTODY_TRY(bytes);
      concatenated += *bytes;
      const std::string digest = sha512_hex(*bytes);
      point_and_idx += hex_to_bytes(digest);
      if (const RdfTerm* recorded = object(map, aff4::term(predicate))) {
        if (recorded->value != digest) {
          problems.push_back(
              IntegrityProblem{"map hash", prefix + "/" + member, 0, 0, 0,
                               fmt::format("{} mismatch: the map changed", predicate)});
        }
        checked.push_back(fmt::format("{} of {}", predicate, map));
      }
    }
    if (const RdfTerm* recorded = object(map, aff4::term("mapHash"))) {
      if (recorded->value != sha512_hex(concatenated)) {
        problems.push_back(
            IntegrityProblem{"map hash", map, 0, 0, 0, "mapHash mismatch: the map changed"});
      }
      checked.push_back(fmt::format("mapHash of {}", map));
    }
    const RdfTerm* block_map = object(map, aff4::term("blockMapHash"));
    if (block_map != nullptr && !block_hashes_digests.empty() && m_info.map_urns.size() == 1) {
      const std::string computed = sha512_hex(block_hashes_digests + point_and_idx);
      if (block_map->value != computed) {
        problems.push_back(IntegrityProblem{"map hash", map, 0, 0, 0,
                                            fmt::format("blockMapHash mismatch (recorded {}, "
                                                        "computed {})",
                                                        block_map->value, computed)});
      }
      checked.push_back(fmt::format("blockMapHash of {}", map));
    }
    return {};
  }

  // " (image bytes A..B)" for the image range(s) a stream chunk feeds, or "".
  std::string image_range_text(const StreamState& stream, std::uint64_t chunk) const {
    const std::size_t stream_id = static_cast<std::size_t>(&stream - m_streams.data());
    const std::uint64_t begin = chunk * stream.info.chunk_size;
    const std::uint64_t end = begin + stream.info.chunk_size;
    for (const MapRun& run : m_runs) {
      const Target& target = m_targets[run.target];
      if (target.kind != Target::Kind::stream || target.stream != stream_id) {
        continue;
      }
      const std::uint64_t from = std::max(begin, run.target_offset);
      const std::uint64_t to = std::min(end, run.target_offset + run.length);
      if (from < to) {
        const std::uint64_t image_from = run.mapped + (from - run.target_offset);
        return fmt::format(" (image bytes {}..{})", image_from, image_from + (to - from));
      }
    }
    return "";
  }

  // After a bevy's CRC failed: which chunks changed, by their recorded CRC-32s.
  Result<void> locate_damaged_chunks(const ContainerMember& member,
                                     std::vector<IntegrityProblem>& problems) {
    for (StreamState& stream : m_streams) {
      const std::string prefix = stream.member_prefix + "/";
      if (!member.name.starts_with(prefix) || member.name.size() != prefix.size() + 8) {
        continue;
      }
      const auto bevy = to_u64(member.name.substr(prefix.size()));
      const std::string crc_name = fmt::format("custody/chunk-crc32/{:08d}", bevy.value_or(0));
      if (!bevy || m_members.count(crc_name) == 0) {
        return {};
      }
      auto crcs = read_member(crc_name, std::size_t{stream.info.chunks_per_bevy} * 4);
      CUSTODY_TRY(crcs);
      auto index = bevy_index(stream, *bevy);
      CUSTODY_TRY(index);
      const ZipMember& zip_member = *m_volumes[member.volume]->find(member.name);
      for (std::size_t i = 0; i < (*index)->size() && (i + 1) * 4 <= crcs->size(); ++i) {
        const aff4::IndexEntry entry = (**index)[i];
        std::vector<std::byte> stored(entry.length);
        CUSTODY_TRY(m_volumes[member.volume]->read_stored(zip_member, entry.offset, stored));
        const auto computed = static_cast<std::uint32_t>(::crc32(
            0, reinterpret_cast<const Bytef*>(stored.data()), static_cast<uInt>(stored.size())));
        const std::uint32_t recorded =
            aff4::get_u32(reinterpret_cast<const std::byte*>(crcs->data()) + i * 4);
        if (computed != recorded) {
          const std::uint64_t chunk = *bevy * stream.info.chunks_per_bevy + i;
          problems.push_back(IntegrityProblem{
              "chunk", fmt::format("chunk {} (bevy {}, entry {})", chunk, *bevy, i), member.volume,
              member.offset + entry.offset, entry.length,
              fmt::format("stored bytes {}..{} of {} changed{}", member.offset + entry.offset,
                          member.offset + entry.offset + entry.length, m_info.paths[member.volume],
                          image_range_text(stream, chunk))});
        }
      }
    }
    return {};
  }

 private:
  struct PairHash {
    std::size_t operator()(const std::pair<std::size_t, std::uint64_t>& key) const {
      return std::hash<std::uint64_t>()(key.second * 31 + key.first);
    }
  };

  ContainerInfo m_info;
  std::vector<std::unique_ptr<ZipReader>> m_volumes;
  std::unordered_map<std::string, std::pair<std::size_t, const ZipMember*>> m_members;
  std::vector<RdfGraph> m_graphs;
  std::string m_data_stream;
  std::vector<StreamState> m_streams;
  std::vector<Target> m_targets;
  std::unordered_map<std::string, std::size_t> m_target_ids;
  std::vector<MapRun> m_runs;
  std::size_t m_gap_target = 0;
  using CacheEntry = std::pair<std::pair<std::size_t, std::uint64_t>, std::vector<std::byte>>;
  std::list<CacheEntry> m_cache;
  bool m_check_chunk_crcs = false;
  std::unordered_map<std::pair<std::size_t, std::uint64_t>,
                     std::list<CacheEntry>::iterator,
                     PairHash>
      m_cache_index;
};

ImageSource::ImageSource(Aff4Container& container, std::uint64_t offset, std::uint64_t length)
    : m_container(container),
      m_offset(std::min(offset, container.info().size)),
      m_end(m_offset + std::min(length, container.info().size - m_offset)) {
  m_info.path = container.info().paths.front();
  m_info.kind = SourceKind::file;
  m_info.size = m_end - m_offset;
}

Result<std::size_t> ImageSource::read(std::span<std::byte> buffer) {
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), m_end - m_offset));
  auto got = m_container.read(m_offset, buffer.first(take));
  CUSTODY_TRY(got);
  m_offset += *got;
  return *got;
}

}  // namespace

Result<std::unique_ptr<Container>> Container::open(const std::vector<std::string>& paths) {
  auto container = std::make_unique<Aff4Container>();
  CUSTODY_TRY(container->open(paths));
  return std::unique_ptr<Container>(std::move(container));
}

}  // namespace custody

namespace custody {

std::string container_info_to_json(const ContainerInfo& info) {
  using nlohmann::json;
  json streams = json::array();
  for (const ContainerStream& stream : info.streams) {
    streams.push_back(json{{"urn", stream.urn},
                           {"size", stream.size},
                           {"chunk_size", stream.chunk_size},
                           {"chunks_per_bevy", stream.chunks_per_bevy},
                           {"compression", stream.compression}});
  }
  json hashes = json::object();
  for (const auto& [algorithm, hex] : info.linear_hashes) {
    hashes[std::string(hash_name(algorithm))] = hex;
  }
  json metadata = json::array();
  for (const auto& [type, fields] : info.case_metadata) {
    metadata.push_back(json{{"type", type}, {"fields", fields}});
  }
  json members = json::array();
  for (const ContainerMember& member : info.members) {
    members.push_back(json{{"name", member.name},
                           {"volume", member.volume},
                           {"size", member.size},
                           {"stored", member.stored},
                           {"method", member.method},
                           {"crc32", fmt::format("{:08x}", member.crc32)},
                           {"offset", member.offset}});
  }
  json unreadable = json::array();
  for (const auto& [offset, length] : info.map.unreadable_ranges) {
    unreadable.push_back(json{{"offset", offset}, {"length", length}});
  }
  json out{
      {"format", "custody-container-info"},
      {"version", 1},
      {"paths", info.paths},
      {"volume", info.volume_urn},
      {"tool", info.tool},
      {"image", info.image_urn},
      {"maps", info.map_urns},
      {"size", info.size},
      {"streams", streams},
      {"linear_hashes", hashes},
      {"block_map_hash", info.block_map_hash ? json(*info.block_map_hash) : json(nullptr)},
      {"image_properties", info.image_properties},
      {"case_metadata", metadata},
      {"map", json{{"entries", info.map.entries},
                   {"stream_bytes", info.map.stream_bytes},
                   {"zero_bytes", info.map.zero_bytes},
                   {"fill_bytes", info.map.fill_bytes},
                   {"unknown_bytes", info.map.unknown_bytes},
                   {"unreadable_bytes", info.map.unreadable_bytes},
                   {"unreadable_ranges", unreadable}}},
      {"members", members},
      {"trailing_bytes", info.trailing_bytes},
      {"record", nullptr},
  };
  if (info.custody_record) {
    json record = internal::parse_untrusted_json(*info.custody_record);
    if (!record.is_discarded()) {
      out["record"] = std::move(record);
    }
  }
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace custody
