// SPDX-License-Identifier: Apache-2.0
// Examination access to evidence, bracketed by its "accessed" and "released" custody events
// (access.hpp).
#include "core/host.hpp"
#include "image/image_reader.hpp"

#include <custody/access.hpp>
#include <custody/container.hpp>
#include <custody/evidence.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace custody {
namespace {

// The one evidence item the paths form; every kind with an image or files is served.
Result<EvidenceItem> mountable_item(const std::vector<std::string>& paths) {
  auto items = identify_evidence(paths);
  CUSTODY_TRY(items);
  if (items->size() != 1) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the paths given form {} evidence items; mount one at a time "
                                  "(every volume of a striped image, every segment of a set, "
                                  "together)",
                                  items->size()));
  }
  switch (items->front().kind) {
    case EvidenceKind::aff4_container:
    case EvidenceKind::aff4_striped:
    case EvidenceKind::aff4_logical:
    case EvidenceKind::e01_set:
    case EvidenceKind::raw_image:
    case EvidenceKind::raw_record:
      return items->front();
    default:
      break;
  }
  return tl::unexpected(Error{Errc::unsupported,
                              fmt::format("{} ({}) holds no image to mount", paths.front(),
                                          evidence_kind_name(items->front().kind)),
                              paths.front(),
                              {},
                              0,
                              "mount the containers inside it (custody-receive releases them)"});
}

bool keeps_own_log(EvidenceKind kind) {
  return kind == EvidenceKind::aff4_container || kind == EvidenceKind::aff4_striped ||
         kind == EvidenceKind::aff4_logical;
}

// An AFF4 container's image, read as any other (each chunk's recorded CRC-32 checked).
class ContainerImage final : public internal::ImageReader {
 public:
  explicit ContainerImage(std::unique_ptr<Container> container)
      : m_container(std::move(container)),
        m_chunk_size(m_container->info().streams.empty()
                         ? 32768
                         : std::max<std::uint32_t>(1, m_container->info().streams[0].chunk_size)) {
    m_container->check_chunk_crcs_on_read();
  }
  std::uint64_t size() const override { return m_container->info().size; }
  std::uint64_t chunk_size() const override { return m_chunk_size; }
  const DigestSet& recorded_hashes() const override { return m_container->info().linear_hashes; }
  const std::string& evidence_id() const override { return m_container->info().image_urn; }
  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    return m_container->read(offset, out);
  }

 private:
  std::unique_ptr<Container> m_container;
  std::uint64_t m_chunk_size;
};

// The algorithm a logical file's content is checked with: SHA-256 where recorded, else the first
// recorded one.
std::optional<HashAlgorithm> check_algorithm(const LogicalEntry& entry) {
  if (entry.hashes.count(HashAlgorithm::sha256) != 0) {
    return HashAlgorithm::sha256;
  }
  if (!entry.hashes.empty()) {
    return entry.hashes.begin()->first;
  }
  return std::nullopt;
}

// Where the events go, and how they name the item: a standalone log's events say which item they
// are about (a container's log knows its own, so both stay empty for it).
struct LogTarget {
  std::string path;
  std::string evidence_id;
  std::map<std::string, std::string> image_hashes;
};

// What is served: a physical image, or the files of a logical container.
struct Opened {
  std::unique_ptr<internal::ImageReader> image;
  std::unique_ptr<LogicalContainer> logical;
};

class AccessImpl final : public EvidenceAccess {
 public:
  AccessImpl(AccessOptions options,
             LogTarget log,
             Opened opened,
             AppendResult accessed,
             std::string started)
      : m_options(std::move(options)),
        m_log(std::move(log)),
        m_image(std::move(opened.image)),
        m_logical(std::move(opened.logical)),
        m_size(m_image ? m_image->size() : 0),
        m_chunk_size(m_image ? std::max<std::uint64_t>(1, m_image->chunk_size()) : 1),
        m_accessed(std::move(accessed)) {
    m_summary.accessed_event = m_accessed.sequence;
    m_summary.started = std::move(started);
    m_summary.signed_events = m_accessed.signed_event;
    if (m_logical) {
      m_serves_files = true;
      m_file_state.assign(m_logical->manifest().entries.size(), FileState::unchecked);
    }
  }

  std::uint64_t size() const override { return m_size; }
  const LogicalManifest* files() const override {
    return m_logical ? &m_logical->manifest() : nullptr;
  }
  std::uint64_t accessed_event() const override { return m_accessed.sequence; }
  bool signed_events() const override { return m_accessed.signed_event; }

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    std::lock_guard lock(m_mutex);
    if (!m_image) {
      return make_error(Errc::invalid_argument, "no image is served (the access ended)");
    }
    auto got = m_image->read(offset, out);
    if (!got) {
      note_damage(got.error().message);
      return got;
    }
    m_summary.bytes_read += *got;
    mark_touched(offset, *got);
    return got;
  }

  Result<std::size_t> read_file(std::size_t index,
                                std::uint64_t offset,
                                std::span<std::byte> out) override {
    std::lock_guard lock(m_mutex);
    if (!m_logical || index >= m_file_state.size()) {
      return make_error(Errc::invalid_argument, "no such file is served");
    }
    const LogicalEntry& entry = m_logical->manifest().entries[index];
    CUSTODY_TRY(check_file(index, entry));
    auto got = m_logical->read_at(entry, offset, out);
    if (!got) {
      note_damage(got.error().message);
      return got;
    }
    m_summary.bytes_read += *got;
    return got;
  }

  Result<AccessSummary> end() override {
    std::lock_guard lock(m_mutex);
    if (m_ended) {
      return m_summary;
    }
    m_image.reset();  // closed before the log is appended to
    m_logical.reset();
    m_summary.ended = utc_now();
    auto added = append_custody_event(m_log.path, released_draft(), m_options.custody.signer);
    CUSTODY_TRY(added);
    m_summary.released_event = added->sequence;
    m_ended = true;
    return m_summary;
  }

 private:
  enum class FileState : std::uint8_t { unchecked, good, damaged };

  // A file is hashed whole before any of it is served; the verdict is kept for the access.
  Result<void> check_file(std::size_t index, const LogicalEntry& entry) {
    if (m_file_state[index] == FileState::unchecked) {
      m_summary.files_opened.push_back(encode_logical_path(entry.path));
      const auto algorithm = check_algorithm(entry);
      if (algorithm) {
        const HashAlgorithm algorithms[] = {*algorithm};
        auto hashed = m_logical->hash_file(entry, algorithms);
        m_file_state[index] = hashed && hashed->at(*algorithm) == entry.hashes.at(*algorithm)
                                  ? FileState::good
                                  : FileState::damaged;
      } else {
        m_file_state[index] = FileState::good;  // nothing recorded to check it with
      }
    }
    if (m_file_state[index] == FileState::damaged) {
      const std::string why = fmt::format(
          "{} does not match its recorded hash: it is damaged, and none of it is served",
          encode_logical_path(entry.path));
      note_damage(why);
      return make_error(Errc::corrupt, why);
    }
    return {};
  }

  void note_damage(const std::string& what) {
    ++m_summary.damaged_reads;
    if (m_summary.first_damage.empty()) {
      m_summary.first_damage = what;
    }
  }

  EventDraft released_draft() const {
    EventDraft draft = m_options.custody.draft;
    draft.evidence_id = m_log.evidence_id;
    draft.image_hashes = m_log.image_hashes;
    draft.action = "released";
    draft.tool_name = "custody-mount";
    draft.details = {{"accessed_event", std::to_string(m_accessed.sequence)},
                     {"accessed_id", m_accessed.event_id},
                     {"mountpoint", m_options.mountpoint},
                     {"started", m_summary.started},
                     {"ended", m_summary.ended},
                     {"bytes_read", std::to_string(m_summary.bytes_read)},
                     {"damaged_reads", std::to_string(m_summary.damaged_reads)}};
    if (m_serves_files) {
      draft.details["files_opened"] = std::to_string(m_summary.files_opened.size());
      draft.details["files_opened_list"] = listed(m_summary.files_opened);
    } else {
      draft.details["chunks_read"] = std::to_string(m_summary.chunks_read);
    }
    if (!m_summary.first_damage.empty()) {
      draft.details["first_damage"] = m_summary.first_damage;
    }
    return draft;
  }

  // The paths, percent-encoded (so a space never occurs in one), separated by spaces; at most
  // k_listed of them (the count is always recorded).
  static std::string listed(const std::vector<std::string>& paths) {
    constexpr std::size_t k_listed = 1000;
    std::string text;
    for (std::size_t i = 0; i < paths.size() && i < k_listed; ++i) {
      text += (i == 0 ? "" : " ") + paths[i];
    }
    if (paths.size() > k_listed) {
      text += fmt::format(" ... and {} more", paths.size() - k_listed);
    }
    return text;
  }

  // Counts the distinct chunks a read touched. Runs of chunks, merged as they meet: memory grows
  // with how scattered the reads are, never with the image's size (an AFF4 image may claim
  // exabytes).
  void mark_touched(std::uint64_t offset, std::size_t length) {
    if (length == 0) {
      return;
    }
    std::uint64_t first = offset / m_chunk_size;
    std::uint64_t end = (offset + length - 1) / m_chunk_size + 1;
    auto run = m_touched.upper_bound(first);
    if (run != m_touched.begin() && std::prev(run)->second >= first) {
      --run;
      first = run->first;
    }
    while (run != m_touched.end() && run->first <= end) {
      end = std::max(end, run->second);
      m_summary.chunks_read -= run->second - run->first;
      run = m_touched.erase(run);
    }
    m_touched.emplace(first, end);
    m_summary.chunks_read += end - first;
  }

  AccessOptions m_options;
  LogTarget m_log;
  std::mutex m_mutex;
  std::unique_ptr<internal::ImageReader> m_image;
  std::unique_ptr<LogicalContainer> m_logical;
  std::uint64_t m_size;
  std::uint64_t m_chunk_size;
  std::map<std::uint64_t, std::uint64_t> m_touched;  // runs of chunks read: first -> end
  std::vector<FileState> m_file_state;               // logical: one per entry
  AppendResult m_accessed;
  AccessSummary m_summary;
  bool m_serves_files = false;  // a logical container (kept after end() closed it)
  bool m_ended = false;
};

// Opens what is served, read-only.
Result<Opened> open_served(const EvidenceItem& item) {
  Opened opened;
  switch (item.kind) {
    case EvidenceKind::aff4_logical: {
      auto logical = LogicalContainer::open(item.paths.front());
      CUSTODY_TRY(logical);
      opened.logical = std::move(*logical);
      return opened;
    }
    case EvidenceKind::e01_set: {
      auto reader = internal::open_e01_reader(item.paths.front());
      CUSTODY_TRY(reader);
      opened.image = std::move(*reader);
      return opened;
    }
    case EvidenceKind::raw_image:
    case EvidenceKind::raw_record: {
      auto reader = internal::open_raw_reader(item.record);
      CUSTODY_TRY(reader);
      opened.image = std::move(*reader);
      return opened;
    }
    default:
      break;
  }
  auto container = Container::open(item.paths);
  CUSTODY_TRY(container);
  opened.image = std::make_unique<ContainerImage>(std::move(*container));
  return opened;
}

// Where the events go: the container's own log, or the standalone log given for an E01 set or a
// raw image (which cannot hold one).
Result<std::string> log_target(const EvidenceItem& item, const std::string& log_path) {
  if (keeps_own_log(item.kind)) {
    if (!log_path.empty()) {
      return make_error(Errc::invalid_argument,
                        "an AFF4 container keeps its own custody log: a standalone log (--log) "
                        "is for an E01 set or a raw image");
    }
    return item.paths.front();
  }
  if (log_path.empty()) {
    return tl::unexpected(Error{Errc::invalid_argument,
                                fmt::format("{} ({}) cannot hold a custody log: the access must "
                                            "be recorded in a standalone log",
                                            item.paths.front(), evidence_kind_name(item.kind)),
                                item.paths.front(),
                                {},
                                0,
                                "give --log FILE (the lab's log of this item; created if it does "
                                "not exist)"});
  }
  return log_path;
}

Result<void> check_log_writable(const std::string& log) {
  std::error_code error;
  if (!std::filesystem::exists(log, error)) {
    return {};
  }
  if (std::string why = why_evidence_is_read_only(log); !why.empty()) {
    return tl::unexpected(Error{Errc::io_error,
                                fmt::format("cannot record the access in the custody log of {}: "
                                            "{}; nothing was mounted",
                                            log, why),
                                log,
                                {},
                                0,
                                "examine a copy that may be written to (custody-export), or make "
                                "it writable for the duration of the examination"});
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<EvidenceAccess>> EvidenceAccess::begin(const AccessOptions& options) {
  if (options.container_paths.empty()) {
    return make_error(Errc::invalid_argument, "no evidence given");
  }
  if (options.custody.draft.purpose.empty()) {
    return make_error(Errc::invalid_argument,
                      "the purpose of the access is required: it is recorded in the custody log");
  }
  auto item = mountable_item(options.container_paths);
  CUSTODY_TRY(item);
  auto log = log_target(*item, options.log_path);
  CUSTODY_TRY(log);
  CUSTODY_TRY(check_event_context(options.custody));
  CUSTODY_TRY(check_log_writable(*log));
  // Opened first, so that damaged evidence is refused before anything is recorded.
  auto opened = open_served(*item);
  CUSTODY_TRY(opened);

  const std::string started = utc_now();
  EventDraft draft = options.custody.draft;
  draft.action = "accessed";
  draft.tool_name = "custody-mount";
  const bool standalone = !keeps_own_log(item->kind);
  if (standalone) {
    draft.evidence_id = opened->image->evidence_id();
    for (const auto& [algorithm, hex] : opened->image->recorded_hashes()) {
      draft.image_hashes[std::string(hash_name(algorithm))] = hex;
    }
  }
  const internal::HostDescription host = internal::describe_this_host();
  draft.details = {{"access", "mount"},
                   {"mountpoint", options.mountpoint},
                   {"host", host.name},
                   {"started", started}};
  AppendOptions append;
  append.create_standalone = standalone;
  append.standalone_title = "custody log of " + draft.evidence_id;
  auto accessed = append_custody_event(*log, draft, options.custody.signer, append);
  CUSTODY_TRY(accessed);
  if (!standalone) {
    // Opened again: the append added members to the container.
    opened = open_served(*item);
    CUSTODY_TRY(opened);
  }
  return std::make_unique<AccessImpl>(options,
                                      LogTarget{*log, draft.evidence_id, draft.image_hashes},
                                      std::move(*opened), std::move(*accessed), started);
}

}  // namespace custody
