// SPDX-License-Identifier: Apache-2.0
#include "../support/temp_dir.hpp"

#include <custody/evidence.hpp>
#include <custody/logical.hpp>

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace custody {
namespace {

const std::string k_dream = CUSTODY_TESTDATA_DIR "/aff4/AFF4-L/dream.aff4";
const std::string k_dream_txt = CUSTODY_TESTDATA_DIR "/aff4/AFF4-L/dream.txt";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

using test::write_text;

}  // namespace

BOOST_AUTO_TEST_SUITE(logical)

BOOST_AUTO_TEST_CASE(path_encoding_round_trips_any_bytes) {
  const std::string names[] = {
      "plain.txt", "with space", "new\nline", std::string("nul\0x", 5), "bad\xff\xfe utf8",
      "ネコ.txt",  "100%",       "a/../b",    "#?<>\\\"|^`{}"};
  for (const std::string& name : names) {
    const std::string encoded = encode_logical_path(name);
    for (const char c : encoded) {
      const auto byte = static_cast<unsigned char>(c);
      BOOST_TEST((byte > 0x20 && byte != 0x7F));  // printable, no spaces or controls
    }
    BOOST_TEST(encoded.find("..") == std::string::npos);
    auto decoded = decode_logical_path(encoded);
    BOOST_REQUIRE(decoded);
    BOOST_TEST(*decoded == name);
  }
  BOOST_TEST(encode_logical_path("ネコ.txt") == "ネコ.txt");  // readable UTF-8 stays
  BOOST_TEST(encode_logical_path("a b") == "a%20b");
  BOOST_TEST(!decode_logical_path("bad%2"));
  BOOST_TEST(!decode_logical_path("bad%zz"));
}

// The pyaff4 sample: listed from its turtle, dream.txt extracted with the expected hashes.
BOOST_AUTO_TEST_CASE(reads_pyaff4_dream_sample) {
  auto container = LogicalContainer::open(k_dream);
  BOOST_REQUIRE_MESSAGE(container.has_value(),
                        (container ? std::string() : container.error().to_string()));
  const LogicalManifest& manifest = (*container)->manifest();
  BOOST_REQUIRE_EQUAL(manifest.entries.size(), 1U);
  const LogicalEntry& entry = manifest.entries.front();
  BOOST_TEST(entry.path == "test_images/AFF4-L/dream.txt");
  BOOST_TEST(entry.size == 8688U);
  BOOST_TEST(entry.hashes.at(HashAlgorithm::md5) == "75d83773f8d431a3ca91bfb8859e486d");
  BOOST_TEST(entry.mtime == "2018-09-17T03:42:20.000000000Z");
  BOOST_TEST((*container)->volume_urn() == "aff4://5aea2dd0-32b4-4c61-a9db-677654be6f83");
  auto hashes = (*container)
                    ->hash_file(entry, std::array{HashAlgorithm::md5, HashAlgorithm::sha1,
                                                  HashAlgorithm::sha256});
  BOOST_REQUIRE(hashes);
  BOOST_TEST(hashes->at(HashAlgorithm::sha1) == "9ae1b46bead70c322eef7ac8bc36a8ea2055595c");
  BOOST_TEST(hashes->at(HashAlgorithm::sha256) ==
             "2f8c33d140c42a3039c16281724fd94a3070176daec59987c32d2da5c0affc67");
  auto kind = identify_evidence({k_dream});
  BOOST_REQUIRE(kind.has_value());
  BOOST_TEST((kind->front().kind == EvidenceKind::aff4_logical));

  test::TempDir dir;
  auto extracted = extract_logical({k_dream, dir.file("out"), false, std::nullopt});
  BOOST_REQUIRE_MESSAGE(extracted.has_value(),
                        (extracted ? std::string() : extracted.error().to_string()));
  BOOST_TEST(extracted->files == 1U);
  BOOST_TEST(extracted->mismatches.empty());
  BOOST_TEST(read_text(dir.file("out/test_images/AFF4-L/dream.txt")) == read_text(k_dream_txt));
}

BOOST_AUTO_TEST_CASE(acquires_and_reads_back_a_small_tree) {
  test::TempDir dir;
  const std::string tree = dir.file("tree");
  std::filesystem::create_directories(tree + "/sub");
  write_text(tree + "/a.txt", "alpha");
  write_text(tree + "/sub/b.bin", std::string(100000, 'b'));
  write_text(tree + "/empty", "");
  BOOST_REQUIRE(::symlink("a.txt", (tree + "/link").c_str()) == 0);
  LogicalAcquireOptions options;
  options.sources = {tree};
  options.output_base = dir.file("out");
  options.algorithms = {HashAlgorithm::md5, HashAlgorithm::sha256};
  auto result = acquire_logical(options);
  BOOST_REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().to_string()));
  BOOST_TEST(result->record.logical->files == 3U);
  BOOST_TEST(result->record.logical->links == 1U);
  BOOST_TEST(result->manifest.defects.empty());

  auto container = LogicalContainer::open(result->container_path);
  BOOST_REQUIRE_MESSAGE(container.has_value(),
                        (container ? std::string() : container.error().to_string()));
  bool saw_link = false;
  for (const LogicalEntry& entry : (*container)->manifest().entries) {
    if (entry.path == "tree/link") {
      saw_link = entry.type == LogicalEntryType::symlink && entry.link_target == "a.txt";
    }
    if (entry.type == LogicalEntryType::file) {
      auto hashes = (*container)->hash_file(entry, std::array{HashAlgorithm::sha256});
      BOOST_REQUIRE(hashes);
      BOOST_TEST(hashes->at(HashAlgorithm::sha256) == entry.hashes.at(HashAlgorithm::sha256));
    }
  }
  BOOST_TEST(saw_link);
  // The record parses back with its logical section.
  auto loaded = parse_record(*(*container)->custody_record());
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->digest_matches);
  BOOST_REQUIRE(loaded->record.logical);
  BOOST_TEST(loaded->record.logical->bytes == 100005U);
}

BOOST_AUTO_TEST_CASE(filters_are_counted) {
  test::TempDir dir;
  const std::string tree = dir.file("tree");
  std::filesystem::create_directories(tree + "/cache");
  write_text(tree + "/keep.txt", "k");
  write_text(tree + "/drop.tmp", "dd");
  write_text(tree + "/cache/x.txt", "x");
  LogicalAcquireOptions options;
  options.sources = {tree};
  options.output_base = dir.file("out");
  options.algorithms = {HashAlgorithm::sha256};
  options.filters.exclude = {"*.tmp", "cache"};
  auto result = acquire_logical(options);
  BOOST_REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().to_string()));
  BOOST_TEST(result->record.logical->files == 1U);
  BOOST_TEST(result->manifest.excluded.excluded == 1U);
  BOOST_TEST(result->manifest.excluded.excluded_directories == 1U);
  BOOST_TEST(result->manifest.excluded.bytes == 2U);
  options.filters = {};
  options.filters.newer_than = "not a date";
  options.overwrite = true;
  BOOST_TEST(!acquire_logical(options));
}

BOOST_AUTO_TEST_CASE(file_list_members_are_checked_and_named) {
  LogicalManifest manifest;
  manifest.algorithms = {HashAlgorithm::sha256};
  LogicalEntry entry;
  entry.path = "src/a.txt";
  entry.member = "a.txt";
  entry.size = 3;
  entry.hashes[HashAlgorithm::sha256] = std::string(64, 'b');
  entry.mode = 0644;
  manifest.entries.push_back(entry);
  const std::string text = logical_manifest_to_json(manifest);
  auto parsed = parse_logical_manifest(text);
  BOOST_REQUIRE(parsed);
  BOOST_TEST(parsed->entries.size() == 1U);
  BOOST_TEST(parsed->entries[0].path == "src/a.txt");
  BOOST_TEST(*parsed->entries[0].mode == 0644U);

  const std::pair<const char*, const char*> cases[] = {
      {"\"mode\": 420", "\"mode\": \"rw\""},
      {"\"size\": 3", "\"size\": -3"},
      {"\"path\": \"src/a.txt\"", "\"path\": \"src/%zz\""},
      {"\"algorithms\": [", "\"algorithms\": [7, "},
  };
  const char* messages[] = {
      "custody/files.json: member \"entries[].mode\" is not a number",
      "custody/files.json: member \"entries[].size\" is not a non-negative integer",
      "custody/files.json: path \"src/%zz\": a \"%\" not followed by two hex digits in a path",
      "custody/files.json: member \"algorithms\" holds a non-string",
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    std::string edited = text;
    const auto at = edited.find(cases[i].first);
    BOOST_REQUIRE(at != std::string::npos);
    edited.replace(at, std::string(cases[i].first).size(), cases[i].second);
    auto refused = parse_logical_manifest(edited);
    BOOST_REQUIRE(!refused);
    BOOST_TEST((refused.error().code == Errc::corrupt));
    BOOST_TEST(refused.error().message == messages[i]);
  }
  std::string unknown = text;
  unknown.replace(unknown.find("\"sha256\""), 8, "\"md4\"");  // the first: "algorithms"
  auto refused = parse_logical_manifest(unknown);
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == Errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
