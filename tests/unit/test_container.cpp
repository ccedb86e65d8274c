// SPDX-License-Identifier: Apache-2.0
// The AFF4 reader against the public reference images (tests/data/aff4, expected hashes in
// tests/data/README.md), and the writer through the reader.
#include "../support/temp_dir.hpp"

#include <custody/acquisition.hpp>
#include <custody/container.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>

namespace custody {
namespace {

const std::string k_std = std::string(CUSTODY_TESTDATA_DIR) + "/aff4/AFF4Std/";

DigestSet linear_hashes(Container& container) {
  auto source = container.image_source(0, container.info().size);
  auto digests = hash_source(
      *source, std::array{HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256});
  BOOST_REQUIRE_MESSAGE(digests, (digests ? "" : digests.error().to_string()));
  return *digests;
}

struct Expected {
  const char* file;
  const char* md5;
  const char* sha1;
  const char* sha256;
};

void check_reference(const std::vector<std::string>& paths, const Expected& expected) {
  BOOST_TEST_CONTEXT(expected.file) {
    for (const std::string& path : paths) {
      BOOST_REQUIRE_MESSAGE(std::filesystem::exists(path),
                            "reference image missing: " << path << " (tests/data)");
    }
    auto container = Container::open(paths);
    BOOST_REQUIRE_MESSAGE(container, (container ? "" : container.error().to_string()));
    BOOST_TEST((*container)->info().size == 268435456U);
    const DigestSet digests = linear_hashes(**container);
    BOOST_TEST(digests.at(HashAlgorithm::md5) == expected.md5);
    BOOST_TEST(digests.at(HashAlgorithm::sha1) == expected.sha1);
    BOOST_TEST(digests.at(HashAlgorithm::sha256) == expected.sha256);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(container)

BOOST_AUTO_TEST_CASE(reference_linear_image_reproduces_expected_hashes) {
  check_reference({k_std + "Base-Linear.aff4"},
                  {"Base-Linear", "dd6dbda282e27fd0d196abd95f5c3e58",
                   "7d3d27f667f95f7ec5b9d32121622c0f4b60b48d",
                   "d7d6df4534f06568eb90a06e252592c9b79378b95bb9a7e01db3a388feda6c13"});
  check_reference(
      {k_std + "Base-Linear-AllHashes.aff4"},
      {"AllHashes", "dd6dbda282e27fd0d196abd95f5c3e58", "7d3d27f667f95f7ec5b9d32121622c0f4b60b48d",
       "d7d6df4534f06568eb90a06e252592c9b79378b95bb9a7e01db3a388feda6c13"});
}

BOOST_AUTO_TEST_CASE(reference_read_error_and_allocated_images_use_symbolic_fills) {
  check_reference(
      {k_std + "Base-Linear-ReadError.aff4"},
      {"ReadError", "1f1ae18d3610d3b4ad2d705e3af42f19", "67e245a640e2784ead30c1ff1a3f8d237b58310f",
       "648d87d2e045334e750bda297f9c9a5f122b1c07ac673c16dcec46f5f18cd555"});
  check_reference(
      {k_std + "Base-Allocated.aff4"},
      {"Allocated", "54a02991ff289c238570893e2e16df86", "e8650e89b262cf0b4b73c025312488d5a6317a26",
       "c1c99315c2ff74e3f37247639e4f8bb2fb7c49ad09f9d6965ac567ce5e6e3c75"});
}

BOOST_AUTO_TEST_CASE(reference_striped_pair_reads_as_one_image) {
  check_reference(
      {k_std + "Striped/Base-Linear_1.aff4", k_std + "Striped/Base-Linear_2.aff4"},
      {"Striped", "dd6dbda282e27fd0d196abd95f5c3e58", "7d3d27f667f95f7ec5b9d32121622c0f4b60b48d",
       "d7d6df4534f06568eb90a06e252592c9b79378b95bb9a7e01db3a388feda6c13"});
}

BOOST_AUTO_TEST_CASE(reference_block_hashes_verify) {
  for (const char* name : {"Base-Linear.aff4", "Base-Linear-AllHashes.aff4",
                           "Base-Linear-ReadError.aff4", "Base-Allocated.aff4"}) {
    BOOST_TEST_CONTEXT(name) {
      auto container = Container::open({k_std + name});
      BOOST_REQUIRE(container);
      std::vector<std::string> checked;
      auto problems = (*container)->check_block_hashes(checked);
      BOOST_REQUIRE_MESSAGE(problems, (problems ? "" : problems.error().to_string()));
      BOOST_TEST(problems->empty());
      for (const auto& problem : *problems) {
        BOOST_TEST_MESSAGE(problem.subject << ": " << problem.detail);
      }
      BOOST_TEST(!checked.empty());
      const bool has_block_map =
          std::any_of(checked.begin(), checked.end(),
                      [](const std::string& text) { return text.starts_with("blockMapHash"); });
      BOOST_TEST(has_block_map);
      auto members = (*container)->check_members(nullptr, nullptr);
      BOOST_REQUIRE(members);
      BOOST_TEST(members->empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(exabyte_sparse_image_opens_without_reading_it_all) {
  const std::string path =
      std::string(CUSTODY_TESTDATA_DIR) + "/aff4/Errata/Base-ExabyteSparse.aff4";
  auto container = Container::open({path});
  BOOST_REQUIRE_MESSAGE(container, (container ? "" : container.error().to_string()));
  BOOST_TEST((*container)->info().size == 9223372036854775296ULL);
  std::array<std::byte, 16> head{};
  BOOST_REQUIRE((*container)->read(0, head));
  BOOST_TEST((head[0] == std::byte{0xFF}));
  auto tail = (*container)->read(9223372036854775296ULL - 16, head);
  BOOST_REQUIRE(tail);
  BOOST_TEST(*tail == 16U);
  BOOST_TEST((head[15] == std::byte{0xFF}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
