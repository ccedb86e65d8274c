// SPDX-License-Identifier: Apache-2.0
// The machine a job runs on, as records and E01 headers name it.
#pragma once

#include <string>

namespace custody::internal {

struct HostDescription {
  std::string name;            // gethostname(2); empty when unknown
  std::string system;          // "Linux 6.1.0-18-amd64 x86_64"; empty when unknown
  std::string system_release;  // "Linux 6.1.0-18-amd64" (an E01's operating system header)
};

HostDescription describe_this_host();

}  // namespace custody::internal
