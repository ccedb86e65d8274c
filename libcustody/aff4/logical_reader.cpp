// SPDX-License-Identifier: Apache-2.0
// Reading AFF4-L containers (ours and pyaff4's) and extracting their files safely.
#include "aff4/aff4_format.hpp"
#include "aff4/logical_detect.hpp"
#include "aff4/logical_extract.hpp"
#include "aff4/logical_json.hpp"
#include "aff4/turtle.hpp"
#include "core/posix_file.hpp"
#include "zip/zip.hpp"

#include <custody/logical.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

namespace custody {
namespace {

namespace aff4 = internal::aff4;
using internal::UniqueFd;

constexpr std::size_t k_read_block = std::size_t{1} << 20U;
constexpr std::size_t k_metadata_limit = std::size_t{256} << 20U;
// Deflated members (pyaff4) are inflated whole; larger ones are refused rather than exhaust memory.
constexpr std::size_t k_deflated_limit = std::size_t{1} << 30U;

std::string strip_nul(std::string text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) {
    text.pop_back();
  }
  return text;
}

class LogicalContainerImpl final : public LogicalContainer {
 public:
  static Result<std::unique_ptr<LogicalContainer>> open(const std::string& path) {
    auto zip = internal::ZipReader::open(path);
    CUSTODY_TRY(zip);
    auto out = std::unique_ptr<LogicalContainerImpl>(new LogicalContainerImpl(std::move(*zip)));
    out->m_path = path;
    CUSTODY_TRY(out->load());
    return std::unique_ptr<LogicalContainer>(std::move(out));
  }

  const std::string& path() const override { return m_path; }
  const std::string& volume_urn() const override { return m_volume; }
  const std::string& tool() const override { return m_tool; }
  const LogicalManifest& manifest() const override { return m_manifest; }
  const std::optional<std::string>& custody_record() const override { return m_record; }
  const std::string& manifest_bytes() const override { return m_manifest_bytes; }

  Result<void> read_file(const LogicalEntry& entry, const PieceSink& sink) const override {
    if (entry.type != LogicalEntryType::file || entry.member.empty()) {
      return make_error(Errc::invalid_argument, "no content is stored for this entry");
    }
    if (const internal::ZipMember* member = m_zip.find(entry.member)) {
      return read_member(*member, 0, member->uncompressed_size, 0, sink);
    }
    const internal::ZipMember* map = m_zip.find(entry.member + "/map");
    const internal::ZipMember* idx = m_zip.find(entry.member + "/idx");
    if (map == nullptr || idx == nullptr) {
      return tl::unexpected(Error{Errc::corrupt,
                                  "the content of a file is missing from the container",
                                  entry.member,
                                  {},
                                  0,
                                  "the container was damaged or edited; use another copy"});
    }
    return read_mapped(entry, *map, *idx, sink);
  }

  Result<std::size_t> read_at(const LogicalEntry& entry,
                              std::uint64_t offset,
                              std::span<std::byte> out) const override {
    if (entry.type != LogicalEntryType::file || offset >= entry.size || out.empty()) {
      return std::size_t{0};
    }
    const auto wanted =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), entry.size - offset));
    const internal::ZipMember* member = m_zip.find(entry.member);
    if (member != nullptr && member->method == 0) {
      if (offset + wanted > member->uncompressed_size) {
        return tl::unexpected(Error{Errc::corrupt,
                                    "the file's member is shorter than the file",
                                    entry.member,
                                    {},
                                    0,
                                    "use another copy"});
      }
      CUSTODY_TRY(m_zip.read_stored(*member, offset, out.first(wanted)));
      return wanted;
    }
    // From the start, keeping the part wanted; stopped as soon as it is complete.
    std::fill_n(out.begin(), wanted, std::byte{0});
    static constexpr const char* k_enough = "read enough";
    const std::uint64_t end = offset + wanted;
    auto read = read_file(
        entry, [&](std::uint64_t at, std::uint64_t length, const std::byte* data) -> Result<void> {
          const std::uint64_t from = std::max(at, offset);
          const std::uint64_t to = std::min(at + length, end);
          if (from < to && data != nullptr) {
            std::memcpy(out.data() + (from - offset), data + (from - at), to - from);
          }
          if (at + length >= end) {
            return make_error(Errc::cancelled, k_enough);
          }
          return {};
        });
    if (!read && !(read.error().code == Errc::cancelled && read.error().message == k_enough)) {
      return tl::unexpected(read.error());
    }
    return wanted;
  }

  Result<DigestSet> hash_file(const LogicalEntry& entry,
                              std::span<const HashAlgorithm> algorithms) const override {
    std::vector<Hasher> hashers;
    for (HashAlgorithm algorithm : algorithms) {
      auto hasher = Hasher::create(algorithm);
      CUSTODY_TRY(hasher);
      hashers.push_back(std::move(*hasher));
    }
    static const std::vector<std::byte> zeros(k_read_block);
    auto read = read_file(
        entry, [&](std::uint64_t, std::uint64_t length, const std::byte* data) -> Result<void> {
          for (std::uint64_t done = 0; done < length;) {
            const auto piece =
                static_cast<std::size_t>(std::min<std::uint64_t>(length - done, k_read_block));
            const std::byte* bytes = data != nullptr ? data + done : zeros.data();
            for (Hasher& hasher : hashers) {
              hasher.update(std::span(bytes, piece));
            }
            done += piece;
          }
          return {};
        });
    CUSTODY_TRY(read);
    DigestSet out;
    for (Hasher& hasher : hashers) {
      out[hasher.algorithm()] = hasher.finish_hex();
    }
    return out;
  }

 private:
  explicit LogicalContainerImpl(internal::ZipReader zip) : m_zip(std::move(zip)) {}

  Result<std::string> member_text(const std::string& name, bool required) {
    const internal::ZipMember* member = m_zip.find(name);
    if (member == nullptr) {
      if (required) {
        return tl::unexpected(Error{Errc::corrupt,
                                    "the container lacks " + name,
                                    m_path,
                                    {},
                                    0,
                                    "this is not an AFF4-L container"});
      }
      return std::string();
    }
    return m_zip.read_member(*member, k_metadata_limit);
  }

  Result<void> load() {
    auto description = member_text("container.description", false);
    CUSTODY_TRY(description);
    m_volume = strip_nul(description->empty() ? m_zip.comment() : *description);
    auto version = member_text("version.txt", true);
    CUSTODY_TRY(version);
    for (std::size_t start = 0; start < version->size();) {
      std::size_t end = version->find_first_of("\r\n", start);
      end = end == std::string::npos ? version->size() : end;
      const std::string line = version->substr(start, end - start);
      if (line.starts_with("tool=")) {
        m_tool = line.substr(5);
      }
      start = end + 1;
    }
    if (const internal::ZipMember* member = m_zip.find("custody/acquisition.json")) {
      auto text = m_zip.read_member(*member, std::size_t{16} << 20U);
      CUSTODY_TRY(text);
      m_record = std::move(*text);
    }
    if (m_zip.find(k_logical_manifest_member) != nullptr) {
      auto text = member_text(k_logical_manifest_member, true);
      CUSTODY_TRY(text);
      m_manifest_bytes = std::move(*text);
      auto parsed = parse_logical_manifest(m_manifest_bytes);
      CUSTODY_TRY(parsed);
      m_manifest = std::move(*parsed);
      return check_members();
    }
    return load_from_turtle();
  }

  // Every member a manifest names must be a safe, existing name of the ZIP.
  Result<void> check_members() const {
    for (const LogicalEntry& entry : m_manifest.entries) {
      if (entry.type == LogicalEntryType::file && !entry.member.empty() &&
          m_zip.find(entry.member) == nullptr && m_zip.find(entry.member + "/map") == nullptr) {
        return tl::unexpected(Error{Errc::corrupt,
                                    "custody/files.json names a member the container lacks",
                                    entry.member,
                                    {},
                                    0,
                                    "the container was damaged or edited; use another copy"});
      }
    }
    return {};
  }

  // A container made elsewhere: its aff4:FileImage objects.
  Result<void> load_from_turtle() {
    auto text = member_text("information.turtle", true);
    CUSTODY_TRY(text);
    auto graph = internal::RdfGraph::parse_turtle(*text);
    CUSTODY_TRY(graph);
    for (const std::string& urn : graph->subjects_of_type(aff4::term("FileImage"))) {
      LogicalEntry entry;
      entry.type = LogicalEntryType::file;
      entry.member = aff4::member_name_for(urn, m_volume);
      const auto literal = [&](const char* predicate) -> std::string {
        const internal::RdfTerm* term = graph->object(urn, aff4::term(predicate));
        return term != nullptr ? term->value : std::string();
      };
      if (graph->has_type(urn, aff4::term("ImageStream"))) {
        return tl::unexpected(Error{Errc::unsupported,
                                    "a file stored as an aff4:ImageStream (pyaff4 does this for "
                                    "files over 1 MiB) is not read by this version",
                                    urn,
                                    {},
                                    0,
                                    "extract it with pyaff4 (aff4.py -x)"});
      }
      std::string name = literal("originalFileName");
      if (name.empty()) {
        name = literal("pathName");
      }
      if (name.empty()) {
        name = entry.member;
      }
      // Absolute or "./" names (pyaff4 keeps what it was given) become relative, never climbing.
      std::string relative;
      std::size_t start = 0;
      while (start <= name.size()) {
        std::size_t slash = name.find('/', start);
        slash = slash == std::string::npos ? name.size() : slash;
        const std::string component = name.substr(start, slash - start);
        if (!component.empty() && component != ".") {
          relative += (relative.empty() ? "" : "/") + (component == ".." ? "%2E%2E" : component);
        }
        start = slash + 1;
      }
      entry.path = relative.empty() ? entry.member : relative;
      const std::string size = literal("size");
      entry.size = size.empty() ? 0 : std::strtoull(size.c_str(), nullptr, 10);
      for (const internal::RdfTerm* hash : graph->objects(urn, aff4::term("hash"))) {
        const std::string type = hash->datatype.substr(hash->datatype.rfind('#') + 1);
        const std::pair<const char*, HashAlgorithm> known[] = {
            {"MD5", HashAlgorithm::md5},
            {"SHA1", HashAlgorithm::sha1},
            {"SHA256", HashAlgorithm::sha256},
            {"SHA512", HashAlgorithm::sha512},
            {"Blake2b", HashAlgorithm::blake2b_512}};
        for (const auto& [name_of, algorithm] : known) {
          if (type == name_of) {
            entry.hashes[algorithm] = hash->value;
          }
        }
      }
      const auto time = [&](const char* predicate) {
        const auto parsed = internal::parse_ns_time(literal(predicate));
        return parsed ? internal::format_ns_time(parsed->tv_sec,
                                                 static_cast<std::uint32_t>(parsed->tv_nsec))
                      : std::string();
      };
      entry.mtime = time("lastWritten");
      entry.atime = time("lastAccessed");
      entry.ctime = time("recordChanged");
      entry.btime = time("birthTime");
      if (m_zip.find(entry.member) == nullptr) {
        return tl::unexpected(Error{Errc::corrupt,
                                    "information.turtle names a file the container "
                                    "lacks",
                                    entry.member,
                                    {},
                                    0,
                                    "use another copy"});
      }
      for (const auto& [algorithm, hex] : entry.hashes) {
        if (std::find(m_manifest.algorithms.begin(), m_manifest.algorithms.end(), algorithm) ==
            m_manifest.algorithms.end()) {
          m_manifest.algorithms.push_back(algorithm);
        }
      }
      m_manifest.entries.push_back(std::move(entry));
    }
    std::sort(m_manifest.algorithms.begin(), m_manifest.algorithms.end());
    return {};
  }

  Result<void> read_member(const internal::ZipMember& member,
                           std::uint64_t from,
                           std::uint64_t length,
                           std::uint64_t delivered_at,
                           const PieceSink& sink) const {
    if (member.method != 0) {
      if (from != 0) {
        return make_error(Errc::unsupported, "a deflated member used as map data");
      }
      auto text = m_zip.read_member(member, k_deflated_limit);
      CUSTODY_TRY(text);
      const std::uint64_t end = std::min<std::uint64_t>(text->size(), length);
      return sink(delivered_at, end, reinterpret_cast<const std::byte*>(text->data()));
    }
    if (from + length > member.uncompressed_size) {
      return tl::unexpected(Error{Errc::corrupt,
                                  "a map points past the end of its data",
                                  member.name,
                                  {},
                                  0,
                                  "use another copy"});
    }
    std::vector<std::byte> buffer(k_read_block);
    for (std::uint64_t done = 0; done < length;) {
      const auto piece =
          static_cast<std::size_t>(std::min<std::uint64_t>(length - done, k_read_block));
      CUSTODY_TRY(m_zip.read_stored(member, from + done, std::span(buffer.data(), piece)));
      CUSTODY_TRY(sink(delivered_at + done, piece, buffer.data()));
      done += piece;
    }
    return {};
  }

  // A sparse file: an aff4:Map over "<member>/data" and aff4:Zero.
  Result<void> read_mapped(const LogicalEntry& entry,
                           const internal::ZipMember& map_member,
                           const internal::ZipMember& idx_member,
                           const PieceSink& sink) const {
    auto map = m_zip.read_member(map_member, k_metadata_limit);
    CUSTODY_TRY(map);
    auto idx = m_zip.read_member(idx_member, 1U << 20U);
    CUSTODY_TRY(idx);
    std::vector<std::string> targets;
    for (std::size_t start = 0; start < idx->size();) {
      std::size_t end = idx->find('\n', start);
      end = end == std::string::npos ? idx->size() : end;
      targets.push_back(idx->substr(start, end - start));
      start = end + 1;
    }
    const auto bad = [&](const std::string& why) {
      return tl::unexpected(Error{Errc::corrupt,
                                  "the map of a sparse file is damaged: " + why,
                                  map_member.name,
                                  {},
                                  0,
                                  "use another copy"});
    };
    if (map->size() % aff4::k_map_entry_size != 0) {
      return bad("its size is not a multiple of 28");
    }
    std::uint64_t position = 0;
    for (std::size_t at = 0; at < map->size(); at += aff4::k_map_entry_size) {
      const auto* record = reinterpret_cast<const std::byte*>(map->data() + at);
      const std::uint64_t mapped = aff4::get_u64(record);
      const std::uint64_t length = aff4::get_u64(record + 8);
      const std::uint64_t target = aff4::get_u64(record + 16);
      const std::uint32_t id = aff4::get_u32(record + 24);
      if (mapped != position || id >= targets.size() || length > entry.size - position) {
        return bad(fmt::format("entry {} is out of order or out of range", at / 28));
      }
      const std::string& urn = targets[id];
      if (urn == aff4::term("Zero")) {
        CUSTODY_TRY(sink(mapped, length, nullptr));
      } else {
        const internal::ZipMember* data = m_zip.find(aff4::member_name_for(urn, m_volume));
        if (data == nullptr) {
          return bad("it points at a member the container lacks");
        }
        CUSTODY_TRY(read_member(*data, target, length, mapped, sink));
      }
      position += length;
    }
    if (position != entry.size) {
      return bad("it does not cover the whole file");
    }
    return {};
  }

  internal::ZipReader m_zip;
  std::string m_path;
  std::string m_volume;
  std::string m_tool;
  LogicalManifest m_manifest;
  std::optional<std::string> m_record;
  std::string m_manifest_bytes;
};

// ---------------------------------------------------------------------------------------------
// Extraction into a directory.

class Extractor {
 public:
  Extractor(const LogicalContainer& container, int root, LogicalExtractResult& result)
      : m_container(container), m_root(root), m_result(result) {}

  Result<void> run(const CancelToken* cancel, ProgressSink* progress) {
    for (const LogicalEntry& entry : m_container.manifest().entries) {
      if (cancel != nullptr && cancel->cancelled()) {
        return make_error(Errc::cancelled, "extraction was interrupted");
      }
      CUSTODY_TRY(extract(entry));
      if (progress != nullptr) {
        progress->update(m_result.bytes, 0);
      }
    }
    // Directory times last: creating their content changed them.
    for (auto it = m_directories.rbegin(); it != m_directories.rend(); ++it) {
      set_metadata(m_root, it->first, *it->second, false);
    }
    return {};
  }

 private:
  void warn(const std::string& path, const std::string& what) {
    m_result.warnings.push_back(fmt::format("{}: {}", encode_logical_path(path), what));
  }

  // Opens (creating as needed) the parent directories of `path` below the root, never following
  // a link; returns the parent's descriptor and sets `name` to the last component.
  Result<UniqueFd> open_parent(const std::string& path, std::string& name) {
    UniqueFd current(::dup(m_root));
    std::size_t start = 0;
    while (true) {
      const std::size_t slash = path.find('/', start);
      std::string component =
          path.substr(start, slash == std::string::npos ? path.npos : slash - start);
      if (component == "..") {
        component = "%2E%2E";  // a name like any other, as in member names; never a step up
      }
      if (component.empty() || component == ".") {
        return make_error(Errc::corrupt, "an unsafe path in the container");
      }
      if (slash == std::string::npos) {
        name = component;
        return current;
      }
      if (::mkdirat(current.get(), component.c_str(), 0700) != 0 && errno != EEXIST) {
        return make_sys_error(Errc::io_error, "cannot create a directory", component, errno);
      }
      UniqueFd next(::openat(current.get(), component.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) {
        return make_sys_error(Errc::io_error,
                              "cannot enter a directory (a link or a file is in the way)",
                              component, errno);
      }
      current = std::move(next);
      start = slash + 1;
    }
  }

  Result<void> extract(const LogicalEntry& entry) {
    std::string name;
    auto parent = open_parent(entry.path, name);
    if (!parent) {
      warn(entry.path, "skipped: " + parent.error().message);
      return {};
    }
    const int dir = parent->get();
    switch (entry.type) {
      case LogicalEntryType::directory:
        if (::mkdirat(dir, name.c_str(), 0700) != 0 && errno != EEXIST) {
          warn(entry.path, fmt::format("skipped: {}", std::strerror(errno)));
          return {};
        }
        m_directories.emplace_back(entry.path, &entry);
        return {};
      case LogicalEntryType::file:
        return extract_file(dir, name, entry);
      case LogicalEntryType::symlink:
        return extract_symlink(dir, name, entry);
      case LogicalEntryType::hardlink:
        return extract_hardlink(dir, name, entry);
      case LogicalEntryType::fifo:
        if (::mkfifoat(dir, name.c_str(), 0600) != 0) {
          warn(entry.path, fmt::format("fifo not created: {}", std::strerror(errno)));
          return {};
        }
        set_metadata(dir, name, entry, false);
        return {};
      default:
        warn(entry.path, fmt::format("a {} is not recreated", logical_entry_type_name(entry.type)));
        return {};
    }
  }

  Result<void> extract_file(int dir, const std::string& name, const LogicalEntry& entry) {
    if (entry.member.empty()) {
      warn(entry.path, "not extracted: it could not be read at acquisition (" + entry.error + ")");
      return {};
    }
    UniqueFd fd(
        ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
      warn(entry.path, fmt::format("not extracted: {}", std::strerror(errno)));
      return {};
    }
    std::vector<Hasher> hashers;
    for (const auto& [algorithm, hex] : entry.hashes) {
      auto hasher = Hasher::create(algorithm);
      CUSTODY_TRY(hasher);
      hashers.push_back(std::move(*hasher));
    }
    static const std::vector<std::byte> zeros(k_read_block);
    const std::string shown = encode_logical_path(entry.path);
    auto read = m_container.read_file(
        entry,
        [&](std::uint64_t offset, std::uint64_t length, const std::byte* data) -> Result<void> {
          for (std::uint64_t done = 0; done < length;) {
            const auto piece =
                static_cast<std::size_t>(std::min<std::uint64_t>(length - done, k_read_block));
            for (Hasher& hasher : hashers) {
              hasher.update(std::span(data != nullptr ? data + done : zeros.data(), piece));
            }
            done += piece;
          }
          if (data != nullptr) {  // holes stay holes: ftruncate below gives the size
            CUSTODY_TRY(internal::pwrite_full(fd.get(), std::span(data, length), shown, offset));
          }
          m_result.bytes += length;
          return {};
        });
    CUSTODY_TRY(read);
    if (::ftruncate(fd.get(), static_cast<off_t>(entry.size)) != 0) {
      return make_sys_error(Errc::io_error, "cannot set the size", shown, errno);
    }
    for (Hasher& hasher : hashers) {
      if (hasher.finish_hex() != entry.hashes.at(hasher.algorithm())) {
        m_result.mismatches.push_back(entry.path);
        break;
      }
    }
    ++m_result.files;
    set_xattrs(fd.get(), entry);
    CUSTODY_TRY(fd.close_checked(shown));
    set_metadata(dir, name, entry, false);
    return {};
  }

  // Only a relative target that stays inside the output, seen from the link's directory.
  static bool stays_inside(const std::string& link_path, const std::string& target) {
    if (target.empty() || target.front() == '/') {
      return false;
    }
    long depth = static_cast<long>(std::count(link_path.begin(), link_path.end(), '/'));
    std::size_t start = 0;
    while (start <= target.size()) {
      std::size_t slash = target.find('/', start);
      slash = slash == std::string::npos ? target.size() : slash;
      const std::string component = target.substr(start, slash - start);
      if (component == "..") {
        if (--depth < 0) {
          return false;
        }
      } else if (!component.empty() && component != ".") {
        ++depth;
      }
      start = slash + 1;
    }
    return true;
  }

  Result<void> extract_symlink(int dir, const std::string& name, const LogicalEntry& entry) {
    if (!stays_inside(entry.path, entry.link_target)) {
      warn(entry.path, "symbolic link not recreated: its target (" +
                           encode_logical_path(entry.link_target) +
                           ") is outside the output; it is in custody/files.json");
      return {};
    }
    if (::symlinkat(entry.link_target.c_str(), dir, name.c_str()) != 0) {
      warn(entry.path, fmt::format("symbolic link not created: {}", std::strerror(errno)));
      return {};
    }
    set_metadata(dir, name, entry, true);
    return {};
  }

  Result<void> extract_hardlink(int dir, const std::string& name, const LogicalEntry& entry) {
    std::string first_name;
    auto first_parent = open_parent(entry.link_target, first_name);
    if (!first_parent ||
        ::linkat(first_parent->get(), first_name.c_str(), dir, name.c_str(), 0) != 0) {
      warn(entry.path, "hard link not created (" + encode_logical_path(entry.link_target) + ")");
    }
    return {};
  }

  void set_xattrs(int fd, const LogicalEntry& entry) {
    for (const auto& [key, value] : entry.xattrs) {
      // Only the user namespace: security.*, trusted.* and system.* would grant or change
      // rights on the examiner's machine.
      if (!key.starts_with("user.")) {
        warn(entry.path, "extended attribute " + key + " not restored (not a user.* attribute)");
        continue;
      }
      if (::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0) != 0) {
        warn(entry.path,
             fmt::format("extended attribute {} not restored: {}", key, std::strerror(errno)));
      }
    }
  }

  static void set_times(int dir, const std::string& path, const LogicalEntry& entry, bool link) {
    const auto atime = internal::parse_ns_time(entry.atime);
    const auto mtime = internal::parse_ns_time(entry.mtime);
    if (!mtime) {
      return;
    }
    const timespec times[2] = {atime ? *atime : *mtime, *mtime};
    ::utimensat(dir, path.c_str(), times, link ? AT_SYMLINK_NOFOLLOW : 0);
  }

  // Permissions without set-user-ID and set-group-ID (they would grant rights here), and times.
  void set_metadata(int dir, const std::string& name, const LogicalEntry& entry, bool link) {
    if (!link && entry.mode) {
      ::fchmodat(dir, name.c_str(), *entry.mode & 01777U, 0);
    }
    set_times(dir, name, entry, link);
  }

  const LogicalContainer& m_container;
  int m_root;
  LogicalExtractResult& m_result;
  std::vector<std::pair<std::string, const LogicalEntry*>> m_directories;
};

}  // namespace

Result<std::unique_ptr<LogicalContainer>> LogicalContainer::open(const std::string& path) {
  return LogicalContainerImpl::open(path);
}

bool internal::holds_logical_container(const ZipReader& zip) {
  if (zip.find(k_logical_manifest_member) != nullptr) {
    return true;
  }
  const ZipMember* version = zip.find("version.txt");
  if (version == nullptr) {
    return false;
  }
  auto text = zip.read_member(*version, 4096);
  return text && text->find("minor=1") != std::string::npos;
}

bool internal::is_logical_container_file(const std::string& path) {
  auto zip = ZipReader::open(path);
  return zip && holds_logical_container(*zip);
}

Result<LogicalExtractResult> internal::extract_files(const LogicalExtractOptions& options,
                                                     ProgressSink* progress,
                                                     const CancelToken* cancel) {
  auto container = LogicalContainer::open(options.container);
  CUSTODY_TRY(container);
  namespace fs = std::filesystem;
  std::error_code ignored;
  if (fs::exists(fs::symlink_status(options.output, ignored)) &&
      !(fs::is_directory(fs::symlink_status(options.output, ignored)) &&
        fs::is_empty(options.output, ignored))) {
    return tl::unexpected(Error{Errc::already_exists,
                                "the output exists and is not an empty "
                                "directory",
                                options.output,
                                {},
                                0,
                                "give a new directory name; nothing is extracted over existing "
                                "files"});
  }
  if (::mkdir(options.output.c_str(), 0700) != 0 && errno != EEXIST) {
    return internal::creation_failure(errno, options.output);
  }
  UniqueFd root(::open(options.output.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) {
    return make_sys_error(Errc::io_error, "cannot open the output directory", options.output,
                          errno);
  }
  LogicalExtractResult result;
  Extractor extractor(**container, root.get(), result);
  CUSTODY_TRY(extractor.run(cancel, progress));
  return result;
}

}  // namespace custody
