// SPDX-License-Identifier: Apache-2.0
// Error texts: what failed, where, why (errno), and what to do next.
#include <custody/error.hpp>

#include <fmt/format.h>

#include <cstring>

namespace custody {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::io_error:
      return "io_error";
    case Errc::corrupt:
      return "corrupt";
    case Errc::unsupported:
      return "unsupported";
    case Errc::already_exists:
      return "already_exists";
    case Errc::crypto:
      return "crypto";
    case Errc::cancelled:
      return "cancelled";
    case Errc::internal:
      return "internal";
    case Errc::cannot_create:
      return "cannot_create";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string text = message;
  if (!path.empty()) {
    text += fmt::format(": {}", path);
  }
  if (offset) {
    text += fmt::format(" at offset {}", *offset);
  }
  if (sys_errno != 0) {
    text += fmt::format(" ({})", std::strerror(sys_errno));
  }
  return text;
}

tl::unexpected<Error> make_sys_error(Errc code,
                                     std::string message,
                                     std::string path,
                                     int sys_errno,
                                     std::optional<std::uint64_t> offset) {
  return tl::unexpected<Error>(
      Error{code, std::move(message), std::move(path), offset, sys_errno, {}});
}

}  // namespace custody
