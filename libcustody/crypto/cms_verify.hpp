// SPDX-License-Identifier: Apache-2.0
// Trust in a signer, shared by Identity::check_can_sign (before signing) and verify_detached
// (after): trust anchors read from files, and a certificate chained to them.
#pragma once

#include "crypto/openssl_ptr.hpp"

#include <custody/error.hpp>

#include <openssl/x509.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace custody::internal {

// The certificates of the trust files (PEM bundles or DER), in order. Errc::not_found,
// Errc::corrupt as read_certificate_file.
Result<std::vector<X509Ptr>> read_trust_anchors(const std::vector<std::string>& paths);

// Chains `signer` to `anchors` at `when` (the present time if none), with `untrusted` as
// intermediates, for the purpose CMS_verify uses (S/MIME signing). Returns the problem, or an
// empty string when trusted.
std::string chain_problem(X509* signer,
                          const std::vector<X509Ptr>& anchors,
                          STACK_OF(X509) * untrusted,
                          std::optional<std::time_t> when);

}  // namespace custody::internal
