// SPDX-License-Identifier: Apache-2.0
// RFC 9162 Merkle tree hashes: roots, inclusion and consistency proofs over custody events.
#include "crypto/openssl_ptr.hpp"

#include <custody/hash.hpp>
#include <custody/merkle.hpp>

#include <fmt/format.h>

#include <bit>
#include <new>
#include <stdexcept>

namespace custody {

namespace {

// RFC 6962 domain separation: a leaf and an inner node never hash the same bytes, so a proof
// cannot pass an inner node off as a leaf (second-preimage attack on plain Merkle trees).
constexpr std::uint8_t k_leaf_prefix = 0x00;
constexpr std::uint8_t k_node_prefix = 0x01;

// SHA-256 is fetched once: an explicit fetch per hash would dominate the cost of small inputs.
const EVP_MD* sha256_md() {
  static const internal::EvpMdPtr md = [] {
    internal::EvpMdPtr fetched(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    // Every OpenSSL provider, FIPS included, has SHA-256; without it no log can be built or
    // checked, and these functions have no error channel, so this is a broken installation.
    if (!fetched) {
      throw std::runtime_error("OpenSSL does not provide SHA-256: " + internal::openssl_errors());
    }
    return fetched;
  }();
  return md.get();
}

// SHA-256(prefix || first || second).
Sha256 prefixed_hash(std::uint8_t prefix,
                     std::span<const std::byte> first,
                     std::span<const std::byte> second = {}) {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  // With a fetched SHA-256 these calls fail only without memory; std::bad_alloc is the library's
  // rule for that.
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1) {
    throw std::bad_alloc();
  }
  EVP_DigestUpdate(ctx.get(), &prefix, 1);
  EVP_DigestUpdate(ctx.get(), first.data(), first.size());
  EVP_DigestUpdate(ctx.get(), second.data(), second.size());
  Sha256 digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  return digest;
}

// RFC 9162 splits a tree of n >= 2 leaves at k, the largest power of two strictly below n, so the
// left subtree is always complete and earlier subtrees never change as the log grows.
std::size_t split_point(std::size_t n) {
  return std::bit_floor(n - 1);
}

// RFC 9162 defines the empty tree as the hash of nothing, without a prefix.
Sha256 empty_root() {
  Sha256 digest{};
  unsigned int length = 0;
  if (EVP_Digest(nullptr, 0, digest.data(), &length, sha256_md(), nullptr) != 1) {
    throw std::bad_alloc();
  }
  return digest;
}

// MTH(D[n]) over leaf hashes (the leaves are already hashed with the 0x00 prefix).
Sha256 subtree_root(std::span<const Sha256> leaves) {
  if (leaves.empty()) {
    return empty_root();
  }
  if (leaves.size() == 1) {
    return leaves.front();
  }
  const std::size_t k = split_point(leaves.size());
  return merkle_node_hash(subtree_root(leaves.first(k)), subtree_root(leaves.subspan(k)));
}

// PATH(m, D[n]) of RFC 6962 §2.1.1, bottom-up: the recursion reaches the leaf first, so the
// sibling nearest the leaf is appended first.
void append_path(std::size_t m, std::span<const Sha256> leaves, std::vector<Sha256>& out) {
  if (leaves.size() <= 1) {
    return;
  }
  const std::size_t k = split_point(leaves.size());
  if (m < k) {
    append_path(m, leaves.first(k), out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    append_path(m - k, leaves.subspan(k), out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2. `complete` (b) says whether the subtree of the first m
// leaves is one the verifier already knows (the old root itself), so its hash can be left out.
void append_subproof(std::size_t m,
                     std::span<const Sha256> leaves,
                     bool complete,
                     std::vector<Sha256>& out) {
  if (m == leaves.size()) {
    if (!complete) {
      out.push_back(subtree_root(leaves));
    }
    return;
  }
  const std::size_t k = split_point(leaves.size());
  if (m <= k) {
    append_subproof(m, leaves.first(k), complete, out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    append_subproof(m - k, leaves.subspan(k), false, out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

bool lsb(std::uint64_t value) {
  return (value & 1U) != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

}  // namespace

Sha256 merkle_leaf_hash(std::span<const std::byte> leaf) {
  return prefixed_hash(k_leaf_prefix, leaf);
}

Sha256 merkle_node_hash(const Sha256& left, const Sha256& right) {
  return prefixed_hash(k_node_prefix, std::as_bytes(std::span(left)),
                       std::as_bytes(std::span(right)));
}

Sha256 merkle_root(std::span<const Sha256> leaf_hashes) {
  return subtree_root(leaf_hashes);
}

Result<std::vector<Sha256>> inclusion_proof(std::span<const Sha256> leaf_hashes,
                                            std::uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("leaf index {} is outside a Merkle tree of {} leaves", index,
                                  leaf_hashes.size()));
  }
  std::vector<Sha256> proof;
  append_path(static_cast<std::size_t>(index), leaf_hashes, proof);
  return proof;
}

bool verify_inclusion(const Sha256& leaf_hash,
                      std::uint64_t index,
                      std::uint64_t tree_size,
                      std::span<const Sha256> proof,
                      const Sha256& root) {
  // RFC 9162 §2.1.3.2, step by step. fn walks the leaf's position up the tree, sn the position
  // of the tree's last leaf; where they meet, the path runs along the right edge, where a node
  // has no right sibling and the level is skipped.
  if (index >= tree_size) {
    return false;
  }
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Sha256 r = leaf_hash;
  for (const Sha256& p : proof) {
    if (sn == 0) {
      return false;  // the proof is longer than the tree is high
    }
    if (lsb(fn) || fn == sn) {
      r = merkle_node_hash(p, r);
      while (!lsb(fn) && fn != 0) {
        fn >>= 1U;
        sn >>= 1U;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  return sn == 0 && r == root;
}

Result<std::vector<Sha256>> consistency_proof(std::span<const Sha256> leaf_hashes,
                                              std::uint64_t old_size) {
  if (old_size == 0 || old_size > leaf_hashes.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("no consistency proof from {} leaves to a Merkle tree of {} "
                                  "leaves (the old size must be 1 to {})",
                                  old_size, leaf_hashes.size(), leaf_hashes.size()));
  }
  std::vector<Sha256> proof;
  append_subproof(static_cast<std::size_t>(old_size), leaf_hashes, true, proof);
  return proof;
}

bool verify_consistency(std::uint64_t old_size,
                        std::uint64_t new_size,
                        const Sha256& old_root,
                        const Sha256& new_root,
                        std::span<const Sha256> proof) {
  if (old_size == 0 || old_size > new_size) {
    return false;
  }
  if (old_size == new_size) {
    return proof.empty() && old_root == new_root;
  }
  // RFC 9162 §2.1.4.2. When the old tree is complete its root is the first node of the path,
  // and the prover leaves it out because the verifier has it.
  if (proof.empty()) {
    return false;
  }
  const bool old_is_complete = std::has_single_bit(old_size);
  const Sha256& first = old_is_complete ? old_root : proof.front();
  const std::span<const Sha256> rest = old_is_complete ? proof : proof.subspan(1);

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while (lsb(fn)) {
    fn >>= 1U;
    sn >>= 1U;
  }
  // fr rebuilds the old root, sr the new one, from the same path.
  Sha256 fr = first;
  Sha256 sr = first;
  for (const Sha256& c : rest) {
    if (sn == 0) {
      return false;  // the proof is longer than the tree is high
    }
    if (lsb(fn) || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while (!lsb(fn) && fn != 0) {
        fn >>= 1U;
        sn >>= 1U;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

std::string to_hex(const Sha256& digest) {
  return to_hex(std::span<const std::uint8_t>(digest));
}

Result<Sha256> sha256_from_hex(std::string_view hex) {
  Sha256 digest{};
  if (hex.size() != digest.size() * 2) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("a SHA-256 digest is 64 hex digits, not {} characters: '{}'", hex.size(), hex));
  }
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return make_error(Errc::invalid_argument,
                        fmt::format("not a lower-case hex SHA-256 digest: '{}'", hex));
    }
    digest[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return digest;
}

}  // namespace custody
