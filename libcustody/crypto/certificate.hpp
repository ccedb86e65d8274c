// SPDX-License-Identifier: Apache-2.0
// Certificates inside libcustody: reading certificate files, the facts a report shows about a
// certificate, and the type of a key.
#pragma once

#include "crypto/openssl_ptr.hpp"

#include <custody/error.hpp>
#include <custody/identity.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

// Certificates from a PEM bundle (or one DER certificate); `what` names the file's role in
// messages ("recipient certificate"). Errc::not_found, Errc::corrupt if it holds none.
Result<std::vector<X509Ptr>> read_certificate_file(const std::string& path, std::string_view what);

CertificateFacts certificate_facts(X509* cert);

// One-line RFC 2253 text of a name ("CN=Test Examiner,O=Custody Test Lab,C=DE").
std::string name_text(const X509_NAME* name);

// "EC P-256", "RSA 3072", "RSA-PSS 2048", "Ed25519", ...; empty for no key.
std::string key_type(const EVP_PKEY* key);

// The curve of an EC key: "P-256", "P-384", "P-521", OpenSSL's name of another group, or
// "unknown curve".
std::string ec_curve_name(const EVP_PKEY* key);

}  // namespace custody::internal
