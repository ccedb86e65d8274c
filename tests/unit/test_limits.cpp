// SPDX-License-Identifier: Apache-2.0
// Bounds on hostile input (docs/threat-model.md, "Limits"): each is a clear Errc::corrupt or a
// reported problem, never a crash, a hang or an allocation by a claimed size.
#include "../support/temp_dir.hpp"
#include "core/untrusted_json.hpp"
#include "zip/zip.hpp"

#include <custody/bagit.hpp>
#include <custody/custody_log.hpp>
#include <custody/envelope.hpp>
#include <custody/record.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace custody {
namespace {

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

using test::write_text;

bool has_problem(const BagReport& report, const std::string& text) {
  return std::any_of(report.problems.begin(), report.problems.end(), [&](const BagProblem& p) {
    return p.verdict == Verdict::fail && p.message.find(text) != std::string::npos;
  });
}

// A minimal valid bag in `dir`, with extra tag files.
std::string make_bag(const test::TempDir& dir, const std::string& manifest_extra = "") {
  const std::string bag = dir.file("bag");
  write_text(bag + "/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
  write_text(bag + "/data/a.txt", "a\n");
  write_text(bag + "/manifest-sha256.txt",
             "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/a.txt\n" +
                 manifest_extra);
  return bag;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(json_nesting_is_measured_outside_strings) {
  using internal::json_nesting_within;
  BOOST_TEST(json_nesting_within("{\"a\":[1,[2]]}", 3));
  BOOST_TEST(!json_nesting_within("{\"a\":[1,[2]]}", 2));
  BOOST_TEST(json_nesting_within("[\"[[[[[[\\\"[[[[\"]", 1));
  BOOST_TEST(json_nesting_within(nested(64), 64));
  BOOST_TEST(!json_nesting_within(nested(65), 64));
  BOOST_TEST(internal::parse_untrusted_json(nested(65)).is_discarded());
  BOOST_TEST(internal::parse_untrusted_json(nested(3)).is_array());
}

BOOST_AUTO_TEST_CASE(deeply_nested_record_is_corrupt) {
  // 500000 levels: dump() and the record digest would recurse once per level.
  auto loaded = parse_record("{\"format\":" + nested(500000) + "}");
  BOOST_REQUIRE(!loaded);
  BOOST_TEST(static_cast<int>(loaded.error().code) == static_cast<int>(Errc::corrupt));
}

BOOST_AUTO_TEST_CASE(deeply_nested_proof_is_corrupt_or_invalid) {
  auto check = check_custody_proof(
      "{\"format\":\"custody-inclusion-proof\",\"event\":" + nested(500000) + "}", {}, {});
  BOOST_TEST((!check || !check->valid));
}

BOOST_AUTO_TEST_CASE(deeply_nested_envelope_index_is_corrupt) {
  test::TempDir dir;
  write_text(dir.file("p.enc.json"),
             "{\"format\":\"custody-envelope\",\"x\":" + nested(500000) + "}");
  auto index = read_envelope_index(dir.file("p.enc.json"));
  BOOST_REQUIRE(!index);
  BOOST_TEST(static_cast<int>(index.error().code) == static_cast<int>(Errc::corrupt));
}

BOOST_AUTO_TEST_CASE(deeply_nested_log_members_are_reported_not_crashed_on) {
  test::TempDir dir;
  const std::string path = dir.file("log.aff4");
  {
    auto writer = internal::ZipWriter::create(path, false);
    BOOST_REQUIRE(writer);
    const std::string deep = "{\"e\":" + nested(500000) + "}";
    for (const char* name : {"custody/log/event-1.json", "custody/log/head-1.json",
                             "custody/log/log.json", "custody/acquisition.json"}) {
      BOOST_REQUIRE(writer->add_member(name, std::as_bytes(std::span(deep))));
    }
    BOOST_REQUIRE(writer->finish(""));
  }
  // Refused as no log (Errc::corrupt), or read with every member's problem named.
  auto verification = verify_custody_log(path, {}, {});
  if (verification) {
    BOOST_TEST(!verification->intact);
    (void)log_verification_to_json(*verification);
  } else {
    BOOST_TEST(static_cast<int>(verification.error().code) == static_cast<int>(Errc::corrupt));
  }
}

BOOST_AUTO_TEST_CASE(overlong_tag_file_lines_are_refused) {
  // libstdc++'s regex recurses per character: a 1 MiB fetch.txt line or BagIt-Version would
  // overflow the stack.
  test::TempDir dir;
  const std::string bag = make_bag(dir);
  write_text(bag + "/fetch.txt", "http://x 1 data/" + std::string(1 << 20, 'b') + "\n");
  auto report = validate_bag(bag);
  BOOST_REQUIRE(report);
  BOOST_TEST(!report->valid());
  BOOST_TEST(has_problem(*report, "longer than"));

  write_text(bag + "/bagit.txt", "BagIt-Version: " + std::string(1 << 20, '1') + ".0\n");
  report = validate_bag(bag);
  BOOST_REQUIRE(report);
  BOOST_TEST(!report->valid());
}

BOOST_AUTO_TEST_CASE(problems_of_one_file_are_capped) {
  // Every bad line is a problem; a manifest of a million bad lines must not make a million.
  test::TempDir dir;
  std::string bad;
  for (int i = 0; i < 20000; ++i) {
    bad += "x\n";
  }
  auto report = validate_bag(make_bag(dir, bad));
  BOOST_REQUIRE(report);
  BOOST_TEST(!report->valid());
  BOOST_TEST(report->problems.size() <= 1002U);
  BOOST_TEST(has_problem(*report, "more problems"));
}

BOOST_AUTO_TEST_CASE(manifests_with_too_many_lines_are_refused) {
  test::TempDir dir;
  std::string many;
  many.reserve(2'100'000);
  for (int i = 0; i < 1'000'001; ++i) {
    many += "\n\n";
  }
  auto report = validate_bag(make_bag(dir, many));
  BOOST_REQUIRE(report);
  BOOST_TEST(!report->valid());
  BOOST_TEST(has_problem(*report, "lines"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
