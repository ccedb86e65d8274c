// SPDX-License-Identifier: Apache-2.0
// Whether a ZIP volume is an AFF4-L logical container: the one test identify_evidence and the
// container verification share.
#pragma once

#include "zip/zip.hpp"

#include <string>

namespace custody::internal {

// True when `zip` holds custody/files.json or a version.txt that says AFF4-L (minor=1).
bool holds_logical_container(const ZipReader& zip);

// The same for the file at `path`; false when it is not a readable ZIP.
bool is_logical_container_file(const std::string& path);

}  // namespace custody::internal
