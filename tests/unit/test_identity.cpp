// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/temp_dir.hpp"

#include <custody/identity.hpp>

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace custody {
namespace {

namespace fs = std::filesystem;

using test::quoted;

// Runs a shell command; its output is shown only if it fails.
int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

void require_run(const std::string& command) {
  BOOST_REQUIRE_MESSAGE(std::system((command + " 2>&1").c_str()) == 0, command);
}

std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
      out += buffer;
    }
    ::pclose(pipe);
  }
  return out;
}

using test::write_text;

// The identities of samples/keys/make-test-identities.sh, made once per test run.
const test::TempDir& identities() {
  static const test::TempDir dir;
  static const bool made = [] {
    const fs::path script = fs::path(CUSTODY_SOURCE_DIR) / "samples/keys/make-test-identities.sh";
    return std::system(("bash " + quoted(script.string()) + " " + quoted(dir.file(""))).c_str()) ==
           0;
  }();
  BOOST_REQUIRE_MESSAGE(made, "make-test-identities.sh failed");
  return dir;
}

std::string id(const std::string& name) {
  return identities().file(name);
}

IdentityOptions pem_options(const std::string& stem) {
  IdentityOptions options;
  options.key_path = id(stem + ".key");
  options.cert_path = id(stem + ".pem");
  return options;
}

Identity load_or_fail(const IdentityOptions& options) {
  auto identity = Identity::load(options);
  BOOST_REQUIRE_MESSAGE(identity, (identity ? "" : identity.error().to_string()));
  return std::move(*identity);
}

std::string sign_or_fail(const Identity& identity, std::string_view content) {
  auto signature = identity.sign_detached(content);
  BOOST_REQUIRE_MESSAGE(signature, (signature ? "" : signature.error().to_string()));
  return *signature;
}

SignatureCheck verify_or_fail(std::string_view signature,
                              std::string_view content,
                              const std::vector<std::string>& trust) {
  auto check = verify_detached(signature, content, trust);
  BOOST_REQUIRE_MESSAGE(check, (check ? "" : check.error().to_string()));
  return *check;
}

// Content with bytes that a text-mode signature would alter: CR LF, a lone LF, NUL.
const std::string k_content = std::string("evidence line one\r\nline two\nend\0\x01\xff", 32);

// A signature by `options`' identity that verifies and chains to the test CA.
void expect_round_trip(const IdentityOptions& options, const std::string& expected_key_type) {
  const Identity identity = load_or_fail(options);
  BOOST_TEST(identity.certificate().key_type == expected_key_type);
  const std::string signature = sign_or_fail(identity, k_content);
  const SignatureCheck check = verify_or_fail(signature, k_content, {id("ca.pem")});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(check.chain_trusted);
  BOOST_TEST(check.trust_problem.empty());
  BOOST_TEST(check.valid_at_signing_time);
  BOOST_TEST(check.detail.empty());
  BOOST_TEST(check.signer.sha256_fingerprint == identity.certificate().sha256_fingerprint);
  BOOST_TEST(check.signer.key_type == expected_key_type);
}

// Signs with the stock openssl CA in `dir`: KEY/CERT issued by ISSUER(.key/.pem) with the
// extensions in `extensions`.
void issue_with_openssl(const test::TempDir& dir,
                        const std::string& stem,
                        const std::string& issuer,
                        const std::string& extensions) {
  const std::string key = dir.file(stem + ".key");
  const std::string ext = dir.file(stem + ".ext");
  write_text(ext, "[signer]\n" + extensions);
  require_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + quoted(key) +
              " && chmod 600 " + quoted(key));
  require_run("openssl req -new -key " + quoted(key) + " -subj '/CN=" + stem + "' -out " +
              quoted(dir.file(stem + ".csr")));
  require_run("openssl x509 -req -in " + quoted(dir.file(stem + ".csr")) + " -CA " +
              quoted(issuer + ".pem") + " -CAkey " + quoted(issuer + ".key") +
              " -days 30 -extfile " + quoted(ext) + " -extensions signer -out " +
              quoted(dir.file(stem + ".pem")) + " >/dev/null");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(identity)

BOOST_AUTO_TEST_CASE(round_trip_with_p256_p384_and_rsa) {
  expect_round_trip(pem_options("examiner"), "EC P-256");
  expect_round_trip(pem_options("examiner-p384"), "EC P-384");
  expect_round_trip(pem_options("witness"), "RSA 3072");
}

BOOST_AUTO_TEST_CASE(p384_signs_with_sha384_and_p256_with_sha256) {
  const test::TempDir dir;
  for (const auto& [stem, digest] :
       {std::pair{"examiner-p384", "sha384"}, std::pair{"examiner", "sha256"}}) {
    write_text(dir.file("sig"), sign_or_fail(load_or_fail(pem_options(stem)), k_content));
    const std::string printed = output_of("openssl cms -cmsout -print -inform DER -in " +
                                          quoted(dir.file("sig")) + " 2>&1");
    BOOST_TEST(printed.find(std::string("algorithm: ") + digest) != std::string::npos, stem);
    BOOST_TEST(printed.find("signingTime") != std::string::npos, stem);
    // Detached: no eContent after the eContentType.
    BOOST_TEST(printed.find("eContent: <ABSENT>") != std::string::npos, stem);
  }
}

BOOST_AUTO_TEST_CASE(pkcs12_identity_signs) {
  IdentityOptions options;
  options.key_path = id("examiner.p12");
  options.passphrase = {PassphraseSource::Kind::file, id("passphrase.txt")};
  expect_round_trip(options, "EC P-256");

  options.passphrase = {};
  auto no_passphrase = Identity::load(options);
  BOOST_REQUIRE(!no_passphrase);
  BOOST_TEST((no_passphrase.error().code == Errc::invalid_argument));

  const test::TempDir dir;
  write_text(dir.file("wrong"), "wrong horse\n");
  ::chmod(dir.file("wrong").c_str(), 0600);  // a passphrase file is a secret like a key
  options.passphrase = {PassphraseSource::Kind::file, dir.file("wrong")};
  auto wrong = Identity::load(options);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST((wrong.error().code == Errc::invalid_argument));
  BOOST_TEST(wrong.error().message == "the passphrase does not open " + options.key_path);
}

BOOST_AUTO_TEST_CASE(encrypted_key_opens_with_passphrase_from_file_or_environment) {
  IdentityOptions options = pem_options("examiner");
  options.key_path = id("examiner-encrypted.key");
  options.passphrase = {PassphraseSource::Kind::file, id("passphrase.txt")};
  expect_round_trip(options, "EC P-256");

  ::setenv("CUSTODY_TEST_PASSPHRASE", "correct horse", 1);
  options.passphrase = {PassphraseSource::Kind::environment, "CUSTODY_TEST_PASSPHRASE"};
  expect_round_trip(options, "EC P-256");
  ::unsetenv("CUSTODY_TEST_PASSPHRASE");

  auto unset = Identity::load(options);
  BOOST_REQUIRE(!unset);
  BOOST_TEST((unset.error().code == Errc::invalid_argument));
  BOOST_TEST(unset.error().message.find("CUSTODY_TEST_PASSPHRASE") != std::string::npos);

  options.passphrase = {};
  auto none = Identity::load(options);
  BOOST_REQUIRE(!none);
  BOOST_TEST((none.error().code == Errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(wrong_passphrase_is_refused_with_a_plain_message) {
  const test::TempDir dir;
  write_text(dir.file("wrong"), "correct horse battery staple\n");
  ::chmod(dir.file("wrong").c_str(), 0600);
  IdentityOptions options = pem_options("examiner");
  options.key_path = id("examiner-encrypted.key");
  options.passphrase = {PassphraseSource::Kind::file, dir.file("wrong")};
  auto identity = Identity::load(options);
  BOOST_REQUIRE(!identity);
  BOOST_TEST((identity.error().code == Errc::invalid_argument));
  BOOST_TEST(identity.error().message == "the passphrase does not open " + options.key_path);
}

BOOST_AUTO_TEST_CASE(key_readable_by_others_is_refused_unless_allowed) {
  const test::TempDir dir;
  const std::string key = dir.file("examiner.key");
  fs::copy_file(id("examiner.key"), key);
  ::chmod(key.c_str(), 0644);
  IdentityOptions options = pem_options("examiner");
  options.key_path = key;
  auto refused = Identity::load(options);
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == Errc::invalid_argument));
  BOOST_TEST(refused.error().message ==
             "the private key " + key + " is readable by other users (mode 0644)");
  BOOST_TEST(refused.error().hint ==
             "chmod 600 " + key + ", or use --allow-insecure-key-permissions");
  options.allow_insecure_key_permissions = true;
  expect_round_trip(options, "EC P-256");
}

BOOST_AUTO_TEST_CASE(key_that_does_not_match_the_certificate_is_refused) {
  IdentityOptions options = pem_options("examiner");
  options.cert_path = id("witness.pem");
  auto identity = Identity::load(options);
  BOOST_REQUIRE(!identity);
  BOOST_TEST((identity.error().code == Errc::invalid_argument));
  BOOST_TEST(identity.error().message.find("does not match") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_and_unparseable_files_are_told_apart) {
  IdentityOptions options = pem_options("examiner");
  options.key_path = id("no-such.key");
  auto missing = Identity::load(options);
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));

  const test::TempDir dir;
  write_text(dir.file("garbage.key"), "-----BEGIN PRIVATE KEY-----\nnot base64\n");
  ::chmod(dir.file("garbage.key").c_str(), 0600);
  options.key_path = dir.file("garbage.key");
  auto garbage = Identity::load(options);
  BOOST_REQUIRE(!garbage);
  BOOST_TEST((garbage.error().code == Errc::corrupt));

  options = pem_options("examiner");
  options.cert_path = id("examiner.key");  // a key where the certificate belongs
  auto no_cert = Identity::load(options);
  BOOST_REQUIRE(!no_cert);
  BOOST_TEST((no_cert.error().code == Errc::corrupt));

  auto not_cms = verify_detached("not a signature", k_content, {});
  BOOST_REQUIRE(!not_cms);
  BOOST_TEST((not_cms.error().code == Errc::corrupt));

  const std::string signature = sign_or_fail(load_or_fail(pem_options("examiner")), k_content);
  auto missing_trust = verify_detached(signature, k_content, {dir.file("no-such.pem")});
  BOOST_REQUIRE(!missing_trust);
  BOOST_TEST((missing_trust.error().code == Errc::not_found));
}

BOOST_AUTO_TEST_CASE(ed25519_key_is_refused) {
  const test::TempDir dir;
  const std::string key = dir.file("ed.key");
  require_run("openssl genpkey -algorithm ED25519 -out " + quoted(key) + " && chmod 600 " +
              quoted(key) + " && openssl req -new -x509 -key " + quoted(key) +
              " -subj /CN=Ed -days 1 -out " + quoted(dir.file("ed.pem")));
  IdentityOptions options;
  options.key_path = key;
  options.cert_path = dir.file("ed.pem");
  auto identity = Identity::load(options);
  BOOST_REQUIRE(!identity);
  BOOST_TEST((identity.error().code == Errc::invalid_argument));
  BOOST_TEST(identity.error().message.find(
                 "Ed25519 cannot sign CMS in OpenSSL 3.0: use ECDSA P-256/P-384 or RSA") == 0U);
}

BOOST_AUTO_TEST_CASE(tampered_content_or_signature_is_invalid) {
  const std::string signature = sign_or_fail(load_or_fail(pem_options("examiner")), k_content);
  std::string changed = k_content;
  changed[5] ^= 0x01;
  const SignatureCheck content_check = verify_or_fail(signature, changed, {id("ca.pem")});
  BOOST_TEST(!content_check.signature_valid);
  BOOST_TEST(content_check.detail.find("content does not match") != std::string::npos);
  // Text-mode canonicalisation would make these equal; binary signing must not.
  std::string unix_lines = k_content;
  unix_lines.erase(unix_lines.find('\r'), 1);
  BOOST_TEST(!verify_or_fail(signature, unix_lines, {id("ca.pem")}).signature_valid);

  // One bit of the signature value (the last bytes of the DER) flipped.
  std::string altered = signature;
  altered[altered.size() - 3] ^= 0x01;
  auto altered_check = verify_detached(altered, k_content, {id("ca.pem")});
  if (altered_check) {
    BOOST_TEST(!altered_check->signature_valid);
    BOOST_TEST(altered_check->detail.find("the signature was altered") != std::string::npos);
  } else {
    BOOST_TEST((altered_check.error().code == Errc::corrupt));
  }
}

// Replaces the first occurrence of `from` in `text` with `to` (of the same length).
void replace_first(std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos && from.size() == to.size());
  text.replace(at, from.size(), to);
}

// CAdES B-B: the ESS signing-certificate-v2 attribute binds a signature to its certificate. A
// second certificate for the same key (another name, another serial) put in place of the first
// leaves the signature value valid; only the attribute shows the swap.
BOOST_AUTO_TEST_CASE(signer_certificate_swapped_for_another_of_the_same_key_is_caught) {
  const test::TempDir dir;
  const auto issue = [&](const std::string& name, const std::string& serial) {
    require_run("openssl req -new -key " + quoted(id("examiner.key")) + " -subj /CN=" + name +
                " -out " + quoted(dir.file(name + ".csr")) +
                " && printf '[s]\\nkeyUsage = " + "digitalSignature\\n' >" +
                quoted(dir.file("ext.cnf")) + " && openssl x509 -req -in " +
                quoted(dir.file(name + ".csr")) + " -CA " + quoted(id("ca.pem")) + " -CAkey " +
                quoted(id("ca.key")) + " -set_serial " + serial + " -days 30 -extfile " +
                quoted(dir.file("ext.cnf")) + " -extensions s -outform DER -out " +
                quoted(dir.file(name + ".der")) + " 2>/dev/null && openssl x509 -inform DER -in " +
                quoted(dir.file(name + ".der")) + " -out " + quoted(dir.file(name + ".pem")));
    return test::read_file(dir.file(name + ".der"));
  };
  const std::string first = issue("ExaminerA", "0x0101010101010101");
  // ECDSA signatures vary in length: issue the second until its DER is as long as the first's.
  std::string second;
  for (int attempt = 0; attempt < 40 && second.size() != first.size(); ++attempt) {
    second = issue("ExaminerB", "0x0202020202020202");
  }
  BOOST_REQUIRE(second.size() == first.size());
  IdentityOptions options;
  options.key_path = id("examiner.key");
  options.cert_path = dir.file("ExaminerA.pem");
  const std::string signature = sign_or_fail(load_or_fail(options), k_content);
  BOOST_TEST(verify_or_fail(signature, k_content, {id("ca.pem")}).signature_valid);

  std::string swapped = signature;
  // The certificate, then the serial in the SignerInfos identifier (the ESS attribute, further
  // on, keeps naming the first certificate).
  replace_first(swapped, first, second);
  replace_first(swapped, std::string("\x02\x08\x01\x01\x01\x01\x01\x01\x01\x01", 10),
                std::string("\x02\x08\x02\x02\x02\x02\x02\x02\x02\x02", 10));
  const SignatureCheck check = verify_or_fail(swapped, k_content, {id("ca.pem")});
  BOOST_TEST(!check.signature_valid);
  BOOST_TEST(check.detail.find("the signer's certificate was swapped") != std::string::npos,
             check.detail);
  // Stock openssl: without -cades the swap goes unnoticed; with it, it is caught.
  write_text(dir.file("swapped"), swapped);
  write_text(dir.file("content"), k_content);
  const std::string verify = "openssl cms -verify -binary -inform DER -in " +
                             quoted(dir.file("swapped")) + " -content " +
                             quoted(dir.file("content")) + " -CAfile " + quoted(id("ca.pem")) +
                             " -purpose any -out /dev/null";
  BOOST_TEST(run(verify) == 0);
  BOOST_TEST(run(verify + " -cades") != 0);
}

BOOST_AUTO_TEST_CASE(unrelated_ca_means_untrusted_but_intact) {
  const std::string signature = sign_or_fail(load_or_fail(pem_options("examiner")), k_content);
  const SignatureCheck check = verify_or_fail(signature, k_content, {id("other-ca.pem")});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(!check.chain_trusted);
  BOOST_TEST(check.trust_problem == "unable to get local issuer certificate");
  BOOST_TEST(check.detail.find("not trusted") != std::string::npos);

  // And the other way round: the unrelated CA's signer is not trusted by the test CA.
  const std::string other = sign_or_fail(load_or_fail(pem_options("other-examiner")), k_content);
  const SignatureCheck other_check = verify_or_fail(other, k_content, {id("ca.pem")});
  BOOST_TEST(other_check.signature_valid);
  BOOST_TEST(!other_check.chain_trusted);
  BOOST_TEST(verify_or_fail(other, k_content, {id("ca.pem"), id("other-ca.pem")}).chain_trusted);
}

BOOST_AUTO_TEST_CASE(no_trust_files_checks_the_signature_only) {
  const std::string signature = sign_or_fail(load_or_fail(pem_options("witness")), k_content);
  const SignatureCheck check = verify_or_fail(signature, k_content, {});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(!check.chain_trusted);
  BOOST_TEST(check.trust_problem == "no trust anchors given");
  BOOST_TEST(check.signer.subject.find("CN=Test Witness") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(expired_and_not_yet_valid_certificates_fail_at_signing_time) {
  for (const auto& [stem, problem] : {std::pair{"expired", "certificate has expired"},
                                      std::pair{"not-yet-valid", "certificate is not yet valid"}}) {
    const std::string signature = sign_or_fail(load_or_fail(pem_options(stem)), k_content);
    const SignatureCheck check = verify_or_fail(signature, k_content, {id("ca.pem")});
    BOOST_TEST(check.signature_valid, stem);
    BOOST_TEST(!check.valid_at_signing_time, stem);
    BOOST_TEST(!check.chain_trusted, stem);
    BOOST_TEST(check.trust_problem == problem, stem);
  }
}

// The chain is judged at the signing time: a certificate that expires after the signature was
// made still verifies.
BOOST_AUTO_TEST_CASE(certificate_that_expired_after_signing_still_verifies) {
  const test::TempDir dir;
  const std::string key = dir.file("short.key");
  write_text(dir.file("index.txt"), "");
  write_text(dir.file("ca.cnf"), "[ca]\ndefault_ca = c\n[c]\ndatabase = " + dir.file("index.txt") +
                                     "\nnew_certs_dir = " + dir.file("") +
                                     "\nrand_serial = yes\ndefault_md = sha256\npolicy = p\n"
                                     "[p]\ncommonName = supplied\n[signer]\nkeyUsage = critical, "
                                     "digitalSignature\nextendedKeyUsage = emailProtection\n");
  // Valid from an hour ago until two seconds from now.
  char start[32];
  char end[32];
  const std::time_t now = std::time(nullptr);
  const std::time_t hour_ago = now - 3600;
  const std::time_t soon = now + 2;
  std::strftime(start, sizeof start, "%Y%m%d%H%M%SZ", std::gmtime(&hour_ago));
  std::strftime(end, sizeof end, "%Y%m%d%H%M%SZ", std::gmtime(&soon));
  require_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + quoted(key) +
              " && chmod 600 " + quoted(key) + " && openssl req -new -key " + quoted(key) +
              " -subj /CN=Short -out " + quoted(dir.file("short.csr")) +
              " && openssl ca -batch -notext -config " + quoted(dir.file("ca.cnf")) + " -cert " +
              quoted(id("ca.pem")) + " -keyfile " + quoted(id("ca.key")) + " -in " +
              quoted(dir.file("short.csr")) + " -startdate " + start + " -enddate " + end +
              " -extensions signer -out " + quoted(dir.file("short.pem")) + " >/dev/null");
  IdentityOptions options;
  options.key_path = key;
  options.cert_path = dir.file("short.pem");
  const std::string signature = sign_or_fail(load_or_fail(options), k_content);
  std::this_thread::sleep_until(std::chrono::system_clock::from_time_t(soon) +
                                std::chrono::seconds(2));
  const SignatureCheck check = verify_or_fail(signature, k_content, {id("ca.pem")});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(check.valid_at_signing_time);
  BOOST_TEST(check.chain_trusted, check.trust_problem);
  // Stock openssl checks at the present time and refuses; that is the difference.
  write_text(dir.file("sig"), signature);
  write_text(dir.file("content"), k_content);
  BOOST_TEST(run("openssl cms -verify -binary -inform DER -in " + quoted(dir.file("sig")) +
                 " -content " + quoted(dir.file("content")) + " -CAfile " + quoted(id("ca.pem")) +
                 " -out /dev/null") != 0);
}

BOOST_AUTO_TEST_CASE(purpose_check_accepts_email_protection_or_no_eku_but_not_code_signing) {
  const test::TempDir dir;
  const std::string ca = id("ca");
  issue_with_openssl(dir, "no-eku", ca, "keyUsage = critical, digitalSignature\n");
  issue_with_openssl(dir, "code-signing", ca,
                     "keyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\n");
  for (const auto& [stem, trusted] :
       {std::pair{"no-eku", true}, std::pair{"code-signing", false}}) {
    IdentityOptions options;
    options.key_path = dir.file(std::string(stem) + ".key");
    options.cert_path = dir.file(std::string(stem) + ".pem");
    const std::string signature = sign_or_fail(load_or_fail(options), k_content);
    const SignatureCheck check = verify_or_fail(signature, k_content, {id("ca.pem")});
    BOOST_TEST(check.signature_valid, stem);
    BOOST_TEST(check.chain_trusted == trusted, stem << ": " << check.trust_problem);
    if (!trusted) {
      BOOST_TEST(check.trust_problem == "unsuitable certificate purpose");
    }
  }
}

BOOST_AUTO_TEST_CASE(chain_file_carries_the_intermediate) {
  const test::TempDir dir;
  issue_with_openssl(dir, "intermediate", id("ca"),
                     "basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign\n");
  issue_with_openssl(dir, "leaf", dir.file("intermediate"),
                     "keyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\n");
  IdentityOptions options;
  options.key_path = dir.file("leaf.key");
  options.cert_path = dir.file("leaf.pem");
  const std::string bare = sign_or_fail(load_or_fail(options), k_content);
  BOOST_TEST(verify_or_fail(bare, k_content, {id("ca.pem")}).trust_problem ==
             "unable to get local issuer certificate");
  options.chain_path = dir.file("intermediate.pem");
  const std::string chained = sign_or_fail(load_or_fail(options), k_content);
  const SignatureCheck check = verify_or_fail(chained, k_content, {id("ca.pem")});
  BOOST_TEST(check.chain_trusted, check.trust_problem);
}

// The "lab without PKI" recipe of samples/keys/README.md: a self-signed examiner certificate is
// its own trust anchor.
BOOST_AUTO_TEST_CASE(self_signed_examiner_certificate_is_its_own_trust_anchor) {
  const test::TempDir dir;
  const std::string key = dir.file("examiner.key");
  const std::string cert = dir.file("examiner.crt");
  require_run("(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
              quoted(key) + ") && openssl req -new -x509 -key " + quoted(key) +
              " -days 1095 -subj '/CN=Jane Doe/O=Example Forensic Lab/C=DE'"
              " -addext 'basicConstraints = critical, CA:false'"
              " -addext 'keyUsage = critical, digitalSignature'"
              " -addext 'extendedKeyUsage = emailProtection' -out " +
              quoted(cert));
  IdentityOptions options;
  options.key_path = key;
  options.cert_path = cert;
  const std::string signature = sign_or_fail(load_or_fail(options), k_content);
  const SignatureCheck check = verify_or_fail(signature, k_content, {cert});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(check.chain_trusted, check.trust_problem);
  BOOST_TEST(!verify_or_fail(signature, k_content, {id("ca.pem")}).chain_trusted);
}

BOOST_AUTO_TEST_CASE(stock_openssl_verifies_our_signature) {
  const test::TempDir dir;
  write_text(dir.file("content"), k_content);
  const std::string verify = "openssl cms -verify -binary -inform DER -in " +
                             quoted(dir.file("sig")) + " -content " + quoted(dir.file("content")) +
                             " -CAfile " + quoted(id("ca.pem")) + " -out /dev/null";
  for (const char* stem : {"examiner", "examiner-p384", "witness"}) {
    write_text(dir.file("sig"), sign_or_fail(load_or_fail(pem_options(stem)), k_content));
    BOOST_TEST(run(verify) == 0, stem);
  }
  std::string changed = k_content;
  changed[0] ^= 0x01;
  write_text(dir.file("content"), changed);
  BOOST_TEST(run(verify) != 0);

  // And we verify what stock openssl signs.
  write_text(dir.file("content"), k_content);
  require_run("openssl cms -sign -binary -in " + quoted(dir.file("content")) + " -signer " +
              quoted(id("examiner.pem")) + " -inkey " + quoted(id("examiner.key")) +
              " -outform DER -out " + quoted(dir.file("stock.p7s")));
  const SignatureCheck check =
      verify_or_fail(test::read_file(dir.file("stock.p7s")), k_content, {id("ca.pem")});
  BOOST_TEST(check.signature_valid);
  BOOST_TEST(check.chain_trusted, check.trust_problem);
}

BOOST_AUTO_TEST_CASE(certificate_facts_describe_the_examiner) {
  const Identity identity = load_or_fail(pem_options("examiner"));
  const CertificateFacts& facts = identity.certificate();
  BOOST_TEST(facts.subject.find("CN=Test Examiner") != std::string::npos);
  BOOST_TEST(facts.subject == "C=DE,O=Custody Test Lab,CN=Test Examiner");
  BOOST_TEST(facts.issuer == "C=DE,O=Custody Test Lab,CN=Custody Test CA");
  BOOST_TEST(facts.key_type == "EC P-256");

  // "sha256 Fingerprint=AB:CD:..." lower-cased without colons.
  std::string stock =
      output_of("openssl x509 -noout -fingerprint -sha256 -in " + quoted(id("examiner.pem")));
  stock = stock.substr(stock.find('=') + 1);
  std::string expected;
  for (char c : stock) {
    if (std::isxdigit(static_cast<unsigned char>(c)) != 0) {
      expected.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  BOOST_TEST(facts.sha256_fingerprint == expected);

  std::string serial = output_of("openssl x509 -noout -serial -in " + quoted(id("examiner.pem")));
  serial = serial.substr(serial.find('=') + 1);
  serial.erase(serial.find_last_not_of("\n") + 1);
  for (char& c : serial) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  BOOST_TEST(facts.serial == serial);

  // RFC 3339 UTC, two years apart.
  BOOST_TEST(facts.not_before.size() == 20U);
  BOOST_TEST(facts.not_before.back() == 'Z');
  BOOST_TEST(facts.not_before[10] == 'T');
  BOOST_TEST(facts.not_after.substr(0, 4) > facts.not_before.substr(0, 4));

  // The signing time is recent and in the same form.
  const SignatureCheck check =
      verify_or_fail(sign_or_fail(identity, k_content), k_content, {id("ca.pem")});
  BOOST_TEST(check.signing_time.size() == 20U);
  BOOST_TEST(check.signing_time.back() == 'Z');
  BOOST_TEST(check.signing_time >= facts.not_before);
  BOOST_TEST(check.signer.subject == facts.subject);
  BOOST_TEST(check.signer.serial == facts.serial);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
