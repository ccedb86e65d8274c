// SPDX-License-Identifier: Apache-2.0
// The text layer of BagIt shared by the validator, the writer and the extractor: line splitting,
// tag-file character encodings, manifest paths (percent-encoding, scope checks), Payload-Oxum,
// and a digest of several algorithms in one pass.
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

namespace custody::internal {

// Splits at LF, CRLF or CR (BagIt allows all three). A last line without a terminator counts; the
// empty string after a final terminator does not.
std::vector<std::string_view> split_lines(std::string_view text);

// Tag-file text converted to UTF-8 from the bag's Tag-File-Character-Encoding.
struct DecodedText {
  std::string text;
  bool had_bom = false;  // a byte-order mark was found (and removed)
  std::string error;     // non-empty: unsupported encoding or undecodable bytes (text is partial)
};
DecodedText decode_tag_text(std::string_view bytes, std::string_view encoding);

// Manifest algorithms we can verify: md5, sha1, sha224, sha256, sha384, sha512 (lower case, as
// in "manifest-sha256.txt").
bool is_bag_algorithm(std::string_view name);
// Length of the algorithm's hex digest (0 for an unknown one).
std::size_t bag_digest_hex_length(std::string_view name);

// Digests of several bag algorithms over one stream of bytes.
class MultiDigest {
 public:
  // Errc::invalid_argument for an unknown algorithm, Errc::crypto if OpenSSL lacks it.
  static Result<MultiDigest> create(const std::vector<std::string>& algorithms);
  MultiDigest(MultiDigest&&) noexcept;
  MultiDigest& operator=(MultiDigest&&) noexcept;
  ~MultiDigest();
  void update(std::span<const std::byte> data);
  // algorithm -> lower-case hex; the digest is finished (create a new one for the next file).
  std::map<std::string, std::string> finish();

 private:
  struct Impl;
  explicit MultiDigest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// A manifest or fetch.txt path after decoding and checking: `path` is canonical ("data/a b"),
// or `error` says why the line is refused; `warnings` are accepted oddities ("./" prefix).
struct BagPath {
  std::string path;
  std::string error;
  std::vector<std::string> warnings;
};
// `percent_decoding`: BagIt 1.0 writes CR, LF and % as %0D, %0A, %25 (and only those).
BagPath check_bag_path(std::string_view raw, bool percent_decoding);

// The 1.0 manifest form of a path: CR, LF and % percent-encoded.
std::string percent_encode_bag_path(std::string_view path);

// A name under data/ given by a caller of the writer, checked: relative, '/'-separated, no empty,
// "." or ".." components, no backslash, CR, LF or NUL. Returns the problem, or "" when good.
std::string bag_name_problem(std::string_view name);

struct PayloadOxum {
  std::uint64_t octets = 0;
  std::uint64_t files = 0;
};
// "OCTETS.COUNT" (decimal, no sign, no spaces); nullopt when malformed or out of range.
std::optional<PayloadOxum> parse_payload_oxum(std::string_view value);

}  // namespace custody::internal
