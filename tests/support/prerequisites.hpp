// SPDX-License-Identifier: Apache-2.0
// Unit test cases that need something from outside the repository (a tool on PATH, root with
// mount(2), an opt-in) say so with a decorator, instead of printing "skipped" and passing:
//
//   BOOST_AUTO_TEST_CASE(hostile_archives_refused, *test::needs_tools({"python3"}))
//
// Boost.Test skips such a case when the prerequisite is missing and prints why; main.cpp then
// exits with 77 if every case it was asked to run was skipped. tests/CMakeLists.txt gives each
// such case its own ctest entry (found by the text "*test::needs_" after the case name) with
// SKIP_RETURN_CODE 77, so ctest reports it as Skipped, never as Passed; the suite entries leave
// these cases out (label "prerequisite").
// The test data in tests/data is part of the repository, never a prerequisite: a case whose file
// is missing fails.
#pragma once

#include "commands.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace custody::test {

// The label of every case that has a prerequisite.
inline constexpr const char* k_prerequisite_label = "prerequisite";

// A decorator: labels the case and adds a precondition. `missing` returns why the case cannot
// run here, or "" when it can.
class Needs final : public boost::unit_test::decorator::base {
 public:
  explicit Needs(std::function<std::string()> missing) : m_missing(std::move(missing)) {}

  void apply(boost::unit_test::test_unit& unit) override {
    unit.add_label(k_prerequisite_label);
    unit.add_precondition([missing = m_missing](boost::unit_test::test_unit_id) {
      const std::string reason = missing();
      boost::test_tools::assertion_result result{reason.empty()};
      result.message() << reason;
      return result;
    });
  }

  boost::unit_test::decorator::base_ptr clone() const override {
    return boost::unit_test::decorator::base_ptr(new Needs(m_missing));
  }

 private:
  std::function<std::string()> m_missing;
};

// Programs that must be on PATH.
inline Needs needs_tools(std::initializer_list<const char*> tools) {
  return Needs([names = std::vector<std::string>(tools.begin(), tools.end())] {
    std::string missing;
    for (const std::string& name : names) {
      if (!have_tool(name)) {
        missing += (missing.empty() ? "" : ", ") + name;
      }
    }
    return missing.empty() ? missing : "not found on PATH: " + missing;
  });
}

// Root, and mount(2) of each of these file system types (tried on a scratch directory).
inline Needs needs_mounts(std::initializer_list<const char*> types) {
  return Needs([names = std::vector<std::string>(types.begin(), types.end())]() -> std::string {
    if (::geteuid() != 0) {
      return "needs root (to mount file systems)";
    }
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/custody-mount-probe-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return "cannot make a scratch directory to try mount(2)";
    }
    std::string missing;
    for (const std::string& type : names) {
      if (::mount(type.c_str(), pattern.c_str(), type.c_str(), 0, "size=1m") != 0) {
        missing +=
            (missing.empty() ? "cannot mount " : ", ") + type + " (" + std::strerror(errno) + ")";
        continue;
      }
      ::umount(pattern.c_str());
    }
    std::error_code ignored;
    std::filesystem::remove(pattern, ignored);
    return missing;
  });
}

// An environment variable set to 1: for slow cases that run only when asked for.
inline Needs needs_opt_in(const char* variable, const char* what) {
  return Needs([variable = std::string(variable), what = std::string(what)]() -> std::string {
    const char* value = std::getenv(variable.c_str());
    if (value != nullptr && std::string(value) == "1") {
      return "";
    }
    return "runs only with " + variable + "=1 (" + what + ")";
  });
}

}  // namespace custody::test
