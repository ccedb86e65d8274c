// SPDX-License-Identifier: Apache-2.0
// RFC 3161 trusted time: requests, TSA replies over HTTP, and verification of tokens.
#include "crypto/http.hpp"
#include "crypto/openssl_ptr.hpp"
#include "crypto/openssl_util.hpp"

#include <custody/timestamp.hpp>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <utility>

namespace custody {

namespace {

// Owning pointers for the OpenSSL objects of this file.
template <auto free_function>
using Free = internal::OpenSslFree<free_function>;
using TsReqPtr = std::unique_ptr<TS_REQ, Free<TS_REQ_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, Free<TS_RESP_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, Free<TS_MSG_IMPRINT_free>>;
using TsTstInfoPtr = std::unique_ptr<TS_TST_INFO, Free<TS_TST_INFO_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, Free<TS_VERIFY_CTX_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, Free<X509_ALGOR_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, Free<PKCS7_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>>;
using internal::BignumPtr;
using internal::BioPtr;
using internal::CmsPtr;
using internal::crypto_error;
using internal::X509Ptr;
using internal::X509StorePtr;
using internal::X509ViewPtr;

struct OpensslDeleter {
  void operator()(void* memory) const { OPENSSL_free(memory); }
};
template <typename T>
using OpensslBuffer = std::unique_ptr<T, OpensslDeleter>;

constexpr std::size_t k_max_reply = 1024 * 1024;
constexpr std::size_t k_max_trust_file = 64 * 1024 * 1024;
constexpr const char* k_timestamp_token_oid = "1.2.840.113549.1.9.16.2.14";

tl::unexpected<Error> corrupt_error(std::string_view what) {
  return make_error(Errc::corrupt, fmt::format("{}: {}", what, internal::openssl_errors()));
}

// d2i/i2d take long/int lengths; tokens and CMS signatures are small.
Result<long> der_length(std::string_view der, std::string_view what) {
  if (der.empty() || der.size() > static_cast<std::size_t>(INT_MAX)) {
    return make_error(Errc::corrupt, fmt::format("{} is empty or too large", what));
  }
  return static_cast<long>(der.size());
}

template <typename T, typename Encode>
Result<std::string> to_der(const T* object, Encode encode, std::string_view what) {
  unsigned char* out = nullptr;
  const int size = encode(object, &out);
  if (size <= 0 || out == nullptr) {
    return crypto_error(fmt::format("cannot encode {}", what));
  }
  OpensslBuffer<unsigned char> owned(out);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
}

Result<std::string> sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return crypto_error("cannot compute SHA-256");
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string one_line_name(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string rfc3339(const ASN1_GENERALIZEDTIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return {};
  }
  char text[32];
  const std::size_t size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text, size);
}

// The lower-case hex of a (non-negative) ASN.1 INTEGER.
std::string integer_hex(const ASN1_INTEGER* value) {
  BignumPtr number(value != nullptr ? ASN1_INTEGER_to_BN(value, nullptr) : nullptr);
  if (!number) {
    return {};
  }
  OpensslBuffer<char> hex(BN_bn2hex(number.get()));
  std::string text = hex ? std::string(hex.get()) : std::string();
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return text;
}

Result<std::string> read_trust_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return make_error(Errc::not_found, fmt::format("TSA trust file {} does not exist", path));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > k_max_trust_file) {
    return make_error(Errc::io_error, fmt::format("cannot read TSA trust file {}", path));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) {
    return make_error(Errc::io_error, fmt::format("cannot read TSA trust file {}", path));
  }
  return text;
}

// A store of the certificates in the PEM files `paths`.
Result<X509StorePtr> trust_store(const std::vector<std::string>& paths) {
  X509StorePtr store(X509_STORE_new());
  if (!store) {
    return crypto_error("cannot make a certificate store");
  }
  for (const std::string& path : paths) {
    auto text = read_trust_file(path);
    CUSTODY_TRY(text);
    BioPtr bio = internal::memory_bio(*text);
    if (!bio) {
      return crypto_error("cannot make a BIO");
    }
    int count = 0;
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
      if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
        return crypto_error(fmt::format("cannot add a certificate of {}", path));
      }
      ++count;
    }
    ERR_clear_error();  // the end of the file reads as "no start line"
    if (count == 0) {
      return make_error(Errc::corrupt, fmt::format("TSA trust file {} holds no certificate", path));
    }
  }
  return store;
}

Result<CmsPtr> parse_signed_data(std::string_view cms_der) {
  auto length = der_length(cms_der, "the CMS signature");
  CUSTODY_TRY(length);
  const auto* in = reinterpret_cast<const unsigned char*>(cms_der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &in, *length));
  if (!cms) {
    return corrupt_error("not a CMS signature");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return make_error(Errc::corrupt, "the CMS structure is not a SignedData");
  }
  return cms;
}

Result<CMS_SignerInfo*> first_signer(CMS_ContentInfo* cms) {
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  if (signers == nullptr || sk_CMS_SignerInfo_num(signers) < 1) {
    return make_error(Errc::corrupt, "the CMS signature has no signer");
  }
  return sk_CMS_SignerInfo_value(signers, 0);
}

Result<Asn1ObjectPtr> timestamp_token_oid() {
  Asn1ObjectPtr oid(OBJ_txt2obj(k_timestamp_token_oid, 1));
  if (!oid) {
    return crypto_error("cannot make the id-aa-timeStampToken OID");
  }
  return oid;
}

Result<Pkcs7Ptr> parse_token(std::string_view token_der) {
  auto length = der_length(token_der, "the timestamp token");
  CUSTODY_TRY(length);
  const auto* in = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &in, *length));
  if (!token) {
    return corrupt_error("not an RFC 3161 timestamp token");
  }
  return token;
}

}  // namespace

Result<TimestampRequest> make_timestamp_request(std::string_view data) {
  auto digest = sha256(data);
  CUSTODY_TRY(digest);

  TsReqPtr request(TS_REQ_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  X509AlgorPtr algorithm(X509_ALGOR_new());
  if (!request || !imprint || !algorithm) {
    return crypto_error("cannot make a timestamp request");
  }
  X509_ALGOR_set_md(algorithm.get(), EVP_sha256());
  // The set functions copy their arguments.
  if (TS_REQ_set_version(request.get(), 1) != 1 ||
      TS_MSG_IMPRINT_set_algo(imprint.get(), algorithm.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(), reinterpret_cast<unsigned char*>(digest->data()),
                             static_cast<int>(digest->size())) != 1 ||
      TS_REQ_set_msg_imprint(request.get(), imprint.get()) != 1) {
    return crypto_error("cannot make a timestamp request");
  }

  BignumPtr random(BN_new());
  if (!random || BN_rand(random.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return crypto_error("cannot make a random nonce");
  }
  Asn1IntegerPtr nonce(BN_to_ASN1_INTEGER(random.get(), nullptr));
  if (!nonce || TS_REQ_set_nonce(request.get(), nonce.get()) != 1 ||
      TS_REQ_set_cert_req(request.get(), 1) != 1) {
    return crypto_error("cannot make a timestamp request");
  }

  auto der = to_der(request.get(), i2d_TS_REQ, "the timestamp request");
  CUSTODY_TRY(der);
  return TimestampRequest{std::move(*der), integer_hex(nonce.get())};
}

Result<std::string> request_timestamp(const std::string& url,
                                      const TimestampRequest& request,
                                      unsigned timeout_seconds) {
  internal::HttpExchange exchange;
  exchange.service = "the TSA";
  exchange.url = url;
  exchange.body = request.der;
  exchange.request_type = "application/timestamp-query";
  exchange.reply_types = {"application/timestamp-reply"};
  exchange.timeout_seconds = timeout_seconds;
  exchange.max_reply = k_max_reply;
  return internal::http_exchange(exchange);
}

Result<std::string> token_from_reply(std::string_view reply_der, const TimestampRequest& request) {
  auto reply_length = der_length(reply_der, "the timestamp reply");
  CUSTODY_TRY(reply_length);
  const auto* in = reinterpret_cast<const unsigned char*>(reply_der.data());
  TsRespPtr reply(d2i_TS_RESP(nullptr, &in, *reply_length));
  if (!reply) {
    return corrupt_error("the TSA's reply is not an RFC 3161 TimeStampResp");
  }

  // Pitfall: a reply exists even when the TSA refused; the status says whether it granted.
  TS_STATUS_INFO* info = TS_RESP_get_status_info(reply.get());
  const long status = info != nullptr ? ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info)) : -1;
  if (status != 0 && status != 1) {
    std::string text;
    if (const auto* texts = info != nullptr ? TS_STATUS_INFO_get0_text(info) : nullptr) {
      for (int i = 0; i < sk_ASN1_UTF8STRING_num(texts); ++i) {
        const ASN1_UTF8STRING* line = sk_ASN1_UTF8STRING_value(texts, i);
        if (!text.empty()) {
          text += "; ";
        }
        text.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(line)),
                    static_cast<std::size_t>(ASN1_STRING_length(line)));
      }
    }
    static constexpr const char* names[] = {"granted",           "grantedWithMods",
                                            "rejection",         "waiting",
                                            "revocationWarning", "revocationNotification"};
    const std::string name = status >= 0 && status < 6 ? names[status] : std::to_string(status);
    return make_error(Errc::crypto,
                      fmt::format("the TSA did not grant the timestamp (status {}): {}", name,
                                  text.empty() ? "no status text" : text));
  }
  if (TS_RESP_get_token(reply.get()) == nullptr) {
    return make_error(Errc::corrupt, "the TSA granted the timestamp but sent no token");
  }

  auto request_length = der_length(request.der, "the timestamp request");
  CUSTODY_TRY(request_length);
  const auto* request_in = reinterpret_cast<const unsigned char*>(request.der.data());
  TsReqPtr parsed_request(d2i_TS_REQ(nullptr, &request_in, *request_length));
  if (!parsed_request) {
    return make_error(Errc::invalid_argument, "the timestamp request cannot be parsed");
  }
  // Checks version, imprint and nonce (and the policy if the request named one). The signature is
  // checked later, against trusted TSA roots, by verify_timestamp.
  TsVerifyCtxPtr context(TS_REQ_to_TS_VERIFY_CTX(parsed_request.get(), nullptr));
  if (!context) {
    return crypto_error("cannot check the timestamp reply");
  }
  TS_VERIFY_CTX_set_flags(context.get(), TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE);
  if (TS_RESP_verify_response(context.get(), reply.get()) != 1) {
    return crypto_error("the timestamp reply does not match the request");
  }
  return to_der(TS_RESP_get_token(reply.get()), i2d_PKCS7, "the timestamp token");
}

Result<TimestampCheck> verify_timestamp(std::string_view token_der,
                                        std::string_view data,
                                        const std::vector<std::string>& tsa_trust) {
  auto token = parse_token(token_der);
  CUSTODY_TRY(token);
  TsTstInfoPtr info(PKCS7_to_TS_TST_INFO(token->get()));
  if (!info) {
    return corrupt_error("not an RFC 3161 timestamp token");
  }
  auto store = trust_store(tsa_trust);
  CUSTODY_TRY(store);
  auto digest = sha256(data);
  CUSTODY_TRY(digest);

  TimestampCheck check;
  check.time = rfc3339(TS_TST_INFO_get_time(info.get()));
  if (X509ViewPtr signers{PKCS7_get0_signers(token->get(), nullptr, 0)};
      signers && sk_X509_num(signers.get()) > 0) {
    check.tsa_subject = one_line_name(X509_get_subject_name(sk_X509_value(signers.get(), 0)));
  }
  ERR_clear_error();  // no certificate in the token is not an error here

  // A context per verdict. Pitfall: the contexts own what they are given (store, imprint), so
  // each gets its own reference or copy; and TS_VFY_SIGNATURE must be set explicitly, or any
  // token passes whatever the trust anchors.
  auto make_context = [&](unsigned flags) -> Result<TsVerifyCtxPtr> {
    TsVerifyCtxPtr context(TS_VERIFY_CTX_new());
    if (!context) {
      return crypto_error("cannot make a timestamp verification context");
    }
    TS_VERIFY_CTX_set_flags(context.get(), static_cast<int>(flags));
    if ((flags & TS_VFY_SIGNATURE) != 0) {
      if (X509_STORE_up_ref(store->get()) != 1) {
        return crypto_error("cannot share the certificate store");
      }
      TS_VERIFY_CTX_set_store(context.get(), store->get());
    }
    if ((flags & TS_VFY_IMPRINT) != 0) {
      auto* imprint = static_cast<unsigned char*>(OPENSSL_memdup(digest->data(), digest->size()));
      if (imprint == nullptr) {
        return crypto_error("out of memory");
      }
      TS_VERIFY_CTX_set_imprint(context.get(), imprint, static_cast<long>(digest->size()));
    }
    return context;
  };

  auto signature_context = make_context(TS_VFY_VERSION | TS_VFY_SIGNATURE);
  CUSTODY_TRY(signature_context);
  check.signature_valid = TS_RESP_verify_token(signature_context->get(), token->get()) == 1;
  const std::string signature_errors = check.signature_valid ? "" : internal::openssl_errors();

  auto imprint_context = make_context(TS_VFY_VERSION | TS_VFY_IMPRINT);
  CUSTODY_TRY(imprint_context);
  check.imprint_matches = TS_RESP_verify_token(imprint_context->get(), token->get()) == 1;
  ERR_clear_error();

  // The whole check as documented (version, signature, imprint at once) must agree.
  auto full_context = make_context(TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
  CUSTODY_TRY(full_context);
  const bool all_ok = TS_RESP_verify_token(full_context->get(), token->get()) == 1;
  ERR_clear_error();
  if (all_ok != (check.signature_valid && check.imprint_matches)) {
    return make_error(Errc::internal, "timestamp verdicts disagree");
  }

  std::vector<std::string> problems;
  if (!check.signature_valid) {
    problems.push_back(
        tsa_trust.empty()
            ? "the token's signature cannot be trusted: no TSA trust anchors given"
            : fmt::format("the token is not signed by a TSA that chains to the given trust "
                          "anchors ({})",
                          signature_errors));
  }
  if (!check.imprint_matches) {
    problems.push_back("the token is not over SHA-256 of this data");
  }
  for (const std::string& problem : problems) {
    check.detail += (check.detail.empty() ? "" : "; ") + problem;
  }
  return check;
}

Result<std::string> attach_timestamp_token(std::string_view cms_der, std::string_view token_der) {
  auto token = parse_token(token_der);
  CUSTODY_TRY(token);
  auto cms = parse_signed_data(cms_der);
  CUSTODY_TRY(cms);
  auto signer = first_signer(cms->get());
  CUSTODY_TRY(signer);
  auto oid = timestamp_token_oid();
  CUSTODY_TRY(oid);
  // Replace rather than stack a second token.
  for (int index = CMS_unsigned_get_attr_by_OBJ(*signer, oid->get(), -1); index >= 0;
       index = CMS_unsigned_get_attr_by_OBJ(*signer, oid->get(), -1)) {
    X509_ATTRIBUTE_free(CMS_unsigned_delete_attr(*signer, index));
  }
  // V_ASN1_SEQUENCE: the bytes are the complete DER of the value (the token's ContentInfo).
  if (CMS_unsigned_add1_attr_by_OBJ(*signer, oid->get(), V_ASN1_SEQUENCE, token_der.data(),
                                    static_cast<int>(token_der.size())) != 1) {
    return crypto_error("cannot add the timestamp token to the CMS signature");
  }
  return to_der(cms->get(), i2d_CMS_ContentInfo, "the CMS signature");
}

Result<std::optional<std::string>> timestamp_token_of(std::string_view cms_der) {
  auto cms = parse_signed_data(cms_der);
  CUSTODY_TRY(cms);
  auto signer = first_signer(cms->get());
  CUSTODY_TRY(signer);
  auto oid = timestamp_token_oid();
  CUSTODY_TRY(oid);
  const int index = CMS_unsigned_get_attr_by_OBJ(*signer, oid->get(), -1);
  if (index < 0) {
    return std::optional<std::string>();
  }
  X509_ATTRIBUTE* attribute = CMS_unsigned_get_attr(*signer, index);
  ASN1_TYPE* value = attribute != nullptr ? X509_ATTRIBUTE_get0_type(attribute, 0) : nullptr;
  if (value == nullptr || ASN1_TYPE_get(value) != V_ASN1_SEQUENCE) {
    return make_error(Errc::corrupt, "the id-aa-timeStampToken attribute holds no token");
  }
  auto der = to_der(value, i2d_ASN1_TYPE, "the timestamp token");
  CUSTODY_TRY(der);
  return std::optional<std::string>(std::move(*der));
}

Result<std::string> signature_value_of(std::string_view cms_der) {
  auto cms = parse_signed_data(cms_der);
  CUSTODY_TRY(cms);
  auto signer = first_signer(cms->get());
  CUSTODY_TRY(signer);
  const ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(*signer);
  if (value == nullptr || ASN1_STRING_length(value) <= 0) {
    return make_error(Errc::corrupt, "the CMS signer has no signature value");
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
}

FreshTimestamp obtain_timestamp(const std::string& url,
                                const TimestampRequest& request,
                                std::string_view data,
                                unsigned timeout_seconds) {
  FreshTimestamp fresh;
  auto reply = request_timestamp(url, request, timeout_seconds);
  Result<std::string> token =
      reply ? token_from_reply(*reply, request) : tl::unexpected(reply.error());
  if (!token) {
    fresh.problem = token.error().to_string();
    return fresh;
  }
  auto check = verify_timestamp(*token, data, {});
  fresh.time = check ? check->time : std::string();
  fresh.token = std::move(*token);
  return fresh;
}

}  // namespace custody
