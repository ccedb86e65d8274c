// SPDX-License-Identifier: Apache-2.0
// Writing an export, below the custody transaction of image/export_custody.cpp.
#pragma once

#include <custody/export.hpp>

namespace custody::internal {

// As custody::export_image(), recording nothing.
Result<ExportResult> write_export(const ExportOptions& options,
                                  ProgressSink* progress,
                                  const CancelToken* cancel);

}  // namespace custody::internal
