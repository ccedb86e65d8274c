// SPDX-License-Identifier: Apache-2.0
#include "../support/temp_dir.hpp"

#include <custody/hash.hpp>
#include <custody/source.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace custody {
namespace {

std::string digest_of(HashAlgorithm algorithm, std::string_view message) {
  auto hasher = Hasher::create(algorithm);
  BOOST_REQUIRE(hasher);
  hasher->update(std::as_bytes(std::span(message.data(), message.size())));
  return hasher->finish_hex();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hash)

// RFC 1321, appendix A.5 test suite.
BOOST_AUTO_TEST_CASE(md5_matches_rfc_1321_vectors) {
  BOOST_TEST(digest_of(HashAlgorithm::md5, "") == "d41d8cd98f00b204e9800998ecf8427e");
  BOOST_TEST(digest_of(HashAlgorithm::md5, "abc") == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(digest_of(HashAlgorithm::md5, "message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  BOOST_TEST(digest_of(HashAlgorithm::md5,
                       "12345678901234567890123456789012345678901234567890123456789012345678901234"
                       "567890") == "57edf4a22be3c955ac49da2e2107b67a");
}

// FIPS 180-4 examples (NIST CSRC "Examples with intermediate values").
BOOST_AUTO_TEST_CASE(sha1_sha256_sha512_match_fips_180_vectors) {
  BOOST_TEST(digest_of(HashAlgorithm::sha1, "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  BOOST_TEST(digest_of(HashAlgorithm::sha256, "abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(digest_of(HashAlgorithm::sha256,
                       "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_TEST(
      digest_of(HashAlgorithm::sha512, "abc") ==
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c2"
      "3a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  BOOST_TEST(digest_of(HashAlgorithm::sha256, std::string(1000000, 'a')) ==
             "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// FIPS 202 example values and RFC 7693 appendix A.
BOOST_AUTO_TEST_CASE(sha3_and_blake2b_match_published_vectors) {
  BOOST_TEST(digest_of(HashAlgorithm::sha3_256, "abc") ==
             "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
  BOOST_TEST(digest_of(HashAlgorithm::blake2b_512, "abc") ==
             "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d"
             "5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

BOOST_AUTO_TEST_CASE(incremental_updates_equal_one_update) {
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  BOOST_REQUIRE(hasher);
  const std::string message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (char c : message) {
    hasher->update(std::as_bytes(std::span(&c, 1)));
  }
  BOOST_TEST(hasher->finish_hex() == digest_of(HashAlgorithm::sha256, message));
  // finish resets: the next message starts fresh.
  BOOST_TEST(hasher->finish_hex() == digest_of(HashAlgorithm::sha256, ""));
}

BOOST_AUTO_TEST_CASE(hash_list_is_parsed_deduplicated_and_ordered) {
  auto list = parse_hash_list("SHA256,md5,sha256,blake2b-512");
  BOOST_REQUIRE(list);
  BOOST_TEST(list->size() == 3U);
  BOOST_TEST((list->at(0) == HashAlgorithm::md5));
  BOOST_TEST((list->at(1) == HashAlgorithm::sha256));
  BOOST_TEST((list->at(2) == HashAlgorithm::blake2b_512));
}

BOOST_AUTO_TEST_CASE(hash_list_rejects_unknown_and_empty_names) {
  BOOST_TEST(!parse_hash_list("md5,crc32"));
  BOOST_TEST(!parse_hash_list(""));
  BOOST_TEST(!parse_hash_list("md5,,sha1"));
  auto unknown = parse_hash_list("whirlpool");
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code == Errc::invalid_argument));
  BOOST_TEST(unknown.error().message.find("sha3-256") != std::string::npos);
}

// The parallel one-pass engine against the coreutils tools, on data that is not a multiple of
// the pipeline's block size.
BOOST_AUTO_TEST_CASE(hash_source_matches_coreutils_on_random_data) {
  test::TempDir dir;
  const std::string path = dir.file("random.bin");
  test::write_file(path, test::random_bytes((5U << 20U) + 12345U, 7));
  auto source = open_source(path);
  BOOST_REQUIRE(source);
  const std::vector<HashAlgorithm> all(all_hash_algorithms().begin(), all_hash_algorithms().end());
  auto digests = hash_source(**source, all);
  BOOST_REQUIRE(digests);
  BOOST_TEST(digests->size() == all.size());
  BOOST_TEST(digests->at(HashAlgorithm::md5) == test::first_word_of("md5sum " + path));
  BOOST_TEST(digests->at(HashAlgorithm::sha1) == test::first_word_of("sha1sum " + path));
  BOOST_TEST(digests->at(HashAlgorithm::sha256) == test::first_word_of("sha256sum " + path));
  BOOST_TEST(digests->at(HashAlgorithm::sha512) == test::first_word_of("sha512sum " + path));
  BOOST_TEST(digests->at(HashAlgorithm::blake2b_512) == test::first_word_of("b2sum " + path));
}

BOOST_AUTO_TEST_CASE(hash_source_of_missing_file_is_not_found) {
  auto source = open_source("/nonexistent/custody/evidence.bin");
  BOOST_REQUIRE(!source);
  BOOST_TEST((source.error().code == Errc::not_found));
}

// A file, or its first bytes, read once with every algorithm; a file shorter than the prefix asked
// for is corrupt, a missing one not found.
BOOST_AUTO_TEST_CASE(hash_file_hashes_a_file_or_its_first_bytes) {
  test::TempDir dir;
  const std::string path = dir.file("random.bin");
  const std::vector<char> data = test::random_bytes((2U << 20U) + 777U, 11);
  test::write_file(path, data);
  const std::vector<HashAlgorithm> two{HashAlgorithm::md5, HashAlgorithm::sha256};
  auto whole = hash_file(path, two);
  BOOST_REQUIRE(whole);
  BOOST_TEST(whole->at(HashAlgorithm::md5) == test::first_word_of("md5sum " + path));
  BOOST_TEST(whole->at(HashAlgorithm::sha256) == test::first_word_of("sha256sum " + path));
  const std::size_t prefix = (1U << 20U) + 3U;
  auto first = hash_file(path, two, prefix);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->at(HashAlgorithm::sha256) ==
             digest_of(HashAlgorithm::sha256, std::string_view(data.data(), prefix)));
  auto exact = hash_file(path, two, data.size());
  BOOST_REQUIRE(exact);
  BOOST_TEST(exact->at(HashAlgorithm::sha256) == whole->at(HashAlgorithm::sha256));
  auto longer = hash_file(path, two, data.size() + 1);
  BOOST_REQUIRE(!longer);
  BOOST_TEST((longer.error().code == Errc::corrupt));
  auto missing = hash_file(dir.file("missing.bin"), two);
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
