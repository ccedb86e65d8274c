// SPDX-License-Identifier: Apache-2.0
// The machine a job runs on (core/host.hpp).
#include "core/host.hpp"

#include <fmt/format.h>

#include <sys/utsname.h>
#include <unistd.h>

namespace custody::internal {

HostDescription describe_this_host() {
  HostDescription host;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) {
    host.name = name;
  }
  struct utsname system {};
  if (::uname(&system) == 0) {
    host.system = fmt::format("{} {} {}", system.sysname, system.release, system.machine);
    host.system_release = fmt::format("{} {}", system.sysname, system.release);
  }
  return host;
}

}  // namespace custody::internal
