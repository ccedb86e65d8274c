// SPDX-License-Identifier: Apache-2.0
// Archive time-stamps inside libcustody: reading them for check_seals_and_archives, which hashes
// the file once for seals and archives together.
#pragma once

#include "chain/file_digests.hpp"
#include "zip/zip.hpp"

#include <custody/seal.hpp>

#include <string>
#include <vector>

namespace custody::internal {

// "custody/archive-N.json", "custody/archive-N.tsr".
std::string archive_member_name(unsigned number, const char* suffix);

// Whether `name` is an archive time-stamp's member: added after seals by design, it changes
// nothing a seal signed.
bool is_archive_member(const std::string& name);

// An archive as its members state it, before the file is compared with it.
struct ArchiveRead {
  ArchiveReport report;
  std::string covered_sha256;  // what the manifest states
};

// Every archive time-stamp of `zip`, its manifest read and its token checked against
// `tsa_trust`. Errors only for a member that cannot be read from the file.
Result<std::vector<ArchiveRead>> read_archives(const ZipReader& zip,
                                               const std::vector<std::string>& tsa_trust);

// Compares each archive with the file's digests (prefix_matches).
void compare_archives_with_file(std::vector<ArchiveRead>& archives, const FileDigests& digests);

}  // namespace custody::internal
