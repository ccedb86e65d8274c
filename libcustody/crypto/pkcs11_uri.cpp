// SPDX-License-Identifier: Apache-2.0
// RFC 7512 parsing: "pkcs11:" path-attributes separated by ';', then '?' and query attributes
// separated by '&', every value percent-decoded.
#include "crypto/pkcs11_uri.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace custody::internal {

namespace {

constexpr std::string_view k_scheme = "pkcs11:";

constexpr std::array<std::string_view, 12> k_path_attributes = {"token",
                                                                "manufacturer",
                                                                "serial",
                                                                "model",
                                                                "object",
                                                                "type",
                                                                "slot-id",
                                                                "slot-description",
                                                                "slot-manufacturer",
                                                                "library-version",
                                                                "library-manufacturer",
                                                                "library-description"};

constexpr std::array<std::string_view, 3> k_object_types = {"private", "public", "cert"};

tl::unexpected<Error> uri_error(std::string_view text, const std::string& why) {
  Error error{Errc::invalid_argument,
              fmt::format("{} is not a usable PKCS#11 URI: {}", printable_pkcs11_uri(text), why),
              {},
              {},
              0,
              "name the key as in RFC 7512, e.g. "
              "'pkcs11:token=LKA-Seal;object=seal-2026;type=private'; `pkcs11-tool --module "
              "MODULE --list-objects --login` shows what a token holds"};
  return tl::unexpected(std::move(error));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const int lower_case = std::tolower(static_cast<unsigned char>(c));
  if (lower_case >= 'a' && lower_case <= 'f') {
    return lower_case - 'a' + 10;
  }
  return -1;
}

std::optional<std::string> percent_decoded(std::string_view value) {
  std::string decoded;
  decoded.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      decoded.push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size()) {
      return std::nullopt;
    }
    const int high = hex_value(value[i + 1]);
    const int low = hex_value(value[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return decoded;
}

template <std::size_t N>
bool is_one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::ranges::find(names, name) != names.end();
}

// Splits `part` at `separator` and hands each name=value pair, decoded, to `take`.
template <typename Take>
Result<void> for_each_attribute(std::string_view text,
                                std::string_view part,
                                char separator,
                                Take&& take) {
  while (!part.empty()) {
    const std::size_t end = part.find(separator);
    const std::string_view item = part.substr(0, end);
    part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
    if (item.empty()) {
      continue;
    }
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return uri_error(text, fmt::format("'{}' is not name=value", item));
    }
    const std::string name(item.substr(0, equals));
    auto value = percent_decoded(item.substr(equals + 1));
    if (!value) {
      return uri_error(text, fmt::format("the value of '{}' has a bad %-escape", name));
    }
    CUSTODY_TRY(take(name, std::move(*value)));
  }
  return {};
}

Result<void> take_path_attribute(std::string_view text,
                                 Pkcs11Uri& uri,
                                 const std::string& name,
                                 std::string value) {
  if (name == "id") {
    if (uri.id) {
      return uri_error(text, "'id' is given twice");
    }
    uri.id = std::move(value);
    return {};
  }
  if (!is_one_of(name, k_path_attributes) && !name.starts_with("x-")) {
    return uri_error(text, fmt::format("'{}' is not an attribute RFC 7512 defines", name));
  }
  if (name == "type" && !is_one_of(value, k_object_types) && value != "secret-key" &&
      value != "data") {
    return uri_error(text, fmt::format("type '{}' is none of private, public, cert", value));
  }
  if (!uri.path.emplace(name, std::move(value)).second) {
    return uri_error(text, fmt::format("'{}' is given twice", name));
  }
  return {};
}

Result<void> take_query_attribute(std::string_view text,
                                  Pkcs11Uri& uri,
                                  const std::string& name,
                                  std::string value) {
  if (name == "pin-value") {
    Error error{Errc::invalid_argument,
                "a PIN in the key's URI (pin-value) would show in `ps` and in the shell history",
                {},
                {},
                0,
                "give the PIN with --passphrase-file, --passphrase-env or --passphrase-prompt, "
                "or point the URI's pin-source at a file only you can read"};
    return tl::unexpected(std::move(error));
  }
  std::string* target = name == "module-path"   ? &uri.module_path
                        : name == "module-name" ? &uri.module_name
                        : name == "pin-source"  ? &uri.pin_source
                                                : nullptr;
  if (target == nullptr && !name.starts_with("x-")) {
    return uri_error(text, fmt::format("'{}' is not a query attribute RFC 7512 defines", name));
  }
  if (target != nullptr) {
    if (!target->empty()) {
      return uri_error(text, fmt::format("'{}' is given twice", name));
    }
    *target = std::move(value);
  }
  return {};
}

}  // namespace

std::string Pkcs11Uri::attribute(const std::string& name) const {
  const auto found = path.find(name);
  return found == path.end() ? std::string() : found->second;
}

bool is_pkcs11_uri(std::string_view text) {
  return text.size() >= k_scheme.size() &&
         std::equal(k_scheme.begin(), k_scheme.end(), text.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text) {
  if (!is_pkcs11_uri(text)) {
    return uri_error(text, "it does not start with pkcs11:");
  }
  const std::string_view rest = text.substr(k_scheme.size());
  const std::size_t question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  Pkcs11Uri uri;
  CUSTODY_TRY(for_each_attribute(text, path, ';', [&](const std::string& name, std::string value) {
    return take_path_attribute(text, uri, name, std::move(value));
  }));
  CUSTODY_TRY(for_each_attribute(text, query, '&', [&](const std::string& name, std::string value) {
    return take_query_attribute(text, uri, name, std::move(value));
  }));
  return uri;
}

std::string printable_pkcs11_uri(std::string_view text) {
  std::string printable(text);
  const std::size_t at = printable.find("pin-value=");
  if (at != std::string::npos) {
    const std::size_t end = printable.find_first_of("&;", at);
    printable.replace(at, (end == std::string::npos ? printable.size() : end) - at,
                      "pin-value=***");
  }
  return printable;
}

}  // namespace custody::internal
