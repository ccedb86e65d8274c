// SPDX-License-Identifier: Apache-2.0
// The secrets behind a signing key: key and passphrase files that nobody else may read, and the
// passphrase from a file, an environment variable or the terminal, wiped when no longer needed.
#pragma once

#include <custody/error.hpp>
#include <custody/identity.hpp>

#include <openssl/crypto.h>

#include <cstddef>
#include <optional>
#include <string>

namespace custody::internal {

constexpr std::size_t k_max_passphrase = 1023;  // what fits OpenSSL's PEM_BUFSIZE buffer

// A passphrase that is wiped from memory when no longer needed.
class Secret {
 public:
  Secret() { m_text.reserve(k_max_passphrase + 1); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { OPENSSL_cleanse(m_text.data(), m_text.capacity()); }

  // Appends without reallocating, so that no unwiped copy is left behind.
  bool push_back(char c) {
    if (m_text.size() >= k_max_passphrase) {
      return false;
    }
    m_text.push_back(c);
    return true;
  }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

// Reads a secret file (a private key, a passphrase), refusing one that others may read or write
// unless `allow_insecure`: a signature is only worth something if nobody else could have made it.
// `what` names it in messages ("private key", "passphrase file"); `limit` bounds its size.
Result<std::string> read_secret_file(const std::string& path,
                                     const char* what,
                                     std::size_t limit,
                                     bool allow_insecure);

// Puts the passphrase for `key_path` from `source` into `secret`: the first line of a file, an
// environment variable, or typed at the terminal with echo off. Errc::invalid_argument when
// `source` is none.
Result<void> obtain_passphrase(const PassphraseSource& source,
                               const std::string& key_path,
                               bool allow_insecure,
                               Secret& secret);

// A passphrase that does not open the key at `path`, with the next step.
tl::unexpected<Error> wrong_passphrase(const std::string& path);

// The state of OpenSSL's passphrase callback: the passphrase is fetched only when a key turns
// out to be encrypted, and at most once.
struct PassphraseRequest {
  const PassphraseSource* source = nullptr;
  const std::string* key_path = nullptr;
  bool allow_insecure = false;
  bool asked = false;
  std::optional<Error> error;
  Secret secret;
};

// An OpenSSL pem_password_cb; `user` is a PassphraseRequest.
int passphrase_callback(char* buffer, int size, int rwflag, void* user);

}  // namespace custody::internal
