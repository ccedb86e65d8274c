// SPDX-License-Identifier: Apache-2.0
// Revocation data: CRLs and OCSP responses read, checked, fetched and carried in CMS
// (revocation.hpp).
#include "crypto/revocation.hpp"

#include "crypto/certificate.hpp"
#include "crypto/http.hpp"
#include "crypto/openssl_util.hpp"

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace custody::internal {

namespace revocation_detail {

template <auto free_function>
using Free = OpenSslFree<free_function>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Free<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Free<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Free<OCSP_CERTID_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Free<OCSP_REQUEST_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;
using DistPointsPtr = std::unique_ptr<CRL_DIST_POINTS, Free<CRL_DIST_POINTS_free>>;

struct OpensslStringStackDeleter {
  void operator()(STACK_OF(OPENSSL_STRING) * stack) const { X509_email_free(stack); }
};
using OpensslStringStackPtr = std::unique_ptr<STACK_OF(OPENSSL_STRING), OpensslStringStackDeleter>;

constexpr std::size_t k_max_ocsp_response = 1024 * 1024;
constexpr std::size_t k_max_crl = 32 * 1024 * 1024;

// id-ri-ocsp-response (RFC 5940): 1.3.6.1.5.5.7.16.2, as a complete DER OBJECT IDENTIFIER.
constexpr std::string_view k_ocsp_format_oid{"\x06\x08\x2b\x06\x01\x05\x05\x07\x10\x02", 10};

// --- A little DER, for the one field OpenSSL keeps opaque (RevocationInfoChoice `other`). ---

struct Tlv {
  unsigned char tag = 0;
  std::string_view whole;    // tag, length and content
  std::string_view content;  // the content octets
};

// Reads one definite-length TLV from the front of `in` and advances past it.
std::optional<Tlv> read_tlv(std::string_view& in) {
  if (in.size() < 2) {
    return std::nullopt;
  }
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(in[at]); };
  std::size_t header = 2;
  std::size_t length = byte(1);
  if ((length & 0x80U) != 0) {
    const std::size_t octets = length & 0x7fU;
    if (octets == 0 || octets > 4 || in.size() < 2 + octets) {
      return std::nullopt;  // indefinite (BER) or absurd
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8U) | byte(2 + i);
    }
    header += octets;
  }
  if (in.size() - header < length) {
    return std::nullopt;
  }
  Tlv tlv{byte(0), in.substr(0, header + length), in.substr(header, length)};
  in.remove_prefix(header + length);
  return tlv;
}

std::string encode_tlv(unsigned char tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t length = content.size();
  if (length < 0x80) {
    out.push_back(static_cast<char>(length));
  } else {
    std::string octets;
    for (std::size_t rest = length; rest != 0; rest >>= 8U) {
      octets.insert(octets.begin(), static_cast<char>(rest & 0xffU));
    }
    out.push_back(static_cast<char>(0x80U | octets.size()));
    out += octets;
  }
  out += content;
  return out;
}

std::vector<Tlv> children(std::string_view content) {
  std::vector<Tlv> items;
  while (!content.empty()) {
    auto item = read_tlv(content);
    if (!item) {
      return {};
    }
    items.push_back(*item);
  }
  return items;
}

// The fields of the SignedData inside a ContentInfo, and the ContentInfo's type OID.
struct SignedDataFields {
  std::string_view content_type;
  std::vector<Tlv> fields;
};

Result<SignedDataFields> signed_data_fields(std::string_view cms_der) {
  const auto bad = [] {
    return make_error(Errc::corrupt, "the CMS signature is not DER-encoded SignedData");
  };
  std::string_view in = cms_der;
  auto outer = read_tlv(in);
  if (!outer || outer->tag != 0x30 || !in.empty()) {
    return bad();
  }
  std::vector<Tlv> info = children(outer->content);
  if (info.size() != 2 || info[1].tag != 0xa0) {
    return bad();
  }
  std::string_view explicit_content = info[1].content;
  auto signed_data = read_tlv(explicit_content);
  if (!signed_data || signed_data->tag != 0x30 || !explicit_content.empty()) {
    return bad();
  }
  SignedDataFields result{info[0].whole, children(signed_data->content)};
  if (result.fields.size() < 4 || result.fields.back().tag != 0x31) {
    return bad();
  }
  return result;
}

// DER orders the elements of a SET OF by their encodings.
std::string der_set_content(std::vector<std::string> elements) {
  std::sort(elements.begin(), elements.end(), [](const std::string& a, const std::string& b) {
    const std::size_t common = std::min(a.size(), b.size());
    const int order = std::memcmp(a.data(), b.data(), common);
    return order != 0 ? order < 0 : a.size() < b.size();
  });
  std::string content;
  for (const std::string& element : elements) {
    content += element;
  }
  return content;
}

// --- Reading and checking CRLs and OCSP responses. ---

std::string time_text(const ASN1_TIME* time) {
  return time != nullptr ? rfc3339(time) : std::string();
}

Result<CertificateStatus> status_from_ocsp(OCSP_RESPONSE* response,
                                           std::string_view der,
                                           X509* cert,
                                           X509* issuer) {
  const int response_status = OCSP_response_status(response);
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return make_error(Errc::corrupt, fmt::format("the OCSP response is an error ({})",
                                                 OCSP_response_status_str(response_status)));
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(response));
  OcspCertIdPtr id(OCSP_cert_to_id(nullptr, cert, issuer));
  if (!basic || !id) {
    return crypto_error("cannot read the OCSP response");
  }
  int status = V_OCSP_CERTSTATUS_UNKNOWN;
  int reason = 0;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    ERR_clear_error();
    return make_error(Errc::invalid_argument,
                      "the OCSP response is about another certificate than the signer's");
  }
  // The responder is the issuer or one it certified for OCSP (OCSP_basic_verify checks the
  // delegation), judged when the response was produced: a responder certificate that expired
  // since does not undo an answer it gave while valid.
  X509StorePtr store(X509_STORE_new());
  X509ViewPtr untrusted(sk_X509_new_null());
  if (!store || !untrusted || X509_STORE_add_cert(store.get(), issuer) != 1 ||
      sk_X509_push(untrusted.get(), issuer) <= 0) {
    return crypto_error("cannot check the OCSP response");
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  std::tm produced{};
  if (const ASN1_GENERALIZEDTIME* produced_at = OCSP_resp_get0_produced_at(basic.get());
      produced_at != nullptr && ASN1_TIME_to_tm(produced_at, &produced) == 1) {
    X509_VERIFY_PARAM_set_time(param, timegm(&produced));
  }
  if (OCSP_basic_verify(basic.get(), untrusted.get(), store.get(), 0) <= 0) {
    const DrainedErrors errors = drain_errors();
    return make_error(Errc::invalid_argument,
                      fmt::format("the OCSP response is not signed by the issuer of the signer's "
                                  "certificate or a responder it certified ({})",
                                  errors.text));
  }
  CertificateStatus result;
  result.from_ocsp = true;
  result.der = std::string(der);
  result.kind = status == V_OCSP_CERTSTATUS_GOOD      ? CertificateStatus::Kind::good
                : status == V_OCSP_CERTSTATUS_REVOKED ? CertificateStatus::Kind::revoked
                                                      : CertificateStatus::Kind::unknown;
  result.revoked_at = time_text(revoked_at);
  result.this_update = time_text(this_update);
  result.next_update = time_text(next_update);
  X509* responder = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &responder, untrusted.get()) == 1 &&
      responder != nullptr) {
    result.issuer = name_text(X509_get_subject_name(responder));
  } else {
    result.issuer = "an unnamed responder";
  }
  ERR_clear_error();
  return result;
}

Result<CertificateStatus> status_from_crl(X509_CRL* crl,
                                          std::string_view der,
                                          X509* cert,
                                          X509* issuer) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("the CRL of {} is not about the signer's certificate, which "
                    "{} issued",
                    name_text(X509_CRL_get_issuer(crl)), name_text(X509_get_issuer_name(cert))));
  }
  if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
    ERR_clear_error();
    return make_error(Errc::invalid_argument,
                      "the CRL is not signed by the issuer of the signer's certificate");
  }
  CertificateStatus result;
  result.der = std::string(der);
  result.this_update = time_text(X509_CRL_get0_lastUpdate(crl));
  result.next_update = time_text(X509_CRL_get0_nextUpdate(crl));
  result.issuer = name_text(X509_CRL_get_issuer(crl));
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_cert(crl, &entry, cert) == 1 && entry != nullptr) {
    result.kind = CertificateStatus::Kind::revoked;
    result.revoked_at = time_text(X509_REVOKED_get0_revocationDate(entry));
  } else {
    result.kind = CertificateStatus::Kind::good;
  }
  ERR_clear_error();
  return result;
}

// A CRL as DER, from DER or PEM; null if the bytes are neither.
X509CrlPtr parse_crl(std::string_view data, std::string& der) {
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &in, static_cast<long>(data.size())));
  if (crl && in == reinterpret_cast<const unsigned char*>(data.data()) + data.size()) {
    der = std::string(data);
    return crl;
  }
  const std::string copy(data);
  BioPtr bio = memory_bio(copy);
  crl.reset(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) {
    return nullptr;
  }
  const int length = i2d_X509_CRL(crl.get(), nullptr);
  if (length <= 0) {
    return nullptr;
  }
  der.assign(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_CRL(crl.get(), &out);
  return crl;
}

// --- Fetching. ---

std::vector<std::string> ocsp_urls(X509* cert) {
  std::vector<std::string> urls;
  OpensslStringStackPtr stack(X509_get1_ocsp(cert));
  for (int i = 0; stack && i < sk_OPENSSL_STRING_num(stack.get()); ++i) {
    urls.emplace_back(sk_OPENSSL_STRING_value(stack.get(), i));
  }
  return urls;
}

std::vector<std::string> crl_urls(X509* cert) {
  std::vector<std::string> urls;
  DistPointsPtr points(static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    if (point->distpoint == nullptr || point->distpoint->type != 0) {
      continue;
    }
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type == GEN_URI) {
        const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
        urls.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<std::size_t>(ASN1_STRING_length(uri)));
      }
    }
  }
  ERR_clear_error();
  return urls;
}

Result<std::string> request_ocsp(const std::string& url,
                                 X509* cert,
                                 X509* issuer,
                                 unsigned timeout_seconds) {
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, cert, issuer);
  if (!request || id == nullptr || OCSP_request_add0_id(request.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    return crypto_error("cannot make an OCSP request");
  }
  if (OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1) {
    return crypto_error("cannot make an OCSP request");
  }
  const int length = i2d_OCSP_REQUEST(request.get(), nullptr);
  if (length <= 0) {
    return crypto_error("cannot encode an OCSP request");
  }
  HttpExchange exchange;
  exchange.service = "the OCSP responder";
  exchange.url = url;
  exchange.body.assign(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(exchange.body.data());
  i2d_OCSP_REQUEST(request.get(), &out);
  exchange.request_type = "application/ocsp-request";
  exchange.reply_types = {"application/ocsp-response"};
  exchange.timeout_seconds = timeout_seconds;
  exchange.max_reply = k_max_ocsp_response;
  auto reply = http_exchange(exchange);
  CUSTODY_TRY(reply);
  // A responder that echoes no nonce may answer from a cache (RFC 5019); one that echoes a
  // different nonce answers someone else.
  const auto* in = reinterpret_cast<const unsigned char*>(reply->data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &in, static_cast<long>(reply->size())));
  if (response && OCSP_response_status(response.get()) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
    if (basic && OCSP_check_nonce(request.get(), basic.get()) == 0) {
      return make_error(Errc::io_error,
                        fmt::format("the OCSP responder at {} answered another request", url));
    }
  }
  ERR_clear_error();
  return reply;
}

Result<std::string> download_crl(const std::string& url, unsigned timeout_seconds) {
  HttpExchange exchange;
  exchange.service = "the CRL distribution point";
  exchange.url = url;
  exchange.timeout_seconds = timeout_seconds;
  exchange.max_reply = k_max_crl;
  return http_exchange(exchange);
}

}  // namespace revocation_detail

using namespace revocation_detail;

std::string describe_status_source(const CertificateStatus& status) {
  return fmt::format("{} of {} by {}", status.from_ocsp ? "OCSP response" : "CRL",
                     status.this_update, status.issuer);
}

namespace revocation_detail {

// Longer chains than this are not followed (real ones have two to four certificates).
constexpr std::size_t k_max_chain_length = 8;

bool is_self_signed(X509* cert) {
  return X509_check_issued(cert, cert) == X509_V_OK;
}

// The certificate among `certs` whose key verifies the last of `chain` (and is not already in
// it); null when none does.
X509Ptr issuer_among(STACK_OF(X509) * certs, const std::vector<X509Ptr>& chain) {
  X509* subject = chain.back().get();
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
    X509* cert = sk_X509_value(certs, i);
    const bool in_chain = std::any_of(chain.begin(), chain.end(), [cert](const X509Ptr& link) {
      return X509_cmp(cert, link.get()) == 0;
    });
    if (!in_chain && X509_check_issued(cert, subject) == X509_V_OK &&
        X509_verify(subject, X509_get0_pubkey(cert)) == 1) {
      X509_up_ref(cert);
      return X509Ptr(cert);
    }
  }
  return nullptr;
}

}  // namespace revocation_detail

Result<SignerCertificates> signer_certificates(CMS_ContentInfo* cms) {
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  if (signers == nullptr || sk_CMS_SignerInfo_num(signers) < 1) {
    return make_error(Errc::corrupt, "the CMS signature has no signer");
  }
  CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signers, 0);
  X509StackPtr certs(CMS_get1_certs(cms));
  SignerCertificates result;
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    X509* cert = sk_X509_value(certs.get(), i);
    if (CMS_SignerInfo_cert_cmp(signer_info, cert) == 0) {
      X509_up_ref(cert);
      result.signer.reset(cert);
      break;
    }
  }
  if (!result.signer) {
    ERR_clear_error();
    return make_error(Errc::corrupt, "the signer's certificate is not in the CMS signature");
  }
  result.self_signed = is_self_signed(result.signer.get());
  X509_up_ref(result.signer.get());
  result.chain.emplace_back(result.signer.get());
  while (result.chain.size() < k_max_chain_length && !is_self_signed(result.chain.back().get())) {
    X509Ptr issuer = issuer_among(certs.get(), result.chain);
    if (!issuer) {
      break;
    }
    result.chain.push_back(std::move(issuer));
  }
  result.ends_at_root = is_self_signed(result.chain.back().get());
  if (result.chain.size() > 1) {
    X509_up_ref(result.chain[1].get());
    result.issuer.reset(result.chain[1].get());
  }
  ERR_clear_error();
  return result;
}

Result<CertificateStatus> status_from_data(std::string_view data, X509* cert, X509* issuer) {
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &in, static_cast<long>(data.size())));
  if (response && in == reinterpret_cast<const unsigned char*>(data.data()) + data.size()) {
    return status_from_ocsp(response.get(), data, cert, issuer);
  }
  ERR_clear_error();
  std::string der;
  X509CrlPtr crl = parse_crl(data, der);
  ERR_clear_error();
  if (!crl) {
    return make_error(Errc::corrupt, "neither a CRL (DER or PEM) nor an OCSP response (DER)");
  }
  return status_from_crl(crl.get(), der, cert, issuer);
}

namespace revocation_detail {

// The answers fetched in this process, by certificate: a log's many events by one signer ask
// the responder once.
std::mutex& fetched_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, CertificateStatus>& fetched_statuses() {
  static std::map<std::string, CertificateStatus> statuses;
  return statuses;
}

std::string certificate_key(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

Result<CertificateStatus> fetch_status_uncached(X509* cert, X509* issuer, unsigned timeout_seconds);

}  // namespace revocation_detail

Result<CertificateStatus> fetch_status(X509* cert, X509* issuer, unsigned timeout_seconds) {
  const std::string key = certificate_key(cert);
  {
    std::lock_guard lock(fetched_mutex());
    if (auto found = fetched_statuses().find(key);
        !key.empty() && found != fetched_statuses().end()) {
      return found->second;
    }
  }
  auto status = fetch_status_uncached(cert, issuer, timeout_seconds);
  if (status && !key.empty()) {
    std::lock_guard lock(fetched_mutex());
    fetched_statuses()[key] = *status;
  }
  return status;
}

Result<CertificateStatus> revocation_detail::fetch_status_uncached(X509* cert,
                                                                   X509* issuer,
                                                                   unsigned timeout_seconds) {
  const std::vector<std::string> ocsp = ocsp_urls(cert);
  const std::vector<std::string> crls = crl_urls(cert);
  if (ocsp.empty() && crls.empty()) {
    return make_error(Errc::not_found,
                      fmt::format("the certificate of {} names no OCSP responder and no CRL "
                                  "distribution point",
                                  common_name(name_text(X509_get_subject_name(cert)))));
  }
  std::vector<std::string> failures;
  for (const std::string& url : ocsp) {
    auto reply = request_ocsp(url, cert, issuer, timeout_seconds);
    auto status = reply ? status_from_data(*reply, cert, issuer) : tl::unexpected(reply.error());
    if (status) {
      return status;
    }
    failures.push_back(status.error().message);
  }
  for (const std::string& url : crls) {
    auto reply = download_crl(url, timeout_seconds);
    auto status = reply ? status_from_data(*reply, cert, issuer) : tl::unexpected(reply.error());
    if (status) {
      return status;
    }
    failures.push_back(fmt::format("the CRL from {}: {}", url, status.error().message));
  }
  return make_error(Errc::io_error, fmt::format("{}", fmt::join(failures, "; ")));
}

Result<std::string> embed_revocation_data(std::string_view cms_der,
                                          const std::vector<CertificateStatus>& statuses) {
  auto fields = signed_data_fields(cms_der);
  CUSTODY_TRY(fields);
  // Every RevocationInfoChoice: a CRL is a CertificateList as it is; an OCSP response is
  // other [1] IMPLICIT OtherRevocationInfoFormat { id-ri-ocsp-response, OCSPResponse }.
  std::vector<std::string> elements;
  std::vector<Tlv>& items = fields->fields;
  auto crls = std::find_if(items.begin(), items.end(), [](const Tlv& t) { return t.tag == 0xa1; });
  if (crls != items.end()) {
    for (const Tlv& element : children(crls->content)) {
      elements.emplace_back(element.whole);
    }
  }
  for (const CertificateStatus& status : statuses) {
    std::string element = status.from_ocsp
                              ? encode_tlv(0xa1, std::string(k_ocsp_format_oid) + status.der)
                              : status.der;
    if (std::find(elements.begin(), elements.end(), element) == elements.end()) {
      elements.push_back(std::move(element));
    }
  }
  const std::string crls_field = encode_tlv(0xa1, der_set_content(std::move(elements)));
  std::string signed_data;
  bool placed = false;
  for (const Tlv& item : items) {
    if (item.tag == 0xa1) {
      signed_data += crls_field;
      placed = true;
      continue;
    }
    if (item.tag == 0x31 && &item == &items.back() && !placed) {
      signed_data += crls_field;  // crls come right before signerInfos
      placed = true;
    }
    signed_data += item.whole;
  }
  const std::string explicit_content = encode_tlv(0xa0, encode_tlv(0x30, signed_data));
  return encode_tlv(0x30, std::string(fields->content_type) + explicit_content);
}

Result<EmbeddedRevocation> embedded_revocation_data(std::string_view cms_der) {
  auto fields = signed_data_fields(cms_der);
  CUSTODY_TRY(fields);
  EmbeddedRevocation found;
  for (const Tlv& item : fields->fields) {
    if (item.tag != 0xa1) {
      continue;
    }
    for (const Tlv& element : children(item.content)) {
      if (element.tag == 0x30) {
        found.crls.emplace_back(element.whole);
      } else if (element.tag == 0xa1 &&
                 element.content.substr(0, k_ocsp_format_oid.size()) == k_ocsp_format_oid) {
        std::string_view rest = element.content.substr(k_ocsp_format_oid.size());
        if (auto response = read_tlv(rest); response && rest.empty()) {
          found.ocsp_responses.emplace_back(response->whole);
        }
      }
    }
  }
  return found;
}

}  // namespace custody::internal
