// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/temp_dir.hpp"

#include <custody/bagit.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace custody {
namespace {

namespace fs = std::filesystem;
const std::string k_suite = CUSTODY_TESTDATA_DIR "/bagit-conformance";

template <typename T>
std::string why(const Result<T>& result) {
  return result ? std::string() : result.error().to_string();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += "\n    " + line;
  }
  return out;
}

std::vector<std::string> bags_in(const std::string& directory) {
  std::vector<std::string> bags;
  if (!fs::is_directory(directory)) {
    return bags;
  }
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.is_directory()) {
      bags.push_back(entry.path().string());
    }
  }
  std::sort(bags.begin(), bags.end());
  return bags;
}

BagReport validated(const std::string& directory) {
  auto report = validate_bag(directory);
  BOOST_REQUIRE_MESSAGE(report, directory + ": " + why(report));
  return std::move(*report);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bagit)

// Every bag of the Library of Congress conformance suite gets the verdict the suite expects:
// valid/ bags pass, invalid/ (and linux-only/, windows-only/, whose paths are out of scope on any
// system) bags fail, for every version present.
BOOST_AUTO_TEST_CASE(conformance_suite) {
  BOOST_REQUIRE_MESSAGE(fs::is_directory(k_suite), "missing test data: " + k_suite);
  int valid_count = 0;
  int invalid_count = 0;
  for (const auto& version : bags_in(k_suite)) {
    for (const auto& bag : bags_in(version + "/valid")) {
      const auto report = validated(bag);
      BOOST_CHECK_MESSAGE(report.valid(), bag + " should be valid; errors:" +
                                              joined(report.lines(BagSeverity::error)));
      ++valid_count;
    }
    for (const std::string group : {"/invalid", "/linux-only", "/windows-only"}) {
      for (const auto& bag : bags_in(version + group)) {
        const auto report = validated(bag);
        BOOST_CHECK_MESSAGE(!report.valid(), bag + " should be invalid, but passed");
        BOOST_TEST_MESSAGE(bag << ":" << joined(report.lines(BagSeverity::error)));
        ++invalid_count;
      }
    }
  }
  // The suite as checked in: 6 versions, 26 valid bags, 23 invalid ones.
  BOOST_CHECK_GE(valid_count, 26);
  BOOST_CHECK_GE(invalid_count, 23);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
