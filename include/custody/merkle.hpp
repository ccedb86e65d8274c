// SPDX-License-Identifier: Apache-2.0
// Merkle trees over SHA-256 as RFC 6962 / RFC 9162 define them, for the custody log: leaf and node
// hashes with distinct prefixes (so a leaf can never pass for an inner node), the tree head of a
// list of leaves, and inclusion and consistency proofs with their verification. The trees are
// computed from the full list of leaf hashes each time; a log that grows large keeps its own state.
#pragma once

#include <custody/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace custody {

// A raw SHA-256 digest (leaf hash, node hash or tree head).
using Sha256 = std::array<std::uint8_t, 32>;

// SHA-256(0x00 || leaf): the hash of one log entry's canonical bytes.
Sha256 merkle_leaf_hash(std::span<const std::byte> leaf);

// SHA-256(0x01 || left || right): the hash of an inner node.
Sha256 merkle_node_hash(const Sha256& left, const Sha256& right);

// The Merkle Tree Hash (RFC 9162 §2.1.1) of the leaves whose hashes are `leaf_hashes`, in order.
// The empty tree is SHA-256 of the empty string.
Sha256 merkle_root(std::span<const Sha256> leaf_hashes);

// The inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of `leaf_hashes`, from the
// leaf up. Errc::invalid_argument if `index` is not below the number of leaves.
Result<std::vector<Sha256>> inclusion_proof(std::span<const Sha256> leaf_hashes,
                                            std::uint64_t index);

// True iff `proof` shows that `leaf_hash` is leaf `index` of a tree of `tree_size` leaves whose
// head is `root` (RFC 9162 §2.1.3.2). A malformed proof (wrong length, index out of range) is
// simply false.
bool verify_inclusion(const Sha256& leaf_hash,
                      std::uint64_t index,
                      std::uint64_t tree_size,
                      std::span<const Sha256> proof,
                      const Sha256& root);

// The consistency proof (RFC 9162 §2.1.4.1) that the tree of the first `old_size` leaves is a
// prefix of the tree of all `leaf_hashes`. Empty when `old_size` equals the number of leaves.
// Errc::invalid_argument if `old_size` is 0 or greater than the number of leaves.
Result<std::vector<Sha256>> consistency_proof(std::span<const Sha256> leaf_hashes,
                                              std::uint64_t old_size);

// True iff `proof` shows that the tree of `old_size` leaves with head `old_root` is a prefix of
// the tree of `new_size` leaves with head `new_root` (RFC 9162 §2.1.4.2). Equal sizes need an
// empty proof and equal roots. An old size of 0 is false: consistency_proof() never produces one.
bool verify_consistency(std::uint64_t old_size,
                        std::uint64_t new_size,
                        const Sha256& old_root,
                        const Sha256& new_root,
                        std::span<const Sha256> proof);

// Lower-case hex of a digest (64 characters).
std::string to_hex(const Sha256& digest);

// Parses 64 lower-case hex digits. Anything else (wrong length, upper case, other characters) is
// Errc::invalid_argument: digests in records are canonical lower case, so another spelling means
// the text was not produced by us.
Result<Sha256> sha256_from_hex(std::string_view hex);

}  // namespace custody
