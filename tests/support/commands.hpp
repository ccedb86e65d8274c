// SPDX-License-Identifier: Apache-2.0
// Running stock tools from unit tests (unzip, python3, openssl, gzip) as independent oracles.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace custody::test {

// Runs a shell command and returns its standard output, or nothing when it fails.
inline std::optional<std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return std::nullopt;
  }
  std::string output;
  std::array<char, 65536> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.append(buffer.data(), got);
  }
  if (::pclose(pipe) != 0) {
    return std::nullopt;
  }
  return output;
}

// `text` in single quotes for the shell, any single quote in it escaped.
inline std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

inline bool have_tool(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace custody::test
