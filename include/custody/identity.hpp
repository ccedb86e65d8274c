// SPDX-License-Identifier: Apache-2.0
// Signing identities (a private key with its X.509 certificate) and detached CMS signatures
// (RFC 5652 SignedData) made and checked with them. A signature made here verifies with stock
// OpenSSL, so a receiver needs none of our tools:
//   openssl cms -verify -binary -inform DER -in SIG -content CONTENT -CAfile CA -out /dev/null
// Keys are ECDSA P-256/P-384 or RSA: OpenSSL 3.0 cannot sign CMS with Ed25519.
#pragma once

#include <custody/error.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace custody {

namespace internal {
struct IdentityAccess;
}

// Where the passphrase of an encrypted key (or the password of a PKCS#12 file) comes from. Never
// the command line: it would show in `ps` and in the shell history.
struct PassphraseSource {
  enum class Kind : std::uint8_t { none, file, environment, prompt };
  Kind kind = Kind::none;
  std::string value;  // file path (its first line is the passphrase) or environment variable name
};

struct IdentityOptions {
  // PEM (plain or encrypted), PKCS#12 (.p12/.pfx: the cert comes from it), or an RFC 7512
  // PKCS#11 URI ("pkcs11:token=LKA-Seal;object=seal-2026;type=private") for a key that stays on
  // its smart card, token or HSM: the certificate then comes from cert_path or from the token
  // (the object with the key's id), and the passphrase source gives the token's PIN.
  std::string key_path;
  // The PKCS#11 module for a key URI without module-path; empty: p11-kit's proxy (every module
  // registered on the system).
  std::string pkcs11_module;
  std::string cert_path;   // PEM; may be empty for PKCS#12. Further certificates in it are chain.
  std::string chain_path;  // optional PEM bundle of intermediate certificates to include
  PassphraseSource passphrase;
  bool allow_insecure_key_permissions = false;
  // PEM CA bundles the signer must chain to (--trust); checked by Identity::check_can_sign before
  // anything is signed. None: the chain is not checked, only the certificate itself.
  std::vector<std::string> signer_trust_files;
};

// What a report says about a certificate.
struct CertificateFacts {
  std::string subject, issuer, serial;  // one-line RFC 2253 strings, serial in hex
  std::string not_before, not_after;    // RFC 3339 UTC
  std::string sha256_fingerprint;       // lower-case hex of the DER
  std::string key_type;                 // "EC P-256", "EC P-384", "RSA 3072"
};

// The common name of a one-line RFC 2253 subject ("CN=Erika Mustermann,O=BKA,C=DE" gives
// "Erika Mustermann"), for people; the whole subject when it has none.
std::string common_name(const std::string& subject);

// A private key and its certificate, ready to sign. Movable, not copyable.
class Identity {
 public:
  // Errc::not_found: a file does not exist. Errc::invalid_argument: a key file readable by group
  // or others ("private key K is readable by other users (mode 0644); chmod 600 K, or use
  // --allow-insecure-key-permissions"), an encrypted key without a passphrase source, a wrong
  // passphrase ("the passphrase does not open K"), a key that does not match the certificate, an
  // Ed25519/X25519 key ("Ed25519 cannot sign CMS in OpenSSL 3.0: use ECDSA P-256/P-384 or RSA").
  // Errc::corrupt: a file that cannot be parsed. The prompt reads /dev/tty without echo.
  // An expired or not yet valid certificate is loaded: the verifier judges it at signing time.
  static Result<Identity> load(const IdentityOptions& options);

  Identity(Identity&&) noexcept;
  Identity& operator=(Identity&&) noexcept;
  ~Identity();

  const CertificateFacts& certificate() const;

  // Identities also decrypt what was encrypted to their certificate (envelope.hpp), which uses
  // the key through this library-internal accessor.
  friend struct internal::IdentityAccess;

  // Whether a signature made now would verify: the certificate is within its validity period,
  // may sign (key usage digitalSignature or nonRepudiation, extended key usage emailProtection
  // or none) and, when trust files were given, chains to them now. Every operation that signs
  // calls this before it changes anything, because a signature by an invalid certificate in an
  // append-only log would fail verification for ever. Errc::invalid_argument says why and what
  // to do ("the certificate of CN=X expired on ...").
  Result<void> check_can_sign() const;

  // A detached CMS SignedData (DER) over `content`: SHA-256 (SHA-384 for P-384, SHA-512 for
  // P-521), binary (no canonicalisation of line endings), with the signingTime attribute, the
  // signer certificate and the chain. Errc::crypto if OpenSSL refuses.
  Result<std::string> sign_detached(std::string_view content) const;

 private:
  struct Impl;
  explicit Identity(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// The verdicts on a detached CMS signature. Each is data, never an Error.
struct SignatureCheck {
  bool signature_valid = false;  // the content matches the signature (cryptographically)
  bool chain_trusted = false;    // the signer chains to a trust anchor, checked at signing time
  std::string trust_problem;     // why not trusted ("no trust anchors given", "certificate has
                                 // expired", "unable to get local issuer certificate", ...)
  bool valid_at_signing_time = false;  // the signing time is within the signer cert's validity
  std::string signing_time;            // RFC 3339 UTC from the signingTime attribute, or empty
  CertificateFacts signer;             // empty if the signer's certificate is not at hand
  std::string detail;                  // plain-language summary of a failure; empty if all is well
};

// Checks that each file holds at least one certificate (PEM or DER), before it is used as a trust
// anchor: Errc::not_found names a missing file, Errc::invalid_argument one that holds no
// certificate (a key, a request, a typo): a mistake of the user's, not a verdict.
Result<void> check_trust_files(const std::vector<std::string>& paths);

// Checks `cms_der`, a detached signature, over `content`. `trust_files`: PEM bundles of trusted CA
// (or self-signed signer) certificates; with none, the signature is still checked and the chain
// is reported "no trust anchors given". The chain is validated at the signing time, so that a
// certificate that expired after signing still verifies, and one that was not yet or no longer
// valid when signing does not; signer certificates with emailProtection or no extended key usage
// pass the purpose check (codeSigning alone does not). "Signed by an untrusted key"
// (signature_valid && !chain_trusted) is distinct from "signature invalid" (!signature_valid).
// The signing time is the signer's own claim (a signed attribute); an RFC 3161 timestamp over the
// signature is what proves it to a third party.
// Errc::corrupt: `cms_der` is not a CMS SignedData, or a trust file holds no certificate;
// Errc::unsupported: the signature embeds its content; Errc::not_found: a trust file is missing.
Result<SignatureCheck> verify_detached(std::string_view cms_der,
                                       std::string_view content,
                                       const std::vector<std::string>& trust_files);

}  // namespace custody
