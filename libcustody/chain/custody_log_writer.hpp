// SPDX-License-Identifier: Apache-2.0
// Appending a custody event as part of a larger append (a seal and its "sealed" event land in one
// atomic append).
#pragma once

#include "zip/zip.hpp"

#include <custody/custody_log.hpp>

namespace custody::internal {

// Adds the members of one event and its tree head to `writer`, an archive opened for appending
// (so its lock is held) at `path`. The caller finishes the writer. The log's state is read from
// `path` as it is on disk now.
Result<AppendResult> add_custody_event(ZipWriter& writer,
                                       const std::string& path,
                                       const EventDraft& draft,
                                       const Identity* identity,
                                       const AppendOptions& options);

// Whether `name` is a member of the custody log (custody/log/...), which may be added after a
// seal without breaking it: log members protect themselves (signatures and the Merkle tree).
bool is_custody_log_member(std::string_view name);

}  // namespace custody::internal
