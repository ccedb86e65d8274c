// SPDX-License-Identifier: Apache-2.0
// RFC 7512 PKCS#11 URIs ("pkcs11:token=LKA-Seal;object=seal-2026;type=private?pin-source=..."):
// how a key on a smart card, USB token or HSM is named wherever a key file could be.
#pragma once

#include <custody/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace custody::internal {

struct Pkcs11Uri {
  // Path attributes, percent-decoded: token, manufacturer, serial, model, object, type, slot-id,
  // slot-description, slot-manufacturer, library-manufacturer, library-description,
  // library-version. `id` is kept apart because it is binary.
  std::map<std::string, std::string> path;
  std::optional<std::string> id;
  // Query attributes.
  std::string module_path;  // the module to load, else --pkcs11-module, else p11-kit's proxy
  std::string module_name;  // informational: p11-kit's proxy serves every registered module
  std::string pin_source;   // a file holding the PIN ("file:/path" or "/path")

  // The value of a path attribute, or empty.
  std::string attribute(const std::string& name) const;
};

// Whether `text` is meant as a PKCS#11 URI rather than a file name.
bool is_pkcs11_uri(std::string_view text);

// Parses `text`. Errc::invalid_argument for a malformed URI, an attribute RFC 7512 does not
// define (a typo would otherwise widen the match to any key), an attribute given twice, and
// pin-value: a PIN on the command line shows in `ps` and in the shell history.
Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text);

// `text` with its pin-value (if any) masked, fit for messages.
std::string printable_pkcs11_uri(std::string_view text);

}  // namespace custody::internal
