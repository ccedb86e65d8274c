// SPDX-License-Identifier: Apache-2.0
// What the crypto files share about OpenSSL beyond owning pointers (openssl_ptr.hpp): the error
// queue as an Error or with its reason codes, BIOs over memory, borrowed certificate stacks and
// ASN.1 times as RFC 3339 text.
#pragma once

#include "crypto/openssl_ptr.hpp"

#include <custody/error.hpp>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custody::internal {

// The error queue as text, and whether a given reason was among the errors (to tell a changed
// content from an altered signature, for instance).
struct DrainedErrors {
  std::string text;
  std::vector<std::pair<int, int>> codes;  // (library, reason)

  bool has(int library, int reason) const;
  bool has_library(int library) const;
};

// Drains this thread's error queue; the text is "no details from OpenSSL" when it was empty.
DrainedErrors drain_errors();

// Errc::crypto: "`what`: <the drained error queue>".
tl::unexpected<Error> crypto_error(std::string_view what);

// A read-only BIO over memory that is not copied: BIO_new_mem_buf takes an int length, which
// would cap the content at 2 GiB. The state must outlive the BIO.
struct ViewState {
  const char* data = nullptr;
  std::size_t left = 0;
};
Result<BioPtr> view_bio(std::string_view content, ViewState& state);

// A read-only memory BIO over `bytes`, which must outlive it; for small files only (keys,
// certificates), where the int length of BIO_new_mem_buf is no limit. Empty when out of memory.
BioPtr memory_bio(const std::string& bytes);

// Everything written to a memory BIO, as a string.
std::string bio_text(BIO* bio);

// A borrowing OpenSSL stack of `certificates`.
Result<X509ViewPtr> stack_view(const std::vector<X509Ptr>& certificates);

// RFC 3339 UTC ("2025-01-31T12:00:00Z"); empty for a missing or unreadable ASN.1 time.
std::string rfc3339(const std::tm& time);
std::string rfc3339(const ASN1_TIME* time);
std::string rfc3339(std::time_t time);

// ASCII lower case ("ABCDEF" gives "abcdef").
std::string lower(std::string text);

}  // namespace custody::internal
