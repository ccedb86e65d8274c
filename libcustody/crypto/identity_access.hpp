// SPDX-License-Identifier: Apache-2.0
// What other parts of libcustody need from an Identity without widening the public API: the key
// and certificate inside it (the envelope code decrypts with them). Certificate files and the
// facts a report shows about a certificate are in certificate.hpp, included for the same users.
#pragma once

#include "crypto/certificate.hpp"
#include "crypto/openssl_ptr.hpp"

#include <custody/identity.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace custody::internal {

// Borrowed pointers, valid while the Identity lives.
struct IdentityAccess {
  static EVP_PKEY* key(const Identity& identity);
  static X509* certificate(const Identity& identity);
};

}  // namespace custody::internal
