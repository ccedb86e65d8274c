// SPDX-License-Identifier: Apache-2.0
// What other parts of libcustody need from identity.cpp without widening the public API: the key
// and certificate inside an Identity (the envelope code decrypts with them), certificate files,
// and the facts a report shows about a certificate.
#pragma once

#include "crypto/openssl_ptr.hpp"

#include <custody/identity.hpp>

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

// Borrowed pointers, valid while the Identity lives.
struct IdentityAccess {
  static EVP_PKEY* key(const Identity& identity);
  static X509* certificate(const Identity& identity);
};

// Certificates from a PEM bundle (or one DER certificate); `what` names the file's role in
// messages ("recipient certificate"). Errc::not_found, Errc::corrupt if it holds none.
Result<std::vector<X509Ptr>> read_certificate_file(const std::string& path, std::string_view what);

CertificateFacts certificate_facts(X509* cert);

// One-line RFC 2253 text of a name ("CN=Test Examiner,O=Custody Test Lab,C=DE").
std::string name_text(const X509_NAME* name);

}  // namespace custody::internal
