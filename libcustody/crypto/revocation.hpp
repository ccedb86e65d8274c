// SPDX-License-Identifier: Apache-2.0
// Revocation status of a certificate from CRLs and OCSP responses: read, checked against the
// certificate's issuer, fetched from the URLs the certificate names, and carried inside a CMS
// SignedData (CAdES B-LT: SignedData.crls, OCSP responses as RevocationInfoChoice `other`).
#pragma once

#include "crypto/openssl_ptr.hpp"

#include <custody/error.hpp>

#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace custody::internal {

// What one CRL or OCSP response says about one certificate, once its signature was checked
// against the certificate's issuer (or an OCSP responder the issuer delegated).
struct CertificateStatus {
  enum class Kind : std::uint8_t { good, revoked, unknown };
  Kind kind = Kind::unknown;
  bool from_ocsp = false;
  std::string der;          // the CRL (CertificateList) or the OCSPResponse, DER
  std::string revoked_at;   // RFC 3339 UTC, when revoked
  std::string this_update;  // when the status was known to hold (RFC 3339 UTC)
  std::string next_update;  // when newer information is promised; may be empty
  std::string issuer;       // who signed it (the responder's or the CRL issuer's name)
};

// "OCSP response of 2026-12-03T10:00:00Z by CN=OCSP" / "CRL of 2026-12-01T00:00:00Z by CN=CA".
std::string describe_status_source(const CertificateStatus& status);

// The signer's certificate of `cms` and the chain above it, as found among the CMS certificates.
// Each issuer is the certificate whose key verifies the one below it: a certificate that only
// looks like the issuer (same name and key identifier, another key) could otherwise sign a forged
// "good" OCSP response for a revoked signer.
struct SignerCertificates {
  X509Ptr signer;
  X509Ptr issuer;  // chain[1]: null when it is not there, or the signer is self-signed
  bool self_signed = false;
  // The signer first, then each certificate's issuer, up to a self-signed one (a root, needing no
  // revocation status) or to one whose issuer is not in the signature.
  std::vector<X509Ptr> chain;
  bool ends_at_root = false;  // chain.back() is self-signed
};
Result<SignerCertificates> signer_certificates(CMS_ContentInfo* cms);

// A CRL or OCSP response (DER; a CRL also PEM) about `cert`, checked: signed by `issuer` (an OCSP
// response also by a responder with id-kp-OCSPSigning certified by `issuer`), naming `cert`.
// Errc::corrupt: neither a CRL nor an OCSP response, or an OCSP error status;
// Errc::invalid_argument: not about this certificate or not signed by its issuer.
Result<CertificateStatus> status_from_data(std::string_view data, X509* cert, X509* issuer);

// Asks the network for the status of `cert`: OCSP at the responders of its Authority
// Information Access, else the CRLs of its CRL distribution points. Errc::not_found: the
// certificate names neither; Errc::io_error: none answered (each failure named).
Result<CertificateStatus> fetch_status(X509* cert, X509* issuer, unsigned timeout_seconds);

// Adds the CRLs and OCSP responses to SignedData.crls of `cms_der` (which must not already hold
// OCSP responses of ours). The signature is untouched.
Result<std::string> embed_revocation_data(std::string_view cms_der,
                                          const std::vector<CertificateStatus>& statuses);

// The CRLs and OCSP responses in SignedData.crls (DER each), unchecked.
struct EmbeddedRevocation {
  std::vector<std::string> crls;
  std::vector<std::string> ocsp_responses;
};
Result<EmbeddedRevocation> embedded_revocation_data(std::string_view cms_der);

}  // namespace custody::internal
