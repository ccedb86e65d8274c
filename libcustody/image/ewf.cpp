// SPDX-License-Identifier: Apache-2.0
// E01 (EWF) names, compression levels and what the writer and the reader share: libewf's errors as
// text and the globbing of a set's segment files.
#include "image/ewf_handle.hpp"

#include <custody/ewf.hpp>

#include <fmt/format.h>

#include <array>
#include <string>
#include <vector>

namespace custody {

Result<EwfCompression> parse_ewf_compression(std::string_view name) {
  for (EwfCompression compression :
       {EwfCompression::none, EwfCompression::fast, EwfCompression::best}) {
    if (name == ewf_compression_name(compression)) {
      return compression;
    }
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("unknown E01 compression '{}' (choose none, fast or best)", name));
}

const char* ewf_compression_name(EwfCompression compression) {
  switch (compression) {
    case EwfCompression::none:
      return "none";
    case EwfCompression::fast:
      return "fast";
    case EwfCompression::best:
      return "best";
  }
  return "fast";
}

std::string ewf_first_segment_path(const std::string& output_base) {
  return internal::ewf_base_name(output_base) + ".E01";
}

namespace internal {

std::string ewf_base_name(const std::string& output_base) {
  if (output_base.size() > 4) {
    const std::string tail = output_base.substr(output_base.size() - 4);
    if (tail == ".E01" || tail == ".e01") {
      return output_base.substr(0, output_base.size() - 4);
    }
  }
  return output_base;
}

std::string take_ewf_error(libewf_error_t* error) {
  if (error == nullptr) {
    return "libewf gave no reason";
  }
  std::array<char, 2048> text{};
  std::string message;
  if (libewf_error_backtrace_sprint(error, text.data(), text.size()) > 0) {
    message = text.data();
  }
  libewf_error_free(&error);
  // libewf's backtrace is one line per layer, innermost last; the outermost says what failed.
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  for (char& c : message) {
    if (c == '\n') {
      c = ';';
    }
  }
  return message.empty() ? "libewf gave no reason" : message;
}

Result<std::vector<std::string>> ewf_glob(const std::string& first_segment) {
  char** names = nullptr;
  int count = 0;
  libewf_error_t* error = nullptr;
  if (libewf_glob(first_segment.c_str(), first_segment.size(), LIBEWF_FORMAT_UNKNOWN, &names,
                  &count, &error) != 1) {
    return make_error(Errc::not_found, fmt::format("cannot find the segment files of {}: {}",
                                                   first_segment, take_ewf_error(error)));
  }
  std::vector<std::string> out;
  for (int index = 0; index < count; ++index) {
    out.emplace_back(names[index]);
  }
  (void)libewf_glob_free(names, count, nullptr);
  return out;
}

}  // namespace internal
}  // namespace custody
