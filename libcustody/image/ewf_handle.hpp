// SPDX-License-Identifier: Apache-2.0
// What the E01 writer and reader share: libewf errors as text, segment globbing, naming.
#pragma once

#include <custody/error.hpp>

#include <libewf.h>

#include <string>
#include <vector>

namespace custody::internal {

// The message of a libewf error (its backtrace on one line); frees the error.
std::string take_ewf_error(libewf_error_t* error);

// Every segment file of the set whose first file is `first_segment`, in order (libewf_glob).
Result<std::vector<std::string>> ewf_glob(const std::string& first_segment);

// `output_base` without a trailing ".E01"/".e01".
std::string ewf_base_name(const std::string& output_base);

}  // namespace custody::internal
