// SPDX-License-Identifier: Apache-2.0
// identify_evidence: every kind of evidence recognised by its content, whatever its name.
#include "../support/temp_dir.hpp"
#include "zip/zip.hpp"

#include <custody/acquisition.hpp>
#include <custody/evidence.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <filesystem>
#include <fstream>

namespace custody {
namespace {

const std::string k_striped_1 = CUSTODY_TESTDATA_DIR "/aff4/AFF4Std/Striped/Base-Linear_1.aff4";
const std::string k_striped_2 = CUSTODY_TESTDATA_DIR "/aff4/AFF4Std/Striped/Base-Linear_2.aff4";
const std::string k_linear = CUSTODY_TESTDATA_DIR "/aff4/AFF4Std/Base-Linear.aff4";
const std::string k_allocated = CUSTODY_TESTDATA_DIR "/aff4/AFF4Std/Base-Allocated.aff4";
const std::string k_logical_sample = CUSTODY_TESTDATA_DIR "/aff4/AFF4-L/dream.aff4";

using test::write_text;

// A tar archive's first header (ustar), as custody-pack writes one around a bag.
void write_tar(const std::string& path) {
  std::string block(1024, '\0');
  block.replace(0, 13, "bag/bagit.txt");
  block.replace(257, 6, std::string("ustar\0", 6));
  block.replace(263, 2, "00");
  write_text(path, block);
}

void write_zip(const std::string& path, const std::vector<std::string>& members) {
  auto zip = internal::ZipWriter::create(path, true);
  BOOST_REQUIRE(zip);
  const std::array<std::byte, 3> data{std::byte{'a'}, std::byte{'b'}, std::byte{'c'}};
  for (const std::string& member : members) {
    BOOST_REQUIRE(zip->add_member(member, data));
  }
  BOOST_REQUIRE(zip->finish(""));
}

void write_e01_segment(const std::string& path) {
  std::string bytes("EVF\x09\x0d\x0a\xff\x00", 8);
  bytes += std::string(100, '\x01');
  write_text(path, bytes);
}

EvidenceItem only_item(const Result<std::vector<EvidenceItem>>& items) {
  BOOST_REQUIRE_MESSAGE(items, (items ? std::string() : items.error().message));
  BOOST_REQUIRE_EQUAL(items->size(), 1U);
  return items->front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evidence)

BOOST_AUTO_TEST_CASE(containers_by_content_whatever_their_names) {
  test::TempDir dir;
  std::filesystem::copy_file(k_linear, dir.file("no-extension"));
  std::filesystem::copy_file(k_logical_sample, dir.file("dream.bin"));
  auto physical = only_item(identify_evidence({dir.file("no-extension")}));
  BOOST_TEST((physical.kind == EvidenceKind::aff4_container));
  BOOST_TEST(physical.paths == std::vector<std::string>{dir.file("no-extension")});
  auto logical = only_item(identify_evidence({dir.file("dream.bin")}));
  BOOST_TEST((logical.kind == EvidenceKind::aff4_logical));
  BOOST_TEST(evidence_kind_name(logical.kind) == std::string("AFF4-L logical container"));
}

BOOST_AUTO_TEST_CASE(striped_volumes_form_one_item_in_any_order) {
  for (const auto& order : {std::vector<std::string>{k_striped_1, k_striped_2},
                            std::vector<std::string>{k_striped_2, k_striped_1}}) {
    auto item = only_item(identify_evidence(order));
    BOOST_TEST((item.kind == EvidenceKind::aff4_striped));
    BOOST_TEST(item.paths == order);
  }
  // A volume and an unrelated container: two items, the volume alone.
  auto items = identify_evidence({k_striped_2, k_linear, k_striped_1, k_allocated});
  BOOST_REQUIRE(items);
  BOOST_REQUIRE_EQUAL(items->size(), 3U);
  BOOST_TEST(((*items)[0].kind == EvidenceKind::aff4_striped));
  BOOST_TEST((*items)[0].paths == (std::vector<std::string>{k_striped_2, k_striped_1}));
  BOOST_TEST(((*items)[1].kind == EvidenceKind::aff4_container));
  BOOST_TEST((*items)[1].paths == std::vector<std::string>{k_linear});
  BOOST_TEST((*items)[2].paths == std::vector<std::string>{k_allocated});
}

BOOST_AUTO_TEST_CASE(packages_by_content) {
  test::TempDir dir;
  write_tar(dir.file("renamed"));  // a tar package renamed without its extension
  BOOST_TEST(
      (only_item(identify_evidence({dir.file("renamed")})).kind == EvidenceKind::transfer_package));
  write_zip(dir.file("package.dat"), {"bag/bagit.txt", "bag/bag-info.txt", "bag/data/disk1.aff4"});
  BOOST_TEST((only_item(identify_evidence({dir.file("package.dat")})).kind ==
              EvidenceKind::transfer_package));
  write_text(dir.file("index"), R"({"format": "custody-envelope", "version": 1})");
  BOOST_TEST(
      (only_item(identify_evidence({dir.file("index")})).kind == EvidenceKind::transfer_package));
  write_text(dir.file("sealed.tar.enc.json"), R"({"format": "custody-envelope", "version": 1})");
  BOOST_TEST((only_item(identify_evidence({dir.file("sealed.tar")})).kind ==
              EvidenceKind::transfer_package));
  std::filesystem::create_directory(dir.file("bag"));
  write_text(dir.file("bag/bagit.txt"), "BagIt-Version: 1.0\n");
  BOOST_TEST((only_item(identify_evidence({dir.file("bag")})).kind == EvidenceKind::bag_directory));
}

BOOST_AUTO_TEST_CASE(e01_segments_form_one_set) {
  test::TempDir dir;
  write_e01_segment(dir.file("disk.E01"));
  write_e01_segment(dir.file("disk.E02"));
  write_e01_segment(dir.file("other.E01"));
  auto items =
      identify_evidence({dir.file("disk.E02"), dir.file("other.E01"), dir.file("disk.E01")});
  BOOST_REQUIRE(items);
  BOOST_REQUIRE_EQUAL(items->size(), 2U);
  BOOST_TEST(((*items)[0].kind == EvidenceKind::e01_set));
  BOOST_TEST((*items)[0].paths ==
             (std::vector<std::string>{dir.file("disk.E02"), dir.file("disk.E01")}));
  BOOST_TEST((*items)[1].paths == std::vector<std::string>{dir.file("other.E01")});
}

BOOST_AUTO_TEST_CASE(raw_images_and_their_records) {
  test::TempDir dir;
  test::write_file(dir.file("source.bin"), test::random_bytes(3U << 20U, 5));
  AcquireOptions options;
  options.source_path = dir.file("source.bin");
  options.output_base = dir.file("image");
  options.algorithms = {HashAlgorithm::sha256};
  options.format = ImageFormat::raw;
  options.segment_size = 2U << 20U;
  auto acquired = acquire(options);
  BOOST_REQUIRE(acquired);
  const std::string record = acquired->record_path;
  auto by_record = only_item(identify_evidence({record}));
  BOOST_TEST((by_record.kind == EvidenceKind::raw_record));
  BOOST_TEST(by_record.record == record);
  // A segment, named as anything: the record beside it names it.
  auto by_segment = only_item(identify_evidence({dir.file("image.002")}));
  BOOST_TEST((by_segment.kind == EvidenceKind::raw_image));
  BOOST_TEST(std::filesystem::equivalent(by_segment.record, record));
  // Both segments and the record: one item.
  auto all = only_item(identify_evidence({dir.file("image.001"), record, dir.file("image.002")}));
  BOOST_TEST((all.kind == EvidenceKind::raw_record));
  BOOST_TEST(all.paths.size() == 3U);
  // Any other JSON is taken for a record (whose reader says what is wrong with it).
  write_text(dir.file("broken"), R"({"format": "custody-acquisition", )");
  BOOST_TEST((only_item(identify_evidence({dir.file("broken")})).kind == EvidenceKind::raw_record));
}

BOOST_AUTO_TEST_CASE(unknown_and_missing_files_are_named) {
  test::TempDir dir;
  test::write_file(dir.file("photo.aff4"), test::random_bytes(5000, 3));
  auto unknown = identify_evidence({k_linear, dir.file("photo.aff4")});
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code == Errc::unsupported));
  BOOST_TEST(unknown.error().message.find(dir.file("photo.aff4")) != std::string::npos);
  BOOST_TEST(unknown.error().hint.find("E01 set") != std::string::npos);
  write_zip(dir.file("plain.zip"), {"readme.txt"});
  auto plain = identify_evidence({dir.file("plain.zip")});
  BOOST_REQUIRE(!plain);
  BOOST_TEST(plain.error().message.find("neither an AFF4 container") != std::string::npos);
  auto missing = identify_evidence({dir.file("nothing-here")});
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));
  std::filesystem::create_directory(dir.file("empty"));
  auto directory = identify_evidence({dir.file("empty")});
  BOOST_REQUIRE(!directory);
  BOOST_TEST((directory.error().code == Errc::invalid_argument));
  auto twice = identify_evidence({k_linear, k_linear});
  BOOST_REQUIRE(!twice);
  BOOST_TEST(twice.error().message.find("given twice") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
