// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/prerequisites.hpp"
#include "../support/temp_dir.hpp"

#include <custody/envelope.hpp>
#include <custody/hash.hpp>

#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace custody {
namespace {

namespace fs = std::filesystem;

using test::quoted;

// The identities of samples/keys/make-test-identities.sh (examiner: EC P-256, witness: RSA
// 3072, other-examiner: EC P-256 from an unrelated CA), plus X25519 and Ed25519 certificates and a
// small RSA key, made once per test run.
const test::TempDir& envelope_keys() {
  static const test::TempDir dir;
  static const bool made = [] {
    const fs::path script = fs::path(CUSTODY_SOURCE_DIR) / "samples/keys/make-test-identities.sh";
    const std::string d = quoted(dir.file(""));
    const std::string ca = " -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -days 30";
    const std::string commands[] = {
        "bash " + quoted(script.string()) + " " + d,
        // X25519 cannot sign its own request: the request is signed by another key and the
        // certificate forced onto the X25519 public key.
        "openssl genpkey -algorithm X25519 -out " + d + "/x25519.key",
        "openssl pkey -in " + d + "/x25519.key -pubout -out " + d + "/x25519.pub",
        "openssl req -new -key " + d + "/examiner.key -subj '/CN=X25519 Authority' -out " + d +
            "/x25519.csr",
        "openssl x509 -req -in " + d + "/x25519.csr -force_pubkey " + d + "/x25519.pub" + ca +
            " -out " + d + "/x25519.pem",
        "openssl req -x509 -newkey ed25519 -nodes -keyout " + d +
            "/ed25519.key -subj '/CN=Ed25519 Authority' -days 30 -out " + d + "/ed25519.pem",
        "openssl req -x509 -newkey rsa:1024 -nodes -keyout " + d +
            "/rsa1024.key -subj '/CN=Small RSA Authority' -days 30 -out " + d + "/rsa1024.pem",
    };
    for (const std::string& command : commands) {
      if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        return false;
      }
    }
    return true;
  }();
  BOOST_REQUIRE_MESSAGE(made, "making the test identities failed");
  return dir;
}

std::string key_file(const std::string& name) {
  return envelope_keys().file(name);
}

Identity receiver(const std::string& stem) {
  IdentityOptions options;
  options.key_path = key_file(stem + ".key");
  options.cert_path = key_file(stem + ".pem");
  auto identity = Identity::load(options);
  BOOST_REQUIRE_MESSAGE(identity, (identity ? "" : identity.error().to_string()));
  return std::move(*identity);
}

std::string random_text(std::size_t size, unsigned seed) {
  const std::vector<char> bytes = test::random_bytes(size, seed);
  return {bytes.begin(), bytes.end()};
}

std::string sha256_of(std::string_view data) {
  const HashAlgorithm algorithm = HashAlgorithm::sha256;
  auto digests =
      hash_bytes(std::as_bytes(std::span(data.data(), data.size())), std::span(&algorithm, 1));
  BOOST_REQUIRE(digests);
  return digests->at(algorithm);
}

// Encrypts `plaintext` to `recipients` (certificate stems) as `base`, written in pieces of
// `piece` bytes (so that writes straddle segment boundaries).
void encrypt(const std::string& plaintext,
             const std::vector<std::string>& recipients,
             const std::string& base,
             std::uint64_t segment_size,
             std::size_t piece = 1000) {
  EnvelopeOptions options;
  for (const std::string& stem : recipients) {
    options.recipient_certificates.push_back(key_file(stem + ".pem"));
  }
  options.output_base = base;
  options.segment_size = segment_size;
  auto sink = open_encrypting_sink(options);
  BOOST_REQUIRE_MESSAGE(sink, (sink ? "" : sink.error().to_string()));
  for (std::size_t at = 0; at < plaintext.size(); at += piece) {
    const std::string_view part = std::string_view(plaintext).substr(at, piece);
    auto written = (*sink)->write(std::as_bytes(std::span(part.data(), part.size())));
    BOOST_REQUIRE_MESSAGE(written, (written ? "" : written.error().to_string()));
  }
  auto finished = (*sink)->finish();
  BOOST_REQUIRE_MESSAGE(finished, (finished ? "" : finished.error().to_string()));
}

std::string decrypt_or_fail(const std::string& input,
                            const std::string& stem,
                            const std::string& output) {
  auto report = decrypt_package(input, receiver(stem), output);
  BOOST_REQUIRE_MESSAGE(report, (report ? "" : report.error().to_string()));
  return test::read_file(output);
}

// Files in `dir` (names only), to prove that a failure left nothing behind.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::string content = test::read_file(path);
  BOOST_REQUIRE(offset < content.size());
  content[offset] = static_cast<char>(content[offset] ^ 0x01);
  test::write_file(path, std::vector<char>(content.begin(), content.end()));
}

// Rewrites the index so that it lists `path`'s present size and SHA-256 in place of `old_sha256`
// and `old_size`: what an attacker who also edits the plaintext index would do.
void make_index_agree(const std::string& index,
                      const std::string& old_sha256,
                      std::uint64_t old_size,
                      const std::string& path) {
  std::string text = test::read_file(index);
  const std::string content = test::read_file(path);
  const auto at = text.find(old_sha256);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, old_sha256.size(), sha256_of(content));
  const std::string old_entry = "\"envelope_size\": " + std::to_string(old_size);
  const auto size_at = text.find(old_entry);
  if (size_at != std::string::npos && content.size() != old_size) {
    text.replace(size_at, old_entry.size(), "\"envelope_size\": " + std::to_string(content.size()));
  }
  test::write_file(index, std::vector<char>(text.begin(), text.end()));
}

// Expects decryption of `base` by the examiner to fail with `code` and a message containing
// `needle`, and no plaintext (nor a temporary file) left in the output directory.
void expect_refused(const std::string& base,
                    Errc code,
                    const std::string& needle,
                    const std::string& stem = "examiner") {
  const test::TempDir out;
  auto report = decrypt_package(base + ".enc.json", receiver(stem), out.file("plain"));
  BOOST_REQUIRE_MESSAGE(!report, "decryption of a damaged package succeeded");
  BOOST_TEST(errc_name(report.error().code) == errc_name(code));
  BOOST_TEST(report.error().message.find(needle) != std::string::npos, report.error().message);
  BOOST_TEST(names_in(out.file("")).empty());
}

// A ByteSink that collects what it is given and records whether finish() came.
class MemorySink final : public ByteSink {
 public:
  Result<void> write(std::span<const std::byte> data) override {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  Result<void> finish() override {
    finished = true;
    return {};
  }
  std::string bytes;
  bool finished = false;
};

// A ByteSink that only hashes, for large streams.
class HashingSink final : public ByteSink {
 public:
  HashingSink() : m_hasher(std::move(*Hasher::create(HashAlgorithm::sha256))) {}
  Result<void> write(std::span<const std::byte> data) override {
    m_hasher.update(data);
    size += data.size();
    return {};
  }
  Result<void> finish() override {
    digest = m_hasher.finish_hex();
    return {};
  }
  std::uint64_t size = 0;
  std::string digest;

 private:
  Hasher m_hasher;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(round_trip_to_one_ec_p256_recipient_over_several_segments) {
  const test::TempDir dir;
  const std::string plaintext = random_text(10'000, 1);
  encrypt(plaintext, {"examiner"}, dir.file("package.tar"), 4096);
  for (const char* name : {"package.tar.enc.000", "package.tar.enc.000.p7m", "package.tar.enc.001",
                           "package.tar.enc.001.p7m", "package.tar.enc.002",
                           "package.tar.enc.002.p7m", "package.tar.enc.json"}) {
    BOOST_TEST(fs::exists(dir.file(name)), name);
  }
  BOOST_TEST(!fs::exists(dir.file("package.tar.enc.003")));
  // Only ciphertext on disk.
  BOOST_TEST(test::read_file(dir.file("package.tar.enc.000")) != plaintext.substr(0, 4096));
  BOOST_TEST(fs::file_size(dir.file("package.tar.enc.002")) == 10'000U - 2 * 4096U);
  BOOST_TEST(decrypt_or_fail(dir.file("package.tar.enc.json"), "examiner", dir.file("out")) ==
             plaintext);
  // The plaintext is for its owner only.
  struct stat status {};
  BOOST_REQUIRE(::stat(dir.file("out").c_str(), &status) == 0);
  BOOST_TEST((status.st_mode & 0777U) == 0600U);
}

BOOST_AUTO_TEST_CASE(round_trip_to_ec_and_rsa_recipients_each_decrypts) {
  const test::TempDir dir;
  const std::string plaintext = random_text(70'000, 2);
  encrypt(plaintext, {"examiner", "witness"}, dir.file("p"), 32768, 7777);
  BOOST_TEST(decrypt_or_fail(dir.file("p.enc.json"), "examiner", dir.file("by-ec")) == plaintext);
  // Any file of the package finds its index.
  BOOST_TEST(decrypt_or_fail(dir.file("p.enc.001.p7m"), "witness", dir.file("by-rsa")) ==
             plaintext);

  auto index = read_envelope_index(dir.file("p"));
  BOOST_REQUIRE(index);
  BOOST_TEST(index->cipher == "aes-256-gcm");
  BOOST_TEST(index->plaintext_size == plaintext.size());
  BOOST_TEST(index->segments.size() == 3U);
  BOOST_REQUIRE(index->recipients.size() == 2U);
  BOOST_TEST(index->recipients[0].key_type == "EC P-256");
  BOOST_TEST(index->recipients[1].key_type == "RSA 3072");
  BOOST_TEST(index->recipients[1].subject.find("CN=Test Witness") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_plaintext_is_one_empty_authenticated_segment) {
  const test::TempDir dir;
  encrypt("", {"examiner"}, dir.file("empty"), 4096);
  BOOST_TEST(fs::file_size(dir.file("empty.enc.000")) == 0U);
  BOOST_TEST(fs::exists(dir.file("empty.enc.000.p7m")));
  BOOST_TEST(!fs::exists(dir.file("empty.enc.001")));
  BOOST_TEST(decrypt_or_fail(dir.file("empty.enc.json"), "examiner", dir.file("out")).empty());
  BOOST_TEST(fs::exists(dir.file("out")));
}

BOOST_AUTO_TEST_CASE(exact_multiples_of_the_segment_size_make_no_empty_segment) {
  for (const std::size_t size : {1024U, 3072U, 3071U, 3073U, 1U}) {
    const test::TempDir dir;
    const std::string plaintext = random_text(size, static_cast<unsigned>(size));
    encrypt(plaintext, {"witness"}, dir.file("m"), 1024, 512);
    auto index = read_envelope_index(dir.file("m.enc.json"));
    BOOST_REQUIRE(index);
    BOOST_TEST(index->segments.size() == (size + 1023) / 1024, size);
    BOOST_TEST(index->segments.back().size == (size % 1024 == 0 ? 1024U : size % 1024), size);
    BOOST_TEST(decrypt_or_fail(dir.file("m.enc.json"), "witness", dir.file("out")) == plaintext,
               size);
  }
}

BOOST_AUTO_TEST_CASE(index_lists_every_file_with_size_and_sha256) {
  const test::TempDir dir;
  encrypt(random_text(5000, 3), {"examiner"}, dir.file("x"), 2048);
  auto index = read_envelope_index(dir.file("x.enc.json"));
  BOOST_REQUIRE(index);
  BOOST_REQUIRE(index->segments.size() == 3U);
  for (const EnvelopeSegment& segment : index->segments) {
    const std::string ciphertext = test::read_file(dir.file(segment.ciphertext));
    const std::string envelope = test::read_file(dir.file(segment.envelope));
    BOOST_TEST(ciphertext.size() == segment.size);
    BOOST_TEST(sha256_of(ciphertext) == segment.sha256);
    BOOST_TEST(envelope.size() == segment.envelope_size);
    BOOST_TEST(sha256_of(envelope) == segment.envelope_sha256);
  }
  auto check = check_package(dir.file("x.enc.json"));
  BOOST_REQUIRE(check);
  BOOST_TEST((check->verdict == Verdict::pass));
  BOOST_TEST(check->problems.empty());

  // The documented stock check agrees.
  if (test::have_tool("jq")) {
    BOOST_TEST(test::run_command("cd " + quoted(dir.file("")) +
                                 " && jq -r '.segments[] | \"\\(.sha256)  \\(.ciphertext)\\n"
                                 "\\(.envelope_sha256)  \\(.envelope)\"' x.enc.json | "
                                 "sha256sum -c --quiet")
                   .has_value());
  }

  fs::remove(dir.file("x.enc.001"));
  flip_byte(dir.file("x.enc.002.p7m"), 10);
  check = check_package(dir.file("x.enc.json"));
  BOOST_REQUIRE(check);
  BOOST_TEST((check->verdict == Verdict::fail));
  BOOST_REQUIRE(check->problems.size() == 2U);
  BOOST_TEST(check->problems[0].find("x.enc.001: missing") != std::string::npos);
  BOOST_TEST(check->problems[1].find("x.enc.002.p7m: SHA-256 differs") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stock_openssl_decrypts_every_segment) {
  BOOST_REQUIRE(test::have_tool("openssl"));
  const test::TempDir dir;
  const std::string plaintext = random_text(9000, 4);
  encrypt(plaintext, {"examiner", "witness"}, dir.file("pkg"), 4000);
  for (const char* stem : {"examiner", "witness"}) {
    std::string joined;
    for (const char* segment : {"pkg.enc.000", "pkg.enc.001", "pkg.enc.002"}) {
      const std::string base = dir.file(segment);
      auto out = test::run_command("openssl cms -decrypt -binary -inform DER -in " +
                                   quoted(base + ".p7m") + " -content " + quoted(base) +
                                   " -inkey " + quoted(key_file(std::string(stem) + ".key")) +
                                   " -recip " + quoted(key_file(std::string(stem) + ".pem")));
      BOOST_REQUIRE_MESSAGE(out, "openssl cms -decrypt failed for " << segment << " by " << stem);
      joined += *out;
    }
    BOOST_TEST(joined == plaintext, stem);
  }
  // The loop documented in envelope.hpp, verbatim but for the key names.
  if (test::have_tool("jq")) {
    test::write_file(dir.file("decrypt.sh"), [] {
      const std::string script =
          "jq -r '.segments[].envelope' pkg.enc.json | while read -r p7m; do\n"
          "  openssl cms -decrypt -binary -inform DER -in \"$p7m\" -content \"${p7m%.p7m}\" "
          "-inkey \"$1\" -recip \"$2\" || exit 1\n"
          "done > NAME.part && mv NAME.part NAME || { rm -f NAME.part; echo 'NOT decrypted' >&2; "
          "}\n";
      return std::vector<char>(script.begin(), script.end());
    }());
    BOOST_REQUIRE(
        std::system(("cd " + quoted(dir.file("")) + " && bash decrypt.sh " +
                     quoted(key_file("witness.key")) + " " + quoted(key_file("witness.pem")))
                        .c_str()) == 0);
    BOOST_TEST(test::read_file(dir.file("NAME")) == plaintext);
  }
}

BOOST_AUTO_TEST_CASE(the_envelope_is_detached_aes256_gcm_with_oaep_and_sha256_kdf) {
  const test::TempDir dir;
  encrypt(random_text(100, 5), {"examiner", "witness"}, dir.file("s"), 4096);
  auto printed = test::run_command("openssl cms -cmsout -print -inform DER -in " +
                                   quoted(dir.file("s.enc.000.p7m")));
  BOOST_REQUIRE(printed);
  for (const char* expected :
       {"id-smime-ct-authEnvelopedData", "aes-256-gcm", "encryptedContent: <ABSENT>", "rsaesOaep",
        "dhSinglePass-stdDH-sha256kdf-scheme", "id-aes256-wrap"}) {
    BOOST_TEST(printed->find(expected) != std::string::npos, expected);
  }
  BOOST_TEST(fs::file_size(dir.file("s.enc.000.p7m")) < 2000U);
}

BOOST_AUTO_TEST_CASE(wrong_key_is_refused_naming_the_recipients_and_leaves_nothing) {
  const test::TempDir dir;
  encrypt(random_text(5000, 6), {"examiner", "witness"}, dir.file("w"), 2048);
  expect_refused(dir.file("w"), Errc::invalid_argument,
                 "this package is not encrypted to the certificate C=DE,O=Elsewhere Test "
                 "Lab,CN=Other Examiner; it is for: ",
                 "other-examiner");
  // Every recipient is named (in the order of the DER SET, not the order given).
  expect_refused(dir.file("w"), Errc::invalid_argument, "C=DE,O=Custody Test Lab,CN=Test Witness",
                 "other-examiner");
  expect_refused(dir.file("w"), Errc::invalid_argument, "C=DE,O=Custody Test Lab,CN=Test Examiner",
                 "other-examiner");
  // Stock openssl refuses too (exit status 4).
  const std::string command =
      "openssl cms -decrypt -binary -inform DER -in " + quoted(dir.file("w.enc.000.p7m")) +
      " -content " + quoted(dir.file("w.enc.000")) + " -inkey " +
      quoted(key_file("other-examiner.key")) + " -recip " + quoted(key_file("other-examiner.pem"));
  BOOST_TEST(!test::run_command(command + " 2>/dev/null").has_value());
}

BOOST_AUTO_TEST_CASE(flipped_ciphertext_byte_fails_the_tag_and_releases_nothing) {
  const test::TempDir dir;
  encrypt(random_text(10'000, 7), {"examiner"}, dir.file("t"), 4096);
  auto index = read_envelope_index(dir.file("t.enc.json"));
  BOOST_REQUIRE(index);
  flip_byte(dir.file("t.enc.001"), 4000);
  // Segment 0 decrypts fine first: the failure of segment 1 must still release nothing.
  expect_refused(dir.file("t"), Errc::crypto, "segment 1 does not authenticate");

  // The streaming variant never calls finish() on failure.
  MemorySink sink;
  auto report = decrypt_package_to(dir.file("t.enc.json"), receiver("examiner"), sink);
  BOOST_REQUIRE(!report);
  BOOST_TEST(!sink.finished);
}

BOOST_AUTO_TEST_CASE(flipped_tag_is_detected_by_the_index_and_by_gcm) {
  const test::TempDir dir;
  encrypt(random_text(3000, 8), {"examiner"}, dir.file("g"), 4096);
  const std::string p7m = dir.file("g.enc.000.p7m");
  auto index = read_envelope_index(dir.file("g.enc.json"));
  BOOST_REQUIRE(index);
  // The tag is the last element of the AuthEnvelopedData: the file's last 16 bytes.
  flip_byte(p7m, fs::file_size(p7m) - 1);
  expect_refused(dir.file("g"), Errc::corrupt, "is not the file the package index lists");
  // With the index edited to match, GCM itself catches it.
  make_index_agree(dir.file("g.enc.json"), index->segments[0].envelope_sha256,
                   index->segments[0].envelope_size, p7m);
  expect_refused(dir.file("g"), Errc::crypto, "segment 0 does not authenticate");
}

// Stock OpenSSL 3.0 decrypts with a GCM tag cut to its first 4 bytes (checked here, so that the
// day it stops, this test says so); we insist on all 16.
BOOST_AUTO_TEST_CASE(a_tag_cut_to_4_bytes_is_refused_though_openssl_accepts_it,
                     *test::needs_tools({"python3"})) {
  const test::TempDir dir;
  const std::string plaintext = random_text(3000, 16);
  encrypt(plaintext, {"examiner"}, dir.file("c"), 4096);
  const std::string p7m = dir.file("c.enc.000.p7m");
  auto index = read_envelope_index(dir.file("c.enc.json"));
  BOOST_REQUIRE(index);
  // Re-encodes the DER with the mac (the AuthEnvelopedData's OCTET STRING) cut to 4 bytes.
  const std::string script = R"(import sys
def tlv(b, i):
    tag, l, h = b[i], b[i + 1], 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i + 2:i + 2 + n], 'big'); h = 2 + n
    return tag, b[i + h:i + h + l], i + h + l
def enc(tag, v):
    n = len(v)
    if n < 0x80: return bytes([tag, n]) + v
    s = n.to_bytes((n.bit_length() + 7) // 8, 'big'); return bytes([tag, 0x80 | len(s)]) + s + v
def children(v):
    out, i = [], 0
    while i < len(v):
        t, c, j = tlv(v, i); out.append((t, c)); i = j
    return out
_, ci, _ = tlv(open(sys.argv[1], 'rb').read(), 0)
(ot, oid), (wt, wrapped) = children(ci)
_, aed, _ = tlv(wrapped, 0)
fields = [(t, c[:4]) if t == 0x04 else (t, c) for t, c in children(aed)]
aed = enc(0x30, b''.join(enc(t, c) for t, c in fields))
open(sys.argv[1], 'wb').write(enc(0x30, enc(ot, oid) + enc(wt, aed)))
)";
  test::write_file(dir.file("cut.py"), std::vector<char>(script.begin(), script.end()));
  BOOST_REQUIRE(
      std::system(("python3 " + quoted(dir.file("cut.py")) + " " + quoted(p7m)).c_str()) == 0);
  BOOST_REQUIRE(fs::file_size(p7m) == index->segments[0].envelope_size - 12);
  make_index_agree(dir.file("c.enc.json"), index->segments[0].envelope_sha256,
                   index->segments[0].envelope_size, p7m);
  expect_refused(dir.file("c"), Errc::corrupt, "the tag is missing or not 16 bytes");

  auto stock = test::run_command("openssl cms -decrypt -binary -inform DER -in " + quoted(p7m) +
                                 " -content " + quoted(dir.file("c.enc.000")) + " -inkey " +
                                 quoted(key_file("examiner.key")) + " 2>/dev/null");
  BOOST_TEST((stock && *stock == plaintext), "stock openssl no longer accepts a 4-byte tag");
}

BOOST_AUTO_TEST_CASE(altered_or_truncated_p7m_is_refused) {
  const test::TempDir dir;
  encrypt(random_text(3000, 9), {"examiner"}, dir.file("a"), 4096);
  const std::string p7m = dir.file("a.enc.000.p7m");
  auto index = read_envelope_index(dir.file("a.enc.json"));
  BOOST_REQUIRE(index);
  const std::string original = test::read_file(p7m);

  // Truncated: the index catches it, and so does the structure check when the index agrees.
  fs::resize_file(p7m, original.size() / 2);
  expect_refused(dir.file("a"), Errc::corrupt, "is not the file the package index lists");
  make_index_agree(dir.file("a.enc.json"), index->segments[0].envelope_sha256,
                   index->segments[0].envelope_size, p7m);
  expect_refused(dir.file("a"), Errc::corrupt, "truncated or damaged");

  // A byte of the wrapped content key (in the middle of the recipient info) altered.
  const test::TempDir again;
  encrypt(random_text(3000, 9), {"examiner"}, again.file("a"), 4096);
  auto fresh = read_envelope_index(again.file("a.enc.json"));
  BOOST_REQUIRE(fresh);
  const std::string p7m2 = again.file("a.enc.000.p7m");
  flip_byte(p7m2, fs::file_size(p7m2) - 60);  // inside the GCM parameters / content info
  make_index_agree(again.file("a.enc.json"), fresh->segments[0].envelope_sha256,
                   fresh->segments[0].envelope_size, p7m2);
  const test::TempDir out;
  auto report = decrypt_package(again.file("a.enc.json"), receiver("examiner"), out.file("p"));
  BOOST_REQUIRE(!report);
  BOOST_TEST(names_in(out.file("")).empty());
}

BOOST_AUTO_TEST_CASE(missing_or_short_segment_is_named_and_nothing_released) {
  const test::TempDir dir;
  encrypt(random_text(10'000, 10), {"examiner"}, dir.file("s"), 4096);
  fs::resize_file(dir.file("s.enc.002"), 100);
  expect_refused(dir.file("s"), Errc::corrupt, "segment 2");
  expect_refused(dir.file("s"), Errc::corrupt, "it is short");
  fs::remove(dir.file("s.enc.001"));
  expect_refused(dir.file("s"), Errc::not_found, "segment 1 is missing");
  fs::remove(dir.file("s.enc.000.p7m"));
  expect_refused(dir.file("s"), Errc::not_found, "s.enc.000.p7m is missing");
  fs::remove(dir.file("s.enc.json"));
  expect_refused(dir.file("s"), Errc::not_found, "the package index");
}

BOOST_AUTO_TEST_CASE(dropping_the_last_segment_from_the_index_is_caught_by_its_sizes) {
  const test::TempDir dir;
  encrypt(random_text(5000, 11), {"examiner"}, dir.file("d"), 2048);
  std::string text = test::read_file(dir.file("d.enc.json"));
  // Claim a smaller plaintext: the segments no longer add up.
  const auto at = text.find("\"plaintext_size\": 5000");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 22, "\"plaintext_size\": 4096");
  test::write_file(dir.file("d.enc.json"), std::vector<char>(text.begin(), text.end()));
  expect_refused(dir.file("d"), Errc::corrupt, "add up to 5000 bytes");
}

BOOST_AUTO_TEST_CASE(x25519_ed25519_and_small_rsa_recipients_are_refused) {
  const test::TempDir dir;
  for (const auto& [stem, needle] :
       {std::pair{"x25519", "OpenSSL 3.0 cannot encrypt CMS to X25519 keys"},
        std::pair{"ed25519", "Ed25519 keys cannot receive encrypted data"},
        std::pair{"rsa1024", "its RSA 1024 key is too weak"}}) {
    EnvelopeOptions options;
    options.recipient_certificates = {key_file("examiner.pem"),
                                      key_file(std::string(stem) + ".pem")};
    options.output_base = dir.file("r");
    auto sink = open_encrypting_sink(options);
    BOOST_REQUIRE(!sink);
    BOOST_TEST((sink.error().code == Errc::invalid_argument));
    BOOST_TEST(sink.error().message.find(needle) != std::string::npos, sink.error().message);
    BOOST_TEST(sink.error().hint.find("EC P-256 or RSA") != std::string::npos);
  }
  BOOST_TEST(names_in(dir.file("")).empty());
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  const test::TempDir dir;
  EnvelopeOptions options;
  options.output_base = dir.file("o");
  auto none = open_encrypting_sink(options);
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().message.find("no recipient certificate") != std::string::npos);

  options.recipient_certificates = {key_file("examiner.pem"), key_file("examiner.pem")};
  auto twice = open_encrypting_sink(options);
  BOOST_REQUIRE(!twice);
  BOOST_TEST(twice.error().message.find("is given twice") != std::string::npos);

  options.recipient_certificates = {key_file("examiner.pem")};
  for (const std::uint64_t size : {std::uint64_t{0}, k_max_envelope_segment_size + 1}) {
    options.segment_size = size;
    auto refused = open_encrypting_sink(options);
    BOOST_REQUIRE(!refused);
    BOOST_TEST((refused.error().code == Errc::invalid_argument));
  }
  options.segment_size = 4096;
  options.recipient_certificates = {dir.file("missing.pem")};
  auto missing = open_encrypting_sink(options);
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));
}

BOOST_AUTO_TEST_CASE(existing_package_or_output_is_not_overwritten) {
  const test::TempDir dir;
  encrypt("first", {"examiner"}, dir.file("e"), 4096);
  EnvelopeOptions options;
  options.recipient_certificates = {key_file("examiner.pem")};
  options.output_base = dir.file("e");
  auto again = open_encrypting_sink(options);
  BOOST_REQUIRE(!again);
  BOOST_TEST((again.error().code == Errc::already_exists));

  test::write_file(dir.file("out"), {'x'});
  auto report = decrypt_package(dir.file("e.enc.json"), receiver("examiner"), dir.file("out"));
  BOOST_REQUIRE(!report);
  BOOST_TEST((report.error().code == Errc::already_exists));
  BOOST_TEST(test::read_file(dir.file("out")) == "x");

  // With overwrite, a shorter package replaces a longer one without leftovers.
  encrypt(random_text(9000, 12), {"examiner"}, dir.file("long"), 2048);
  options.output_base = dir.file("long");
  options.segment_size = 2048;
  options.overwrite = true;
  auto sink = open_encrypting_sink(options);
  BOOST_REQUIRE(sink);
  BOOST_REQUIRE((*sink)->write(std::as_bytes(std::span("short", 5))));
  BOOST_REQUIRE((*sink)->finish());
  BOOST_TEST(!fs::exists(dir.file("long.enc.001")));
  BOOST_TEST(!fs::exists(dir.file("long.enc.004.p7m")));
  BOOST_TEST(decrypt_or_fail(dir.file("long.enc.json"), "examiner", dir.file("short")) == "short");
}

BOOST_AUTO_TEST_CASE(sink_destroyed_without_finish_leaves_no_files) {
  const test::TempDir dir;
  {
    EnvelopeOptions options;
    options.recipient_certificates = {key_file("examiner.pem")};
    options.output_base = dir.file("u");
    options.segment_size = 1000;
    auto sink = open_encrypting_sink(options);
    BOOST_REQUIRE(sink);
    const std::string data = random_text(2500, 13);
    BOOST_REQUIRE((*sink)->write(std::as_bytes(std::span(data.data(), data.size()))));
    BOOST_TEST(fs::exists(dir.file("u.enc.001.p7m")));
  }
  BOOST_TEST(names_in(dir.file("")).empty());
}

BOOST_AUTO_TEST_CASE(receivers_with_pkcs12_or_encrypted_key_decrypt_and_stream) {
  const test::TempDir dir;
  const std::string plaintext = random_text(6000, 14);
  encrypt(plaintext, {"examiner"}, dir.file("k"), 4096);
  for (const bool pkcs12 : {true, false}) {
    IdentityOptions options;
    options.key_path = key_file(pkcs12 ? "examiner.p12" : "examiner-encrypted.key");
    options.cert_path = pkcs12 ? "" : key_file("examiner.pem");
    options.passphrase = {PassphraseSource::Kind::file, key_file("passphrase.txt")};
    auto identity = Identity::load(options);
    BOOST_REQUIRE(identity);
    MemorySink sink;
    auto report = decrypt_package_to(dir.file("k.enc.json"), *identity, sink);
    BOOST_REQUIRE_MESSAGE(report, (report ? "" : report.error().to_string()));
    BOOST_TEST(sink.finished);
    BOOST_TEST(sink.bytes == plaintext);
    BOOST_TEST(report->segments == 2U);
    BOOST_TEST(report->plaintext_size == plaintext.size());
  }
}

// 256 MiB through both directions in 8 MiB segments, generated and checked on the fly: bounded
// memory (the peak resident size stays far below the stream) and fast enough for a unit test.
// The GiB-scale run, and stock openssl's memory on a full 1 GiB segment, are for a benchmark.
BOOST_AUTO_TEST_CASE(a_256_mib_stream_round_trips_in_bounded_memory) {
  const test::TempDir dir;
  constexpr std::size_t k_total = std::size_t{256} << 20U;
  constexpr std::size_t k_piece = std::size_t{1} << 20U;
  const auto started = std::chrono::steady_clock::now();
  EnvelopeOptions options;
  options.recipient_certificates = {key_file("examiner.pem")};
  options.output_base = dir.file("big");
  options.segment_size = std::uint64_t{8} << 20U;
  auto sink = open_encrypting_sink(options);
  BOOST_REQUIRE(sink);
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  BOOST_REQUIRE(hasher);
  std::vector<std::uint64_t> piece(k_piece / sizeof(std::uint64_t));
  std::mt19937_64 generator(15);
  for (std::size_t done = 0; done < k_total; done += k_piece) {
    for (std::uint64_t& word : piece) {
      word = generator();
    }
    const auto bytes = std::as_bytes(std::span(piece));
    hasher->update(bytes);
    BOOST_REQUIRE((*sink)->write(bytes));
  }
  BOOST_REQUIRE((*sink)->finish());
  HashingSink plaintext;
  auto report = decrypt_package_to(dir.file("big.enc.json"), receiver("examiner"), plaintext);
  BOOST_REQUIRE_MESSAGE(report, (report ? "" : report.error().to_string()));
  BOOST_TEST(plaintext.size == k_total);
  BOOST_TEST(plaintext.digest == hasher->finish_hex());
  BOOST_TEST(report->segments == 32U);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST_MESSAGE("256 MiB encrypted and decrypted in " << seconds << " s");
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  BOOST_TEST_MESSAGE("peak resident size " << usage.ru_maxrss / 1024 << " MiB");
  // The whole test binary's peak: far below the 256 MiB streamed. (AddressSanitizer keeps freed
  // buffers in quarantine, so its peak says nothing about ours.)
#ifndef __SANITIZE_ADDRESS__
  BOOST_TEST(usage.ru_maxrss < 128L * 1024L);
#endif
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
