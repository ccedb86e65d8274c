// SPDX-License-Identifier: Apache-2.0
// E01 export and image import through the library: an export read back through the importer
// gives the same bytes, hashes, header values and error ranges; split raw sets refuse gaps; the
// record keeps what an imported image claimed.
#include "../support/temp_dir.hpp"

#include <custody/acquisition.hpp>
#include <custody/export.hpp>
#include <custody/import.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>

namespace custody {
namespace {

// Reads a Source to its end.
std::string read_all(Source& source) {
  std::string out;
  std::vector<std::byte> buffer(1U << 20U);
  for (;;) {
    auto got = source.read(buffer);
    BOOST_REQUIRE(got);
    if (*got == 0) {
      return out;
    }
    out.append(reinterpret_cast<const char*>(buffer.data()), *got);
  }
}

// An AFF4 container of `data` with case fields, as custody-acquire makes it.
std::string make_container(const test::TempDir& dir, const std::vector<char>& data) {
  test::write_file(dir.file("source.bin"), data);
  AcquireOptions options;
  options.source_path = dir.file("source.bin");
  options.output_base = dir.file("evidence");
  options.algorithms = {HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256};
  options.case_info.case_number = "2026-17";
  options.case_info.examiner = "J. Doe";
  auto acquired = acquire(options);
  BOOST_REQUIRE(acquired);
  return acquired->record_path;
}

ExportOptions e01_options(const test::TempDir& dir, const std::string& container) {
  ExportOptions options;
  options.container_paths = {container};
  options.output = dir.file("out");
  options.format = ExportFormat::e01;
  options.ewf.segment_size = 1U << 20U;
  return options;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ewf)

BOOST_AUTO_TEST_CASE(compression_names_parse_and_unknown_ones_are_refused) {
  BOOST_TEST((parse_ewf_compression("best").value() == EwfCompression::best));
  BOOST_TEST((parse_ewf_compression("none").value() == EwfCompression::none));
  BOOST_TEST(!parse_ewf_compression("zlib"));
  BOOST_TEST(ewf_first_segment_path("a/disk") == "a/disk.E01");
  BOOST_TEST(ewf_first_segment_path("a/disk.E01") == "a/disk.E01");
}

BOOST_AUTO_TEST_CASE(exported_e01_reads_back_with_its_hashes_and_header_values) {
  test::TempDir dir;
  // Incompressible, so that a 1 MiB segment size gives several segment files.
  const auto data = test::random_bytes((3U << 20U) + 4096U, 41);
  const std::string container = make_container(dir, data);
  auto options = e01_options(dir, container);
  options.ewf.case_info.examiner = "A. Witness";  // overrides the record's examiner
  auto exported = export_image(options);
  BOOST_REQUIRE(exported);
  BOOST_TEST(exported->matches_record);
  BOOST_TEST(exported->files.size() > 1U);
  BOOST_TEST(exported->files.front() == dir.file("out.E01"));

  auto image = open_image_file(dir.file("out.E01"));
  BOOST_REQUIRE(image);
  BOOST_TEST((*image)->info().size.value() == data.size());
  BOOST_TEST(read_all(**image) == std::string(data.begin(), data.end()));
  const ImportRecord imported = (*image)->import_record();
  BOOST_TEST(imported.format == "e01");
  BOOST_TEST(imported.files.size() == exported->files.size());
  BOOST_TEST(imported.claimed_hashes.at(HashAlgorithm::md5) ==
             exported->hashes.at(HashAlgorithm::md5));
  BOOST_TEST(imported.claimed_hashes.at(HashAlgorithm::sha1) ==
             exported->hashes.at(HashAlgorithm::sha1));
  BOOST_TEST(imported.headers.at("case_number") == "2026-17");
  BOOST_TEST(imported.headers.at("examiner_name") == "A. Witness");
  BOOST_TEST(imported.checksum_errors.empty());
}

BOOST_AUTO_TEST_CASE(existing_set_is_kept_unless_overwrite_and_then_fully_replaced) {
  test::TempDir dir;
  const std::string container = make_container(dir, test::random_bytes(3U << 20U, 42));
  auto options = e01_options(dir, container);
  BOOST_REQUIRE(export_image(options));
  BOOST_REQUIRE(std::filesystem::exists(dir.file("out.E03")));
  auto again = export_image(options);
  BOOST_REQUIRE(!again);
  BOOST_TEST((again.error().code == Errc::already_exists));
  // A shorter set with --force must not leave the old .E03 to be globbed into it.
  options.overwrite = true;
  options.ewf.segment_size.reset();
  BOOST_REQUIRE(export_image(options));
  BOOST_TEST(!std::filesystem::exists(dir.file("out.E03")));
  auto image = open_image_file(dir.file("out.E01"));
  BOOST_REQUIRE(image);
  BOOST_TEST((*image)->import_record().files.size() == 1U);
}

BOOST_AUTO_TEST_CASE(e01_refuses_ranges_stdout_and_tiny_segments) {
  test::TempDir dir;
  const std::string container = make_container(dir, test::random_bytes(1U << 20U, 43));
  auto options = e01_options(dir, container);
  options.length = 512;
  BOOST_TEST((export_image(options).error().code == Errc::invalid_argument));
  options = e01_options(dir, container);
  options.output = "-";
  BOOST_TEST((export_image(options).error().code == Errc::invalid_argument));
  options = e01_options(dir, container);
  options.ewf.segment_size = 4096;
  BOOST_TEST((export_image(options).error().code == Errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(unreadable_data_becomes_the_acquiry_error_list_and_comes_back_as_defects) {
  const std::string reference =
      std::string(CUSTODY_TESTDATA_DIR) + "/aff4/AFF4Std/Base-Linear-ReadError.aff4";
  // Part of the repository (tests/data): missing is a failure, not a reason to skip.
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(reference), "test data missing: " + reference);
  test::TempDir dir;
  auto exported = export_image(e01_options(dir, reference));
  BOOST_REQUIRE(exported);
  using Range = std::pair<std::uint64_t, std::uint64_t>;
  const std::vector<Range> expected{{30720, 2048}, {174080, 2048}};
  BOOST_TEST(exported->acquiry_errors == expected);
  auto image = open_image_file(dir.file("out.E01"));
  BOOST_REQUIRE(image);
  const auto defects = (*image)->defects();
  BOOST_REQUIRE(defects.size() == 2U);
  BOOST_TEST(defects[0].offset == 30720U * 512U);
  BOOST_TEST(defects[0].length == 2048U * 512U);
  BOOST_TEST(defects[0].reason.find("source image") != std::string::npos);
  BOOST_TEST((*image)->import_record().claimed_hashes.at(HashAlgorithm::md5) ==
             "1f1ae18d3610d3b4ad2d705e3af42f19");
}

BOOST_AUTO_TEST_CASE(split_raw_set_is_found_in_order_and_a_gap_is_refused) {
  test::TempDir dir;
  for (const char* name : {"disk.001", "disk.002", "disk.003", "other.004", "disk.0004"}) {
    test::write_file(dir.file(name), {name[5], name[6], name[7]});
  }
  auto set = find_split_raw_set(dir.file("disk.001"));
  BOOST_REQUIRE(set);
  BOOST_TEST(*set == (std::vector<std::string>{dir.file("disk.001"), dir.file("disk.002"),
                                               dir.file("disk.003")}));
  auto image = open_image_file(dir.file("disk.001"));
  BOOST_REQUIRE(image);
  BOOST_TEST(read_all(**image) == "001002003");
  BOOST_TEST((*image)->import_record().format == "split-raw");

  std::filesystem::remove(dir.file("disk.002"));
  auto gap = open_image_file(dir.file("disk.001"));
  BOOST_REQUIRE(!gap);
  BOOST_TEST((gap.error().code == Errc::not_found));
  BOOST_TEST(gap.error().message.find("disk.002 is missing") != std::string::npos);
  auto later = open_image_file(dir.file("disk.003"));
  BOOST_REQUIRE(!later);
  BOOST_TEST((later.error().code == Errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(import_record_survives_the_record_round_trip) {
  AcquisitionRecord record;
  record.tool_name = "custody-acquire";
  record.image_format = "raw";
  record.segments.push_back(SegmentRecord{"x.raw", 0, 1024, {}});
  record.defects.push_back(Defect{512, 512, 512, 0, "reported by the source image"});
  ImportRecord imported;
  imported.format = "e01";
  imported.files = {{"x.E01", 900}};
  imported.claimed_hashes[HashAlgorithm::md5] = "00112233445566778899aabbccddeeff";
  imported.hashes_match = false;
  imported.headers["case_number"] = "17";
  imported.acquiry_errors = {{512, 512}};
  imported.checksum_errors = {{0, 32768}};
  record.imported_from = imported;
  auto loaded = parse_record(record_to_json(record));
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->digest_matches);
  const ImportRecord& back = loaded->record.imported_from.value();
  BOOST_TEST(back.format == "e01");
  BOOST_TEST(back.files.at(0).size == 900U);
  BOOST_TEST(back.hashes_match.value() == false);
  BOOST_TEST(back.headers.at("case_number") == "17");
  BOOST_TEST((back.acquiry_errors == imported.acquiry_errors));
  BOOST_TEST((back.checksum_errors == imported.checksum_errors));
  BOOST_TEST(loaded->record.defects.at(0).reason == "reported by the source image");
  BOOST_TEST(defect_cause(loaded->record.defects.at(0)) == "reported by the source image");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
