// SPDX-License-Identifier: Apache-2.0
// RFC 3161 trusted time: a timestamp request over SHA-256 of some bytes, sent to a time-stamping
// authority (TSA) over HTTP, the token checked against the request, verified later against
// trusted TSA roots, and carried in a CMS signature as the unsigned attribute id-aa-timeStampToken
// (the CAdES-T shape). A token verifies with stock OpenSSL:
//   openssl ts -verify -data SIGNATURE_VALUE -in TOKEN -token_in -CAfile tsa-ca.pem
#pragma once

#include <custody/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace custody {

struct TimestampRequest {
  std::string der;        // the TimeStampReq (DER)
  std::string nonce_hex;  // its nonce, lower-case hex
};

// A request for a timestamp of `data` (the bytes to be timestamped, e.g. a CMS signature value):
// SHA-256 imprint, a random 64-bit nonce, certReq = true. Errc::crypto if OpenSSL refuses.
Result<TimestampRequest> make_timestamp_request(std::string_view data);

// POSTs the request (Content-Type: application/timestamp-query) to `url` and returns the reply
// (DER), all within `timeout_seconds`. Errc::io_error for a timeout, a refused connection, an HTTP
// error status, a reply that is not application/timestamp-reply or larger than 1 MiB.
Result<std::string> request_timestamp(const std::string& url,
                                      const TimestampRequest& request,
                                      unsigned timeout_seconds = 30);

// Checks a reply against its request: the status is granted or grantedWithMods (else Errc::crypto
// with the TSA's status text), the nonce and the imprint match (else Errc::crypto); Errc::corrupt
// if the reply cannot be parsed. Returns the TimeStampToken (DER ContentInfo).
Result<std::string> token_from_reply(std::string_view reply_der, const TimestampRequest& request);

// A token asked of the TSA at `url` now for `data` (the request made for it), checked against the
// request and read for its time. Never an Error: a TSA that is down, slow or refuses must not cost
// the seal, event or package being made; `problem` says why there is no token, and the caller
// records its work "not timestamped".
struct FreshTimestamp {
  std::string token;    // DER TimeStampToken; empty when there is none
  std::string time;     // its genTime
  std::string problem;  // why there is no token
};
FreshTimestamp obtain_timestamp(const std::string& url,
                                const TimestampRequest& request,
                                std::string_view data,
                                unsigned timeout_seconds);

// The verdicts on a token. Each is data, never an Error.
struct TimestampCheck {
  bool signature_valid = false;  // the token is signed by a TSA certificate chaining to the anchors
  bool imprint_matches = false;  // the token is over SHA-256 of `data`
  std::string time;              // genTime, RFC 3339 UTC
  std::string tsa_subject;       // one-line subject of the TSA certificate (if present)
  std::string detail;            // plain-language failure; empty if all is well
};

// Verifies a token over SHA-256 of `data` against the PEM CA files in `tsa_trust`: the signature
// by a TSA certificate (extendedKeyUsage timeStamping) that chains to them, and the imprint.
// Errc::corrupt: not a token, or a trust file without certificates; Errc::not_found: a trust
// file is missing.
Result<TimestampCheck> verify_timestamp(std::string_view token_der,
                                        std::string_view data,
                                        const std::vector<std::string>& tsa_trust);

// Adds `token_der` as the unsigned attribute id-aa-timeStampToken (1.2.840.113549.1.9.16.2.14) of
// the first SignerInfo of the CMS SignedData `cms_der` and returns the new CMS (DER). The
// signature itself is unchanged and still verifies. Errc::corrupt for unparsable input.
Result<std::string> attach_timestamp_token(std::string_view cms_der, std::string_view token_der);

// The id-aa-timeStampToken of the first SignerInfo of `cms_der`, if it has one.
Result<std::optional<std::string>> timestamp_token_of(std::string_view cms_der);

// The bytes a timestamp of a CMS signature covers: the first SignerInfo's signature value.
Result<std::string> signature_value_of(std::string_view cms_der);

}  // namespace custody
