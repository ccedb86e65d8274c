// SPDX-License-Identifier: Apache-2.0
// CMS SignedData and RFC 3161 tokens (seals, event and head signatures, package signatures,
// timestamps): verify_detached, verify_timestamp, timestamp_token_of, signature_value_of,
// attach_timestamp_token, and validate_signature (the CAdES levels, the revocation data read from
// SignedData.crls, OCSP responses in RevocationInfoChoice `other`; never online).
#include "fuzz_support.hpp"

#include <custody/cades.hpp>
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
  custody::SignatureCheck claimed;  // as if it verified, so that every later step runs
  claimed.signature_valid = true;
  claimed.chain_trusted = true;
  (void)custody::validate_signature(der, claimed, {}, {}, {}, {});
  return 0;
}
