// SPDX-License-Identifier: Apache-2.0
// CAdES baseline levels (ETSI EN 319 122-1) of our detached CMS signatures, and their validation
// in the terms of ETSI EN 319 102-1, which European validators (the EU's DSS) report:
//   B-B   signed attributes content-type, message-digest, signing-time and ESS
//         signing-certificate-v2; the signer's certificate and chain (Identity::sign_detached)
//   B-T   + an RFC 3161 signature time-stamp (unsigned attribute id-aa-signatureTimeStampToken,
//         1.2.840.113549.1.9.16.2.14) over the SignerInfo's signature value: proof that the
//         signature existed at that time
//   B-LT  + the revocation status of the signer's certificate and of every CA certificate above
//         it but the root, in SignedData.crls: CRLs as CertificateList, OCSP responses as
//         RevocationInfoChoice `other` (id-ri-ocsp-response, 1.3.6.1.5.5.7.16.2), so a
//         validator years later needs no network
// Everything added is outside the signed attributes: the signature value never changes, and stock
//   openssl cms -verify -binary -inform DER -in SIG -content DATA -CAfile CA
// keeps verifying it.
#pragma once

#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/timestamp.hpp>

#include <string>
#include <vector>

namespace custody {

// How far to take a signature past B-B, at signing.
struct CadesOptions {
  std::string tsa_url;        // B-T: ask this TSA for the signature time-stamp
  unsigned tsa_timeout = 30;  // seconds
  // B-LT: revocation data brought as files (an offline lab): CRLs (DER or PEM) and OCSP
  // responses (DER, as `openssl ocsp -respout` writes them). Each must be about the signer's
  // certificate or a CA certificate of its chain (a CRL of its issuer, an OCSP response for it),
  // or it is refused.
  std::vector<std::string> revocation_files;
  // B-LT: revocation data already in hand (DER), as CadesSignature::revocation_der gives it, used
  // like revocation_files: one fetch serves every signature a signer makes in one step.
  std::vector<std::string> revocation_der;
  // B-LT: fetch the status of the signer and of each CA of its chain (but the root) over the
  // network once the signature is time-stamped: OCSP from each certificate's Authority
  // Information Access, else a CRL from its CRL distribution points.
  bool fetch_revocation = true;
  unsigned fetch_timeout = 15;  // seconds, per request
  // Set by options_after: why an earlier signature of the same step fell short, which holds for
  // this one too (the TSA or responder is not asked again), so it is said for this one as well.
  std::vector<std::string> earlier_shortfalls;
  std::string earlier_tsa_problem;  // the TSA failed for it: not asked again, this problem kept
};

struct CadesSignature {
  std::string der;                          // the CMS SignedData, extended
  std::string level = "B-B";                // "B-B", "B-T" or "B-LT": what was reached
  std::string timestamp_time;               // genTime of the signature time-stamp (B-T and up)
  std::string timestamp_problem;            // why a TSA that was asked gave none
  std::vector<std::string> revocation;      // what was embedded ("OCSP response from URL: good")
  std::vector<std::string> revocation_der;  // the same CRLs and OCSP responses, DER
  // Why the level is lower than asked ("no TSA answered: ...", "no revocation data: the
  // responder at URL is down"); the signature is still good to write at the level reached.
  std::vector<std::string> shortfalls;
};

// Takes the B-B signature `cms_der` (made by Identity::sign_detached) to B-T and B-LT as
// `options` allow (B-LT: a status for the signer and each CA of its chain below the root). A TSA
// or responder that is down costs the level, never the signature: it is said in `shortfalls`.
// Errc::invalid_argument when the revocation data says the signer's (or a CA's)
// certificate is revoked ("... was revoked on T; nothing was signed"): the caller must not write
// the signature. Errc::not_found / Errc::corrupt for a revocation file that is missing or not a
// CRL or OCSP response; Errc::invalid_argument for one about another certificate.
Result<CadesSignature> extend_signature(std::string cms_der, const CadesOptions& options);

// The options for the next signature the same signer makes in the same step (an event and its
// tree head, a seal and its event, the events of a package and its signature): the revocation
// data the earlier one got is reused instead of fetched again, and a TSA or responder that just
// failed is not asked again (no second wait for a timeout); its shortfalls carry over.
CadesOptions options_after(const CadesOptions& options,
                           const std::vector<std::string>& revocation_der,
                           const std::vector<std::string>& shortfalls,
                           const std::string& timestamp_problem);
inline CadesOptions options_after(const CadesOptions& options, const CadesSignature& earlier) {
  return options_after(options, earlier.revocation_der, earlier.shortfalls,
                       earlier.timestamp_problem);
}

// The standard words of EN 319 102-1 for one signature, beside our plain-language verdict.
struct EtsiValidation {
  std::string indication;      // "TOTAL-PASSED", "TOTAL-FAILED" or "INDETERMINATE"
  std::string sub_indication;  // "REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE" (a CA of
                               // the chain revoked before any proof), "TRY_LATER", "NO_POE",
                               // "OUT_OF_BOUNDS_NO_POE", "NO_CERTIFICATE_CHAIN_FOUND",
                               // "HASH_FAILURE"; empty for TOTAL-PASSED
  std::string level;           // the CAdES level found: "B-B", "B-T", "B-LT"
  // Proof of existence: the earliest trusted time at which the signature is proven to exist,
  // and what proves it ("signature time-stamp by CN=TSA"); empty when nothing does.
  std::string proof_time;
  std::string proof;
  // The signer's revocation status, in plain words ("not revoked (OCSP response of
  // 2026-12-03T10:00:00Z by CN=OCSP)"), and where it came from; then each CA's of the chain
  // below the root ("; CA Sub-CA: not revoked (CRL of ...)").
  std::string revocation;
  std::string revoked_at;  // RFC 3339 UTC when the signer's (or, REVOKED_CA_NO_POE, the CA's)
                           // certificate is revoked
  std::string detail;      // why the indication is not TOTAL-PASSED, in plain words
};

// " [ETSI EN 319 102-1: TOTAL-PASSED]", " [ETSI EN 319 102-1: INDETERMINATE/TRY_LATER]": the
// standard words, to put after our own; empty when there is no indication.
std::string etsi_words(const std::string& indication, const std::string& sub_indication);
std::string etsi_words(const EtsiValidation& validation);

// How revocation is checked at verification: the data embedded in the signature first; with
// `online`, the signer's OCSP responder or CRL distribution point is asked now when the embedded
// data does not settle it (never silently: without it, the indication says what is missing).
struct RevocationPolicy {
  bool online = false;
  unsigned timeout = 15;  // seconds, per request
};

// Validates `cms_der` (whose cryptographic check is `check`, from verify_detached) per EN 319
// 102-1: the chain, the proof of existence from its signature time-stamp (verified against
// `tsa_trust`) or from `external_proof_time` (an RFC 3161 token over the whole signature file,
// already verified by the caller; empty: none), and the revocation status of the signer and of
// each CA of its chain below the root. A signer revoked before the proven time fails
// (TOTAL-FAILED/REVOKED); revoked after it passes, naming the proof; revoked with no proof of
// existence, or with no revocation data, is INDETERMINATE, never a pass. A CA revoked with no
// proof of existence before is INDETERMINATE/REVOKED_CA_NO_POE. Errc::corrupt only when `cms_der`
// cannot be read at all.
Result<EtsiValidation> validate_signature(std::string_view cms_der,
                                          const SignatureCheck& check,
                                          const std::vector<std::string>& tsa_trust,
                                          const std::string& external_proof_time,
                                          const std::string& external_proof,
                                          const RevocationPolicy& policy);

}  // namespace custody
