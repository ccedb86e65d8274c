// SPDX-License-Identifier: Apache-2.0
// Chunk codecs of AFF4 ImageStreams (aff4-subset.md §4.1, §4.2): the compression method URIs and
// their short names, and one-shot compression and decompression of a single chunk. Every call is
// self-contained (no shared state), so threads may compress chunks concurrently.
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace custody::internal {

enum class Compression : std::uint8_t { stored, snappy, lz4, deflate, zlib };

// The AFF4 URI a writer records (aff4-subset.md §4.2): snappy "http://code.google.com/p/snappy/",
// lz4 "https://code.google.com/p/lz4/", deflate "https://tools.ietf.org/html/rfc1951",
// zlib "https://www.ietf.org/rfc/rfc1950.txt", stored "http://aff4.org/Schema#NullCompressor".
std::string_view compression_uri(Compression method);

// Accepts every URI in §4.2 including the aliases "https://github.com/google/snappy" and
// "http://aff4.org/Schema#compression/stored". Errc::unsupported naming the URI otherwise.
Result<Compression> compression_from_uri(std::string_view uri);

// "none", "snappy", "lz4", "deflate", "zlib" (for the command line and reports).
std::string_view compression_name(Compression method);

// The inverse of compression_name(); "stored" is accepted for "none". Errc::invalid_argument
// listing the choices otherwise.
Result<Compression> parse_compression_name(std::string_view name);

// Upper bound of compress() output for `input_size` bytes.
std::size_t compress_bound(Compression method, std::size_t input_size);

// Compresses `input` into `output` (output.size() >= compress_bound()); returns the compressed
// size. Snappy is the raw block format (not framed), LZ4 a raw block (no size prefix, no frame),
// deflate raw RFC 1951 and zlib RFC 1950, both at level 1 (fast); stored copies.
// Errc::invalid_argument when `output` is smaller than the bound or the input is over LZ4's limit
// of 2016 MiB (applied to every codec but stored); Errc::internal on a codec failure.
Result<std::size_t> compress(Compression method,
                             std::span<const std::byte> input,
                             std::span<std::byte> output);

// Decompresses one chunk into `output`, whose size is the chunk size and the most the chunk may
// expand to; returns the decompressed length. Input is untrusted: invalid data, or data that
// would expand beyond output.size(), is Errc::corrupt and never allocates by what it claims.
// Deflate also accepts a zlib-wrapped stream (c-aff4 writes zlib under the deflate URI) and zlib
// accepts raw deflate. Bytes after the end of a deflate/zlib stream are ignored. A stored chunk
// longer than output.size() is Errc::corrupt.
Result<std::size_t> decompress(Compression method,
                               std::span<const std::byte> input,
                               std::span<std::byte> output);

}  // namespace custody::internal
