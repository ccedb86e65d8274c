// SPDX-License-Identifier: Apache-2.0
#include "../support/temp_dir.hpp"

#include <custody/acquisition.hpp>
#include <custody/verification.hpp>

#include <boost/test/unit_test.hpp>

#include <fstream>

namespace custody {
namespace {

AcquireOptions options_for(const test::TempDir& dir, const std::string& source) {
  AcquireOptions options;
  options.source_path = source;
  options.output_base = dir.file("image");
  options.algorithms = {HashAlgorithm::md5, HashAlgorithm::sha256};
  options.format = ImageFormat::raw;
  return options;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(acquisition)

BOOST_AUTO_TEST_CASE(single_file_image_is_a_byte_exact_copy_with_hashes) {
  test::TempDir dir;
  const auto data = test::random_bytes(3'000'001, 11);
  test::write_file(dir.file("source.bin"), data);
  auto result = acquire(options_for(dir, dir.file("source.bin")));
  BOOST_REQUIRE(result);
  BOOST_TEST(result->image_paths.size() == 1U);
  BOOST_TEST(test::read_file(dir.file("image.raw")) == std::string(data.begin(), data.end()));
  BOOST_TEST(result->record.hashes.at(HashAlgorithm::sha256) ==
             test::first_word_of("sha256sum " + dir.file("source.bin")));
  BOOST_TEST(result->record.bytes_read == data.size());
  BOOST_TEST((result->record.status == AcquisitionStatus::complete));
  BOOST_TEST(result->record.segments.at(0).hashes == result->record.hashes);
}

BOOST_AUTO_TEST_CASE(split_image_has_per_segment_hashes_and_verifies) {
  test::TempDir dir;
  const auto data = test::random_bytes((5U << 20U) + 100U, 12);
  test::write_file(dir.file("source.bin"), data);
  auto options = options_for(dir, dir.file("source.bin"));
  options.segment_size = 2U << 20U;
  auto result = acquire(options);
  BOOST_REQUIRE(result);
  BOOST_REQUIRE(result->record.segments.size() == 3U);
  BOOST_TEST(result->record.segments[2].size == (1U << 20U) + 100U);
  BOOST_TEST(result->record.segments[1].hashes.at(HashAlgorithm::md5) ==
             test::first_word_of("md5sum " + dir.file("image.002")));
  auto report = verify_record(result->record_path);
  BOOST_REQUIRE(report);
  BOOST_TEST(report->verified);
}

// The checks are typed (CheckKind, Verdict); what was not checked is part of the report, named
// in the same words by the text, and listed apart in the JSON.
BOOST_AUTO_TEST_CASE(report_holds_what_was_not_checked) {
  test::TempDir dir;
  test::write_file(dir.file("source.bin"), test::random_bytes(100'000, 13));
  auto result = acquire(options_for(dir, dir.file("source.bin")));
  BOOST_REQUIRE(result);
  auto report = verify_record(result->record_path);
  BOOST_REQUIRE(report);
  BOOST_TEST(report->verified);
  const Check& last = report->checks.back();
  BOOST_TEST((last.verdict == Verdict::not_checked));
  BOOST_TEST((last.kind == CheckKind::seal));
  BOOST_TEST(describe_check(last) ==
             "seals and custody log: a raw image has neither (an AFF4 container has)");
  BOOST_TEST(check_kind_name(CheckKind::custody_log) == std::string("custody log"));
  BOOST_TEST(verdict_name(Verdict::not_checked) == std::string("not_checked"));
  BOOST_TEST((report->checks.front().kind == CheckKind::record));
  const std::string json = report_to_json(*report);
  BOOST_TEST(json.find("\"not_checked\": [") != std::string::npos);
  BOOST_TEST(json.find("\"result\": \"not_checked\"") == std::string::npos);
}

// Segment cuts off the 4 KiB grid force the writer out of direct I/O mid-file; the bytes must
// still be exact.
BOOST_AUTO_TEST_CASE(segments_cut_off_the_direct_io_grid_are_exact) {
  test::TempDir dir;
  const auto data = test::random_bytes((3U << 20U) + 777U, 15);
  test::write_file(dir.file("source.bin"), data);
  auto options = options_for(dir, dir.file("source.bin"));
  options.segment_size = (1U << 20U) + 512U;
  auto result = acquire(options);
  BOOST_REQUIRE(result);
  std::string joined;
  for (const std::string& path : result->image_paths) {
    joined += test::read_file(path);
  }
  BOOST_TEST(result->image_paths.size() == 3U);
  BOOST_TEST((joined == std::string(data.begin(), data.end())));
  auto report = verify_record(result->record_path);
  BOOST_REQUIRE(report);
  BOOST_TEST(report->verified);
}

BOOST_AUTO_TEST_CASE(existing_output_is_not_overwritten_without_permission) {
  test::TempDir dir;
  test::write_file(dir.file("source.bin"), test::random_bytes(1000, 13));
  test::write_file(dir.file("image.raw"), {'k', 'e', 'e', 'p'});
  auto refused = acquire(options_for(dir, dir.file("source.bin")));
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == Errc::already_exists));
  BOOST_TEST(test::read_file(dir.file("image.raw")) == "keep");
  auto options = options_for(dir, dir.file("source.bin"));
  options.overwrite = true;
  BOOST_TEST(acquire(options).has_value());
  BOOST_TEST(test::read_file(dir.file("image.raw")).size() == 1000U);
}

BOOST_AUTO_TEST_CASE(flipped_byte_in_a_segment_fails_verification_for_that_segment) {
  test::TempDir dir;
  test::write_file(dir.file("source.bin"), test::random_bytes(3U << 20U, 14));
  auto options = options_for(dir, dir.file("source.bin"));
  options.segment_size = 1U << 20U;
  auto result = acquire(options);
  BOOST_REQUIRE(result);
  {
    std::fstream segment(dir.file("image.002"), std::ios::in | std::ios::out | std::ios::binary);
    segment.seekg(777);
    const char original = static_cast<char>(segment.get());
    segment.seekp(777);
    segment.put(static_cast<char>(original ^ '\x5a'));
  }
  auto report = verify_record(result->record_path);
  BOOST_REQUIRE(report);
  BOOST_TEST(!report->verified);
  std::vector<std::string> failed;
  for (const Check& check : report->checks) {
    if (check.verdict == Verdict::fail) {
      failed.push_back(check.subject + ":" + check.algorithm);
    }
  }
  const std::vector<std::string> expected{"image.002:md5", "image:md5", "image.002:sha256",
                                          "image:sha256"};
  BOOST_TEST(failed == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(invalid_segment_size_is_rejected) {
  test::TempDir dir;
  auto options = options_for(dir, "/dev/null");
  options.segment_size = (1U << 20U) + 1U;
  auto result = acquire(options);
  BOOST_REQUIRE(!result);
  BOOST_TEST((result.error().code == Errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
