// SPDX-License-Identifier: Apache-2.0
#include <custody/record.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace custody {
namespace {

AcquisitionRecord sample_record() {
  AcquisitionRecord record;
  record.tool_name = "custody-acquire";
  record.tool_version = "0.1.0";
  record.hostname = "lab-1";
  record.system = "Linux 6.1.0 x86_64";
  record.case_info.case_number = "2026-17";
  record.case_info.examiner = "J. Doe";
  record.case_info.notes = "line one\nline two \"quoted\"";
  record.source.path = "/dev/loop0";
  record.source.kind = SourceKind::block_device;
  record.source.size = 2048;
  record.source.logical_sector_size = 512;
  record.source.kernel_read_only = true;
  record.started = "2026-11-29T04:40:12Z";
  record.finished = "2026-11-29T04:40:13Z";
  record.bytes_read = 2048;
  record.hashes[HashAlgorithm::sha256] = std::string(64, 'a');
  record.image_size = 2048;
  record.segments.push_back(SegmentRecord{"disk.raw", 0, 2048, record.hashes});
  return record;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(record)

BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field_and_digest_matches) {
  const std::string json = record_to_json(sample_record());
  auto loaded = parse_record(json);
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->digest_matches);
  const AcquisitionRecord& record = loaded->record;
  BOOST_TEST(*record.case_info.notes == "line one\nline two \"quoted\"");
  BOOST_TEST(!record.case_info.description.has_value());
  BOOST_TEST((record.source.kind == SourceKind::block_device));
  BOOST_TEST(*record.source.kernel_read_only);
  BOOST_TEST(!record.source.physical_sector_size.has_value());
  BOOST_TEST(record.segments.at(0).file == "disk.raw");
  BOOST_TEST(record.hashes.at(HashAlgorithm::sha256) == std::string(64, 'a'));
  // Pretty and compact forms carry the same digest.
  auto compact = parse_record(record_to_json(record, false));
  BOOST_REQUIRE(compact);
  BOOST_TEST(compact->recorded_digest == loaded->recorded_digest);
}

BOOST_AUTO_TEST_CASE(an_edited_field_breaks_the_record_digest) {
  std::string json = record_to_json(sample_record());
  replace_once(json, "J. Doe", "A. Nother");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(loaded);
  BOOST_TEST(!loaded->digest_matches);
}

BOOST_AUTO_TEST_CASE(reformatting_whitespace_keeps_the_digest) {
  std::string json = record_to_json(sample_record());
  replace_once(json, "\"format\": ", "\"format\":     ");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->digest_matches);
}

BOOST_AUTO_TEST_CASE(invalid_json_is_corrupt) {
  auto loaded = parse_record("{\"format\": \"custody-acquisition\", ");
  BOOST_REQUIRE(!loaded);
  BOOST_TEST((loaded.error().code == Errc::corrupt));
}

BOOST_AUTO_TEST_CASE(missing_member_is_corrupt_and_named) {
  std::string json = record_to_json(sample_record());
  replace_once(json, "\"bytes_read\"", "\"bytes_wrote\"");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST((loaded.error().code == Errc::corrupt));
  BOOST_TEST(loaded.error().message.find("bytes_read") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mistyped_member_is_corrupt) {
  std::string json = record_to_json(sample_record());
  replace_once(json, "\"logical_sector_size\": 512", "\"logical_sector_size\": \"512\"");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST((loaded.error().code == Errc::corrupt));
  BOOST_TEST(loaded.error().message ==
             "damaged acquisition record: member \"source.logical_sector_size\" is not a "
             "non-negative integer in range");
}

BOOST_AUTO_TEST_CASE(mistyped_optional_and_nested_members_are_corrupt_and_named) {
  const std::pair<const char*, const char*> edits[] = {
      {"\"kernel_read_only\": true", "\"kernel_read_only\": 1"},
      {"\"examiner\": \"J. Doe\"", "\"examiner\": 7"},
      {"\"defect_fill\": \"zero\"", "\"defect_fill\": []"},
      {"\"segment_size\": null", "\"segment_size\": \"big\""},
  };
  const char* named[] = {"source.kernel_read_only", "case.examiner", "defect_fill",
                         "image.segment_size"};
  for (std::size_t i = 0; i < std::size(edits); ++i) {
    std::string json = record_to_json(sample_record(), true);
    replace_once(json, edits[i].first, edits[i].second);
    auto loaded = parse_record(json);
    BOOST_REQUIRE(!loaded);
    BOOST_TEST((loaded.error().code == Errc::corrupt));
    BOOST_TEST(loaded.error().message.find(named[i]) != std::string::npos, loaded.error().message);
  }
}

// A sector size or a count that its field cannot hold is corrupt, never cut to its low bits or
// wrapped (2^32 + 512 once read as a sector size of 512).
BOOST_AUTO_TEST_CASE(numbers_too_large_or_negative_for_their_field_are_corrupt) {
  const char* sector_sizes[] = {"4294967808", "-512", "512.5"};
  for (const char* value : sector_sizes) {
    std::string json = record_to_json(sample_record(), true);
    replace_once(json, "\"logical_sector_size\": 512",
                 std::string("\"logical_sector_size\": ") + value);
    auto loaded = parse_record(json);
    BOOST_REQUIRE_MESSAGE(!loaded, value);
    BOOST_TEST((loaded.error().code == Errc::corrupt));
    BOOST_TEST(loaded.error().message.find("source.logical_sector_size") != std::string::npos,
               loaded.error().message);
  }
  AcquisitionRecord with_defect = sample_record();
  with_defect.defects.push_back(Defect{1024, 512, 4096, 5, {}});
  std::string json = record_to_json(with_defect, true);
  replace_once(json, "\"sector_size\": 4096", "\"sector_size\": 4294971392");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST(loaded.error().message.find("sector_size\" is 4294971392, more than 32 bits hold") !=
                 std::string::npos,
             loaded.error().message);
}

BOOST_AUTO_TEST_CASE(post_verification_without_a_boolean_is_corrupt) {
  AcquisitionRecord record = sample_record();
  record.image_verification = PostVerification{true, record.hashes, "2026-11-29T04:41:00Z"};
  std::string json = record_to_json(record, true);
  replace_once(json, "\"matches\": true", "\"matches\": \"yes\"");
  auto loaded = parse_record(json);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST((loaded.error().code == Errc::corrupt));
  BOOST_TEST(loaded.error().message ==
             "damaged acquisition record: member \"verification.matches\" is not a boolean");
}

BOOST_AUTO_TEST_CASE(other_version_or_format_is_unsupported) {
  std::string json = record_to_json(sample_record());
  replace_once(json, "\"version\": 1", "\"version\": 2");
  auto newer = parse_record(json);
  BOOST_REQUIRE(!newer);
  BOOST_TEST((newer.error().code == Errc::unsupported));
  auto other = parse_record(R"({"format": "something-else", "version": 1})");
  BOOST_REQUIRE(!other);
  BOOST_TEST((other.error().code == Errc::unsupported));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
