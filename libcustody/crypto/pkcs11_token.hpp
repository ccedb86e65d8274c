// SPDX-License-Identifier: Apache-2.0
// A private key that never leaves its PKCS#11 token (smart card, USB token, HSM): the module is
// loaded, the token found by its RFC 7512 URI, the user logged in with the PIN, and the key used
// through C_Sign, C_Decrypt and C_DeriveKey only. pkcs11.h stays in the .cpp: its compatibility
// macros would rename ordinary identifiers elsewhere.
#pragma once

#include <custody/error.hpp>
#include <custody/identity.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace custody::internal {

// Mechanisms the key glue asks for (PKCS#11 v2.40 values, so that no caller needs pkcs11.h).
enum class TokenMechanism : unsigned long {
  rsa_pkcs = 0x1,       // CKM_RSA_PKCS: PKCS#1 v1.5 over a DigestInfo, or its decryption
  rsa_x509 = 0x3,       // CKM_RSA_X_509: raw RSA, the padding done by OpenSSL (PSS, OAEP)
  rsa_pkcs_oaep = 0x9,  // CKM_RSA_PKCS_OAEP with SHA-1 (OpenSSL's RSA_PKCS1_OAEP_PADDING)
  ecdsa = 0x1041,       // CKM_ECDSA over a digest: r || s
};

class TokenKey {
 public:
  enum class Type : unsigned char { rsa, ec };

  struct Impl;
  explicit TokenKey(std::unique_ptr<Impl> impl);
  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;
  ~TokenKey();

  Type type() const;
  bool can_sign() const;
  bool can_decrypt() const;  // RSA key transport: CKA_DECRYPT
  bool can_derive() const;   // EC key agreement: CKA_DERIVE
  // "private key 'seal-2026' on token 'LKA-Seal'", for messages.
  const std::string& description() const;
  // The certificate the token holds with the key (same CKA_ID), DER; empty if none.
  const std::string& certificate_der() const;
  // The public half the token reports: the RSA modulus (big-endian), or the EC point of the
  // public key object with the same id (uncompressed); empty when the token has none.
  const std::string& public_value() const;

  // The token's operations. One at a time: a PKCS#11 session is not shared between threads.
  Result<std::string> sign(TokenMechanism mechanism, std::string_view data);
  Result<std::string> decrypt(TokenMechanism mechanism, std::string_view data);
  // ECDH (CKM_ECDH1_DERIVE, no KDF): the shared secret with `peer_point` (uncompressed).
  Result<std::string> derive_ecdh(std::string_view peer_point, std::size_t secret_size);

  // OpenSSL's callbacks can only return failure: they leave the reason here, and the caller
  // that saw OpenSSL fail takes it (once).
  void set_error(Error error);
  std::optional<Error> take_error();

 private:
  std::unique_ptr<Impl> m_impl;
};

// Opens the key `options.key_path` names (a PKCS#11 URI): loads the module (the URI's
// module-path, else `options.pkcs11_module`, else p11-kit's proxy), finds the one token and the
// one private key that match, and logs in with the PIN from the passphrase options or the URI's
// pin-source. Errc::invalid_argument (exit 64): a bad URI, a module that does not exist, a wrong
// PIN, a locked token, no or several matching keys, an object that is not a private key, a key
// that is neither RSA nor EC. Errc::io_error (exit 74): no matching token present, a token that
// was removed or failed. Each error says what to do next.
Result<std::shared_ptr<TokenKey>> open_token_key(const IdentityOptions& options);

}  // namespace custody::internal
