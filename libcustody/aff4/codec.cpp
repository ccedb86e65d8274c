// SPDX-License-Identifier: Apache-2.0
// AFF4 chunk codecs: snappy, lz4, deflate, zlib and stored, with bounds on what a hostile chunk
// may expand to.
#include "aff4/codec.hpp"

#include <fmt/format.h>

#include <lz4.h>
#include <snappy.h>
#include <zlib.h>  // with ZLIB_CONST (libcustody/CMakeLists.txt): const input, no const_cast

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <string>

namespace custody::internal {

namespace {

struct UriEntry {
  std::string_view uri;
  Compression method;
};

// The first entry for each method is the one we write; the others are aliases other tools wrote.
constexpr std::array k_uris = {
    UriEntry{"http://aff4.org/Schema#NullCompressor", Compression::stored},
    UriEntry{"http://code.google.com/p/snappy/", Compression::snappy},
    UriEntry{"https://code.google.com/p/lz4/", Compression::lz4},
    UriEntry{"https://tools.ietf.org/html/rfc1951", Compression::deflate},
    UriEntry{"https://www.ietf.org/rfc/rfc1950.txt", Compression::zlib},
    UriEntry{"https://github.com/google/snappy", Compression::snappy},
    UriEntry{"http://aff4.org/Schema#compression/stored", Compression::stored},
};

struct NameEntry {
  std::string_view name;
  Compression method;
};

constexpr std::array k_names = {
    NameEntry{"none", Compression::stored}, NameEntry{"snappy", Compression::snappy},
    NameEntry{"lz4", Compression::lz4},     NameEntry{"deflate", Compression::deflate},
    NameEntry{"zlib", Compression::zlib},   NameEntry{"stored", Compression::stored},
};

// One limit for every codec, the smallest of them (LZ4 counts in int): chunks are kilobytes to a
// few megabytes, so anything near it is a caller's mistake or a hostile index entry.
constexpr std::size_t k_max_codec_size = LZ4_MAX_INPUT_SIZE;

// Untrusted text quoted in a message is cut, so a hostile URI cannot flood logs and reports.
constexpr std::size_t k_max_quoted = 200;

std::string shortened(std::string_view text) {
  if (text.size() <= k_max_quoted) {
    return std::string(text);
  }
  // Cut at a character boundary: reports are JSON, which must stay valid UTF-8.
  std::size_t cut = k_max_quoted;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
    --cut;
  }
  return fmt::format("{}...", text.substr(0, cut));
}

const char* as_chars(std::span<const std::byte> bytes) {
  return reinterpret_cast<const char*>(bytes.data());
}

char* as_chars(std::span<std::byte> bytes) {
  return reinterpret_cast<char*>(bytes.data());
}

// zlib's stream and window sizes are unsigned int; the cast checks were done by the caller.
uInt as_uint(std::size_t size) {
  return static_cast<uInt>(size);
}

// RFC 1950 §2.2: CM = 8, CINFO <= 7, no preset dictionary, and the header is a multiple of 31.
// Used to decide whether a chunk that is not raw deflate is worth a second try as zlib.
bool looks_like_zlib_header(std::span<const std::byte> input) {
  if (input.size() < 2) {
    return false;
  }
  const auto cmf = std::to_integer<unsigned>(input[0]);
  const auto flg = std::to_integer<unsigned>(input[1]);
  return (cmf & 0x0FU) == 8U && (cmf >> 4U) <= 7U && (flg & 0x20U) == 0U &&
         ((cmf << 8U) | flg) % 31U == 0U;
}

enum class Wrapper : std::uint8_t { raw, zlib };

int window_bits(Wrapper wrapper) {
  // Negative window bits select raw deflate in zlib's API.
  return wrapper == Wrapper::raw ? -MAX_WBITS : MAX_WBITS;
}

struct DeflateEnd {
  z_stream* stream;
  ~DeflateEnd() { deflateEnd(stream); }
};

struct InflateEnd {
  z_stream* stream;
  ~InflateEnd() { inflateEnd(stream); }
};

Result<std::size_t> deflate_chunk(Wrapper wrapper,
                                  std::span<const std::byte> input,
                                  std::span<std::byte> output) {
  z_stream stream{};
  // Level 1: imaging is I/O bound and the compressor must keep up with the source disk.
  if (deflateInit2(&stream, 1, Z_DEFLATED, window_bits(wrapper), 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(Errc::internal, "cannot initialise the deflate compressor");
  }
  const DeflateEnd end{&stream};
  stream.next_in = reinterpret_cast<const Bytef*>(input.data());
  stream.avail_in = as_uint(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = as_uint(std::min<std::size_t>(output.size(), UINT_MAX));
  const int status = deflate(&stream, Z_FINISH);
  if (status != Z_STREAM_END) {
    return make_error(Errc::internal,
                      fmt::format("deflate compression failed (zlib status {})", status));
  }
  return static_cast<std::size_t>(stream.total_out);
}

Result<std::size_t> inflate_chunk(Wrapper wrapper,
                                  std::string_view method_name,
                                  std::span<const std::byte> input,
                                  std::span<std::byte> output) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits(wrapper)) != Z_OK) {
    return make_error(Errc::internal, "cannot initialise the deflate decompressor");
  }
  const InflateEnd end{&stream};
  stream.next_in = reinterpret_cast<const Bytef*>(input.data());
  stream.avail_in = as_uint(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = as_uint(output.size());
  int status = inflate(&stream, Z_FINISH);
  if (status == Z_STREAM_END) {
    return static_cast<std::size_t>(stream.total_out);
  }
  if (status == Z_MEM_ERROR) {
    return make_error(Errc::internal, "out of memory in the deflate decompressor");
  }
  if (status == Z_BUF_ERROR && stream.avail_out == 0) {
    // Output is full. Whether the stream wants more output or is merely truncated right at the
    // chunk size, one more byte of scratch output tells.
    std::byte probe{};
    stream.next_out = reinterpret_cast<Bytef*>(&probe);
    stream.avail_out = 1;
    status = inflate(&stream, Z_FINISH);
    if (stream.avail_out == 0) {
      return make_error(Errc::corrupt,
                        fmt::format("{} chunk expands beyond the chunk size ({} bytes)",
                                    method_name, output.size()));
    }
  }
  if (status == Z_BUF_ERROR) {
    return make_error(Errc::corrupt,
                      fmt::format("{} chunk does not decompress (truncated)", method_name));
  }
  return make_error(Errc::corrupt,
                    fmt::format("{} chunk does not decompress ({})", method_name,
                                stream.msg != nullptr ? stream.msg : "invalid data"));
}

// Deflate readers must accept zlib (c-aff4 writes it under the deflate URI) and zlib readers raw
// deflate. The declared format goes first; the other one only when the declared one fails.
Result<std::size_t> inflate_either(Compression method,
                                   std::span<const std::byte> input,
                                   std::span<std::byte> output) {
  const std::string_view name = compression_name(method);
  const bool zlib_header = looks_like_zlib_header(input);
  if (method == Compression::deflate) {
    auto raw = inflate_chunk(Wrapper::raw, name, input, output);
    if (raw || raw.error().code != Errc::corrupt || !zlib_header) {
      return raw;
    }
    // The header says zlib, so zlib's diagnosis is the more useful one.
    return inflate_chunk(Wrapper::zlib, name, input, output);
  }
  if (!zlib_header) {
    // Without a valid header zlib fails at once; raw deflate is the only reading left.
    return inflate_chunk(Wrapper::raw, name, input, output);
  }
  auto wrapped = inflate_chunk(Wrapper::zlib, name, input, output);
  if (wrapped || wrapped.error().code != Errc::corrupt) {
    return wrapped;
  }
  // A raw stream can start with bytes that pass the header check by chance.
  auto raw = inflate_chunk(Wrapper::raw, name, input, output);
  if (raw) {
    return raw;
  }
  return wrapped;
}

Result<std::size_t> snappy_uncompress(std::span<const std::byte> input,
                                      std::span<std::byte> output) {
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(as_chars(input), input.size(), &length)) {
    return make_error(Errc::corrupt, "snappy chunk does not decompress (bad length header)");
  }
  // The header is untrusted: check it before snappy writes that many bytes.
  if (length > output.size()) {
    return make_error(Errc::corrupt,
                      fmt::format("snappy chunk expands beyond the chunk size ({} > {} bytes)",
                                  length, output.size()));
  }
  if (!snappy::RawUncompress(as_chars(input), input.size(), as_chars(output))) {
    return make_error(Errc::corrupt, "snappy chunk does not decompress");
  }
  return length;
}

Result<std::size_t> lz4_uncompress(std::span<const std::byte> input, std::span<std::byte> output) {
  const int length =
      LZ4_decompress_safe(as_chars(input), as_chars(output), static_cast<int>(input.size()),
                          static_cast<int>(output.size()));
  if (length < 0) {
    // LZ4 reports both cases with the same negative value.
    return make_error(Errc::corrupt,
                      fmt::format("lz4 chunk does not decompress (invalid data, or it expands "
                                  "beyond the chunk size of {} bytes)",
                                  output.size()));
  }
  return static_cast<std::size_t>(length);
}

}  // namespace

std::string_view compression_uri(Compression method) {
  for (const auto& entry : k_uris) {
    if (entry.method == method) {
      return entry.uri;
    }
  }
  return {};
}

Result<Compression> compression_from_uri(std::string_view uri) {
  for (const auto& entry : k_uris) {
    if (entry.uri == uri) {
      return entry.method;
    }
  }
  auto error = make_error(Errc::unsupported,
                          fmt::format("unsupported compression method <{}>", shortened(uri)));
  error.value().hint = "supported: snappy, lz4, deflate (RFC 1951), zlib (RFC 1950) and stored";
  return error;
}

std::string_view compression_name(Compression method) {
  for (const auto& entry : k_names) {
    if (entry.method == method) {
      return entry.name;
    }
  }
  return {};
}

Result<Compression> parse_compression_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& entry : k_names) {
    if (entry.name == lower) {
      return entry.method;
    }
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("unknown compression '{}' (choose none, snappy, lz4, deflate or "
                                "zlib)",
                                shortened(name)));
}

std::size_t compress_bound(Compression method, std::size_t input_size) {
  switch (method) {
    case Compression::stored:
      return input_size;
    case Compression::snappy:
      return snappy::MaxCompressedLength(input_size);
    case Compression::lz4:
      // LZ4_COMPRESSBOUND without its int range check; compress() refuses oversized input.
      return input_size + input_size / 255 + 16;
    case Compression::deflate:
    case Compression::zlib:
      // compressBound() is the zlib-wrapped bound for the default memLevel and window, which
      // deflate_chunk() uses; raw deflate needs 6 bytes less.
      return static_cast<std::size_t>(compressBound(static_cast<uLong>(input_size)));
  }
  return input_size;
}

Result<std::size_t> compress(Compression method,
                             std::span<const std::byte> input,
                             std::span<std::byte> output) {
  if (method != Compression::stored && input.size() > k_max_codec_size) {
    return make_error(Errc::invalid_argument,
                      fmt::format("chunk of {} bytes is too large to compress", input.size()));
  }
  if (output.size() < compress_bound(method, input.size())) {
    return make_error(Errc::invalid_argument,
                      fmt::format("compression output buffer of {} bytes is below the bound {}",
                                  output.size(), compress_bound(method, input.size())));
  }
  switch (method) {
    case Compression::stored:
      std::copy(input.begin(), input.end(), output.begin());
      return input.size();
    case Compression::snappy: {
      std::size_t length = 0;
      snappy::RawCompress(as_chars(input), input.size(), as_chars(output), &length);
      return length;
    }
    case Compression::lz4: {
      const int length =
          LZ4_compress_default(as_chars(input), as_chars(output), static_cast<int>(input.size()),
                               static_cast<int>(std::min<std::size_t>(output.size(), INT_MAX)));
      if (length <= 0) {
        return make_error(Errc::internal, "lz4 compression failed");
      }
      return static_cast<std::size_t>(length);
    }
    case Compression::deflate:
      return deflate_chunk(Wrapper::raw, input, output);
    case Compression::zlib:
      return deflate_chunk(Wrapper::zlib, input, output);
  }
  return make_error(Errc::internal, "unknown compression method");
}

Result<std::size_t> decompress(Compression method,
                               std::span<const std::byte> input,
                               std::span<std::byte> output) {
  if (output.size() > k_max_codec_size) {
    return make_error(Errc::invalid_argument,
                      fmt::format("chunk size of {} bytes is too large", output.size()));
  }
  // A compressed chunk may be a little larger than the chunk size (incompressible data written by
  // a tool that does not store such chunks raw), so only stored chunks must fit.
  if ((method == Compression::stored && input.size() > output.size()) ||
      input.size() > k_max_codec_size) {
    return make_error(
        Errc::corrupt,
        fmt::format("{} chunk of {} bytes is larger than the chunk size ({} bytes)",
                    method == Compression::stored ? "stored" : compression_name(method),
                    input.size(), output.size()));
  }
  switch (method) {
    case Compression::stored:
      std::copy(input.begin(), input.end(), output.begin());
      return input.size();
    case Compression::snappy:
      return snappy_uncompress(input, output);
    case Compression::lz4:
      return lz4_uncompress(input, output);
    case Compression::deflate:
    case Compression::zlib:
      return inflate_either(method, input, output);
  }
  return make_error(Errc::internal, "unknown compression method");
}

}  // namespace custody::internal
