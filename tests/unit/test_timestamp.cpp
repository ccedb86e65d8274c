// SPDX-License-Identifier: Apache-2.0
#include "../support/commands.hpp"
#include "../support/prerequisites.hpp"
#include "../support/temp_dir.hpp"

#include <custody/identity.hpp>
#include <custody/timestamp.hpp>

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace custody {
namespace {

namespace fs = std::filesystem;

const fs::path k_source_dir = CUSTODY_SOURCE_DIR;

using test::quoted;

// Runs a shell command quietly; true if it succeeded.
bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// The TSA of samples/keys/make-test-tsa.sh and the identities of make-test-identities.sh, made
// once per test run.
const test::TempDir& tsa_and_identities() {
  static const test::TempDir dir;
  static const bool made = [] {
    const std::string scripts = (k_source_dir / "samples/keys").string();
    return std::system(("bash " + quoted(scripts + "/make-test-tsa.sh") + " " +
                        quoted(dir.file("")) + " && bash " +
                        quoted(scripts + "/make-test-identities.sh") + " " + quoted(dir.file("")))
                           .c_str()) == 0;
  }();
  BOOST_REQUIRE_MESSAGE(made, "make-test-tsa.sh or make-test-identities.sh failed");
  return dir;
}

std::string key(const std::string& name) {
  return tsa_and_identities().file(name);
}

// tests/support/test_tsa.py on a free loopback port, killed when this goes out of scope.
class TsaServer {
 public:
  explicit TsaServer(const std::string& mode) {
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    const std::string script = (k_source_dir / "tests/support/test_tsa.py").string();
    const std::string config = key("tsa.cnf");
    m_pid = ::fork();
    BOOST_REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execlp("python3", "python3", script.c_str(), config.c_str(), mode.c_str(), "0",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    // Waits (up to 20 s) for "port N\n": the server listens once it prints it.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd poll_fd{fds[0], POLLIN, 0};
      if (::poll(&poll_fd, 1, 200) <= 0) {
        continue;
      }
      char buffer[64];
      const ssize_t got = ::read(fds[0], buffer, sizeof buffer);
      if (got <= 0) {
        break;
      }
      line.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    BOOST_REQUIRE_MESSAGE(line.rfind("port ", 0) == 0, "test_tsa.py did not start: " + line);
    m_url = "http://127.0.0.1:" + line.substr(5, line.find('\n') - 5) + "/";
  }
  ~TsaServer() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }
  TsaServer(const TsaServer&) = delete;
  TsaServer& operator=(const TsaServer&) = delete;

  const std::string& url() const { return m_url; }

 private:
  pid_t m_pid = -1;
  std::string m_url;
};

// A loopback port nobody listens on (bound, then released).
std::string unused_port_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0);
  BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/";
}

template <typename T>
void require_ok(const Result<T>& result) {
  BOOST_REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().to_string()));
}

// A token over `data` from the test TSA.
std::string token_for(const TsaServer& tsa, const std::string& data) {
  auto request = make_timestamp_request(data);
  require_ok(request);
  auto reply = request_timestamp(tsa.url(), *request, 10);
  require_ok(reply);
  auto token = token_from_reply(*reply, *request);
  require_ok(token);
  return *token;
}

BOOST_AUTO_TEST_SUITE(timestamp)

BOOST_AUTO_TEST_CASE(request_has_a_nonce_and_differs_each_time) {
  auto first = make_timestamp_request("evidence");
  auto second = make_timestamp_request("evidence");
  require_ok(first);
  require_ok(second);
  BOOST_TEST(!first->nonce_hex.empty());
  BOOST_TEST(first->nonce_hex != second->nonce_hex);
  BOOST_TEST(first->der != second->der);
}

BOOST_AUTO_TEST_CASE(token_from_the_tsa_verifies_with_its_ca, *test::needs_tools({"python3"})) {
  TsaServer tsa("normal");
  const std::string token = token_for(tsa, "evidence");
  auto check = verify_timestamp(token, "evidence", {key("tsa-ca.pem")});
  require_ok(check);
  BOOST_TEST(check->signature_valid);
  BOOST_TEST(check->imprint_matches);
  BOOST_TEST(check->detail.empty(), check->detail);
  BOOST_TEST(check->time.size() == 20U, check->time);  // 2026-01-02T03:04:05Z
  BOOST_TEST(check->time.back() == 'Z');
  BOOST_TEST(check->tsa_subject.find("CN=Custody Test TSA") != std::string::npos,
             check->tsa_subject);
}

// The TS_VFY_SIGNATURE pitfall: without that flag, this token would verify "OK".
BOOST_AUTO_TEST_CASE(unrelated_tsa_ca_does_not_verify_the_signature,
                     *test::needs_tools({"python3"})) {
  TsaServer tsa("normal");
  const std::string token = token_for(tsa, "evidence");
  auto check = verify_timestamp(token, "evidence", {key("other-tsa-ca.pem")});
  require_ok(check);
  BOOST_TEST(!check->signature_valid);
  BOOST_TEST(check->imprint_matches);
  BOOST_TEST(!check->detail.empty());

  auto no_anchors = verify_timestamp(token, "evidence", {});
  require_ok(no_anchors);
  BOOST_TEST(!no_anchors->signature_valid);
  BOOST_TEST(no_anchors->detail.find("no TSA trust anchors") != std::string::npos,
             no_anchors->detail);
}

BOOST_AUTO_TEST_CASE(token_for_other_data_does_not_match, *test::needs_tools({"python3"})) {
  TsaServer tsa("normal");
  const std::string token = token_for(tsa, "evidence");
  auto check = verify_timestamp(token, "tampered evidence", {key("tsa-ca.pem")});
  require_ok(check);
  BOOST_TEST(check->signature_valid);
  BOOST_TEST(!check->imprint_matches);
  BOOST_TEST(check->detail.find("SHA-256") != std::string::npos, check->detail);
}

BOOST_AUTO_TEST_CASE(reply_to_another_request_is_refused, *test::needs_tools({"python3"})) {
  TsaServer tsa("normal");
  auto asked = make_timestamp_request("evidence");
  auto other = make_timestamp_request("evidence");  // same imprint, other nonce
  require_ok(asked);
  require_ok(other);
  auto reply = request_timestamp(tsa.url(), *asked, 10);
  require_ok(reply);
  auto token = token_from_reply(*reply, *other);
  BOOST_REQUIRE(!token);
  BOOST_TEST(static_cast<int>(token.error().code) == static_cast<int>(Errc::crypto));
}

BOOST_AUTO_TEST_CASE(slow_tsa_times_out, *test::needs_tools({"python3"})) {
  TsaServer tsa("slow");
  auto request = make_timestamp_request("evidence");
  require_ok(request);
  const auto start = std::chrono::steady_clock::now();
  auto reply = request_timestamp(tsa.url(), *request, 1);
  BOOST_REQUIRE(!reply);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(10)));
  BOOST_TEST(static_cast<int>(reply.error().code) == static_cast<int>(Errc::io_error));
  BOOST_TEST(reply.error().message.find("timed out") != std::string::npos, reply.error().message);
}

BOOST_AUTO_TEST_CASE(garbage_reply_is_an_error, *test::needs_tools({"python3"})) {
  TsaServer tsa("garbage");
  auto request = make_timestamp_request("evidence");
  require_ok(request);
  auto reply = request_timestamp(tsa.url(), *request, 10);
  require_ok(reply);  // right content type: only parsing can tell
  auto token = token_from_reply(*reply, *request);
  BOOST_REQUIRE(!token);
  BOOST_TEST(static_cast<int>(token.error().code) == static_cast<int>(Errc::corrupt));
}

BOOST_AUTO_TEST_CASE(http_error_names_the_status, *test::needs_tools({"python3"})) {
  TsaServer tsa("http500");
  auto request = make_timestamp_request("evidence");
  require_ok(request);
  auto reply = request_timestamp(tsa.url(), *request, 10);
  BOOST_REQUIRE(!reply);
  BOOST_TEST(static_cast<int>(reply.error().code) == static_cast<int>(Errc::io_error));
  BOOST_TEST(reply.error().message.find("HTTP status 500") != std::string::npos,
             reply.error().message);
}

BOOST_AUTO_TEST_CASE(rejection_carries_the_tsa_status_text, *test::needs_tools({"python3"})) {
  TsaServer tsa("reject");
  auto request = make_timestamp_request("evidence");
  require_ok(request);
  auto reply = request_timestamp(tsa.url(), *request, 10);
  require_ok(reply);
  auto token = token_from_reply(*reply, *request);
  BOOST_REQUIRE(!token);
  BOOST_TEST(static_cast<int>(token.error().code) == static_cast<int>(Errc::crypto));
  BOOST_TEST(token.error().message.find("rejection") != std::string::npos, token.error().message);
  BOOST_TEST(token.error().message.find("request rejected by the test TSA") != std::string::npos,
             token.error().message);
}

BOOST_AUTO_TEST_CASE(refused_connection_is_an_io_error) {
  auto request = make_timestamp_request("evidence");
  require_ok(request);
  auto reply = request_timestamp(unused_port_url(), *request, 5);
  BOOST_REQUIRE(!reply);
  BOOST_TEST(static_cast<int>(reply.error().code) == static_cast<int>(Errc::io_error));
  BOOST_TEST(reply.error().message.find("cannot connect") != std::string::npos,
             reply.error().message);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors) {
  auto check = verify_timestamp("not a token", "evidence", {});
  BOOST_REQUIRE(!check);
  BOOST_TEST(static_cast<int>(check.error().code) == static_cast<int>(Errc::corrupt));
  BOOST_TEST(!attach_timestamp_token("not a cms", "not a token"));
  BOOST_TEST(!timestamp_token_of("not a cms"));
  BOOST_TEST(!signature_value_of(""));
}

BOOST_AUTO_TEST_CASE(missing_trust_file_is_not_found, *test::needs_tools({"python3"})) {
  TsaServer tsa("normal");
  const std::string token = token_for(tsa, "evidence");
  auto check = verify_timestamp(token, "evidence", {key("no-such-ca.pem")});
  BOOST_REQUIRE(!check);
  BOOST_TEST(static_cast<int>(check.error().code) == static_cast<int>(Errc::not_found));
}

// CAdES-T: a CMS signature by an Identity, timestamped over its signature value; the token is
// attached as an unsigned attribute, read back, and both verify with stock OpenSSL.
BOOST_AUTO_TEST_CASE(token_attached_to_a_cms_signature_round_trips,
                     *test::needs_tools({"python3"})) {
  IdentityOptions options;
  options.key_path = key("examiner.key");
  options.cert_path = key("examiner.pem");
  auto identity = Identity::load(options);
  require_ok(identity);
  const std::string content = "the evidence bytes\n";
  auto signature = identity->sign_detached(content);
  require_ok(signature);

  auto none = timestamp_token_of(*signature);
  require_ok(none);
  BOOST_TEST(!none->has_value());

  auto value = signature_value_of(*signature);
  require_ok(value);
  TsaServer tsa("normal");
  const std::string token = token_for(tsa, *value);

  auto stamped = attach_timestamp_token(*signature, token);
  require_ok(stamped);
  auto carried = timestamp_token_of(*stamped);
  require_ok(carried);
  BOOST_REQUIRE(carried->has_value());
  BOOST_TEST((**carried == token));

  // The signature value is unchanged, so the carried token still covers it.
  auto stamped_value = signature_value_of(*stamped);
  require_ok(stamped_value);
  BOOST_TEST((*stamped_value == *value));
  auto check = verify_timestamp(**carried, *stamped_value, {key("tsa-ca.pem")});
  require_ok(check);
  BOOST_TEST(check->signature_valid);
  BOOST_TEST(check->imprint_matches);

  // Attaching again replaces the token rather than adding a second one.
  auto restamped = attach_timestamp_token(*stamped, token);
  require_ok(restamped);
  BOOST_TEST((*restamped == *stamped));

  auto ours = verify_detached(*stamped, content, {key("ca.pem")});
  require_ok(ours);
  BOOST_TEST(ours->signature_valid);
  BOOST_TEST(ours->chain_trusted);

  const test::TempDir scratch;
  const auto write = [&](const std::string& name, const std::string& bytes) {
    test::write_file(scratch.file(name), std::vector<char>(bytes.begin(), bytes.end()));
    return quoted(scratch.file(name));
  };
  const std::string cms_file = write("stamped.p7s", *stamped);
  const std::string content_file = write("content", content);
  const std::string value_file = write("signature-value", *value);
  const std::string token_file = write("token.der", token);
  BOOST_TEST(run("openssl cms -verify -binary -inform DER -in " + cms_file + " -content " +
                 content_file + " -CAfile " + quoted(key("ca.pem")) + " -out /dev/null"));
  BOOST_TEST(run("openssl ts -verify -data " + value_file + " -in " + token_file +
                 " -token_in -CAfile " + quoted(key("tsa-ca.pem"))));
  // The stock tool agrees about the unrelated CA.
  BOOST_TEST(!run("openssl ts -verify -data " + value_file + " -in " + token_file +
                  " -token_in -CAfile " + quoted(key("other-tsa-ca.pem"))));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace custody
