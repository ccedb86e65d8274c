// SPDX-License-Identifier: Apache-2.0
// Owning pointers for OpenSSL objects, and the error queue as text.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace custody::internal {

// unique_ptr deleter calling an OpenSSL free function: std::unique_ptr<X509,
// OpenSslFree<X509_free>>.
template <auto free_function>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const {
    free_function(object);
  }
};

struct EvpMdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdPtr = std::unique_ptr<EVP_MD, EvpMdDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, OpenSslFree<CMS_ContentInfo_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using BioMethodPtr = std::unique_ptr<BIO_METHOD, OpenSslFree<BIO_meth_free>>;
// Frees the BIO and every BIO pushed onto it. A BIO that others push onto and pop from again
// (envelope.cpp's file BIOs under CMS_dataInit) needs BIO_free instead.
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;

// A stack that owns its certificates.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_pop_free(stack, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
// A stack that only borrows them (for OpenSSL calls that up-ref what they keep).
struct X509ViewDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using X509ViewPtr = std::unique_ptr<STACK_OF(X509), X509ViewDeleter>;

// Text that OpenSSL allocated (BN_bn2hex).
struct OpensslStringDeleter {
  void operator()(char* text) const { OPENSSL_free(text); }
};
using OpensslStringPtr = std::unique_ptr<char, OpensslStringDeleter>;

// Drains this thread's OpenSSL error queue into one line.
inline std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) {
      text += "; ";
    }
    text += buffer;
  }
  return text.empty() ? "no details from OpenSSL" : text;
}

}  // namespace custody::internal
