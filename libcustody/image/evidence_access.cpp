// SPDX-License-Identifier: Apache-2.0
// Examination access to an AFF4 container's image, bracketed by its "accessed" and "released"
// custody events (access.hpp).
#include "core/host.hpp"

#include <custody/access.hpp>
#include <custody/container.hpp>
#include <custody/evidence.hpp>
#include <custody/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace custody {
namespace {

// Only a physical AFF4 image is served: what else the paths are is named in the refusal.
Result<void> check_mountable(const std::vector<std::string>& paths) {
  auto items = identify_evidence(paths);
  CUSTODY_TRY(items);
  if (items->size() != 1) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the containers given form {} evidence items; mount one at a "
                                  "time (every volume of a striped image together)",
                                  items->size()));
  }
  const EvidenceKind kind = items->front().kind;
  if (kind == EvidenceKind::aff4_container || kind == EvidenceKind::aff4_striped) {
    return {};
  }
  Error error{Errc::unsupported,
              fmt::format("{} is an {}: only physical AFF4 containers can be mounted yet",
                          paths.front(), evidence_kind_name(kind)),
              paths.front(),
              {},
              0,
              kind == EvidenceKind::aff4_logical
                  ? "extract its files with custody-export --files -o DIRECTORY"
                  : "use ewfmount(1) for an E01 set, or read a raw image directly"};
  return tl::unexpected(std::move(error));
}

class AccessImpl final : public EvidenceAccess {
 public:
  AccessImpl(AccessOptions options,
             std::unique_ptr<Container> container,
             AppendResult accessed,
             std::string started)
      : m_options(std::move(options)),
        m_container(std::move(container)),
        m_size(m_container->info().size),
        m_chunk_size(m_container->info().streams.empty()
                         ? 32768
                         : std::max<std::uint32_t>(1, m_container->info().streams[0].chunk_size)),
        m_touched((m_size + m_chunk_size - 1) / m_chunk_size, false),
        m_accessed(std::move(accessed)) {
    m_summary.accessed_event = m_accessed.sequence;
    m_summary.started = std::move(started);
    m_summary.signed_events = m_accessed.signed_event;
  }

  std::uint64_t size() const override { return m_size; }
  std::uint64_t accessed_event() const override { return m_accessed.sequence; }
  bool signed_events() const override { return m_accessed.signed_event; }

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out) override {
    std::lock_guard lock(m_mutex);
    if (!m_container) {
      return make_error(Errc::invalid_argument, "the access has ended");
    }
    auto got = m_container->read(offset, out);
    if (!got) {
      ++m_summary.damaged_reads;
      if (m_summary.first_damage.empty()) {
        m_summary.first_damage = got.error().message;
      }
      return got;
    }
    m_summary.bytes_read += *got;
    mark_touched(offset, *got);
    return got;
  }

  Result<AccessSummary> end() override {
    std::lock_guard lock(m_mutex);
    if (m_ended) {
      return m_summary;
    }
    m_container.reset();  // closed before the log is appended to
    m_summary.ended = utc_now();
    EventDraft draft = m_options.custody.draft;
    draft.action = "released";
    draft.tool_name = "custody-mount";
    draft.details = {{"accessed_event", std::to_string(m_accessed.sequence)},
                     {"accessed_id", m_accessed.event_id},
                     {"mountpoint", m_options.mountpoint},
                     {"started", m_summary.started},
                     {"ended", m_summary.ended},
                     {"bytes_read", std::to_string(m_summary.bytes_read)},
                     {"chunks_read", std::to_string(m_summary.chunks_read)},
                     {"damaged_reads", std::to_string(m_summary.damaged_reads)}};
    if (!m_summary.first_damage.empty()) {
      draft.details["first_damage"] = m_summary.first_damage;
    }
    auto added =
        append_custody_event(m_options.container_paths.front(), draft, m_options.custody.signer);
    CUSTODY_TRY(added);
    m_summary.released_event = added->sequence;
    m_ended = true;
    return m_summary;
  }

 private:
  void mark_touched(std::uint64_t offset, std::size_t length) {
    if (length == 0) {
      return;
    }
    const std::uint64_t last = (offset + length - 1) / m_chunk_size;
    for (std::uint64_t chunk = offset / m_chunk_size; chunk <= last && chunk < m_touched.size();
         ++chunk) {
      if (!m_touched[chunk]) {
        m_touched[chunk] = true;
        ++m_summary.chunks_read;
      }
    }
  }

  AccessOptions m_options;
  std::mutex m_mutex;
  std::unique_ptr<Container> m_container;
  std::uint64_t m_size;
  std::uint64_t m_chunk_size;
  std::vector<bool> m_touched;  // one bit per chunk of the image: bounded, 4 MiB per TiB
  AppendResult m_accessed;
  AccessSummary m_summary;
  bool m_ended = false;
};

}  // namespace

Result<std::unique_ptr<EvidenceAccess>> EvidenceAccess::begin(const AccessOptions& options) {
  if (options.container_paths.empty()) {
    return make_error(Errc::invalid_argument, "no container given");
  }
  if (options.custody.draft.purpose.empty()) {
    return make_error(Errc::invalid_argument,
                      "the purpose of the access is required: it is recorded in the custody log");
  }
  CUSTODY_TRY(check_mountable(options.container_paths));
  CUSTODY_TRY(check_event_context(options.custody));
  const std::string& container = options.container_paths.front();
  if (std::string why = why_evidence_is_read_only(container); !why.empty()) {
    Error error{Errc::io_error,
                fmt::format("cannot record the access in the custody log of {}: {}; nothing was "
                            "mounted",
                            container, why),
                container,
                {},
                0,
                "examine a copy that may be written to (custody-export), or make the container "
                "writable for the duration of the examination"};
    return tl::unexpected(std::move(error));
  }
  // Opened first, so that a damaged container is refused before anything is recorded.
  CUSTODY_TRY(Container::open(options.container_paths));

  const std::string started = utc_now();
  EventDraft draft = options.custody.draft;
  draft.action = "accessed";
  draft.tool_name = "custody-mount";
  const internal::HostDescription host = internal::describe_this_host();
  draft.details = {{"access", "mount"},
                   {"mountpoint", options.mountpoint},
                   {"host", host.name},
                   {"started", started}};
  auto accessed = append_custody_event(container, draft, options.custody.signer);
  CUSTODY_TRY(accessed);
  // Opened again: the append added members to the file.
  auto opened = Container::open(options.container_paths);
  CUSTODY_TRY(opened);
  (*opened)->check_chunk_crcs_on_read();
  return std::make_unique<AccessImpl>(options, std::move(*opened), std::move(*accessed), started);
}

}  // namespace custody
