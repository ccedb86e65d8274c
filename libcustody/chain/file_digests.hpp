// SPDX-License-Identifier: Apache-2.0
// SHA-256 of a container file at several lengths and of each of its members, in one read: what a
// seal or an archive time-stamp states the file was, and what checking one compares.
#pragma once

#include "zip/zip.hpp"

#include <custody/error.hpp>
#include <custody/progress.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace custody::internal {

struct FileDigests {
  std::map<std::uint64_t, std::string> prefixes;  // length -> sha256
  std::map<std::string, std::string> members;     // name -> sha256 of its stored bytes
};

// One pass over the file up to its end record: the SHA-256 of the first L bytes for each L of
// `prefix_lengths`, and of each member's stored bytes. Errc::cancelled, or the read's error.
Result<FileDigests> digest_file(const ZipReader& zip,
                                std::vector<std::uint64_t> prefix_lengths,
                                ProgressSink* progress,
                                const CancelToken* cancel);

}  // namespace custody::internal
