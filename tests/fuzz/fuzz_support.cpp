// SPDX-License-Identifier: Apache-2.0
#include "fuzz_support.hpp"

#include "zip/zip.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <stdexcept>

namespace custody::fuzz {

const std::string& memory_file(std::string_view bytes) {
  static int fd = -1;
  static std::string path;
  if (fd < 0) {
    fd = memfd_create("custody-fuzz", MFD_CLOEXEC);
    if (fd < 0) {
      throw std::runtime_error("memfd_create failed");
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("cannot fill the memory file");
  }
  return path;
}

namespace {
std::string g_scratch;
void remove_scratch() {
  std::error_code ignored;
  std::filesystem::remove_all(g_scratch, ignored);
}
// Names the ZIP writer takes (it refuses further work after a refused name).
bool plain_member_name(std::string_view name) {
  if (name.empty() || name.size() > 200) {
    return false;
  }
  for (char c : name) {
    if (c < 0x21 || c > 0x7e || c == '\\') {
      return false;
    }
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) {
      end = name.size();
    }
    if (name.substr(start, end - start) == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}
}  // namespace

const std::string& scratch_dir() {
  if (g_scratch.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/custody-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    g_scratch = pattern;
    std::atexit(remove_scratch);
  }
  return g_scratch;
}

std::vector<std::pair<std::string, std::string>> split_sections(std::string_view input,
                                                                std::size_t max_parts) {
  std::vector<std::pair<std::string, std::string>> parts;
  std::size_t at = input.starts_with("@@ ") ? 0 : input.find("\n@@ ");
  if (at != std::string_view::npos && at != 0) {
    ++at;
  }
  while (at != std::string_view::npos && parts.size() < max_parts) {
    const std::size_t name_start = at + 3;
    const std::size_t name_end = input.find('\n', name_start);
    if (name_end == std::string_view::npos) {
      break;
    }
    std::size_t next = input.find("\n@@ ", name_end);
    const std::size_t content_end = next == std::string_view::npos ? input.size() : next + 1;
    parts.emplace_back(std::string(input.substr(name_start, name_end - name_start)),
                       std::string(input.substr(name_end + 1, content_end - name_end - 1)));
    at = next == std::string_view::npos ? next : next + 1;
  }
  return parts;
}

bool write_zip(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members) {
  auto writer = internal::ZipWriter::create(path, true);
  if (!writer) {
    return false;
  }
  for (const auto& [name, content] : members) {
    if (!plain_member_name(name) || writer->has_member(name)) {
      continue;
    }
    if (!writer->add_member(name, std::as_bytes(std::span(content)))) {
      return false;
    }
  }
  return static_cast<bool>(writer->finish(""));
}

}  // namespace custody::fuzz
