// SPDX-License-Identifier: Apache-2.0
// Secret input: key and passphrase files with their permission checks, passphrases from a file,
// the environment or the terminal, and OpenSSL's passphrase callback.
#include "crypto/secret_input.hpp"

#include "core/posix_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <utility>

namespace custody::internal {

namespace {

constexpr std::size_t k_max_passphrase_file = 64 * 1024;

// Refuses a secret file that group or others may read or write, unless allowed.
Result<void> check_secret_mode(const std::string& path,
                               const char* what,
                               mode_t st_mode,
                               bool allow_insecure) {
  const auto mode = static_cast<unsigned>(st_mode & 07777U);
  if ((mode & 0077U) == 0 || allow_insecure) {
    return {};
  }
  const char* access = (mode & 0044U) != 0 ? "readable" : "writable";
  Error error{Errc::invalid_argument,
              fmt::format("the {} {} is {} by other users (mode {:04o})", what, path, access, mode),
              {},
              {},
              0,
              fmt::format("chmod 600 {}, or use --allow-insecure-key-permissions", path)};
  return tl::unexpected(std::move(error));
}

// Reads the passphrase from the controlling terminal with echo off: never from the command line,
// where `ps` and the shell history would show it.
Result<void> prompt_passphrase(const std::string& key_path, Secret& secret) {
  UniqueFd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty) {
    return make_error(Errc::invalid_argument,
                      fmt::format("no terminal to ask for the passphrase of {}: give it in a file "
                                  "or an environment variable",
                                  key_path));
  }
  termios saved{};
  if (::tcgetattr(tty.get(), &saved) != 0) {
    return make_sys_error(Errc::io_error, "cannot read the terminal settings", "/dev/tty", errno);
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= static_cast<tcflag_t>(ECHONL);  // the Enter key still moves to a new line
  // Echo comes back however this function is left.
  struct Restore {
    int fd;
    const termios& settings;
    ~Restore() { ::tcsetattr(fd, TCSAFLUSH, &settings); }
  };
  const std::string prompt = fmt::format("Passphrase for {}: ", key_path);
  if (::tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) {
    return make_sys_error(Errc::io_error, "cannot switch off the terminal echo", "/dev/tty", errno);
  }
  const Restore restore{tty.get(), saved};
  CUSTODY_TRY(write_full(tty.get(), std::as_bytes(std::span(prompt)), "/dev/tty", 0));
  for (;;) {
    char c = 0;
    const ssize_t got = ::read(tty.get(), &c, 1);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return make_sys_error(Errc::io_error, "cannot read the passphrase", "/dev/tty", errno);
    }
    if (got == 0 || c == '\n' || c == '\r') {
      return {};
    }
    if (!secret.push_back(c)) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("the passphrase is longer than {} characters", k_max_passphrase));
    }
  }
}

// The first line of `text` is the passphrase, without its line end (as in openssl's "file:"
// source).
Result<void> take_first_line(std::string_view text, const std::string& key_path, Secret& secret) {
  text = text.substr(0, text.find('\n'));
  if (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
  }
  for (char c : text) {
    if (!secret.push_back(c)) {
      return make_error(Errc::invalid_argument, fmt::format("the passphrase for {} is longer "
                                                            "than {} characters",
                                                            key_path, k_max_passphrase));
    }
  }
  return {};
}

}  // namespace

Result<std::string> read_secret_file(const std::string& path,
                                     const char* what,
                                     std::size_t limit,
                                     bool allow_insecure) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error,
                          fmt::format("cannot open the {}", what), path, error);
  }
  // fstat of the descriptor we read, so that the checked file is the one used.
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, fmt::format("cannot stat the {}", what), path, errno);
  }
  if (S_ISDIR(status.st_mode)) {
    return directory_given(path);
  }
  if (!S_ISREG(status.st_mode) || static_cast<std::uint64_t>(status.st_size) > limit) {
    return make_error(Errc::corrupt, fmt::format("{} is not a {} (not a regular file of at most "
                                                 "{} bytes)",
                                                 path, what, limit));
  }
  CUSTODY_TRY(check_secret_mode(path, what, status.st_mode, allow_insecure));
  std::string content(static_cast<std::size_t>(status.st_size) + 1, '\0');
  auto got = read_full(fd.get(), std::as_writable_bytes(std::span(content.data(), content.size())),
                       path, 0);
  CUSTODY_TRY(got);
  if (*got > limit) {
    return make_error(Errc::corrupt,
                      fmt::format("{} is not a {} (larger than {} bytes)", path, what, limit));
  }
  content.resize(*got);
  return content;
}

Result<void> obtain_passphrase(const PassphraseSource& source,
                               const std::string& key_path,
                               bool allow_insecure,
                               Secret& secret) {
  switch (source.kind) {
    case PassphraseSource::Kind::none:
      break;
    case PassphraseSource::Kind::file: {
      auto content =
          read_secret_file(source.value, "passphrase file", k_max_passphrase_file, allow_insecure);
      CUSTODY_TRY(content);
      auto taken = take_first_line(*content, key_path, secret);
      OPENSSL_cleanse(content->data(), content->size());
      return taken;
    }
    case PassphraseSource::Kind::environment: {
      const char* value = std::getenv(source.value.c_str());
      if (value == nullptr) {
        return make_error(Errc::invalid_argument,
                          fmt::format("the environment variable {} (the passphrase for {}) is not "
                                      "set",
                                      source.value, key_path));
      }
      return take_first_line(value, key_path, secret);
    }
    case PassphraseSource::Kind::prompt:
      return prompt_passphrase(key_path, secret);
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("{} is protected by a passphrase, and none was given (from a file, "
                                "an environment variable or the terminal)",
                                key_path));
}

tl::unexpected<Error> wrong_passphrase(const std::string& path) {
  Error error{Errc::invalid_argument,
              fmt::format("the passphrase does not open {}", path),
              {},
              {},
              0,
              "check the passphrase (its file's first line, the environment variable, or what "
              "was typed) and that this is the right key file; nothing was done with it"};
  return tl::unexpected(std::move(error));
}

int passphrase_callback(char* buffer, int size, int /*rwflag*/, void* user) {
  auto* request = static_cast<PassphraseRequest*>(user);
  if (!request->asked) {
    request->asked = true;
    auto obtained = obtain_passphrase(*request->source, *request->key_path, request->allow_insecure,
                                      request->secret);
    if (!obtained) {
      request->error = std::move(obtained.error());
    }
  }
  const std::string& text = request->secret.text();
  if (request->error || text.empty() || text.size() > static_cast<std::size_t>(size)) {
    return -1;
  }
  std::memcpy(buffer, text.data(), text.size());
  return static_cast<int>(text.size());
}

}  // namespace custody::internal
