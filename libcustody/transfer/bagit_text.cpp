// SPDX-License-Identifier: Apache-2.0
// BagIt text files: bagit.txt, bag-info.txt and manifests, written and parsed (RFC 8493).
#include "transfer/bagit_text.hpp"

#include "crypto/openssl_ptr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace custody::internal {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') {
      ++start;
    }
  }
  return lines;
}

namespace {

std::string upper_without_spaces(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c != ' ' && c != '\t') {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80U) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800U) {
    out.push_back(static_cast<char>(0xC0U | (code_point >> 6U)));
    out.push_back(static_cast<char>(0x80U | (code_point & 0x3FU)));
  } else if (code_point < 0x10000U) {
    out.push_back(static_cast<char>(0xE0U | (code_point >> 12U)));
    out.push_back(static_cast<char>(0x80U | ((code_point >> 6U) & 0x3FU)));
    out.push_back(static_cast<char>(0x80U | (code_point & 0x3FU)));
  } else {
    out.push_back(static_cast<char>(0xF0U | (code_point >> 18U)));
    out.push_back(static_cast<char>(0x80U | ((code_point >> 12U) & 0x3FU)));
    out.push_back(static_cast<char>(0x80U | ((code_point >> 6U) & 0x3FU)));
    out.push_back(static_cast<char>(0x80U | (code_point & 0x3FU)));
  }
}

std::uint8_t byte_at(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint8_t>(bytes[at]);
}

DecodedText decode_utf16(std::string_view bytes, bool big_endian, bool detect_bom) {
  DecodedText decoded;
  if (bytes.size() >= 2) {
    const bool be_bom = byte_at(bytes, 0) == 0xFE && byte_at(bytes, 1) == 0xFF;
    const bool le_bom = byte_at(bytes, 0) == 0xFF && byte_at(bytes, 1) == 0xFE;
    if (detect_bom && (be_bom || le_bom)) {
      big_endian = be_bom;
    }
    if ((big_endian && be_bom) || (!big_endian && le_bom)) {
      decoded.had_bom = true;
      bytes.remove_prefix(2);
    }
  }
  if (bytes.size() % 2 != 0) {
    decoded.error = "UTF-16 text with an odd number of bytes";
  }
  auto unit_at = [&](std::size_t at) {
    const auto first = static_cast<std::uint32_t>(byte_at(bytes, at));
    const auto second = static_cast<std::uint32_t>(byte_at(bytes, at + 1));
    return big_endian ? (first << 8U) | second : (second << 8U) | first;
  };
  for (std::size_t at = 0; at + 1 < bytes.size(); at += 2) {
    std::uint32_t unit = unit_at(at);
    if (unit >= 0xD800U && unit <= 0xDBFFU && at + 3 < bytes.size()) {
      const std::uint32_t low = unit_at(at + 2);
      if (low >= 0xDC00U && low <= 0xDFFFU) {
        unit = 0x10000U + ((unit - 0xD800U) << 10U) + (low - 0xDC00U);
        at += 2;
      }
    }
    append_utf8(decoded.text, unit);
  }
  return decoded;
}

}  // namespace

DecodedText decode_tag_text(std::string_view bytes, std::string_view encoding) {
  const std::string name = upper_without_spaces(encoding);
  if (name == "UTF-8" || name == "UTF8" || name == "US-ASCII" || name == "ASCII") {
    DecodedText decoded;
    if (bytes.starts_with("\xEF\xBB\xBF")) {
      decoded.had_bom = true;
      bytes.remove_prefix(3);
    }
    decoded.text = std::string(bytes);
    return decoded;
  }
  if (name == "ISO-8859-1" || name == "ISO8859-1" || name == "ISO_8859-1" || name == "LATIN1" ||
      name == "LATIN-1") {
    DecodedText decoded;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      append_utf8(decoded.text, byte_at(bytes, at));
    }
    return decoded;
  }
  if (name == "UTF-16" || name == "UTF16") {
    return decode_utf16(bytes, true, true);
  }
  if (name == "UTF-16BE" || name == "UTF-16LE") {
    return decode_utf16(bytes, name == "UTF-16BE", false);
  }
  DecodedText decoded;
  decoded.text = std::string(bytes);
  decoded.error = fmt::format(
      "unsupported Tag-File-Character-Encoding \"{}\" (UTF-8, ISO-8859-1 and UTF-16 are)",
      encoding);
  return decoded;
}

namespace {

struct AlgorithmName {
  std::string_view bag_name;
  const char* openssl_name;
  std::size_t hex_length;
};

constexpr std::array<AlgorithmName, 6> k_algorithms{{
    {"md5", "MD5", 32},
    {"sha1", "SHA1", 40},
    {"sha224", "SHA2-224", 56},
    {"sha256", "SHA2-256", 64},
    {"sha384", "SHA2-384", 96},
    {"sha512", "SHA2-512", 128},
}};

const AlgorithmName* find_algorithm(std::string_view name) {
  for (const auto& algorithm : k_algorithms) {
    if (algorithm.bag_name == name) {
      return &algorithm;
    }
  }
  return nullptr;
}

}  // namespace

bool is_bag_algorithm(std::string_view name) {
  return find_algorithm(name) != nullptr;
}

std::size_t bag_digest_hex_length(std::string_view name) {
  const auto* algorithm = find_algorithm(name);
  return algorithm == nullptr ? 0 : algorithm->hex_length;
}

struct MultiDigest::Impl {
  std::vector<std::pair<std::string, EvpMdCtxPtr>> contexts;
};

MultiDigest::MultiDigest(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MultiDigest::MultiDigest(MultiDigest&&) noexcept = default;
MultiDigest& MultiDigest::operator=(MultiDigest&&) noexcept = default;
MultiDigest::~MultiDigest() = default;

Result<MultiDigest> MultiDigest::create(const std::vector<std::string>& algorithms) {
  auto impl = std::make_unique<Impl>();
  for (const auto& name : algorithms) {
    const auto* algorithm = find_algorithm(name);
    if (algorithm == nullptr) {
      return make_error(Errc::invalid_argument, "unknown bag algorithm: " + name);
    }
    EvpMdPtr md(EVP_MD_fetch(nullptr, algorithm->openssl_name, nullptr));
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    if (!md || !context || EVP_DigestInit_ex2(context.get(), md.get(), nullptr) != 1) {
      return make_error(Errc::crypto,
                        fmt::format("OpenSSL cannot compute {}: {}", name, openssl_errors()));
    }
    impl->contexts.emplace_back(name, std::move(context));
  }
  return MultiDigest(std::move(impl));
}

void MultiDigest::update(std::span<const std::byte> data) {
  for (auto& [name, context] : m_impl->contexts) {
    // Fails only on a misuse of the context, which this class does not allow.
    EVP_DigestUpdate(context.get(), data.data(), data.size());
  }
}

std::map<std::string, std::string> MultiDigest::finish() {
  std::map<std::string, std::string> digests;
  for (auto& [name, context] : m_impl->contexts) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context.get(), digest.data(), &length);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += fmt::format("{:02x}", digest[i]);
    }
    digests[name] = std::move(hex);
  }
  return digests;
}

namespace {

// Decodes %0A, %0D and %25; another '%' stays as it is (with a warning: 1.0 says a literal % is
// written %25, but bags made by older tools do not always do so).
std::string percent_decode(std::string_view raw, std::vector<std::string>& warnings) {
  std::string out;
  bool warned = false;
  for (std::size_t at = 0; at < raw.size(); ++at) {
    if (raw[at] == '%') {
      const std::string code = upper_without_spaces(raw.substr(at + 1, 2));
      if (code == "0A" || code == "0D" || code == "25") {
        out.push_back(code == "0A" ? '\n' : code == "0D" ? '\r' : '%');
        at += 2;
        continue;
      }
      if (!warned) {
        warnings.emplace_back(
            "a '%' not written as %25 (BagIt 1.0 percent-encodes '%'); taken "
            "literally");
        warned = true;
      }
    }
    out.push_back(raw[at]);
  }
  return out;
}

}  // namespace

BagPath check_bag_path(std::string_view raw, bool percent_decoding) {
  BagPath result;
  std::string path = percent_decoding ? percent_decode(raw, result.warnings) : std::string(raw);
  if (path.find('\0') != std::string::npos) {
    result.error = "the path contains a NUL byte";
    return result;
  }
  if (path.find('\\') != std::string::npos) {
    result.warnings.emplace_back("the path contains a backslash (a Windows path?)");
  }
  bool dot_slash = false;
  while (path.starts_with("./")) {
    path.erase(0, 2);
    dot_slash = true;
  }
  if (dot_slash) {
    result.warnings.emplace_back("the path starts with \"./\"");
  }
  if (path.empty()) {
    result.error = "the path is empty";
    return result;
  }
  if (path.front() == '/') {
    result.error = "absolute path \"" + path + "\" points outside the bag";
    return result;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view component = std::string_view(path).substr(start, end - start);
    if (component == "..") {
      result.error = "path \"" + path + "\" uses \"..\" to point outside its directory";
      return result;
    }
    if (component.empty() || component == ".") {
      result.error = "path \"" + path + "\" has an empty or \".\" component";
      return result;
    }
    start = end + 1;
  }
  result.path = std::move(path);
  return result;
}

std::string percent_encode_bag_path(std::string_view path) {
  std::string out;
  for (const char c : path) {
    if (c == '%') {
      out += "%25";
    } else if (c == '\n') {
      out += "%0A";
    } else if (c == '\r') {
      out += "%0D";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string bag_name_problem(std::string_view name) {
  if (name.empty()) {
    return "the name is empty";
  }
  if (name.find_first_of(std::string_view("\\\r\n\0", 4)) != std::string_view::npos) {
    return "the name contains a backslash, CR, LF or NUL";
  }
  if (name.front() == '/') {
    return "the name is absolute";
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view component = name.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") {
      return "the name has an empty, \".\" or \"..\" component";
    }
    start = end + 1;
  }
  return {};
}

std::optional<PayloadOxum> parse_payload_oxum(std::string_view value) {
  const std::size_t dot = value.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  auto parse = [](std::string_view digits, std::uint64_t& out) {
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return error == std::errc() && end == digits.data() + digits.size();
  };
  PayloadOxum oxum;
  if (!parse(value.substr(0, dot), oxum.octets) || !parse(value.substr(dot + 1), oxum.files)) {
    return std::nullopt;
  }
  return oxum;
}

}  // namespace custody::internal
