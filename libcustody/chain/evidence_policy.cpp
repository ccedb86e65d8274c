// SPDX-License-Identifier: Apache-2.0
// Before an operation records its own custody event: the context is checked up front, and the
// rule on writing evidence: read-only evidence is never touched, whoever runs the tool (root too).
#include <custody/custody_log.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace custody {

std::string why_evidence_is_read_only(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode)) {
    return fmt::format("{} is not a regular file", path);
  }
  // root passes access(2) even for mode 0444: the mode says what its keeper wanted.
  if ((status.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0) {
    return fmt::format("{} is read-only", path);
  }
  struct statvfs volume {};
  if (::statvfs(path.c_str(), &volume) == 0 && (volume.f_flag & ST_RDONLY) != 0) {
    return fmt::format("{} is on read-only media", path);
  }
  if (::access(path.c_str(), W_OK) != 0) {
    return fmt::format("{} is read-only for this user", path);
  }
  return {};
}

Result<void> check_event_context(const EventContext& context) {
  if (context.signer != nullptr) {
    CUSTODY_TRY(context.signer->check_can_sign());
  }
  return check_event_draft(context.draft);
}

}  // namespace custody
