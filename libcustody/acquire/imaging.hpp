// SPDX-License-Identifier: Apache-2.0
// The imaging steps below the custody transaction of acquisition.cpp/custody_transaction.cpp:
// they read the source and write the container and its record, and record no custody event.
#pragma once

#include <custody/acquisition.hpp>
#include <custody/logical.hpp>

namespace custody::internal {

// A physical acquisition (or an import with from_image), as described at custody::acquire().
Result<AcquisitionResult> image_source(const AcquireOptions& options,
                                       ProgressSink* progress,
                                       const CancelToken* cancel);

// A logical acquisition, as described at custody::acquire_logical().
Result<LogicalAcquisitionResult> take_files(const LogicalAcquireOptions& options,
                                            ProgressSink* progress,
                                            const CancelToken* cancel);

}  // namespace custody::internal
