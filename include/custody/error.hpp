// SPDX-License-Identifier: Apache-2.0
// Error: the one error type of libcustody, and Result<T>, the return type of every call that can
// fail. Verdicts (a hash mismatch, an edited record) are data in a successful Result, never an
// Error: an Error means "could not do or could not check".
#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace custody {

// Error categories. The numbers are persisted in JSON reports: append, never renumber.
enum class Errc : std::uint8_t {
  invalid_argument = 1,  // a caller-supplied value is wrong (bad size, unknown algorithm)
  not_found = 2,         // a file or device does not exist
  io_error = 3,          // read, write, fsync or close failed (includes disk full)
  corrupt = 4,           // input exists but is damaged or not what it claims to be
  unsupported = 5,       // input is valid but of a format or version we do not handle
  already_exists = 6,    // output exists and overwriting was not requested
  crypto = 7,            // OpenSSL refused an operation
  cancelled = 8,         // the job was interrupted on request
  internal = 9,          // a bug: an invariant did not hold
  cannot_create = 10,    // an output cannot be created: its directory is missing or not writable
};

// Returns the stable lower-case name of `code` ("io_error").
const char* errc_name(Errc code);

// An error: a category, a message that says what happened, and where (path, byte offset, errno)
// when known. `hint` says what the user can do next.
struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string path;
  std::optional<std::uint64_t> offset;
  int sys_errno = 0;
  std::string hint;

  // "short read: /dev/sdb at offset 4096 (Input/output error)".
  std::string to_string() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Builds an unexpected Error with `code` and `message`.
inline tl::unexpected<Error> make_error(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message), {}, {}, 0, {}});
}

// Builds an unexpected Error from the current `errno` for an operation on `path`.
tl::unexpected<Error> make_sys_error(Errc code,
                                     std::string message,
                                     std::string path,
                                     int sys_errno,
                                     std::optional<std::uint64_t> offset = std::nullopt);

}  // namespace custody

// Propagates a failed Result from the enclosing function (which must return a Result).
#define CUSTODY_TRY(expression_)                                 \
  do {                                                           \
    auto&& custody_result_ = (expression_);                      \
    if (!custody_result_) {                                      \
      return tl::unexpected(std::move(custody_result_.error())); \
    }                                                            \
  } while (false)
