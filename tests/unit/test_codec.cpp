// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/prerequisites.hpp"
#include "aff4/codec.hpp"

#include <custody/hash.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace custody::internal {
namespace {

constexpr std::size_t k_chunk = 32768;
constexpr std::array k_methods = {Compression::stored, Compression::snappy, Compression::lz4,
                                  Compression::deflate, Compression::zlib};

using Bytes = std::vector<std::byte>;

Bytes to_bytes(std::string_view text) {
  Bytes bytes(text.size());
  std::transform(text.begin(), text.end(), bytes.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return bytes;
}

template <std::size_t N>
Bytes to_bytes(const std::array<unsigned char, N>& data) {
  Bytes bytes(N);
  std::memcpy(bytes.data(), data.data(), N);
  return bytes;
}

std::string to_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

Bytes random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 engine(seed);
  Bytes bytes(size);
  for (auto& byte : bytes) {
    byte = static_cast<std::byte>(engine() & 0xFFU);
  }
  return bytes;
}

// Looks like a file system: words, numbers and runs, compressible but not trivially.
Bytes text_bytes(std::size_t size, unsigned seed) {
  static constexpr std::array<std::string_view, 8> k_words = {
      "evidence ", "sector ",  "0x1f8b ",  "chain of custody\n",
      "/dev/sdb ", "SHA-256 ", "\0\0\0\0", "examiner "};
  std::mt19937 engine(seed);
  std::string text;
  while (text.size() < size) {
    text += k_words[engine() % k_words.size()];
  }
  text.resize(size);
  return to_bytes(text);
}

Bytes compress_all(Compression method, std::span<const std::byte> input) {
  Bytes output(compress_bound(method, input.size()));
  auto length = compress(method, input, output);
  BOOST_TEST_REQUIRE(length.has_value(), compression_name(method));
  output.resize(*length);
  return output;
}

using test::have_tool;
using test::run_command;

void expect_corrupt(const Result<std::size_t>& result,
                    std::string_view fragment,
                    std::string_view context) {
  BOOST_TEST(!result.has_value(), context);
  if (!result) {
    BOOST_TEST((result.error().code == Errc::corrupt), context << ": " << result.error().message);
    BOOST_TEST(result.error().message.find(fragment) != std::string::npos,
               context << ": " << result.error().message);
  }
}

// Independent vectors for "AFF4 AFF4 AFF4 AFF4 chain of custody, chain of custody, chain of
// custody.": raw deflate cut from `gzip -9n` output, and the LZ4 raw block cut from the frame of
// `lz4 -9 --no-frame-crc` (LZ4 1.9.4).
constexpr std::string_view k_vector_text =
    "AFF4 AFF4 AFF4 AFF4 chain of custody, chain of custody, chain of custody.";
constexpr std::array<unsigned char, 30> k_gzip_raw_deflate = {
    0x73, 0x74, 0x73, 0x33, 0x51, 0x70, 0x44, 0x25, 0x92, 0x33, 0x12, 0x33, 0xf3, 0x14, 0xf2,
    0xd3, 0x14, 0x92, 0x4b, 0x8b, 0x4b, 0xf2, 0x53, 0x2a, 0x75, 0x88, 0x10, 0xd1, 0x03, 0x00};
constexpr std::array<unsigned char, 36> k_lz4_cli_block = {
    0x5b, 0x41, 0x46, 0x46, 0x34, 0x20, 0x05, 0x00, 0xff, 0x02, 0x63, 0x68,
    0x61, 0x69, 0x6e, 0x20, 0x6f, 0x66, 0x20, 0x63, 0x75, 0x73, 0x74, 0x6f,
    0x64, 0x79, 0x2c, 0x12, 0x00, 0x0c, 0x50, 0x74, 0x6f, 0x64, 0x79, 0x2e};
// python3 zlib.compress(b"hello hello hello hello", 9).
constexpr std::array<unsigned char, 16> k_python_zlib = {
    0x78, 0xda, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x27, 0x01, 0x68, 0x03, 0x08, 0xb1};
// Snappy raw block written by hand from format_description.txt: length 23, a 6-byte literal
// "hello ", then a 2-byte-offset copy of 17 bytes at distance 6 (overlapping its own output).
constexpr std::array<unsigned char, 11> k_snappy_by_hand = {0x17, 0x14, 'h',  'e',  'l', 'l',
                                                            'o',  ' ',  0x42, 0x06, 0x00};

}  // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(uris_map_both_ways) {
  BOOST_TEST(compression_uri(Compression::snappy) == "http://code.google.com/p/snappy/");
  BOOST_TEST(compression_uri(Compression::lz4) == "https://code.google.com/p/lz4/");
  BOOST_TEST(compression_uri(Compression::deflate) == "https://tools.ietf.org/html/rfc1951");
  BOOST_TEST(compression_uri(Compression::zlib) == "https://www.ietf.org/rfc/rfc1950.txt");
  BOOST_TEST(compression_uri(Compression::stored) == "http://aff4.org/Schema#NullCompressor");
  for (const Compression method : k_methods) {
    auto back = compression_from_uri(compression_uri(method));
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == method));
  }
  BOOST_TEST((*compression_from_uri("https://github.com/google/snappy") == Compression::snappy));
  BOOST_TEST(
      (*compression_from_uri("http://aff4.org/Schema#compression/stored") == Compression::stored));
  for (const char* unknown :
       {"", "http://code.google.com/p/snappy", "https://facebook.github.io/zstd/",
        "HTTP://CODE.GOOGLE.COM/P/SNAPPY/"}) {
    auto method = compression_from_uri(unknown);
    BOOST_TEST_REQUIRE(!method.has_value(), unknown);
    BOOST_TEST((method.error().code == Errc::unsupported));
    BOOST_TEST(method.error().message.find(unknown) != std::string::npos);
  }
  // A hostile URI is not copied whole into the message.
  auto long_uri = compression_from_uri(std::string(100000, 'x'));
  BOOST_TEST(long_uri.error().message.size() < 1000U);
}

BOOST_AUTO_TEST_CASE(names_map_both_ways) {
  BOOST_TEST(compression_name(Compression::stored) == "none");
  BOOST_TEST(compression_name(Compression::snappy) == "snappy");
  BOOST_TEST(compression_name(Compression::lz4) == "lz4");
  BOOST_TEST(compression_name(Compression::deflate) == "deflate");
  BOOST_TEST(compression_name(Compression::zlib) == "zlib");
  for (const Compression method : k_methods) {
    BOOST_TEST((*parse_compression_name(compression_name(method)) == method));
  }
  BOOST_TEST((*parse_compression_name("stored") == Compression::stored));
  BOOST_TEST((*parse_compression_name("LZ4") == Compression::lz4));
  auto bad = parse_compression_name("zstd");
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST((bad.error().code == Errc::invalid_argument));
  BOOST_TEST(bad.error().message.find("zstd") != std::string::npos);
  BOOST_TEST(bad.error().message.find("snappy, lz4, deflate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_method_round_trips) {
  for (const Compression method : k_methods) {
    for (const std::size_t size : {k_chunk, std::size_t{0}, std::size_t{1}, std::size_t{17},
                                   std::size_t{4097}, std::size_t{32767}, std::size_t{131071}}) {
      const std::array inputs = {random_bytes(size, 7), Bytes(size), text_bytes(size, 11)};
      for (std::size_t kind = 0; kind < inputs.size(); ++kind) {
        const Bytes& input = inputs[kind];
        const std::string context =
            fmt::format("{} size {} kind {}", compression_name(method), size, kind);
        const Bytes compressed = compress_all(method, input);
        BOOST_TEST(compressed.size() <= compress_bound(method, size), context);
        Bytes output(std::max<std::size_t>(size, 1));
        auto length = decompress(method, compressed, std::span(output).first(size));
        BOOST_TEST_REQUIRE(length.has_value(), context << ": " << length.error().message);
        BOOST_TEST(*length == size, context);
        BOOST_TEST((std::equal(input.begin(), input.end(), output.begin())), context);
        if (method != Compression::stored && kind == 1 && size == k_chunk) {
          BOOST_TEST(compressed.size() < size / 20, context);  // zeros do compress
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(compress_refuses_a_small_output_buffer) {
  const Bytes input = random_bytes(1000, 3);
  for (const Compression method : k_methods) {
    Bytes output(compress_bound(method, input.size()) - 1);
    auto length = compress(method, input, output);
    BOOST_TEST_REQUIRE(!length.has_value(), compression_name(method));
    BOOST_TEST((length.error().code == Errc::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(deflate_and_zlib_have_the_declared_framing) {
  const Bytes input = text_bytes(k_chunk, 5);
  const Bytes zlib = compress_all(Compression::zlib, input);
  // RFC 1950 header for a 32 KiB window and level 1 ("fastest"): 0x78 0x01.
  BOOST_TEST(std::to_integer<int>(zlib[0]) == 0x78);
  BOOST_TEST(std::to_integer<int>(zlib[1]) == 0x01);
  const Bytes raw = compress_all(Compression::deflate, input);
  BOOST_TEST(raw.size() + 6 == zlib.size());  // no header, no Adler-32
}

BOOST_AUTO_TEST_CASE(independent_encoders_decode) {
  std::array<std::byte, 256> output{};
  auto raw = decompress(Compression::deflate, to_bytes(k_gzip_raw_deflate), output);
  BOOST_TEST_REQUIRE(raw.has_value(), raw.error().message);
  BOOST_TEST(to_string(std::span(output).first(*raw)) == k_vector_text);

  auto lz4 = decompress(Compression::lz4, to_bytes(k_lz4_cli_block), output);
  BOOST_TEST_REQUIRE(lz4.has_value(), lz4.error().message);
  BOOST_TEST(to_string(std::span(output).first(*lz4)) == k_vector_text);

  auto snappy = decompress(Compression::snappy, to_bytes(k_snappy_by_hand), output);
  BOOST_TEST_REQUIRE(snappy.has_value(), snappy.error().message);
  BOOST_TEST(to_string(std::span(output).first(*snappy)) == "hello hello hello hello");

  auto zlib = decompress(Compression::zlib, to_bytes(k_python_zlib), output);
  BOOST_TEST_REQUIRE(zlib.has_value(), zlib.error().message);
  BOOST_TEST(to_string(std::span(output).first(*zlib)) == "hello hello hello hello");
}

BOOST_AUTO_TEST_CASE(python_zlib_stream_decodes_at_run_time, *test::needs_tools({"python3"})) {
  auto stream = run_command(
      "python3 -c 'import zlib,sys; sys.stdout.buffer.write(zlib.compress(b\"hello hello hello "
      "hello\", 9))'");
  BOOST_TEST_REQUIRE(stream.has_value());
  BOOST_TEST(*stream == to_string(to_bytes(k_python_zlib)));
  std::array<std::byte, 64> output{};
  auto length = decompress(Compression::zlib, to_bytes(*stream), output);
  BOOST_TEST_REQUIRE(length.has_value(), length.error().message);
  BOOST_TEST(to_string(std::span(output).first(*length)) == "hello hello hello hello");
}

BOOST_AUTO_TEST_CASE(deflate_accepts_zlib_and_zlib_accepts_raw_deflate) {
  // c-aff4 writes zlib streams under the rfc1951 URI.
  std::array<std::byte, 256> output{};
  auto wrapped = decompress(Compression::deflate, to_bytes(k_python_zlib), output);
  BOOST_TEST_REQUIRE(wrapped.has_value(), wrapped.error().message);
  BOOST_TEST(to_string(std::span(output).first(*wrapped)) == "hello hello hello hello");
  auto raw = decompress(Compression::zlib, to_bytes(k_gzip_raw_deflate), output);
  BOOST_TEST_REQUIRE(raw.has_value(), raw.error().message);
  BOOST_TEST(to_string(std::span(output).first(*raw)) == k_vector_text);
  // The same for our own output, on a full chunk.
  const Bytes input = text_bytes(k_chunk, 9);
  Bytes chunk(k_chunk);
  for (const auto& [written, read] : {std::pair{Compression::zlib, Compression::deflate},
                                      std::pair{Compression::deflate, Compression::zlib}}) {
    auto length = decompress(read, compress_all(written, input), chunk);
    BOOST_TEST_REQUIRE(length.has_value(), length.error().message);
    BOOST_TEST(*length == k_chunk);
    BOOST_TEST((chunk == input));
  }
}

// Every chunk of the Evimetry reference image is raw snappy: decoding all of them must give the
// ImageStream's recorded SHA-1 (information.turtle: fbac22cc...).
BOOST_AUTO_TEST_CASE(reference_image_snappy_chunks_decode_to_the_recorded_hash,
                     *test::needs_tools({"unzip"})) {
  const std::string image = CUSTODY_TESTDATA_DIR "/aff4/AFF4Std/Base-Linear.aff4";
  const std::string member = "aff4%3A%2F%2Fc215ba20-5648-4209-a793-1f918c723610/00000000";
  auto bevy = run_command("unzip -p '" + image + "' '" + member + "'");
  auto index = run_command("unzip -p '" + image + "' '" + member + ".index'");
  BOOST_TEST_REQUIRE(bevy.has_value());
  BOOST_TEST_REQUIRE(index.has_value());
  BOOST_TEST_REQUIRE(index->size() == 121U * 12U);

  constexpr std::size_t k_stream_size = 3964928;
  Bytes stream;
  Bytes chunk(k_chunk);
  for (std::size_t entry = 0; entry < index->size() / 12; ++entry) {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::memcpy(&offset, index->data() + entry * 12, sizeof offset);  // little-endian host
    std::memcpy(&length, index->data() + entry * 12 + 8, sizeof length);
    BOOST_TEST_REQUIRE(offset + length <= bevy->size());
    const auto stored = std::as_bytes(std::span(bevy->data() + offset, length));
    const Compression method = length == k_chunk ? Compression::stored : Compression::snappy;
    auto produced = decompress(method, stored, chunk);
    BOOST_TEST_REQUIRE(produced.has_value(), "chunk " << entry << ": " << produced.error().message);
    BOOST_TEST_REQUIRE(*produced == k_chunk, "chunk " << entry);
    stream.insert(stream.end(), chunk.begin(), chunk.end());
  }
  stream.resize(k_stream_size);
  auto digests = hash_bytes(stream, std::array{HashAlgorithm::sha1, HashAlgorithm::md5});
  BOOST_TEST_REQUIRE(digests.has_value());
  BOOST_TEST(digests->at(HashAlgorithm::sha1) == "fbac22cca549310bc5df03b7560afcf490995fbb");
  BOOST_TEST(digests->at(HashAlgorithm::md5) == "d5825dc1152a42958c8219ff11ed01a3");
}

BOOST_AUTO_TEST_CASE(expansion_beyond_the_chunk_size_is_corrupt) {
  const Bytes input = text_bytes(k_chunk, 13);
  for (const Compression method : k_methods) {
    const Bytes compressed = compress_all(method, input);
    Bytes small(k_chunk - 1);
    const auto context = compression_name(method);
    auto length = decompress(method, compressed, small);
    expect_corrupt(length, method == Compression::lz4 ? "beyond" : "chunk size", context);
    if (method == Compression::snappy || method == Compression::deflate ||
        method == Compression::zlib) {
      expect_corrupt(length, "expands beyond the chunk size", context);
    }
  }
  // A snappy header claiming 4 GiB is refused before anything is written or allocated.
  const std::array<unsigned char, 6> huge = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  Bytes output(k_chunk);
  expect_corrupt(decompress(Compression::snappy, to_bytes(huge), output),
                 "expands beyond the chunk size", "snappy huge header");
  // Exactly filling the output is fine, also for deflate, whose end-of-stream follows the data.
  for (const Compression method : k_methods) {
    auto length = decompress(method, compress_all(method, input), output);
    BOOST_TEST_REQUIRE(length.has_value(), compression_name(method));
    BOOST_TEST(*length == k_chunk);
  }
}

BOOST_AUTO_TEST_CASE(truncated_and_garbage_input_is_corrupt) {
  const Bytes input = text_bytes(k_chunk, 17);
  Bytes output(k_chunk);
  for (const Compression method : k_methods) {
    if (method == Compression::stored) {
      continue;  // any bytes are a valid stored chunk
    }
    const auto name = std::string(compression_name(method));
    const Bytes compressed = compress_all(method, input);
    const Bytes truncated(compressed.begin(), compressed.begin() + std::ssize(compressed) / 2);
    expect_corrupt(decompress(method, truncated, output), "does not decompress",
                   name + " truncated");
    const Bytes garbage(64, std::byte{0xff});
    expect_corrupt(decompress(method, garbage, output), "does not decompress", name + " garbage");
    expect_corrupt(decompress(method, {}, output), "does not decompress", name + " empty");
  }
  // Truncation exactly at the chunk size is not mistaken for expansion.
  const Bytes zeros(k_chunk);
  Bytes zlib = compress_all(Compression::zlib, zeros);
  zlib.resize(zlib.size() - 4);  // without the Adler-32
  expect_corrupt(decompress(Compression::zlib, zlib, output), "truncated", "zlib no checksum");
  // A damaged checksum is caught.
  zlib = compress_all(Compression::zlib, zeros);
  zlib.back() ^= std::byte{1};
  expect_corrupt(decompress(Compression::zlib, zlib, output), "does not decompress",
                 "zlib bad checksum");
  // A stored chunk longer than the chunk size.
  expect_corrupt(decompress(Compression::stored, Bytes(k_chunk + 1), output), "larger",
                 "stored too long");
}

// Hostile input never crashes or overruns (run under the asan preset), and whatever decodes
// fits the output.
BOOST_AUTO_TEST_CASE(mutated_streams_fail_cleanly) {
  std::mt19937 engine(2024);
  Bytes output(4096);
  for (const Compression method : k_methods) {
    const Bytes valid = compress_all(method, text_bytes(4096, 19));
    for (int round = 0; round < 300; ++round) {
      Bytes mutated = valid;
      const auto flips = 1 + engine() % 8;
      for (unsigned flip = 0; flip < flips; ++flip) {
        mutated[engine() % mutated.size()] ^= static_cast<std::byte>(1U << (engine() % 8));
      }
      if (engine() % 3 == 0) {
        mutated.resize(engine() % (mutated.size() + 1));
      }
      auto length = decompress(method, mutated, output);
      if (length) {
        BOOST_TEST(*length <= output.size());
      } else {
        BOOST_TEST((length.error().code == Errc::corrupt), length.error().message);
      }
    }
    for (int round = 0; round < 100; ++round) {
      auto length =
          decompress(method, random_bytes(engine() % 200, static_cast<unsigned>(engine())), output);
      BOOST_TEST((length || length.error().code == Errc::corrupt));
    }
  }
}

BOOST_AUTO_TEST_CASE(threads_compress_concurrently) {
  std::vector<std::thread> threads;
  std::array<bool, 8> ok{};
  for (std::size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([t, &ok] {
      bool good = true;
      const Compression method = k_methods[t % k_methods.size()];
      for (unsigned round = 0; round < 20 && good; ++round) {
        const Bytes input = text_bytes(k_chunk, static_cast<unsigned>(t * 100 + round));
        Bytes compressed(compress_bound(method, input.size()));
        Bytes output(k_chunk);
        auto length = compress(method, input, compressed);
        good = length.has_value() &&
               decompress(method, std::span(compressed).first(*length), output).has_value() &&
               output == input;
      }
      ok[t] = good;
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const bool good : ok) {
    BOOST_TEST(good);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody::internal
