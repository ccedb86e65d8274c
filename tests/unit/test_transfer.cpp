// SPDX-License-Identifier: Apache-2.0
// Checking a transfer package and receiving it are one sequence of checks: verify_package makes
// every check receive_transfer makes, in the same order, and releases and records nothing. A check
// that could not be made is not_checked, and the package is not accepted with it.
#include "../support/temp_dir.hpp"
#include "../support/test_identities.hpp"

#include <custody/acquisition.hpp>
#include <custody/custody_log.hpp>
#include <custody/transfer.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace custody {
namespace {

namespace fs = std::filesystem;

// A sealed AFF4 container of random bytes, acquired by the examiner: DIR/NAME.aff4.
std::string sealed_container(const test::TempDir& dir, const Identity& examiner) {
  test::write_file(dir.file("source.bin"), test::random_bytes(200'000, 17));
  AcquireOptions options;
  options.source_path = dir.file("source.bin");
  options.output_base = dir.file("disk1");
  options.algorithms = {HashAlgorithm::sha256};
  options.case_info.examiner = "J. Doe";
  options.custody.signer = &examiner;
  auto acquired = acquire(options);
  BOOST_REQUIRE_MESSAGE(acquired, (acquired ? "" : acquired.error().to_string()));
  return acquired->record_path;
}

// The container packed by the examiner into OUTPUT (encrypted to `encrypt_to` when given).
void pack(const std::string& container,
          const std::string& output,
          const Identity& examiner,
          const std::vector<std::string>& encrypt_to = {}) {
  PackOptions options;
  options.containers = {container};
  options.output = output;
  options.facts.sending_authority = "BKA";
  options.facts.legal_basis = "EIO";
  options.facts.request_reference = "EIO-1";
  options.encrypt_to = encrypt_to;
  auto packed = pack_transfer(options, examiner);
  BOOST_REQUIRE_MESSAGE(packed, (packed ? "" : packed.error().to_string()));
}

PackageCheckOptions check_options(const std::string& input) {
  PackageCheckOptions options;
  options.input = input;
  options.trust = {test::test_identity_file("ca.pem")};
  return options;
}

std::vector<std::string> actions_of(const std::string& container) {
  auto log = read_custody_log(container);
  BOOST_REQUIRE_MESSAGE(log, (log ? "" : log.error().to_string()));
  std::vector<std::string> actions;
  for (const LoggedEvent& event : log->events) {
    actions.push_back(event.action);
  }
  return actions;
}

// "subject verdict" per check, in order.
std::vector<std::string> verdicts(const ReceiveResult& result) {
  std::vector<std::string> out;
  for (const ReceiveCheck& check : result.checks) {
    out.push_back(check.subject + " " + verdict_name(check.verdict));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transfer)

BOOST_AUTO_TEST_CASE(verify_package_makes_the_checks_of_receiving_and_releases_nothing) {
  test::TempDir dir;
  const Identity examiner = test::load_test_identity("examiner");
  const Identity witness = test::load_test_identity("witness");
  const std::string container = sealed_container(dir, examiner);
  pack(container, dir.file("transfer.tar"), examiner);

  auto verified = verify_package(check_options(dir.file("transfer.tar")), nullptr);
  BOOST_REQUIRE_MESSAGE(verified, (verified ? "" : verified.error().to_string()));
  BOOST_TEST(verified->accepted);
  BOOST_TEST(!verified->received_bag);
  BOOST_TEST(verified->facts_confirmed);
  BOOST_TEST(verified->receipt_path.empty());
  BOOST_TEST(!fs::exists(dir.file("transfer")));
  const nlohmann::json document = nlohmann::json::parse(
      receive_result_to_json(*verified, check_options(dir.file("transfer.tar"))));
  BOOST_TEST(document["format"] == "custody-package-verification");
  BOOST_TEST(document["verdict"] == "INTACT");

  ReceiveOptions receiving;
  receiving.check = check_options(dir.file("transfer.tar"));
  receiving.output = dir.file("received");
  auto received = receive_transfer(receiving, &witness);
  BOOST_REQUIRE_MESSAGE(received, (received ? "" : received.error().to_string()));
  BOOST_TEST(received->accepted);
  // The same checks, in the same order, with the same verdicts.
  BOOST_TEST(verdicts(*verified) == verdicts(*received), boost::test_tools::per_element());
  BOOST_TEST(fs::exists(dir.file("received.receipt.json")));
  BOOST_TEST(nlohmann::json::parse(receive_result_to_json(*received, receiving))["format"] ==
             "custody-receive-result");

  // The bag that was released checks out as received; checking it records nothing.
  const std::string released = dir.file("received/data/disk1.aff4");
  const std::vector<std::string> before = actions_of(released);
  BOOST_TEST(before.back() == "received");
  auto checked = verify_package(check_options(dir.file("received")), nullptr);
  BOOST_REQUIRE_MESSAGE(checked, (checked ? "" : checked.error().to_string()));
  BOOST_TEST(checked->accepted);
  BOOST_TEST(checked->received_bag);
  BOOST_TEST(actions_of(released) == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(what_could_not_be_checked_is_not_checked_and_not_intact) {
  test::TempDir dir;
  const Identity examiner = test::load_test_identity("examiner");
  const std::string container = sealed_container(dir, examiner);
  pack(container, dir.file("sealed.tar"), examiner, {test::test_identity_file("witness.pem")});
  pack(container, dir.file("plain.tar"), examiner);

  // Encrypted, and no receiver's key: the package could not be checked at all.
  auto encrypted = verify_package(check_options(dir.file("sealed.tar.enc.json")), nullptr);
  BOOST_REQUIRE_MESSAGE(encrypted, (encrypted ? "" : encrypted.error().to_string()));
  BOOST_TEST(!encrypted->accepted);
  BOOST_REQUIRE(encrypted->checks.size() == 1U);
  BOOST_TEST((encrypted->checks.front().verdict == Verdict::not_checked));
  const nlohmann::json document = nlohmann::json::parse(
      receive_result_to_json(*encrypted, check_options(dir.file("sealed.tar.enc.json"))));
  BOOST_TEST(document["intact"] == false);
  BOOST_TEST(document["checks"][0]["result"] == "not_checked");

  // No --trust: the sender could not be checked.
  PackageCheckOptions untrusted = check_options(dir.file("plain.tar"));
  untrusted.trust.clear();
  auto unchecked = verify_package(untrusted, nullptr);
  BOOST_REQUIRE_MESSAGE(unchecked, (unchecked ? "" : unchecked.error().to_string()));
  BOOST_TEST(!unchecked->accepted);
  bool sender_not_checked = false;
  for (const ReceiveCheck& check : unchecked->checks) {
    sender_not_checked =
        sender_not_checked || (check.subject == "sender" && check.verdict == Verdict::not_checked);
    BOOST_TEST((check.verdict != Verdict::fail || check.subject != "sender"));
  }
  BOOST_TEST(sender_not_checked);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
