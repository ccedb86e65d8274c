// SPDX-License-Identifier: Apache-2.0
// One line per check (verdict label, subject, detail) in the text output of custody-verify,
// custody-log and custody-receive, with the columns aligned even when a check was not checked.
#pragma once

#include <custody/verdict.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace custody::tools {

// `Checks` holds items with `verdict`, `subject` and `detail`. The label column is as wide as the
// widest label present, so "PASS  bag" stays as it always was and "NOT CHECKED" does not push
// its subject out of line.
template <typename Checks, typename Keep>
void print_check_lines(const Checks& checks,
                       std::string_view indent,
                       std::size_t subject_width,
                       Keep keep) {
  std::size_t label_width = 0;
  for (const auto& check : checks) {
    if (keep(check)) {
      label_width = std::max(label_width, std::string_view(verdict_label(check.verdict)).size());
    }
  }
  for (const auto& check : checks) {
    if (keep(check)) {
      fmt::print("{}{:<{}}  {:<{}} {}\n", indent, verdict_label(check.verdict), label_width,
                 check.subject, subject_width, check.detail);
    }
  }
}

template <typename Checks>
void print_check_lines(const Checks& checks, std::string_view indent, std::size_t subject_width) {
  print_check_lines(checks, indent, subject_width, [](const auto&) { return true; });
}

}  // namespace custody::tools
