// SPDX-License-Identifier: Apache-2.0
// custody_fuzz_replay NAME PATH...: runs the harness NAME (tests/fuzz/fuzz_NAME.cpp) once on every
// file given and every file in every directory given, as libFuzzer would, so that the inputs that
// once crashed it (tests/fuzz/regressions/NAME/) stay fixed in the normal gcc and ASan test runs.
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace custody::fuzz {
namespace {
std::map<std::string, Target>& targets() {
  static std::map<std::string, Target> all;
  return all;
}
}  // namespace

bool register_target(const char* name, Target target) {
  targets()[name] = target;
  return true;
}
}  // namespace custody::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 2 || custody::fuzz::targets().count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: custody_fuzz_replay NAME PATH...; NAME one of:");
    for (const auto& [name, target] : custody::fuzz::targets()) {
      std::fprintf(stderr, " %s", name.c_str());
    }
    std::fprintf(stderr, "\n");
    return 64;
  }
  const custody::fuzz::Target target = custody::fuzz::targets()[argv[1]];
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    const fs::path path(argv[i]);
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
    } else if (fs::exists(path)) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::printf("%s: %s (%zu bytes)\n", argv[1], file.string().c_str(), bytes.size());
    std::fflush(stdout);
    target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: %zu inputs, no crash\n", argv[1], files.size());
  return 0;
}
