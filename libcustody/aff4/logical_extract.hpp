// SPDX-License-Identifier: Apache-2.0
// Extraction of a logical container's files, below the custody transaction of
// image/export_custody.cpp (which records the "exported" event).
#pragma once

#include <custody/logical.hpp>

namespace custody::internal {

// As custody::extract_logical(), recording nothing.
Result<LogicalExtractResult> extract_files(const LogicalExtractOptions& options,
                                           ProgressSink* progress,
                                           const CancelToken* cancel);

}  // namespace custody::internal
