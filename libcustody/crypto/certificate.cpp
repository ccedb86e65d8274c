// SPDX-License-Identifier: Apache-2.0
// Certificate facts (names, serial, validity, fingerprint, key type) and reading certificates
// from PEM bundles or DER files.
#include "crypto/certificate.hpp"

#include "core/posix_file.hpp"
#include "crypto/openssl_util.hpp"

#include <custody/hash.hpp>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdint>
#include <span>
#include <utility>

namespace custody {

namespace internal {

namespace {

constexpr std::size_t k_max_certificate_file = 64 * 1024 * 1024;  // system CA bundles are large

std::string serial_text(const X509* cert) {
  BignumPtr number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  OpensslStringPtr text(number ? BN_bn2hex(number.get()) : nullptr);
  if (!text) {
    ERR_clear_error();
    return {};
  }
  return lower(text.get());
}

}  // namespace

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253, but with UTF-8 left as it is: reports show "Müller", not "M\C3\BCller".
  constexpr unsigned long k_flags =
      XN_FLAG_RFC2253 & ~static_cast<unsigned long>(ASN1_STRFLGS_ESC_MSB);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, k_flags) < 0) {
    ERR_clear_error();
    return {};
  }
  return bio_text(bio.get());
}

std::string ec_curve_name(const EVP_PKEY* key) {
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
    ERR_clear_error();
    return "unknown curve";
  }
  const std::string name(group, length);
  if (name == "prime256v1" || name == "P-256") {
    return "P-256";
  }
  if (name == "secp384r1" || name == "P-384") {
    return "P-384";
  }
  if (name == "secp521r1" || name == "P-521") {
    return "P-521";
  }
  return name;
}

std::string key_type(const EVP_PKEY* key) {
  if (key == nullptr) {
    return {};
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    return "EC " + ec_curve_name(key);
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    return fmt::format("RSA {}", EVP_PKEY_get_bits(key));
  }
  if (EVP_PKEY_is_a(key, "RSA-PSS")) {
    return fmt::format("RSA-PSS {}", EVP_PKEY_get_bits(key));
  }
  if (EVP_PKEY_is_a(key, "ED25519")) {
    return "Ed25519";
  }
  if (EVP_PKEY_is_a(key, "ED448")) {
    return "Ed448";
  }
  if (EVP_PKEY_is_a(key, "X25519")) {
    return "X25519";
  }
  if (EVP_PKEY_is_a(key, "X448")) {
    return "X448";
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  return name != nullptr ? name : "unknown";
}

CertificateFacts certificate_facts(X509* cert) {
  CertificateFacts facts;
  facts.subject = name_text(X509_get_subject_name(cert));
  facts.issuer = name_text(X509_get_issuer_name(cert));
  facts.serial = serial_text(cert);
  facts.not_before = rfc3339(X509_get0_notBefore(cert));
  facts.not_after = rfc3339(X509_get0_notAfter(cert));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) {
    facts.sha256_fingerprint = to_hex(std::span<const std::uint8_t>(digest, length));
  }
  facts.key_type = key_type(X509_get0_pubkey(cert));
  ERR_clear_error();
  return facts;
}

Result<std::vector<X509Ptr>> read_certificate_file(const std::string& path, std::string_view what) {
  auto content = read_small_file(path, k_max_certificate_file);
  CUSTODY_TRY(content);
  std::vector<X509Ptr> certificates;
  BioPtr bio = memory_bio(*content);
  while (bio) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    certificates.push_back(std::move(cert));
  }
  if (certificates.empty()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(content->data());
    X509Ptr cert(d2i_X509(nullptr, &bytes, static_cast<long>(content->size())));
    if (cert) {
      certificates.push_back(std::move(cert));
    }
  }
  if (certificates.empty()) {
    // OpenSSL's error queue says only "no start line" or "wrong tag": not for people.
    ERR_clear_error();
    return make_error(Errc::corrupt,
                      fmt::format("{} ({}) holds no certificate in PEM or DER", path, what));
  }
  // The end of the PEM data leaves a "no start line" error behind.
  ERR_clear_error();
  return certificates;
}

}  // namespace internal

std::string common_name(const std::string& subject) {
  // RFC 2253 one-line subject: "CN=Erika Mustermann,O=BKA,C=DE".
  const std::size_t at = subject.find("CN=");
  if (at == std::string::npos) {
    return subject;
  }
  std::string name;
  for (std::size_t i = at + 3; i < subject.size(); ++i) {
    if (subject[i] == '\\' && i + 1 < subject.size()) {
      name += subject[++i];
    } else if (subject[i] == ',') {
      break;
    } else {
      name += subject[i];
    }
  }
  return name;
}

}  // namespace custody
