// SPDX-License-Identifier: Apache-2.0
// Hashing: OpenSSL digests by name, one pass of all algorithms over bytes, a source or a file.
#include "core/pipeline.hpp"
#include "core/posix_file.hpp"
#include "crypto/openssl_ptr.hpp"

#include <custody/hash.hpp>
#include <custody/source.hpp>

#include <fmt/format.h>

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>

namespace custody {

namespace {

constexpr std::array k_all = {
    HashAlgorithm::md5,    HashAlgorithm::sha1,     HashAlgorithm::sha256,
    HashAlgorithm::sha512, HashAlgorithm::sha3_256, HashAlgorithm::blake2b_512,
};

// OpenSSL's fetch names for our algorithms.
const char* openssl_name(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::md5:
      return "MD5";
    case HashAlgorithm::sha1:
      return "SHA1";
    case HashAlgorithm::sha256:
      return "SHA256";
    case HashAlgorithm::sha512:
      return "SHA512";
    case HashAlgorithm::sha3_256:
      return "SHA3-256";
    case HashAlgorithm::blake2b_512:
      return "BLAKE2B-512";
  }
  return "";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::span<const HashAlgorithm> all_hash_algorithms() {
  return k_all;
}

std::string_view hash_name(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::md5:
      return "md5";
    case HashAlgorithm::sha1:
      return "sha1";
    case HashAlgorithm::sha256:
      return "sha256";
    case HashAlgorithm::sha512:
      return "sha512";
    case HashAlgorithm::sha3_256:
      return "sha3-256";
    case HashAlgorithm::blake2b_512:
      return "blake2b-512";
  }
  return "";
}

Result<HashAlgorithm> parse_hash_name(std::string_view name) {
  const std::string wanted = lower(name);
  for (HashAlgorithm algorithm : k_all) {
    if (hash_name(algorithm) == wanted) {
      return algorithm;
    }
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("unknown hash algorithm '{}' (known: md5, sha1, sha256, sha512, "
                                "sha3-256, blake2b-512)",
                                name));
}

Result<std::vector<HashAlgorithm>> parse_hash_list(std::string_view list) {
  std::vector<HashAlgorithm> algorithms;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view item = list.substr(start, comma - start);
    if (item.empty()) {
      return make_error(Errc::invalid_argument,
                        fmt::format("empty name in hash list '{}' (example: md5,sha256)", list));
    }
    auto algorithm = parse_hash_name(item);
    CUSTODY_TRY(algorithm);
    if (std::find(algorithms.begin(), algorithms.end(), *algorithm) == algorithms.end()) {
      algorithms.push_back(*algorithm);
    }
    start = comma + 1;
  }
  std::sort(algorithms.begin(), algorithms.end());
  return algorithms;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    out.push_back(k_digits[byte >> 4U]);
    out.push_back(k_digits[byte & 0x0FU]);
  }
  return out;
}

struct Hasher::Impl {
  internal::EvpMdPtr md;
  internal::EvpMdCtxPtr ctx;
};

Hasher::Hasher(HashAlgorithm algorithm, std::unique_ptr<Impl> impl)
    : m_algorithm(algorithm), m_impl(std::move(impl)) {}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Result<Hasher> Hasher::create(HashAlgorithm algorithm) {
  auto impl = std::make_unique<Impl>();
  impl->md.reset(EVP_MD_fetch(nullptr, openssl_name(algorithm), nullptr));
  impl->ctx.reset(EVP_MD_CTX_new());
  if (!impl->md || !impl->ctx ||
      EVP_DigestInit_ex2(impl->ctx.get(), impl->md.get(), nullptr) != 1) {
    return make_error(Errc::crypto, fmt::format("OpenSSL does not provide {}: {}",
                                                hash_name(algorithm), internal::openssl_errors()));
  }
  return Hasher(algorithm, std::move(impl));
}

Hasher Hasher::clone() const {
  auto impl = std::make_unique<Impl>();
  EVP_MD_up_ref(m_impl->md.get());
  impl->md.reset(m_impl->md.get());
  impl->ctx.reset(EVP_MD_CTX_new());
  // Copying a digest context fails only without memory; std::bad_alloc is the library's rule.
  if (!impl->ctx || EVP_MD_CTX_copy_ex(impl->ctx.get(), m_impl->ctx.get()) != 1) {
    throw std::bad_alloc();
  }
  return Hasher(m_algorithm, std::move(impl));
}

void Hasher::update(std::span<const std::byte> data) {
  // EVP_DigestUpdate only fails on a misuse of the context, which we do not allow.
  EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size());
}

std::string Hasher::finish_hex() {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(m_impl->ctx.get(), digest.data(), &length);
  EVP_DigestInit_ex2(m_impl->ctx.get(), m_impl->md.get(), nullptr);
  return to_hex(std::span(digest.data(), length));
}

Result<DigestSet> hash_bytes(std::span<const std::byte> data,
                             std::span<const HashAlgorithm> algorithms) {
  DigestSet digests;
  for (HashAlgorithm algorithm : algorithms) {
    auto hasher = Hasher::create(algorithm);
    CUSTODY_TRY(hasher);
    hasher->update(data);
    digests[algorithm] = hasher->finish_hex();
  }
  return digests;
}

Result<DigestSet> hash_source(Source& source,
                              std::span<const HashAlgorithm> algorithms,
                              ProgressSink* progress,
                              const CancelToken* cancel) {
  auto sinks = internal::make_digest_sinks(algorithms, internal::SegmentLayout::single());
  CUSTODY_TRY(sinks);
  const auto hash_workers = internal::group_digest_sinks(*sinks);
  auto outcome = internal::run_pipeline(source, internal::sink_pointers(hash_workers),
                                        source.info().size.value_or(0), progress, cancel);
  CUSTODY_TRY(outcome);
  if (outcome->cancelled) {
    return make_error(Errc::cancelled, "hashing was interrupted");
  }
  DigestSet digests;
  for (const auto& sink : *sinks) {
    digests[sink->algorithm()] = sink->total_digest();
  }
  return digests;
}

Result<DigestSet> hash_file(const std::string& path,
                            std::span<const HashAlgorithm> algorithms,
                            std::optional<std::uint64_t> length) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  std::vector<Hasher> hashers;
  for (HashAlgorithm algorithm : algorithms) {
    auto hasher = Hasher::create(algorithm);
    CUSTODY_TRY(hasher);
    hashers.push_back(std::move(*hasher));
  }
  std::vector<std::byte> buffer(std::size_t{1} << 20U);
  std::uint64_t done = 0;
  while (!length || done < *length) {
    std::span<std::byte> piece(buffer);
    if (length) {
      piece = piece.first(
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), *length - done)));
    }
    auto got = internal::pread_full(fd.get(), piece, path, done);
    CUSTODY_TRY(got);
    for (Hasher& hasher : hashers) {
      hasher.update(piece.first(*got));
    }
    done += *got;
    if (*got < piece.size()) {
      break;
    }
  }
  // value_or rather than "length && done != *length": GCC merges that into one branch on both
  // values, which valgrind's memcheck reports as a jump on an uninitialised value.
  if (const std::uint64_t expected = length.value_or(done); done != expected) {
    return make_error(
        Errc::corrupt,
        fmt::format("{} is shorter ({} bytes) than the {} bytes expected", path, done, expected));
  }
  DigestSet digests;
  for (Hasher& hasher : hashers) {
    digests[hasher.algorithm()] = hasher.finish_hex();
  }
  return digests;
}

}  // namespace custody
