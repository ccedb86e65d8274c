// SPDX-License-Identifier: Apache-2.0
// Exports as custody transactions: write the image (or the files), then record the "exported"
// event in the container's custody log, unless the evidence is kept read-only.
#include "aff4/logical_extract.hpp"
#include "image/exporting.hpp"

#include <custody/custody_log.hpp>
#include <custody/export.hpp>
#include <custody/logical.hpp>

#include <string>
#include <vector>

namespace custody {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) {
    text += (text.empty() ? "" : ", ") + name;
  }
  return text;
}

// Appends the event when the container may be written to; otherwise says why it was not.
template <typename AnyResult>
Result<void> record_export(const std::string& container,
                           const EventContext& context,
                           std::map<std::string, std::string> details,
                           AnyResult& result) {
  if (std::string why = why_evidence_is_read_only(container); !why.empty()) {
    result.not_recorded = why;
    return {};
  }
  EventDraft draft = context.draft;
  draft.action = "exported";
  draft.tool_name = "custody-export";
  draft.details.merge(details);
  auto added = append_custody_event(container, draft, context.signer);
  CUSTODY_TRY(added);
  result.custody_event = added->sequence;
  return {};
}

Result<void> check_context(const std::optional<EventContext>& context) {
  return context ? check_event_context(*context) : Result<void>{};
}

}  // namespace

Result<ExportResult> export_image(const ExportOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel) {
  CUSTODY_TRY(check_context(options.custody));
  auto result = internal::write_export(options, progress, cancel);
  CUSTODY_TRY(result);
  if (options.custody && !options.container_paths.empty()) {
    std::map<std::string, std::string> details = {
        {"format", options.format == ExportFormat::e01 ? "e01" : "raw"},
        {"output", result->files.empty() ? "standard output" : join(result->files)},
        {"bytes", std::to_string(result->bytes)},
        {"whole_image", result->whole_image ? "yes" : "no"},
        {"matches_record", result->matches_record ? "yes" : "NO"}};
    for (const auto& [algorithm, hex] : result->hashes) {
      details["export_" + std::string(hash_name(algorithm))] = hex;
    }
    CUSTODY_TRY(record_export(options.container_paths.front(), *options.custody, std::move(details),
                              *result));
  }
  return result;
}

Result<LogicalExtractResult> extract_logical(const LogicalExtractOptions& options,
                                             ProgressSink* progress,
                                             const CancelToken* cancel) {
  CUSTODY_TRY(check_context(options.custody));
  auto result = internal::extract_files(options, progress, cancel);
  CUSTODY_TRY(result);
  if (options.custody) {
    CUSTODY_TRY(record_export(options.container, *options.custody,
                              {{"format", "files"},
                               {"output", options.output},
                               {"files", std::to_string(result->files)},
                               {"bytes", std::to_string(result->bytes)},
                               {"matches_record", result->mismatches.empty() ? "yes" : "NO"}},
                              *result));
  }
  return result;
}

}  // namespace custody
