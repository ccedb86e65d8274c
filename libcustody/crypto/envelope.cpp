// SPDX-License-Identifier: Apache-2.0
// Segmented, detached CMS AuthEnvelopedData (AES-256-GCM): the format is described in
// include/custody/envelope.hpp.
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "crypto/identity_access.hpp"
#include "crypto/openssl_ptr.hpp"
#include "crypto/openssl_util.hpp"
#include "crypto/token_evp.hpp"

#include <custody/envelope.hpp>
#include <custody/hash.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <utility>

namespace custody {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

template <auto free_function>
using Free = internal::OpenSslFree<free_function>;
using internal::BignumPtr;
using internal::BioMethodPtr;
using internal::CmsPtr;
using internal::crypto_error;
using internal::X509Ptr;
// BIO_free, not internal::BioPtr's BIO_free_all: CipherChain frees what CMS_dataInit pushed on
// top of our BIOs.
using SingleBioPtr = std::unique_ptr<BIO, Free<BIO_free>>;

constexpr std::size_t k_io_buffer = std::size_t{1} << 20U;  // file reads and writes
constexpr std::size_t k_max_envelope_file = 1024 * 1024;    // a .p7m is a few hundred bytes
constexpr std::size_t k_max_index_file = 64 * 1024 * 1024;
constexpr std::uint64_t k_min_rsa_bits = 2048;
constexpr const char* k_cipher_name = "aes-256-gcm";
constexpr const char* k_format_name = "custody-envelope";
constexpr int k_format_version = 1;

tl::unexpected<Error> error_with_hint(Errc code, std::string message, std::string hint) {
  auto error = make_error(code, std::move(message));
  error.value().hint = std::move(hint);
  return error;
}

// ---- File names ----------------------------------------------------------------------------

std::string ciphertext_path(const std::string& base, std::size_t segment) {
  return fmt::format("{}.enc.{:03}", base, segment);
}
std::string envelope_path(const std::string& base, std::size_t segment) {
  return ciphertext_path(base, segment) + ".p7m";
}
std::string index_path(const std::string& base) {
  return base + ".enc.json";
}
std::string file_name(const std::string& path) {
  return fs::path(path).filename().string();
}

// The base NAME of a package from its index, its base, or any of its files.
std::string package_base(const std::string& input) {
  static const std::regex k_index(R"((.*)\.enc\.json)");
  static const std::regex k_segment(R"((.*)\.enc\.[0-9]{3,}(\.p7m)?)");
  std::smatch match;
  if (std::regex_match(input, match, k_index) || std::regex_match(input, match, k_segment)) {
    return match[1].str();
  }
  return input;
}

// ---- BIOs over our files: buffered, hashing, with errors kept as Errors -------------------

// The ciphertext side of an encryption: OpenSSL's cipher BIO writes 4 KiB at a time, collected
// here into 1 MiB writes, hashed on the way (the index lists every file's SHA-256).
struct FileOut {
  int fd = -1;
  std::string path;
  std::uint64_t offset = 0;
  std::vector<std::byte> buffer;
  std::optional<Hasher> sha256;
  std::optional<Error> error;

  Result<void> flush() {
    if (!buffer.empty()) {
      CUSTODY_TRY(internal::write_full(fd, buffer, path, offset));
      offset += buffer.size();
      buffer.clear();
    }
    return {};
  }
};

int file_out_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* out = static_cast<FileOut*>(BIO_get_data(bio));
  *written = 0;
  if (out->error) {
    return 0;
  }
  const auto bytes = std::as_bytes(std::span(data, size));
  out->sha256->update(bytes);
  out->buffer.insert(out->buffer.end(), bytes.begin(), bytes.end());
  if (out->buffer.size() >= k_io_buffer) {
    auto flushed = out->flush();
    if (!flushed) {
      out->error = std::move(flushed.error());
      return 0;
    }
  }
  *written = size;
  return 1;
}

long file_out_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  auto* out = static_cast<FileOut*>(BIO_get_data(bio));
  if (command != BIO_CTRL_FLUSH) {
    return 0;
  }
  if (!out->error) {
    auto flushed = out->flush();
    if (!flushed) {
      out->error = std::move(flushed.error());
    }
  }
  return out->error ? 0 : 1;
}

// The ciphertext side of a decryption: 1 MiB reads, hashed and counted on the way.
struct FileIn {
  int fd = -1;
  std::string path;
  std::uint64_t offset = 0;
  std::vector<std::byte> buffer;
  std::size_t start = 0, end = 0;  // unread bytes of `buffer`
  std::optional<Hasher> sha256;
  std::optional<Error> error;
};

int file_in_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  auto* in = static_cast<FileIn*>(BIO_get_data(bio));
  *read = 0;
  if (in->error) {
    return -1;
  }
  if (in->start == in->end) {
    auto got = internal::read_full(in->fd, in->buffer, in->path, in->offset);
    if (!got) {
      in->error = std::move(got.error());
      return -1;
    }
    in->sha256->update(std::span(in->buffer).first(*got));
    in->offset += *got;
    in->start = 0;
    in->end = *got;
  }
  const std::size_t count = std::min(size, in->end - in->start);
  if (count == 0) {
    return 0;  // end of file: the cipher BIO now checks the tag
  }
  std::memcpy(data, in->buffer.data() + in->start, count);
  in->start += count;
  *read = count;
  return 1;
}

long file_in_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  const auto* in = static_cast<const FileIn*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_EOF:
      return in->start == in->end ? 1 : 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

const BIO_METHOD* file_out_method() {
  static const BioMethodPtr method = [] {
    BioMethodPtr made(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "custody out"));
    if (made) {
      BIO_meth_set_write_ex(made.get(), file_out_write);
      BIO_meth_set_ctrl(made.get(), file_out_ctrl);
    }
    return made;
  }();
  return method.get();
}

const BIO_METHOD* file_in_method() {
  static const BioMethodPtr method = [] {
    BioMethodPtr made(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "custody in"));
    if (made) {
      BIO_meth_set_read_ex(made.get(), file_in_read);
      BIO_meth_set_ctrl(made.get(), file_in_ctrl);
    }
    return made;
  }();
  return method.get();
}

// A BIO over `state`, which must outlive it.
Result<SingleBioPtr> state_bio(const BIO_METHOD* method, void* state) {
  SingleBioPtr bio(method != nullptr ? BIO_new(method) : nullptr);
  if (!bio) {
    return crypto_error("cannot make a BIO");
  }
  BIO_set_data(bio.get(), state);
  BIO_set_init(bio.get(), 1);
  return bio;
}

// The BIOs that CMS_dataInit pushed on top of one of ours, freed down to (not including) it.
struct CipherChain {
  BIO* top = nullptr;
  BIO* bottom = nullptr;  // ours
  CipherChain() = default;
  CipherChain(const CipherChain&) = delete;
  CipherChain& operator=(const CipherChain&) = delete;
  ~CipherChain() {
    while (top != nullptr && top != bottom) {
      BIO* next = BIO_pop(top);
      BIO_free(top);
      top = next;
    }
  }
};

Result<Hasher> sha256() {
  return Hasher::create(HashAlgorithm::sha256);
}

std::string sha256_hex(std::string_view bytes) {
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  if (!hasher) {
    return {};
  }
  hasher->update(std::as_bytes(std::span(bytes.data(), bytes.size())));
  return hasher->finish_hex();
}

// ---- Recipients ----------------------------------------------------------------------------

// Only keys that OpenSSL 3.0 can encrypt CMS to, and that stock openssl can decrypt with.
Result<void> check_recipient(X509* cert, const CertificateFacts& facts, const std::string& path) {
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    return make_error(Errc::corrupt, fmt::format("cannot read the public key of the recipient "
                                                 "certificate {}: {}",
                                                 path, internal::openssl_errors()));
  }
  const std::string& type = facts.key_type;
  const std::string hint = "ask the receiving authority for an EC P-256 or RSA (3072) certificate";
  if (EVP_PKEY_is_a(key, "EC")) {
    return {};
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (static_cast<std::uint64_t>(EVP_PKEY_get_bits(key)) < k_min_rsa_bits) {
      return error_with_hint(Errc::invalid_argument,
                             fmt::format("the recipient certificate {} ({}): its {} key is too "
                                         "weak to protect evidence (at least {} bits)",
                                         path, facts.subject, type, k_min_rsa_bits),
                             hint);
    }
    return {};
  }
  if (type == "X25519" || type == "X448") {
    return error_with_hint(Errc::invalid_argument,
                           fmt::format("the recipient certificate {} ({}): OpenSSL 3.0 cannot "
                                       "encrypt CMS to {} keys",
                                       path, facts.subject, type),
                           hint);
  }
  return error_with_hint(Errc::invalid_argument,
                         fmt::format("the recipient certificate {} ({}): {} keys cannot receive "
                                     "encrypted data (only RSA and EC keys can)",
                                     path, facts.subject, type),
                         hint);
}

struct Recipient {
  X509Ptr cert;
  CertificateFacts facts;
};

Result<std::vector<Recipient>> load_recipients(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return make_error(Errc::invalid_argument,
                      "no recipient certificate given: a package is encrypted to at least one "
                      "receiving authority's certificate");
  }
  std::vector<Recipient> recipients;
  for (const std::string& path : paths) {
    auto certificates = internal::read_certificate_file(path, "recipient certificate");
    CUSTODY_TRY(certificates);
    // A bundle's first certificate is the recipient; the rest would be its chain.
    Recipient recipient{std::move(certificates->front()), {}};
    recipient.facts = internal::certificate_facts(recipient.cert.get());
    CUSTODY_TRY(check_recipient(recipient.cert.get(), recipient.facts, path));
    for (const Recipient& earlier : recipients) {
      if (X509_cmp(earlier.cert.get(), recipient.cert.get()) == 0) {
        return make_error(Errc::invalid_argument,
                          fmt::format("the recipient certificate {} ({}) is given twice", path,
                                      recipient.facts.subject));
      }
    }
    recipients.push_back(std::move(recipient));
  }
  ERR_clear_error();
  return recipients;
}

// Adds `cert` as a recipient with the strongest parameters stock openssl also reads: RSAES-OAEP
// with SHA-256 rather than PKCS#1 v1.5 (Bleichenbacher), and an X9.63 KDF with SHA-256 rather
// than SHA-1 for ECDH.
Result<void> add_recipient(CMS_ContentInfo* cms, X509* cert) {
  CMS_RecipientInfo* info = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM);
  EVP_PKEY_CTX* context = info != nullptr ? CMS_RecipientInfo_get0_pkey_ctx(info) : nullptr;
  if (context == nullptr) {
    return crypto_error("cannot add a recipient");
  }
  if (CMS_RecipientInfo_type(info) == CMS_RECIPINFO_TRANS) {
    if (EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) <= 0) {
      return crypto_error("cannot set RSA-OAEP for a recipient");
    }
  } else if (CMS_RecipientInfo_type(info) == CMS_RECIPINFO_AGREE) {
    if (EVP_PKEY_CTX_set_ecdh_kdf_md(context, EVP_sha256()) <= 0) {
      return crypto_error("cannot set the ECDH key derivation for a recipient");
    }
  }
  return {};
}

json facts_json(const CertificateFacts& facts) {
  return {{"subject", facts.subject},
          {"issuer", facts.issuer},
          {"serial", facts.serial},
          {"sha256_fingerprint", facts.sha256_fingerprint},
          {"key_type", facts.key_type}};
}

// ---- Writing files -------------------------------------------------------------------------

Result<internal::UniqueFd> create_output(const std::string& path, bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  internal::UniqueFd fd(::open(path.c_str(), flags, 0644));
  if (!fd) {
    const int error = errno;
    if (error == EEXIST) {
      return tl::unexpected(Error{Errc::already_exists,
                                  "refusing to overwrite",
                                  path,
                                  {},
                                  0,
                                  "remove the earlier package, or choose another output name"});
    }
    return make_sys_error(Errc::io_error, "cannot create", path, error);
  }
  return fd;
}

// One segment being encrypted: its ciphertext file, its CMS structure and the cipher BIO.
struct OpenSegment {
  std::string path;
  internal::UniqueFd fd;
  FileOut out;
  SingleBioPtr sink;
  CmsPtr cms;
  CipherChain chain;
  std::uint64_t size = 0;
};

class EncryptingSink final : public ByteSink {
 public:
  EncryptingSink(EnvelopeOptions options, std::vector<Recipient> recipients)
      : m_options(std::move(options)), m_recipients(std::move(recipients)) {}
  EncryptingSink(const EncryptingSink&) = delete;
  EncryptingSink& operator=(const EncryptingSink&) = delete;

  ~EncryptingSink() override {
    if (!m_finished) {
      // Nothing that could pass for a package stays behind.
      m_open.reset();
      for (const std::string& path : m_created) {
        ::unlink(path.c_str());
      }
    }
  }

  Result<void> write(std::span<const std::byte> data) override {
    CUSTODY_TRY(check_usable());
    auto written = write_segments(data);
    m_failed = !written;
    return written;
  }

  Result<void> finish() override {
    CUSTODY_TRY(check_usable());
    auto finished = finish_package();
    m_failed = !finished;
    m_finished = static_cast<bool>(finished);
    return finished;
  }

 private:
  Result<void> check_usable() const {
    if (m_failed || m_finished) {
      return make_error(Errc::internal, m_failed ? "the encrypting sink is used after an error"
                                                 : "the encrypting sink is used after finish()");
    }
    return {};
  }

  Result<void> write_segments(std::span<const std::byte> data) {
    while (!data.empty()) {
      if (!m_open) {
        CUSTODY_TRY(open_segment());
      }
      const std::uint64_t room = m_options.segment_size - m_open->size;
      const auto take = static_cast<std::size_t>(
          std::min<std::uint64_t>({room, data.size(), std::uint64_t{k_io_buffer}}));
      std::size_t written = 0;
      if (BIO_write_ex(m_open->chain.top, data.data(), take, &written) != 1 || written != take) {
        return segment_failure("cannot encrypt");
      }
      m_open->size += take;
      data = data.subspan(take);
      if (m_open->size == m_options.segment_size) {
        CUSTODY_TRY(close_segment());
      }
    }
    return {};
  }

  Result<void> finish_package() {
    // An empty plaintext still gets one segment: its tag proves that it is empty.
    if (m_open || m_segments.empty()) {
      if (!m_open) {
        CUSTODY_TRY(open_segment());
      }
      CUSTODY_TRY(close_segment());
    }
    if (m_options.overwrite) {
      remove_stale_segments();
    }
    return write_index();
  }

  // The error of the file BIO if it had one (disk full names the file), else OpenSSL's.
  tl::unexpected<Error> segment_failure(std::string_view what) {
    if (m_open->out.error) {
      return tl::unexpected(std::move(*m_open->out.error));
    }
    return crypto_error(fmt::format("{} segment {} ({})", what, m_segments.size(), m_open->path));
  }

  Result<void> open_segment() {
    auto segment = std::make_unique<OpenSegment>();
    segment->path = ciphertext_path(m_options.output_base, m_segments.size());
    auto fd = create_output(segment->path, m_options.overwrite);
    CUSTODY_TRY(fd);
    segment->fd = std::move(*fd);
    m_created.push_back(segment->path);

    auto hasher = sha256();
    CUSTODY_TRY(hasher);
    segment->out.fd = segment->fd.get();
    segment->out.path = segment->path;
    segment->out.sha256 = std::move(*hasher);
    segment->out.buffer.reserve(k_io_buffer + 4096);

    // Partial: recipients are added with our parameters before the content key is wrapped.
    // Detached: the ciphertext goes to our BIO, not into the CMS structure.
    constexpr unsigned int k_flags = CMS_DETACHED | CMS_STREAM | CMS_BINARY | CMS_PARTIAL;
    segment->cms.reset(CMS_encrypt(nullptr, nullptr, EVP_aes_256_gcm(), k_flags));
    if (!segment->cms) {
      return crypto_error("cannot start a CMS AuthEnvelopedData");
    }
    for (const Recipient& recipient : m_recipients) {
      CUSTODY_TRY(add_recipient(segment->cms.get(), recipient.cert.get()));
    }
    auto sink = state_bio(file_out_method(), &segment->out);
    CUSTODY_TRY(sink);
    segment->sink = std::move(*sink);
    segment->chain.bottom = segment->sink.get();
    // Draws the content key and IV and wraps the key for every recipient.
    segment->chain.top = CMS_dataInit(segment->cms.get(), segment->sink.get());
    if (segment->chain.top == nullptr) {
      return crypto_error("cannot start encrypting");
    }
    m_open = std::move(segment);
    return {};
  }

  Result<void> close_segment() {
    OpenSegment& segment = *m_open;
    // The flush runs the GCM final step; CMS_dataFinal then stores the tag.
    if (BIO_flush(segment.chain.top) != 1 || segment.out.error) {
      return segment_failure("cannot complete");
    }
    if (CMS_dataFinal(segment.cms.get(), segment.chain.top) != 1) {
      return segment_failure("cannot compute the tag of");
    }
    CUSTODY_TRY(segment.out.flush());
    CUSTODY_TRY(internal::fsync_checked(segment.fd.get(), segment.path));
    CUSTODY_TRY(segment.fd.close_checked(segment.path));

    const int length = i2d_CMS_ContentInfo(segment.cms.get(), nullptr);
    std::string der(length > 0 ? static_cast<std::size_t>(length) : 0U, '\0');
    auto* cursor = reinterpret_cast<unsigned char*>(der.data());
    if (length <= 0 || i2d_CMS_ContentInfo(segment.cms.get(), &cursor) != length) {
      return crypto_error("cannot encode the CMS AuthEnvelopedData");
    }
    const std::string p7m = envelope_path(m_options.output_base, m_segments.size());
    auto fd = create_output(p7m, m_options.overwrite);
    CUSTODY_TRY(fd);
    m_created.push_back(p7m);
    CUSTODY_TRY(internal::write_full(fd->get(), std::as_bytes(std::span(der)), p7m, 0));
    CUSTODY_TRY(internal::fsync_checked(fd->get(), p7m));
    CUSTODY_TRY(fd->close_checked(p7m));

    m_segments.push_back(EnvelopeSegment{segment.size, file_name(segment.path),
                                         segment.out.sha256->finish_hex(), file_name(p7m),
                                         der.size(), sha256_hex(der)});
    m_total += segment.size;
    m_open.reset();
    return {};
  }

  // After an overwrite, segments of an earlier, longer package would linger beside ours.
  void remove_stale_segments() const {
    for (std::size_t i = m_segments.size();; ++i) {
      const std::string ciphertext = ciphertext_path(m_options.output_base, i);
      const std::string p7m = envelope_path(m_options.output_base, i);
      const bool any = internal::path_exists(ciphertext) || internal::path_exists(p7m);
      if (!any) {
        return;
      }
      ::unlink(ciphertext.c_str());
      ::unlink(p7m.c_str());
    }
  }

  Result<void> write_index() {
    json recipients = json::array();
    for (const Recipient& recipient : m_recipients) {
      recipients.push_back(facts_json(recipient.facts));
    }
    json segments = json::array();
    for (const EnvelopeSegment& segment : m_segments) {
      segments.push_back({{"size", segment.size},
                          {"ciphertext", segment.ciphertext},
                          {"sha256", segment.sha256},
                          {"envelope", segment.envelope},
                          {"envelope_size", segment.envelope_size},
                          {"envelope_sha256", segment.envelope_sha256}});
    }
    const json index = {{"format", k_format_name},        {"version", k_format_version},
                        {"cipher", k_cipher_name},        {"segment_size", m_options.segment_size},
                        {"plaintext_size", m_total},      {"recipients", std::move(recipients)},
                        {"segments", std::move(segments)}};
    const std::string path = index_path(m_options.output_base);
    CUSTODY_TRY(internal::write_file_atomically(path, index.dump(2) + "\n", m_options.overwrite));
    return internal::fsync_parent_directory(path);
  }

  EnvelopeOptions m_options;
  std::vector<Recipient> m_recipients;
  std::vector<EnvelopeSegment> m_segments;
  std::vector<std::string> m_created;
  std::unique_ptr<OpenSegment> m_open;
  std::uint64_t m_total = 0;
  bool m_failed = false;
  bool m_finished = false;
};

// ---- Reading a package ---------------------------------------------------------------------

// One DER element: single-byte tag, definite length.
struct Tlv {
  std::uint8_t tag = 0;
  std::span<const std::uint8_t> value;
};

std::optional<Tlv> next_tlv(std::span<const std::uint8_t>& in) {
  if (in.size() < 2 || (in[0] & 0x1FU) == 0x1FU) {
    return std::nullopt;
  }
  std::size_t length = in[1];
  std::size_t header = 2;
  if ((length & 0x80U) != 0) {
    const std::size_t octets = length & 0x7FU;
    if (octets == 0 || octets > 4 || in.size() < 2 + octets) {
      return std::nullopt;
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8U) | in[2 + i];
    }
    header += octets;
  }
  if (in.size() - header < length) {
    return std::nullopt;
  }
  Tlv tlv{in[0], in.subspan(header, length)};
  in = in.subspan(header + length);
  return tlv;
}

bool equals(std::span<const std::uint8_t> value, std::initializer_list<std::uint8_t> expected) {
  return std::equal(value.begin(), value.end(), expected.begin(), expected.end());
}

// Checks the shape OpenSSL would not insist on: AES-256-GCM with a full 16-byte tag (OpenSSL 3.0
// accepts the tag cut to its first 4 bytes, leaving a 2^-32 forgery), detached content, no
// authenticated attributes (OpenSSL 3.0 would ignore them), nothing after the structure. Returns
// what is wrong, or an empty string.
std::string envelope_shape_problem(std::string_view der) {
  std::span<const std::uint8_t> in(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
  const auto content_info = next_tlv(in);
  if (!content_info || content_info->tag != 0x30) {
    return "truncated or damaged (not a complete DER CMS structure)";
  }
  if (!in.empty()) {
    return fmt::format("{} bytes follow the CMS structure", in.size());
  }
  std::span<const std::uint8_t> body = content_info->value;
  const auto type = next_tlv(body);
  // id-smime-ct-authEnvelopedData, 1.2.840.113549.1.9.16.1.23
  if (!type || type->tag != 0x06 ||
      !equals(type->value, {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17})) {
    return "not a CMS AuthEnvelopedData";
  }
  const auto wrapper = next_tlv(body);
  std::span<const std::uint8_t> outer = wrapper ? wrapper->value : body;
  const auto envelope = next_tlv(outer);
  if (!wrapper || wrapper->tag != 0xA0 || !envelope || envelope->tag != 0x30) {
    return "truncated or damaged AuthEnvelopedData";
  }
  std::span<const std::uint8_t> fields = envelope->value;
  std::optional<Tlv> field = next_tlv(fields);  // version
  field = next_tlv(fields);
  if (field && field->tag == 0xA0) {  // originatorInfo
    field = next_tlv(fields);
  }
  if (!field || field->tag != 0x31) {
    return "damaged AuthEnvelopedData (no recipients)";
  }
  const auto content = next_tlv(fields);
  if (!content || content->tag != 0x30) {
    return "damaged AuthEnvelopedData (no content information)";
  }
  std::span<const std::uint8_t> content_fields = content->value;
  next_tlv(content_fields);  // contentType
  const auto algorithm = next_tlv(content_fields);
  std::span<const std::uint8_t> algorithm_fields =
      algorithm ? algorithm->value : std::span<const std::uint8_t>();
  const auto oid = next_tlv(algorithm_fields);
  const auto parameters = next_tlv(algorithm_fields);
  // aes256-GCM, 2.16.840.1.101.3.4.1.46
  if (!oid || !equals(oid->value, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2E}) ||
      !parameters) {
    return "the content is not encrypted with AES-256-GCM";
  }
  if (!content_fields.empty()) {
    return "the AuthEnvelopedData embeds its content: custody writes it detached";
  }
  std::span<const std::uint8_t> gcm = parameters->value;
  const auto nonce = next_tlv(gcm);
  const auto tag_length = next_tlv(gcm);
  if (!nonce || nonce->tag != 0x04 || nonce->value.size() != 12 ||
      (tag_length && !equals(tag_length->value, {0x10}))) {
    return "unexpected AES-GCM parameters (custody uses a 12-byte IV and a 16-byte tag)";
  }
  auto mac = next_tlv(fields);
  if (mac && mac->tag == 0xA1) {
    return "the AuthEnvelopedData has authenticated attributes, which OpenSSL 3.0 ignores";
  }
  if (!mac || mac->tag != 0x04 || mac->value.size() != 16) {
    return "the tag is missing or not 16 bytes";
  }
  return {};
}

Result<std::uint64_t> get_size(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_unsigned()) {
    return make_error(Errc::corrupt, fmt::format("the package index has no valid \"{}\"", key));
  }
  return found->get<std::uint64_t>();
}

Result<std::string> get_text(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_string()) {
    return make_error(Errc::corrupt, fmt::format("the package index has no valid \"{}\"", key));
  }
  return found->get<std::string>();
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<EnvelopeSegment> parse_segment(const json& entry, const std::string& base, std::size_t i) {
  if (!entry.is_object()) {
    return make_error(Errc::corrupt, "a segment of the package index is not an object");
  }
  EnvelopeSegment segment;
  auto size = get_size(entry, "size");
  auto ciphertext = get_text(entry, "ciphertext");
  auto digest = get_text(entry, "sha256");
  auto envelope = get_text(entry, "envelope");
  auto envelope_size = get_size(entry, "envelope_size");
  auto envelope_digest = get_text(entry, "envelope_sha256");
  for (auto* part : {&ciphertext, &digest, &envelope, &envelope_digest}) {
    CUSTODY_TRY(*part);
  }
  CUSTODY_TRY(size);
  CUSTODY_TRY(envelope_size);
  // The names are fixed by the format: never a path the index could point elsewhere with.
  if (*ciphertext != file_name(ciphertext_path(base, i)) ||
      *envelope != file_name(envelope_path(base, i)) || !is_sha256_hex(*digest) ||
      !is_sha256_hex(*envelope_digest)) {
    return make_error(Errc::corrupt,
                      fmt::format("the package index lists segment {} with unexpected names or "
                                  "digests (\"{}\", \"{}\")",
                                  i, *ciphertext, *envelope));
  }
  return EnvelopeSegment{*size, *ciphertext, *digest, *envelope, *envelope_size, *envelope_digest};
}

Result<EnvelopeIndex> parse_index(const std::string& text, const std::string& base) {
  const json index = internal::parse_untrusted_json(text);
  if (index.is_discarded() || !index.is_object() || index.value("format", "") != k_format_name) {
    return make_error(Errc::corrupt, "not a custody package index (format \"custody-envelope\")");
  }
  if (index.value("version", 0) != k_format_version) {
    return make_error(Errc::unsupported, "a package index of a newer version: update custody");
  }
  EnvelopeIndex parsed;
  auto cipher = get_text(index, "cipher");
  auto segment_size = get_size(index, "segment_size");
  auto plaintext_size = get_size(index, "plaintext_size");
  CUSTODY_TRY(cipher);
  CUSTODY_TRY(segment_size);
  CUSTODY_TRY(plaintext_size);
  if (*cipher != k_cipher_name) {
    return make_error(Errc::unsupported, fmt::format("cipher \"{}\" is not supported", *cipher));
  }
  parsed.cipher = *cipher;
  parsed.segment_size = *segment_size;
  parsed.plaintext_size = *plaintext_size;
  for (const json& recipient : index.value("recipients", json::array())) {
    CertificateFacts facts;
    facts.subject = recipient.value("subject", "");
    facts.issuer = recipient.value("issuer", "");
    facts.serial = recipient.value("serial", "");
    facts.sha256_fingerprint = recipient.value("sha256_fingerprint", "");
    facts.key_type = recipient.value("key_type", "");
    parsed.recipients.push_back(std::move(facts));
  }
  const json segments = index.value("segments", json::array());
  if (!segments.is_array() || segments.empty() || parsed.segment_size == 0) {
    return make_error(Errc::corrupt, "the package index lists no segments");
  }
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    auto segment = parse_segment(segments[i], base, i);
    CUSTODY_TRY(segment);
    // Every segment but the last is full; only an empty package has an empty segment.
    const bool last = i + 1 == segments.size();
    const bool fits =
        last ? segment->size <= parsed.segment_size && (segment->size > 0 || segments.size() == 1)
             : segment->size == parsed.segment_size;
    if (!fits) {
      return make_error(Errc::corrupt, fmt::format("the package index lists segment {} with {} "
                                                   "bytes, which does not fit segments of {}",
                                                   i, segment->size, parsed.segment_size));
    }
    total += segment->size;
    parsed.segments.push_back(std::move(*segment));
  }
  if (total != parsed.plaintext_size) {
    return make_error(Errc::corrupt, fmt::format("the package index's segments add up to {} bytes, "
                                                 "not the {} it states",
                                                 total, parsed.plaintext_size));
  }
  return parsed;
}

struct Package {
  std::string base;    // NAME, with its directory
  fs::path directory;  // where the files are
  EnvelopeIndex index;

  std::string path_of(const std::string& name) const { return (directory / name).string(); }
};

Result<Package> open_package(const std::string& input) {
  Package package;
  package.base = package_base(input);
  const fs::path parent = fs::path(package.base).parent_path();
  package.directory = parent.empty() ? fs::path(".") : parent;
  const std::string path = index_path(package.base);
  auto text = internal::read_small_file(path, k_max_index_file);
  if (!text && text.error().code == Errc::not_found) {
    return error_with_hint(Errc::not_found, fmt::format("the package index {} is missing", path),
                           "the index lists the segments: ask the sender for it");
  }
  CUSTODY_TRY(text);
  auto index =
      internal::json_errors_are_corrupt(fmt::format("{} is not a valid package index", path),
                                        [&] { return parse_index(*text, package.base); });
  if (!index) {
    index.error().path = path;
    return tl::unexpected(std::move(index.error()));
  }
  package.index = std::move(*index);
  return package;
}

// Size and SHA-256 of a file, read in 1 MiB blocks.
Result<std::pair<std::uint64_t, std::string>> hash_file(const std::string& path) {
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return make_sys_error(error == ENOENT ? Errc::not_found : Errc::io_error, "cannot open", path,
                          error);
  }
  auto hasher = sha256();
  CUSTODY_TRY(hasher);
  std::vector<std::byte> buffer(k_io_buffer);
  std::uint64_t size = 0;
  for (;;) {
    auto got = internal::read_full(fd.get(), buffer, path, size);
    CUSTODY_TRY(got);
    if (*got == 0) {
      break;
    }
    hasher->update(std::span(buffer).first(*got));
    size += *got;
  }
  return std::pair{size, hasher->finish_hex()};
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  char* text = number ? BN_bn2hex(number.get()) : nullptr;
  std::string hex = text != nullptr ? text : "";
  OPENSSL_free(text);
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return hex;
}

// Who a segment is encrypted to, by issuer and serial: the subject from the index when it lists
// that certificate.
std::string recipient_name(const X509_NAME* issuer,
                           const ASN1_INTEGER* serial,
                           const EnvelopeIndex& index) {
  const std::string issuer_text = issuer != nullptr ? internal::name_text(issuer) : "";
  const std::string serial_text = serial != nullptr ? serial_hex(serial) : "";
  for (const CertificateFacts& facts : index.recipients) {
    if (facts.issuer == issuer_text && facts.serial == serial_text) {
      return facts.subject;
    }
  }
  return fmt::format("the certificate with serial {} from {}", serial_text, issuer_text);
}

// Whether `cert` is among the recipients of `cms`, and the names of all of them.
bool is_recipient(CMS_ContentInfo* cms,
                  X509* cert,
                  const EnvelopeIndex& index,
                  std::vector<std::string>& names) {
  bool found = false;
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
    CMS_RecipientInfo* info = sk_CMS_RecipientInfo_value(infos, i);
    X509_NAME* issuer = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (CMS_RecipientInfo_type(info) == CMS_RECIPINFO_TRANS) {
      found = found || CMS_RecipientInfo_ktri_cert_cmp(info, cert) == 0;
      if (CMS_RecipientInfo_ktri_get0_signer_id(info, nullptr, &issuer, &serial) == 1) {
        names.push_back(recipient_name(issuer, serial, index));
      }
    } else if (CMS_RecipientInfo_type(info) == CMS_RECIPINFO_AGREE) {
      STACK_OF(CMS_RecipientEncryptedKey)* keys = CMS_RecipientInfo_kari_get0_reks(info);
      for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(keys); ++k) {
        CMS_RecipientEncryptedKey* key = sk_CMS_RecipientEncryptedKey_value(keys, k);
        found = found || CMS_RecipientEncryptedKey_cert_cmp(key, cert) == 0;
        if (CMS_RecipientEncryptedKey_get0_id(key, nullptr, nullptr, nullptr, &issuer, &serial) ==
            1) {
          names.push_back(recipient_name(issuer, serial, index));
        }
      }
    }
  }
  ERR_clear_error();
  return found;
}

std::string joined(const std::vector<std::string>& names) {
  if (names.empty()) {
    return "nobody we can name";
  }
  return fmt::format("{}", fmt::join(names, "; "));
}

// Reads and checks segment `i`'s .p7m, and opens it with the receiver's key.
Result<CmsPtr> open_envelope(const Package& package, std::size_t i, EVP_PKEY* key, X509* cert) {
  const EnvelopeSegment& segment = package.index.segments[i];
  const std::string path = package.path_of(segment.envelope);
  auto der = internal::read_small_file(path, k_max_envelope_file);
  if (!der && der.error().code == Errc::not_found) {
    return error_with_hint(Errc::not_found,
                           fmt::format("segment {} is incomplete: {} is missing", i, path),
                           "ask the sender for the missing file");
  }
  CUSTODY_TRY(der);
  if (der->size() != segment.envelope_size || sha256_hex(*der) != segment.envelope_sha256) {
    return error_with_hint(Errc::corrupt,
                           fmt::format("{} is not the file the package index lists (its size or "
                                       "SHA-256 differs): damaged or altered in transit",
                                       path),
                           "ask the sender for the file again");
  }
  if (const std::string problem = envelope_shape_problem(*der); !problem.empty()) {
    return make_error(Errc::corrupt, fmt::format("{}: {}", path, problem));
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(der->data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der->size())));
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_id_smime_ct_authEnvelopedData) {
    return make_error(Errc::corrupt, fmt::format("{} is not a CMS AuthEnvelopedData: {}", path,
                                                 internal::openssl_errors()));
  }
  std::vector<std::string> names;
  if (!is_recipient(cms.get(), cert, package.index, names)) {
    return error_with_hint(
        Errc::invalid_argument,
        fmt::format("this package is not encrypted to the certificate {}; it is for: {}",
                    internal::name_text(X509_get_subject_name(cert)), joined(names)),
        "decrypt with the key of one of those certificates");
  }
  if (CMS_decrypt_set1_pkey_and_peer(cms.get(), key, cert, nullptr) != 1) {
    if (auto token_error = internal::take_token_error(key)) {
      ERR_clear_error();
      return tl::unexpected(std::move(*token_error));
    }
    return crypto_error(
        fmt::format("cannot unwrap the content key of segment {} ({}) with the "
                    "receiver's key: the .p7m is damaged",
                    i, path));
  }
  return cms;
}

// Decrypts segment `i` into `plaintext`; fails unless its tag verifies and its ciphertext is the
// one the index lists.
Result<void> decrypt_segment(
    const Package& package, std::size_t i, EVP_PKEY* key, X509* cert, ByteSink& plaintext) {
  const EnvelopeSegment& segment = package.index.segments[i];
  auto cms = open_envelope(package, i, key, cert);
  CUSTODY_TRY(cms);

  const std::string path = package.path_of(segment.ciphertext);
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat status {};
  if (!fd) {
    const int error = errno;
    if (error == ENOENT) {
      return error_with_hint(Errc::not_found,
                             fmt::format("segment {} is missing: {} does not exist", i, path),
                             "ask the sender for the missing file");
    }
    return make_sys_error(Errc::io_error, "cannot open", path, error);
  }
  if (::fstat(fd.get(), &status) != 0) {
    return make_sys_error(Errc::io_error, "cannot stat", path, errno);
  }
  if (static_cast<std::uint64_t>(status.st_size) != segment.size) {
    return error_with_hint(Errc::corrupt,
                           fmt::format("segment {} ({}) has {} bytes, the package index lists {}: "
                                       "{}",
                                       i, path, status.st_size, segment.size,
                                       static_cast<std::uint64_t>(status.st_size) < segment.size
                                           ? "it is short (an interrupted copy?)"
                                           : "it is longer than it should be"),
                           "ask the sender for the file again");
  }

  auto hasher = sha256();
  CUSTODY_TRY(hasher);
  FileIn in{fd.get(), path, 0, std::vector<std::byte>(k_io_buffer), 0, 0, std::move(*hasher), {}};
  auto source = state_bio(file_in_method(), &in);
  CUSTODY_TRY(source);
  CipherChain chain;
  chain.bottom = source->get();
  chain.top = CMS_dataInit(cms->get(), source->get());
  if (chain.top == nullptr) {
    return crypto_error(fmt::format("cannot start decrypting segment {}", i));
  }
  std::vector<std::byte> buffer(k_io_buffer);
  for (;;) {
    std::size_t got = 0;
    if (BIO_read_ex(chain.top, buffer.data(), buffer.size(), &got) != 1 || got == 0) {
      break;
    }
    CUSTODY_TRY(plaintext.write(std::span(buffer).first(got)));
  }
  if (in.error) {
    return tl::unexpected(std::move(*in.error));
  }
  if (BIO_get_cipher_status(chain.top) != 1) {
    ERR_clear_error();
    return error_with_hint(
        Errc::crypto,
        fmt::format("segment {} does not authenticate: the ciphertext {} or the tag in {} was "
                    "altered; nothing was released",
                    i, path, segment.envelope),
        "ask the sender for the segment again");
  }
  if (in.offset != segment.size || in.sha256->finish_hex() != segment.sha256) {
    return error_with_hint(Errc::corrupt,
                           fmt::format("segment {} ({}) decrypts, but is not the file the package "
                                       "index lists (its SHA-256 differs)",
                                       i, path),
                           "the index or the segment was replaced: ask the sender");
  }
  return {};
}

// Plaintext into a temporary file beside `output`, renamed onto it only by finish().
class TemporaryFileSink final : public ByteSink {
 public:
  static Result<std::unique_ptr<TemporaryFileSink>> create(const std::string& output,
                                                           bool overwrite) {
    if (!overwrite && internal::path_exists(output)) {
      return tl::unexpected(Error{Errc::already_exists,
                                  "refusing to overwrite",
                                  output,
                                  {},
                                  0,
                                  "remove it, or choose another output name"});
    }
    std::string temporary = output + ".tmp-XXXXXX";
    // mkstemp creates the file with mode 0600: evidence is for its owner until complete.
    internal::UniqueFd fd(::mkstemp(temporary.data()));
    if (!fd) {
      return make_sys_error(Errc::io_error, "cannot create a temporary file", temporary, errno);
    }
    return std::unique_ptr<TemporaryFileSink>(
        new TemporaryFileSink(output, std::move(temporary), std::move(fd), overwrite));
  }

  TemporaryFileSink(const TemporaryFileSink&) = delete;
  TemporaryFileSink& operator=(const TemporaryFileSink&) = delete;
  ~TemporaryFileSink() override {
    if (!m_renamed) {
      ::unlink(m_temporary.c_str());
    }
  }

  Result<void> write(std::span<const std::byte> data) override {
    CUSTODY_TRY(internal::write_full(m_fd.get(), data, m_temporary, m_offset));
    m_offset += data.size();
    return {};
  }

  Result<void> finish() override {
    CUSTODY_TRY(internal::fsync_checked(m_fd.get(), m_temporary));
    CUSTODY_TRY(m_fd.close_checked(m_temporary));
    // Without overwrite, never replace a file that appeared meanwhile.
    const unsigned int flags = m_overwrite ? 0U : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, m_temporary.c_str(), AT_FDCWD, m_output.c_str(), flags) != 0) {
      const int error = errno;
      if (error == EEXIST) {
        return tl::unexpected(Error{Errc::already_exists,
                                    "refusing to overwrite",
                                    m_output,
                                    {},
                                    0,
                                    "remove it, or choose another output name"});
      }
      return make_sys_error(Errc::io_error, "cannot rename into place", m_output, error);
    }
    m_renamed = true;
    return internal::fsync_parent_directory(m_output);
  }

 private:
  TemporaryFileSink(std::string output,
                    std::string temporary,
                    internal::UniqueFd fd,
                    bool overwrite)
      : m_output(std::move(output)),
        m_temporary(std::move(temporary)),
        m_fd(std::move(fd)),
        m_overwrite(overwrite) {}

  std::string m_output;
  std::string m_temporary;
  internal::UniqueFd m_fd;
  std::uint64_t m_offset = 0;
  bool m_overwrite = false;
  bool m_renamed = false;
};

}  // namespace

Result<std::unique_ptr<ByteSink>> open_encrypting_sink(const EnvelopeOptions& options) {
  ERR_clear_error();
  if (options.segment_size == 0 || options.segment_size > k_max_envelope_segment_size) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the segment size must be between 1 byte and {} bytes (stock "
                                  "openssl holds a whole segment in memory to decrypt it)",
                                  k_max_envelope_segment_size));
  }
  if (options.output_base.empty()) {
    return make_error(Errc::invalid_argument, "no output name for the encrypted package");
  }
  auto recipients = load_recipients(options.recipient_certificates);
  CUSTODY_TRY(recipients);
  const std::string index = index_path(options.output_base);
  if (internal::path_exists(index)) {
    if (!options.overwrite) {
      return tl::unexpected(Error{Errc::already_exists,
                                  "refusing to overwrite",
                                  index,
                                  {},
                                  0,
                                  "remove the earlier package, or choose another output name"});
    }
    // Until the new index is written, the half-replaced package must not look complete.
    if (::unlink(index.c_str()) != 0) {
      return make_sys_error(Errc::io_error, "cannot remove the earlier index", index, errno);
    }
  }
  return std::make_unique<EncryptingSink>(options, std::move(*recipients));
}

Result<EnvelopeIndex> read_envelope_index(const std::string& input) {
  auto package = open_package(input);
  CUSTODY_TRY(package);
  return std::move(package->index);
}

Result<PackageCheck> check_package(const std::string& input) {
  auto package = open_package(input);
  CUSTODY_TRY(package);
  PackageCheck check;
  const auto check_file = [&](const std::string& name, std::uint64_t size,
                              const std::string& digest) -> Result<void> {
    const std::string path = package->path_of(name);
    auto found = hash_file(path);
    if (!found && found.error().code == Errc::not_found) {
      check.problems.push_back(fmt::format("{}: missing", path));
      return {};
    }
    CUSTODY_TRY(found);
    if (found->first != size) {
      check.problems.push_back(
          fmt::format("{}: {} bytes, the index lists {}", path, found->first, size));
    } else if (found->second != digest) {
      check.problems.push_back(fmt::format("{}: SHA-256 differs from the index", path));
    }
    return {};
  };
  for (const EnvelopeSegment& segment : package->index.segments) {
    CUSTODY_TRY(check_file(segment.ciphertext, segment.size, segment.sha256));
    CUSTODY_TRY(check_file(segment.envelope, segment.envelope_size, segment.envelope_sha256));
  }
  check.verdict = check.problems.empty() ? Verdict::pass : Verdict::fail;
  return check;
}

Result<DecryptReport> decrypt_package_to(const std::string& input,
                                         const Identity& receiver,
                                         ByteSink& plaintext) {
  ERR_clear_error();
  auto package = open_package(input);
  CUSTODY_TRY(package);
  EVP_PKEY* key = internal::IdentityAccess::key(receiver);
  X509* cert = internal::IdentityAccess::certificate(receiver);
  DecryptReport report;
  for (std::size_t i = 0; i < package->index.segments.size(); ++i) {
    CUSTODY_TRY(decrypt_segment(*package, i, key, cert, plaintext));
    report.plaintext_size += package->index.segments[i].size;
    ++report.segments;
  }
  CUSTODY_TRY(plaintext.finish());
  return report;
}

Result<DecryptReport> decrypt_package(const std::string& input,
                                      const Identity& receiver,
                                      const std::string& output,
                                      bool overwrite) {
  auto sink = TemporaryFileSink::create(output, overwrite);
  CUSTODY_TRY(sink);
  return decrypt_package_to(input, receiver, **sink);
}

}  // namespace custody
