// SPDX-License-Identifier: Apache-2.0
// The library operations record their own custody events: a program that calls acquire(),
// acquire_logical(), export_image() or verify_container() gets the same custody record as the
// tools, in the same order, and read-only evidence is never written to.
#include "../support/temp_dir.hpp"
#include "../support/test_identities.hpp"

#include <custody/acquisition.hpp>
#include <custody/custody_log.hpp>
#include <custody/export.hpp>
#include <custody/logical.hpp>
#include <custody/seal.hpp>
#include <custody/verification.hpp>

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace custody {
namespace {

namespace fs = std::filesystem;

// The identities of samples/keys/make-test-identities.sh, made once per test run.
using test::load_test_identity;

AcquireOptions aff4_options(const test::TempDir& dir) {
  test::write_file(dir.file("source.bin"), test::random_bytes(300'000, 31));
  AcquireOptions options;
  options.source_path = dir.file("source.bin");
  options.output_base = dir.file("image");
  options.algorithms = {HashAlgorithm::sha256};
  options.case_info.examiner = "J. Doe";
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

}  // namespace

BOOST_AUTO_TEST_SUITE(custody_transaction)

BOOST_AUTO_TEST_CASE(acquire_records_its_event_then_seals) {
  test::TempDir dir;
  const Identity examiner = load_test_identity("examiner");
  AcquireOptions options = aff4_options(dir);
  options.custody.draft.location = "Lab 2";
  options.custody.signer = &examiner;
  auto result = acquire(options);
  BOOST_REQUIRE_MESSAGE(result, (result ? "" : result.error().to_string()));
  BOOST_REQUIRE(result->event.has_value());
  BOOST_TEST(result->event->signed_event);
  BOOST_REQUIRE(result->seal.has_value());
  BOOST_TEST(result->seal->number == 1U);
  // acquired, then sealed: the seal covers the acquired event.
  BOOST_TEST((actions_of(result->record_path) == std::vector<std::string>{"acquired", "sealed"}));
  auto log = read_custody_log(result->record_path);
  BOOST_REQUIRE(log);
  BOOST_TEST(log->events.front().actor.name == "J. Doe");
  BOOST_TEST(log->events.front().location == "Lab 2");
  auto report = verify_container({result->record_path});
  BOOST_REQUIRE(report);
  BOOST_TEST(report->verified);
}

BOOST_AUTO_TEST_CASE(acquire_without_signer_records_an_unsigned_event) {
  test::TempDir dir;
  auto result = acquire(aff4_options(dir));
  BOOST_REQUIRE(result);
  BOOST_REQUIRE(result->event.has_value());
  BOOST_TEST(!result->event->signed_event);
  BOOST_TEST(!result->seal.has_value());
  BOOST_TEST((actions_of(result->record_path) == std::vector<std::string>{"acquired"}));
}

BOOST_AUTO_TEST_CASE(a_signer_that_cannot_sign_is_refused_before_anything_is_written) {
  test::TempDir dir;
  const Identity expired = load_test_identity("expired");
  AcquireOptions options = aff4_options(dir);
  options.custody.signer = &expired;
  auto result = acquire(options);
  BOOST_REQUIRE(!result);
  BOOST_TEST(!fs::exists(dir.file("image.aff4")));
}

BOOST_AUTO_TEST_CASE(logical_acquisition_records_its_event_then_seals) {
  test::TempDir dir;
  fs::create_directory(dir.file("files"));
  test::write_file(dir.file("files/a.txt"), test::random_bytes(1000, 32));
  const Identity examiner = load_test_identity("examiner");
  LogicalAcquireOptions options;
  options.sources = {dir.file("files")};
  options.output_base = dir.file("files-image");
  options.algorithms = {HashAlgorithm::sha256};
  options.custody.signer = &examiner;
  auto result = acquire_logical(options);
  BOOST_REQUIRE_MESSAGE(result, (result ? "" : result.error().to_string()));
  BOOST_REQUIRE(result->seal.has_value());
  BOOST_TEST(
      (actions_of(result->container_path) == std::vector<std::string>{"acquired", "sealed"}));
}

BOOST_AUTO_TEST_CASE(export_records_exported_unless_the_container_is_read_only) {
  test::TempDir dir;
  auto acquired = acquire(aff4_options(dir));
  BOOST_REQUIRE(acquired);
  ExportOptions options;
  options.container_paths = {acquired->record_path};
  options.output = dir.file("out.raw");
  options.custody = EventContext{};
  options.custody->draft.purpose = "court copy";
  auto exported = export_image(options);
  BOOST_REQUIRE(exported);
  BOOST_TEST(exported->custody_event == 2U);
  BOOST_TEST(exported->not_recorded.empty());
  BOOST_TEST(
      (actions_of(acquired->record_path) == std::vector<std::string>{"acquired", "exported"}));

  // Read-only evidence stays untouched, even for root; the result says why nothing was recorded.
  ::chmod(acquired->record_path.c_str(), 0444);
  options.output = dir.file("out2.raw");
  auto again = export_image(options);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->custody_event == 0U);
  BOOST_TEST(again->not_recorded.find("is read-only") != std::string::npos);
  BOOST_TEST(actions_of(acquired->record_path).size() == 2U);

  // Without a custody context, nothing is recorded (a library export does not write its input
  // unless asked).
  ::chmod(acquired->record_path.c_str(), 0644);
  options.custody.reset();
  options.output = dir.file("out3.raw");
  BOOST_REQUIRE(export_image(options));
  BOOST_TEST(actions_of(acquired->record_path).size() == 2U);
}

BOOST_AUTO_TEST_CASE(verification_records_verified_and_refuses_read_only_evidence_first) {
  test::TempDir dir;
  auto acquired = acquire(aff4_options(dir));
  BOOST_REQUIRE(acquired);
  VerifyOptions options;
  options.record = EventContext{};
  auto report = verify_container({acquired->record_path}, options);
  BOOST_REQUIRE(report);
  BOOST_TEST(report->verified);
  BOOST_TEST(report->custody_event == 2U);
  BOOST_TEST(
      (actions_of(acquired->record_path) == std::vector<std::string>{"acquired", "verified"}));

  ::chmod(acquired->record_path.c_str(), 0444);
  auto refused = verify_container({acquired->record_path}, options);
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == Errc::invalid_argument));
  BOOST_TEST(actions_of(acquired->record_path).size() == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
