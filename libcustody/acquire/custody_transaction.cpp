// SPDX-License-Identifier: Apache-2.0
// Acquisition as one custody transaction: check the signer and the examiner's facts, image,
// record the "acquired" (or "imported") event, then seal, so the seal covers the event.
#include "acquire/imaging.hpp"

#include <custody/acquisition.hpp>
#include <custody/custody_log.hpp>
#include <custody/logical.hpp>
#include <custody/seal.hpp>

#include <fmt/format.h>

#include <string>

namespace custody {
namespace {

EventDraft draft_for(const EventContext& context,
                     const CaseInfo& case_info,
                     const std::string& tool_name) {
  EventDraft draft = context.draft;
  draft.action = "acquired";
  draft.tool_name = tool_name;
  if (draft.actor.name.empty() && case_info.examiner) {
    draft.actor.name = *case_info.examiner;
  }
  return draft;
}

// Legacy evidence brought under custody: where it came from and what it claimed of itself.
void describe_import(const ImportRecord& imported, EventDraft& draft) {
  draft.action = "imported";
  draft.details["imported_format"] = imported.format;
  std::string files;
  for (const ImportedFile& file : imported.files) {
    files += (files.empty() ? "" : ", ") + file.name;
  }
  draft.details["imported_files"] = files;
  for (const auto& [algorithm, hex] : imported.claimed_hashes) {
    draft.details["claimed_" + std::string(hash_name(algorithm))] = hex;
  }
  draft.details["claimed_hashes_match"] =
      !imported.hashes_match ? "none claimed" : (*imported.hashes_match ? "yes" : "NO");
}

EventDraft physical_event(const AcquireOptions& options, const AcquisitionRecord& record) {
  EventDraft draft = draft_for(options.custody, options.case_info, options.tool_name);
  draft.details["source"] = record.source.path;
  draft.details["image_size"] = std::to_string(record.image_size);
  draft.details["unreadable_ranges"] = std::to_string(record.defects.size());
  if (record.imported_from) {
    describe_import(*record.imported_from, draft);
  }
  return draft;
}

// What was taken, how many files, what the filters left out.
EventDraft logical_event(const LogicalAcquireOptions& options, const AcquisitionRecord& record) {
  EventDraft draft = draft_for(options.custody, options.case_info, options.tool_name);
  const LogicalSummary& summary = *record.logical;
  draft.details["acquisition"] = "logical";
  draft.details["source"] = record.source.path;
  draft.details["files"] = std::to_string(summary.files);
  draft.details["bytes"] = std::to_string(summary.bytes);
  draft.details["unreadable"] = std::to_string(summary.unreadable);
  const LogicalExclusions& excluded = summary.excluded;
  draft.details["excluded_by_filters"] =
      std::to_string(excluded.not_included + excluded.excluded + excluded.older);
  draft.details["file_list_sha256"] = summary.manifest_sha256;
  return draft;
}

// The event first, then the seal: the seal covers every byte before it, the event included.
template <typename AnyResult>
Result<void> record_and_seal(const std::string& container,
                             const EventDraft& draft,
                             const EventContext& context,
                             const std::string& tool_name,
                             AnyResult& result,
                             ProgressSink* progress,
                             const CancelToken* cancel) {
  auto event = append_custody_event(container, draft, context.signer);
  CUSTODY_TRY(event);
  result.event = std::move(*event);
  if (context.signer != nullptr) {
    SealOptions seal_options;
    seal_options.tool_name = tool_name;
    auto sealed = seal_container(container, *context.signer, seal_options, progress, cancel);
    CUSTODY_TRY(sealed);
    result.seal = std::move(*sealed);
  }
  return {};
}

// The acquisition is complete and its container stays; only its custody event or seal could not
// be made (a token pulled out, a full disk). The error says so, with the image's SHA-256, and
// how to finish by hand.
template <typename AnyResult>
tl::unexpected<Error> kept_without_seal(Error error,
                                        const std::string& container,
                                        const AnyResult& result) {
  const auto sha256 = result.record.hashes.find(HashAlgorithm::sha256);
  const std::string image = sha256 != result.record.hashes.end()
                                ? fmt::format(" (image SHA-256 {})", sha256->second)
                                : std::string();
  const char* missing = result.event ? "its seal is missing"
                                     : "its signed \"acquired\" event and its seal are missing";
  error.message = fmt::format("{}; the acquisition itself is complete and kept in {}{}, but {}",
                              error.message, container, image, missing);
  const std::string finish =
      result.event
          ? fmt::format("seal it with `custody-seal {} --key ...` once the key works again",
                        container)
          : fmt::format(
                "record it with `custody-log add {} --action acquired --by-key "
                "...` and seal it with `custody-seal {} --key ...` once the key "
                "works again",
                container, container);
  error.hint = finish;  // not "run the command again": that would image the source anew
  return tl::unexpected(std::move(error));
}

}  // namespace

Result<AcquisitionResult> acquire(const AcquireOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel) {
  if (options.custody.signer != nullptr && options.format != ImageFormat::aff4) {
    return make_error(Errc::invalid_argument, "sealing applies to AFF4 containers (--format aff4)");
  }
  // Before imaging: a wrong signer or a misspelt jurisdiction must not cost an hour of
  // acquisition, and must leave nothing behind.
  CUSTODY_TRY(check_event_context(options.custody));
  auto result = internal::image_source(options, progress, cancel);
  CUSTODY_TRY(result);
  if (options.format == ImageFormat::aff4 && result->record.status == AcquisitionStatus::complete) {
    auto recorded = record_and_seal(result->record_path, physical_event(options, result->record),
                                    options.custody, options.tool_name, *result, progress, cancel);
    if (!recorded) {
      return kept_without_seal(std::move(recorded.error()), result->record_path, *result);
    }
  }
  return result;
}

Result<LogicalAcquisitionResult> acquire_logical(const LogicalAcquireOptions& options,
                                                 ProgressSink* progress,
                                                 const CancelToken* cancel) {
  CUSTODY_TRY(check_event_context(options.custody));
  auto result = internal::take_files(options, progress, cancel);
  CUSTODY_TRY(result);
  if (result->record.status == AcquisitionStatus::complete) {
    auto recorded = record_and_seal(result->container_path, logical_event(options, result->record),
                                    options.custody, options.tool_name, *result, progress, cancel);
    if (!recorded) {
      return kept_without_seal(std::move(recorded.error()), result->container_path, *result);
    }
  }
  return result;
}

}  // namespace custody
