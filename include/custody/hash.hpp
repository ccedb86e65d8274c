// SPDX-License-Identifier: Apache-2.0
// Cryptographic hashes through OpenSSL 3 EVP: the algorithms custody records, an incremental
// single-algorithm Hasher, a multi-algorithm one-pass hash of a whole Source that spreads the
// algorithms over the cores, and one of a file (or its first bytes).
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace custody {

class Source;
class ProgressSink;
class CancelToken;

enum class HashAlgorithm : std::uint8_t {
  md5,
  sha1,
  sha256,
  sha512,
  sha3_256,
  blake2b_512,
};

// All algorithms, in their canonical order (the order used in records and reports).
std::span<const HashAlgorithm> all_hash_algorithms();

// The stable name used on the command line and in records: "md5", "sha3-256", "blake2b-512".
std::string_view hash_name(HashAlgorithm algorithm);

// Parses one name (case-insensitive). Errc::invalid_argument names the known algorithms.
Result<HashAlgorithm> parse_hash_name(std::string_view name);

// Parses a comma-separated list ("md5,sha256"); duplicates are removed, order is canonical.
// An empty list or an unknown name is Errc::invalid_argument.
Result<std::vector<HashAlgorithm>> parse_hash_list(std::string_view list);

// Lower-case hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

// Digests by algorithm; the map orders them canonically.
using DigestSet = std::map<HashAlgorithm, std::string>;  // algorithm -> lower-case hex

// An incremental hash of one algorithm. Not thread-safe; movable.
class Hasher {
 public:
  // Errc::crypto if OpenSSL cannot provide the algorithm (e.g. a FIPS-only provider).
  static Result<Hasher> create(HashAlgorithm algorithm);

  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  HashAlgorithm algorithm() const { return m_algorithm; }
  void update(std::span<const std::byte> data);
  // An independent copy of the state: finishing it gives the digest of what was fed so far,
  // while this hasher goes on.
  Hasher clone() const;
  // Returns the lower-case hex digest and resets the hasher for a new message.
  std::string finish_hex();

 private:
  struct Impl;
  Hasher(HashAlgorithm algorithm, std::unique_ptr<Impl> impl);
  HashAlgorithm m_algorithm;
  std::unique_ptr<Impl> m_impl;
};

// Hashes `data` with every algorithm in `algorithms` (sequentially; for small inputs).
Result<DigestSet> hash_bytes(std::span<const std::byte> data,
                             std::span<const HashAlgorithm> algorithms);

// Reads `source` once to its end and computes every algorithm in `algorithms` in that one pass,
// one worker thread per algorithm. Memory stays bounded (a fixed pool of blocks) whatever the
// size. `progress` and `cancel` may be null. Errc::io_error on a read error (with the offset),
// Errc::cancelled if `cancel` fired.
Result<DigestSet> hash_source(Source& source,
                              std::span<const HashAlgorithm> algorithms,
                              ProgressSink* progress = nullptr,
                              const CancelToken* cancel = nullptr);

// Reads the file at `path` once (its first `length` bytes when given, all of it otherwise) and
// computes every algorithm in `algorithms`, on the calling thread: for files that are not evidence
// being imaged (a package, a receipt, a container's prefix). Errc::not_found if it does not exist,
// Errc::io_error if it cannot be opened or read, Errc::corrupt if it is shorter than `length`.
Result<DigestSet> hash_file(const std::string& path,
                            std::span<const HashAlgorithm> algorithms,
                            std::optional<std::uint64_t> length = std::nullopt);

}  // namespace custody
