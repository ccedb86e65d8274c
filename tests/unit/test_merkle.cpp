// SPDX-License-Identifier: Apache-2.0
#include <custody/merkle.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace custody {
namespace {

// The RFC 6962 test leaves of google/certificate-transparency (merkle_tree_test.cc) and
// transparency-dev/merkle (testonly/constants.go), as hex.
constexpr std::array<std::string_view, 8> k_leaves = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

// Their published roots of the trees of the first 1..8 leaves.
constexpr std::array<std::string_view, 8> k_roots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<std::byte> bytes_of_hex(std::string_view hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Sha256 digest(std::string_view hex) {
  auto parsed = sha256_from_hex(hex);
  BOOST_REQUIRE(parsed);
  return *parsed;
}

std::vector<Sha256> vector_leaf_hashes() {
  std::vector<Sha256> hashes;
  for (std::string_view leaf : k_leaves) {
    hashes.push_back(merkle_leaf_hash(bytes_of_hex(leaf)));
  }
  return hashes;
}

std::vector<std::string> hex_list(const std::vector<Sha256>& hashes) {
  std::vector<std::string> out;
  for (const Sha256& hash : hashes) {
    out.push_back(to_hex(hash));
  }
  return out;
}

Sha256 flipped(Sha256 hash, std::size_t bit) {
  hash[(bit / 8) % hash.size()] ^= static_cast<std::uint8_t>(1U << (bit % 8));
  return hash;
}

// Random leaves of 0..63 bytes from a fixed seed, so a failure is reproducible.
std::vector<Sha256> random_leaf_hashes(std::mt19937_64& random, std::size_t count) {
  std::uniform_int_distribution<int> length(0, 63);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<Sha256> hashes;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::byte> leaf(static_cast<std::size_t>(length(random)));
    for (std::byte& b : leaf) {
      b = static_cast<std::byte>(byte(random));
    }
    hashes.push_back(merkle_leaf_hash(leaf));
  }
  return hashes;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(merkle)

BOOST_AUTO_TEST_CASE(empty_tree_is_sha256_of_nothing) {
  BOOST_TEST(to_hex(merkle_root({})) ==
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// transparency-dev/merkle rfc6962_test.go: leaf "L123456", children "N123" and "N456".
BOOST_AUTO_TEST_CASE(leaf_and_node_hashes_use_distinct_prefixes) {
  const std::string_view leaf = "L123456";
  BOOST_TEST(to_hex(merkle_leaf_hash(std::as_bytes(std::span(leaf.data(), leaf.size())))) ==
             "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  BOOST_TEST(to_hex(merkle_leaf_hash({})) ==
             "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  Sha256 left{};
  Sha256 right{};
  std::copy_n("N123", 4, left.begin());
  std::copy_n("N456", 4, right.begin());
  // The same 64 bytes hashed as a node and as a leaf differ: the prefix is what separates them.
  std::vector<std::byte> concatenated(64);
  std::memcpy(concatenated.data(), left.data(), 32);
  std::memcpy(concatenated.data() + 32, right.data(), 32);
  BOOST_TEST(merkle_node_hash(left, right) != merkle_leaf_hash(concatenated));
  BOOST_TEST(merkle_node_hash(left, right) != merkle_node_hash(right, left));
}

BOOST_AUTO_TEST_CASE(roots_match_rfc_6962_vectors) {
  const auto hashes = vector_leaf_hashes();
  for (std::size_t size = 1; size <= hashes.size(); ++size) {
    BOOST_TEST_CONTEXT("size " << size) {
      BOOST_TEST(to_hex(merkle_root(std::span(hashes).first(size))) == k_roots[size - 1]);
    }
  }
}

// google/certificate-transparency merkle_tree_test.cc audit paths (there with 1-based indices).
BOOST_AUTO_TEST_CASE(inclusion_proofs_match_published_paths) {
  const auto hashes = vector_leaf_hashes();
  struct Case {
    std::uint64_t index;
    std::size_t size;
    std::vector<std::string> path;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("index " << c.index << " size " << c.size) {
      auto proof = inclusion_proof(std::span(hashes).first(c.size), c.index);
      BOOST_REQUIRE(proof);
      BOOST_TEST(hex_list(*proof) == c.path, boost::test_tools::per_element());
    }
  }
}

// google/certificate-transparency merkle_tree_test.cc consistency proofs.
BOOST_AUTO_TEST_CASE(consistency_proofs_match_published_proofs) {
  const auto hashes = vector_leaf_hashes();
  struct Case {
    std::uint64_t old_size;
    std::size_t new_size;
    std::vector<std::string> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("old " << c.old_size << " new " << c.new_size) {
      auto proof = consistency_proof(std::span(hashes).first(c.new_size), c.old_size);
      BOOST_REQUIRE(proof);
      BOOST_TEST(hex_list(*proof) == c.proof, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(every_inclusion_proof_verifies_and_tampering_fails) {
  const auto hashes = vector_leaf_hashes();
  for (std::uint64_t size = 1; size <= hashes.size(); ++size) {
    const auto leaves = std::span(hashes).first(size);
    const Sha256 root = digest(k_roots[size - 1]);
    for (std::uint64_t index = 0; index < size; ++index) {
      BOOST_TEST_CONTEXT("index " << index << " size " << size) {
        auto proof = inclusion_proof(leaves, index);
        BOOST_REQUIRE(proof);
        const Sha256& leaf = hashes[index];
        BOOST_TEST(verify_inclusion(leaf, index, size, *proof, root));

        BOOST_TEST(!verify_inclusion(flipped(leaf, index), index, size, *proof, root));
        BOOST_TEST(!verify_inclusion(leaf, index, size, *proof, flipped(root, 255)));
        for (std::uint64_t other = 0; other < size + 8; ++other) {
          if (other != index) {
            BOOST_TEST(!verify_inclusion(leaf, other, size, *proof, root), "as index " << other);
          }
        }
        // Another size keeps the proof valid only where the tree's right edge looks the same
        // (see tree_size_is_authenticated_by_the_tree_head); doubling or halving the tree, or
        // cutting it before the leaf, changes its height.
        for (std::uint64_t other : {std::uint64_t{0}, index, size * 2, size / 2}) {
          if (other != size) {
            BOOST_TEST(!verify_inclusion(leaf, index, other, *proof, root), "as size " << other);
          }
        }
        for (std::size_t element = 0; element < proof->size(); ++element) {
          auto bad = *proof;
          bad[element] = flipped(bad[element], element * 37);
          BOOST_TEST(!verify_inclusion(leaf, index, size, bad, root), "element " << element);
        }
        auto longer = *proof;
        longer.push_back(root);
        BOOST_TEST(!verify_inclusion(leaf, index, size, longer, root));
        if (!proof->empty()) {
          auto shorter = *proof;
          shorter.pop_back();
          BOOST_TEST(!verify_inclusion(leaf, index, size, shorter, root));
        }
      }
    }
    BOOST_TEST((inclusion_proof(leaves, size).error().code == Errc::invalid_argument));
  }
  BOOST_TEST((inclusion_proof({}, 0).error().code == Errc::invalid_argument));
}

// RFC 9162 verification does not bind the tree size into the hashes: a leaf in the complete left
// part of a tree has the same path in a tree that differs only on the right edge. This is safe
// because the size comes signed together with the root in the tree head; the custody log must
// never take a size from anywhere else. (A tree of size 4 with the size-3 root would need a leaf
// hash equal to a node hash, i.e. a SHA-256 collision.)
BOOST_AUTO_TEST_CASE(tree_size_is_authenticated_by_the_tree_head) {
  const auto hashes = vector_leaf_hashes();
  auto proof = inclusion_proof(std::span(hashes).first(3), 0);
  BOOST_REQUIRE(proof);
  BOOST_TEST(verify_inclusion(hashes[0], 0, 4, *proof, digest(k_roots[2])));
  // With the real size-4 root, the size-3 proof fails.
  BOOST_TEST(!verify_inclusion(hashes[0], 0, 4, *proof, digest(k_roots[3])));
}

BOOST_AUTO_TEST_CASE(every_consistency_proof_verifies_and_tampering_fails) {
  const auto hashes = vector_leaf_hashes();
  for (std::uint64_t new_size = 1; new_size <= hashes.size(); ++new_size) {
    const auto leaves = std::span(hashes).first(new_size);
    const Sha256 new_root = digest(k_roots[new_size - 1]);
    for (std::uint64_t old_size = 1; old_size <= new_size; ++old_size) {
      BOOST_TEST_CONTEXT("old " << old_size << " new " << new_size) {
        const Sha256 old_root = digest(k_roots[old_size - 1]);
        auto proof = consistency_proof(leaves, old_size);
        BOOST_REQUIRE(proof);
        BOOST_TEST(proof->empty() == (old_size == new_size));
        BOOST_TEST(verify_consistency(old_size, new_size, old_root, new_root, *proof));

        BOOST_TEST(!verify_consistency(old_size, new_size, flipped(old_root, 3), new_root, *proof));
        BOOST_TEST(
            !verify_consistency(old_size, new_size, old_root, flipped(new_root, 200), *proof));
        for (std::uint64_t other = 0; other <= new_size + 8; ++other) {
          if (other != old_size) {
            BOOST_TEST(!verify_consistency(other, new_size, old_root, new_root, *proof),
                       "as old size " << other);
          }
        }
        // As with inclusion, only a change of height is detectable from the proof alone.
        for (std::uint64_t other : {std::uint64_t{0}, old_size - 1, new_size * 2, new_size / 2}) {
          if (other != new_size) {
            BOOST_TEST(!verify_consistency(old_size, other, old_root, new_root, *proof),
                       "as new size " << other);
          }
        }
        for (std::size_t element = 0; element < proof->size(); ++element) {
          auto bad = *proof;
          bad[element] = flipped(bad[element], element * 53 + 1);
          BOOST_TEST(!verify_consistency(old_size, new_size, old_root, new_root, bad),
                     "element " << element);
        }
        auto longer = *proof;
        longer.push_back(new_root);
        BOOST_TEST(!verify_consistency(old_size, new_size, old_root, new_root, longer));
        if (!proof->empty()) {
          auto shorter = *proof;
          shorter.pop_back();
          BOOST_TEST(!verify_consistency(old_size, new_size, old_root, new_root, shorter));
        }
        // A different old tree (same size, one leaf changed) is not a prefix of the new one.
        if (old_size < new_size) {
          std::vector<Sha256> forked(leaves.begin(), leaves.end());
          forked[old_size - 1] = flipped(forked[old_size - 1], 7);
          const Sha256 forked_root = merkle_root(std::span(forked).first(old_size));
          BOOST_TEST(!verify_consistency(old_size, new_size, forked_root, new_root, *proof));
        }
      }
    }
    BOOST_TEST((consistency_proof(leaves, 0).error().code == Errc::invalid_argument));
    BOOST_TEST((consistency_proof(leaves, new_size + 1).error().code == Errc::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(random_trees_round_trip) {
  std::mt19937_64 random(0x6375'7374'6f64'79ULL);  // "custody"
  for (std::size_t size = 1; size <= 100; ++size) {
    const auto leaves = random_leaf_hashes(random, size);
    const Sha256 root = merkle_root(leaves);
    for (std::uint64_t index = 0; index < size; ++index) {
      auto proof = inclusion_proof(leaves, index);
      BOOST_REQUIRE(proof);
      if (!verify_inclusion(leaves[index], index, size, *proof, root)) {
        BOOST_ERROR("inclusion of " << index << " in " << size << " does not verify");
      }
      if (!proof->empty()) {
        auto bad = *proof;
        bad.back() = flipped(bad.back(), index);
        if (verify_inclusion(leaves[index], index, size, bad, root)) {
          BOOST_ERROR("tampered inclusion of " << index << " in " << size << " verifies");
        }
      }
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      const Sha256 old_root = merkle_root(std::span(leaves).first(old_size));
      auto proof = consistency_proof(leaves, old_size);
      BOOST_REQUIRE(proof);
      if (!verify_consistency(old_size, size, old_root, root, *proof)) {
        BOOST_ERROR("consistency " << old_size << " -> " << size << " does not verify");
      }
      if (!proof->empty()) {
        auto bad = *proof;
        bad.front() = flipped(bad.front(), old_size);
        if (verify_consistency(old_size, size, old_root, root, bad)) {
          BOOST_ERROR("tampered consistency " << old_size << " -> " << size << " verifies");
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(hex_round_trips_and_rejects_non_canonical_text) {
  const std::string text = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
  auto parsed = sha256_from_hex(text);
  BOOST_REQUIRE(parsed);
  BOOST_TEST((*parsed)[0] == 0x5d);
  BOOST_TEST((*parsed)[31] == 0x28);
  BOOST_TEST(to_hex(*parsed) == text);
  BOOST_TEST((sha256_from_hex("").error().code == Errc::invalid_argument));
  BOOST_TEST(!sha256_from_hex(text.substr(2)));
  BOOST_TEST(!sha256_from_hex(text + "00"));
  BOOST_TEST(!sha256_from_hex("5DC9DA79A70659A9AD559CB701DED9A2AB9D823AAD2F4960CFE370EFF4604328"));
  BOOST_TEST(!sha256_from_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff460432g"));
  BOOST_TEST(!sha256_from_hex(" dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
