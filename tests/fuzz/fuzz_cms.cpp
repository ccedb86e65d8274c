// SPDX-License-Identifier: Apache-2.0
// CMS SignedData and RFC 3161 tokens (seals, event and head signatures, package signatures,
// timestamps): verify_detached, verify_timestamp, timestamp_token_of, signature_value_of,
// attach_timestamp_token.
#include "fuzz_support.hpp"

#include <custody/identity.hpp>
#include <custody/timestamp.hpp>

CUSTODY_FUZZ_TARGET(cms)(const std::uint8_t* data, std::size_t size) {
  const std::string_view der = custody::fuzz::as_text(data, size);
  (void)custody::verify_detached(der, "content", {});
  (void)custody::verify_timestamp(der, "content", {});
  if (auto token = custody::timestamp_token_of(der); token && *token) {
    (void)custody::verify_timestamp(**token, "content", {});
  }
  if (auto value = custody::signature_value_of(der)) {
    (void)custody::attach_timestamp_token(der, der);
  }
  return 0;
}
