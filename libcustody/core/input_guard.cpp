// SPDX-License-Identifier: Apache-2.0
// InputGuard: refuse any output that is one of the inputs (same device and inode).
#include "core/input_guard.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace custody::internal {

namespace {

bool stat_of(const std::string& path, struct stat& status) {
  if (path == "-") {
    return ::fstat(STDIN_FILENO, &status) == 0;
  }
  return ::stat(path.c_str(), &status) == 0;
}

tl::unexpected<Error> refusal(const std::string& output, const std::string& input, bool inside) {
  const std::string what = input == "-" ? std::string("standard input") : input;
  std::string message;
  if (inside) {
    message =
        fmt::format("refusing to write {}: it lies inside {}, which is being read", output, what);
  } else if (output == input) {
    message = fmt::format("refusing to write {}: it is the input being read", output);
  } else {
    message = fmt::format("refusing to write {}: it is the same file as {}, which is being read",
                          output, what);
  }
  Error error{Errc::already_exists,
              message,
              {},
              {},
              0,
              "custody never writes over its input, with or without --force; choose an output "
              "elsewhere"};
  return tl::unexpected(std::move(error));
}

}  // namespace

void InputGuard::add(const std::string& path) {
  struct stat status {};
  if (!stat_of(path, status)) {
    return;
  }
  m_inputs.push_back(Input{path, status.st_dev, status.st_ino, S_ISDIR(status.st_mode)});
}

void InputGuard::add_all(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    add(path);
  }
}

Result<void> InputGuard::check_identity(const std::string& output,
                                        dev_t device,
                                        ino_t inode) const {
  for (const Input& input : m_inputs) {
    if (input.device == device && input.inode == inode) {
      return refusal(output, input.name, false);
    }
  }
  return {};
}

Result<void> InputGuard::check_output(const std::string& output) const {
  if (m_inputs.empty()) {
    return {};
  }
  struct stat status {};
  if (output == "-") {
    if (::fstat(STDOUT_FILENO, &status) == 0) {
      return check_identity("standard output", status.st_dev, status.st_ino);
    }
    return {};
  }
  if (::stat(output.c_str(), &status) == 0) {
    CUSTODY_TRY(check_identity(output, status.st_dev, status.st_ino));
  }
  // A new file inside an input directory would be read back into the evidence: walk up the
  // output's existing parent directories.
  if (std::none_of(m_inputs.begin(), m_inputs.end(),
                   [](const Input& input) { return input.directory; })) {
    return {};
  }
  std::error_code ignored;
  std::filesystem::path directory = std::filesystem::absolute(output, ignored).parent_path();
  for (;;) {
    if (::stat(directory.c_str(), &status) == 0) {
      for (const Input& input : m_inputs) {
        if (input.directory && input.device == status.st_dev && input.inode == status.st_ino) {
          return refusal(output, input.name, true);
        }
      }
    }
    if (!directory.has_relative_path()) {
      return {};
    }
    directory = directory.parent_path();
  }
}

bool InputGuard::is_segment_number(std::string_view suffix) {
  return !suffix.empty() &&
         std::all_of(suffix.begin(), suffix.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool InputGuard::is_ewf_segment(std::string_view suffix) {
  // libewf names segments E01..E99, then EAA..ZZZ; some tools write them in lower case.
  const auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
  const auto alnum = [&](char c) {
    c = upper(c);
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  };
  return suffix.size() == 3 && upper(suffix[0]) >= 'E' && upper(suffix[0]) <= 'Z' &&
         alnum(suffix[1]) && alnum(suffix[2]);
}

Result<void> InputGuard::check_outputs_named(const std::string& prefix,
                                             bool (*is_output_suffix)(std::string_view)) const {
  if (m_inputs.empty()) {
    return {};
  }
  const std::filesystem::path path(prefix);
  const std::string stem = path.filename().string();
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : ".";
  std::error_code error;
  std::filesystem::directory_iterator entries(directory, error);
  if (error) {
    return {};  // a missing directory holds no input; creating the output reports it
  }
  for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
    const std::string name = entries->path().filename().string();
    if (name.size() > stem.size() && name.starts_with(stem) &&
        is_output_suffix(std::string_view(name).substr(stem.size()))) {
      CUSTODY_TRY(check_output(path.has_parent_path() ? (directory / name).string() : name));
    }
  }
  return {};
}

}  // namespace custody::internal
