// SPDX-License-Identifier: Apache-2.0
#include "../support/temp_dir.hpp"
#include "../support/test_identities.hpp"
#include "zip/zip.hpp"

#include <custody/custody_log.hpp>
#include <custody/merkle.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace custody {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::load_test_identity;
using test::test_identity_file;

std::vector<std::string> trust() {
  return {test_identity_file("ca.pem")};
}

EventDraft draft(const std::string& action, const std::string& notes = {}) {
  EventDraft event;
  event.action = action;
  event.notes = notes;
  event.location = "Evidence store 2";
  event.jurisdiction = "DE";
  event.evidence_id = "exhibit-17";
  return event;
}

void add_event(const std::string& log, const EventDraft& event, const Identity* identity) {
  AppendOptions options;
  options.create_standalone = true;
  auto added = append_custody_event(log, event, identity, options);
  BOOST_REQUIRE_MESSAGE(added, (added ? "" : added.error().to_string()));
}

// A standalone log with `count` events signed by the test examiner.
std::string make_log(const test::TempDir& dir, std::size_t count, const std::string& name = "l") {
  const std::string path = dir.file(name + ".custodylog");
  const Identity examiner = load_test_identity("examiner");
  const char* actions[] = {"acquired", "sealed", "transferred", "stored", "checked-out"};
  for (std::size_t i = 0; i < count; ++i) {
    add_event(path, draft(actions[i % 5], "step " + std::to_string(i + 1)), &examiner);
  }
  return path;
}

LogVerification verify_or_fail(const std::string& path,
                               const std::vector<std::string>& saved_heads = {}) {
  auto verified = verify_custody_log(path, trust(), {}, saved_heads);
  BOOST_REQUIRE_MESSAGE(verified, (verified ? "" : verified.error().to_string()));
  return *verified;
}

// Whether a check of `subject` with `verdict` mentions `text`.
bool has_check(const LogVerification& verification,
               const std::string& subject,
               Verdict verdict,
               const std::string& text) {
  return std::any_of(verification.checks.begin(), verification.checks.end(), [&](const auto& c) {
    return c.subject == subject && c.verdict == verdict && c.detail.find(text) != std::string::npos;
  });
}

std::string all_checks(const LogVerification& verification) {
  std::string out;
  for (const LogCheck& check : verification.checks) {
    out += check.subject + ": " + check.detail + "\n";
  }
  return out;
}

std::string member_bytes(const std::string& path, const std::string& name) {
  auto zip = internal::ZipReader::open(path);
  BOOST_REQUIRE(zip);
  const internal::ZipMember* member = zip->find(name);
  BOOST_REQUIRE_MESSAGE(member != nullptr, name);
  auto bytes = zip->read_member(*member, 1U << 20U);
  BOOST_REQUIRE(bytes);
  return *bytes;
}

// Rewrites the log the way a forger with write access would: members dropped from the directory
// and others added, without touching any other byte.
void forge(const std::string& path,
           const std::vector<std::string>& drop,
           const std::map<std::string, std::string>& add) {
  auto writer = internal::ZipWriter::open_for_append(path, drop);
  BOOST_REQUIRE_MESSAGE(writer, (writer ? "" : writer.error().to_string()));
  for (const auto& [name, bytes] : add) {
    BOOST_REQUIRE(writer->add_member(name, std::as_bytes(std::span(bytes.data(), bytes.size()))));
  }
  BOOST_REQUIRE(writer->finish("forged"));
}

std::string event_member(int number, const char* suffix = "json") {
  return "custody/log/event-" + std::to_string(number) + "." + suffix;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(custody_log)

BOOST_AUTO_TEST_CASE(signed_events_verify_and_form_the_merkle_tree) {
  test::TempDir dir;
  const std::string path = make_log(dir, 3);
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(verification.intact, all_checks(verification));
  BOOST_TEST(has_check(verification, "log", Verdict::pass, "3 events, in order"));
  // Every check passes but the one that says revocation is judged elsewhere (custody-verify).
  BOOST_TEST(std::none_of(verification.checks.begin(), verification.checks.end(),
                          [](const auto& c) {
                            return c.verdict != Verdict::pass &&
                                   c.subject != k_log_revocation_subject;
                          }),
             all_checks(verification));
  BOOST_TEST(
      has_check(verification, k_log_revocation_subject, Verdict::not_checked, "custody-verify"),
      all_checks(verification));
  const CustodyLog& log = verification.log;
  BOOST_TEST(log.standalone);
  BOOST_REQUIRE_EQUAL(log.events.size(), 3U);
  std::vector<Sha256> leaves;
  for (const LoggedEvent& event : log.events) {
    // Canonical bytes: parsing and dumping compactly with sorted keys gives them back.
    BOOST_TEST(json::parse(event.bytes).dump() == event.bytes);
    BOOST_TEST(event.actor.certificate_sha256 ==
               load_test_identity("examiner").certificate().sha256_fingerprint);
    BOOST_TEST(event.actor.name == "Test Examiner");
    BOOST_TEST(event.jurisdiction == "DE");
    BOOST_TEST(event.event_id.starts_with("urn:uuid:"));
    leaves.push_back(merkle_leaf_hash(std::as_bytes(std::span(event.bytes))));
  }
  BOOST_TEST(log.events[2].sequence == 3U);
  BOOST_TEST(log.heads.back().root_sha256 == to_hex(merkle_root(leaves)));
  BOOST_TEST(log.heads.front().root_sha256 == to_hex(merkle_root(std::span(leaves).first(1))));
}

BOOST_AUTO_TEST_CASE(bad_drafts_are_refused_before_anything_is_written) {
  test::TempDir dir;
  const std::string path = dir.file("l.custodylog");
  const Identity examiner = load_test_identity("examiner");
  AppendOptions options;
  options.create_standalone = true;
  EventDraft unknown = draft("lost");
  EventDraft country = draft("note");
  country.jurisdiction = "GER";
  EventDraft unassigned = draft("note");
  unassigned.jurisdiction = "XX";
  EventDraft binary = draft("note");
  binary.notes = std::string("\xff\xfe", 2);
  for (const EventDraft* bad : {&unknown, &country, &unassigned, &binary}) {
    auto added = append_custody_event(path, *bad, &examiner, options);
    BOOST_REQUIRE(!added);
    BOOST_TEST((added.error().code == Errc::invalid_argument));
  }
  BOOST_TEST(!fs::exists(path));
  EventDraft subdivision = draft("note");
  subdivision.jurisdiction = "DE-HE";
  BOOST_TEST(append_custody_event(path, subdivision, &examiner, options).has_value());
  auto missing = append_custody_event(dir.file("absent.aff4"), draft("note"), &examiner, {});
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == Errc::not_found));
}

BOOST_AUTO_TEST_CASE(an_unsigned_event_is_a_warning_not_a_failure) {
  test::TempDir dir;
  const std::string path = dir.file("l.custodylog");
  add_event(path, draft("acquired"), nullptr);
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(verification.intact, all_checks(verification));
  BOOST_TEST(has_check(verification, "event 1", Verdict::warn, "not signed"));
}

BOOST_AUTO_TEST_CASE(an_edited_event_is_named) {
  test::TempDir dir;
  const std::string path = make_log(dir, 4);
  json event = json::parse(member_bytes(path, event_member(2)));
  event["notes"] = "nothing happened";
  forge(path, {event_member(2)}, {{event_member(2), event.dump()}});
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(!verification.intact);
  BOOST_TEST(has_check(verification, "event 2", Verdict::fail, "does not match"),
             all_checks(verification));
  BOOST_TEST(has_check(verification, "event 2", Verdict::fail, "the change starts there"));
  BOOST_TEST(has_check(verification, "tree head 2", Verdict::fail, "no longer hash"));
  BOOST_TEST(!has_check(verification, "tree head 1", Verdict::fail, ""));
}

BOOST_AUTO_TEST_CASE(a_deleted_event_is_named) {
  test::TempDir dir;
  const std::string path = make_log(dir, 4);
  forge(path, {event_member(2), event_member(2, "p7s")}, {});
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(!verification.intact);
  BOOST_TEST(has_check(verification, "event 2", Verdict::fail, "missing"),
             all_checks(verification));
  // Named once, where the gap is: the later events are not missing.
  BOOST_TEST(!has_check(verification, "event 3", Verdict::fail, "missing"));
  BOOST_TEST(has_check(verification, "log", Verdict::fail, "covers 4 events, but 3"));
}

BOOST_AUTO_TEST_CASE(reordered_events_are_named) {
  test::TempDir dir;
  const std::string path = make_log(dir, 4);
  const std::string second = member_bytes(path, event_member(2));
  const std::string third = member_bytes(path, event_member(3));
  const std::string second_sig = member_bytes(path, event_member(2, "p7s"));
  const std::string third_sig = member_bytes(path, event_member(3, "p7s"));
  forge(path, {event_member(2), event_member(3), event_member(2, "p7s"), event_member(3, "p7s")},
        {{event_member(2), third},
         {event_member(3), second},
         {event_member(2, "p7s"), third_sig},
         {event_member(3, "p7s"), second_sig}});
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(!verification.intact);
  BOOST_TEST(has_check(verification, "event 2", Verdict::fail, "it says it is event 3"),
             all_checks(verification));
  BOOST_TEST(has_check(verification, "event 3", Verdict::fail, "it says it is event 2"));
}

BOOST_AUTO_TEST_CASE(an_inserted_event_is_named) {
  test::TempDir dir;
  const std::string path = make_log(dir, 3);
  // A forger with a valid key of their own slips an event in as number 3 and renumbers the old
  // third event as 4; they can sign new bytes but not the examiner's, nor the old heads.
  const Identity witness = load_test_identity("witness");
  json inserted = json::parse(member_bytes(path, event_member(3)));
  inserted["action"] = "returned";
  inserted["actor"]["certificate_sha256"] = witness.certificate().sha256_fingerprint;
  auto signature = witness.sign_detached(inserted.dump());
  BOOST_REQUIRE(signature);
  forge(path, {event_member(3), event_member(3, "p7s")},
        {{event_member(3), inserted.dump()},
         {event_member(3, "p7s"), *signature},
         {event_member(4), member_bytes(path, event_member(3))},
         {event_member(4, "p7s"), member_bytes(path, event_member(3, "p7s"))}});
  const LogVerification verification = verify_or_fail(path);
  BOOST_TEST(!verification.intact);
  BOOST_TEST(has_check(verification, "event 4", Verdict::fail, "it says it is event 3"),
             all_checks(verification));
  BOOST_TEST(has_check(verification, "tree head 3", Verdict::fail, "no longer hash"));
  BOOST_TEST(has_check(verification, "log", Verdict::fail,
                       "the latest tree head covers 3 events, but 4 are stored"));
  BOOST_TEST(has_check(verification, "event 3", Verdict::fail, "the change starts there"));
}

BOOST_AUTO_TEST_CASE(an_event_from_another_log_or_signer_is_named) {
  test::TempDir dir;
  const std::string path = make_log(dir, 2, "a");
  const std::string other = make_log(dir, 2, "b");
  forge(path, {event_member(2), event_member(2, "p7s")},
        {{event_member(2), member_bytes(other, event_member(2))},
         {event_member(2, "p7s"), member_bytes(other, event_member(2, "p7s"))}});
  const LogVerification moved = verify_or_fail(path);
  BOOST_TEST(has_check(moved, "event 2", Verdict::fail, "belongs to another log"),
             all_checks(moved));

  // The signature of another key over the same bytes: the signer is not the actor named.
  const std::string third = make_log(dir, 1, "c");
  auto witness_signature =
      load_test_identity("witness").sign_detached(member_bytes(third, event_member(1)));
  BOOST_REQUIRE(witness_signature);
  forge(third, {event_member(1, "p7s")}, {{event_member(1, "p7s"), *witness_signature}});
  const LogVerification resigned = verify_or_fail(third);
  BOOST_TEST(has_check(resigned, "event 1", Verdict::fail, "not by the certificate it names"),
             all_checks(resigned));
}

BOOST_AUTO_TEST_CASE(a_torn_append_falls_back_to_the_last_complete_state) {
  test::TempDir dir;
  const std::string path = make_log(dir, 2);
  const std::string before = read_file(path);
  add_event(path, draft("stored"), nullptr);
  const std::string after = read_file(path);
  BOOST_REQUIRE_GT(after.size(), before.size());
  BOOST_REQUIRE(after.starts_with(before));
  // Every length a crash could leave between the old end and the new one.
  const std::string cut = dir.file("cut.custodylog");
  // Cut shorter and shorter (truncate(2), not a rewrite: ext4 flushes a file rewritten from zero
  // length on close, which would cost seconds here).
  write_file(cut, after);
  for (std::size_t length = after.size() - 1; length >= before.size(); --length) {
    BOOST_REQUIRE_EQUAL(::truncate(cut.c_str(), static_cast<off_t>(length)), 0);
    auto log = read_custody_log(cut);
    BOOST_REQUIRE_MESSAGE(log.has_value(), "cut at "
                                               << length << ": "
                                               << (log ? std::string() : log.error().to_string()));
    BOOST_REQUIRE_EQUAL(log->events.size(), 2U);
    BOOST_REQUIRE_EQUAL(log->heads.size(), 2U);
    BOOST_REQUIRE_EQUAL(log->trailing_bytes, length - before.size());
    // The signatures too, at a stride (each check costs CMS verifications).
    if (length % 64 == 0 || length + 1 == after.size()) {
      const LogVerification verification = verify_or_fail(cut);
      BOOST_REQUIRE_MESSAGE(verification.intact, "cut at " << length << ":\n"
                                                           << all_checks(verification));
    }
  }
  // And the next append builds on the last complete state, keeping the torn bytes as dead ones.
  write_file(cut, std::string_view(after).substr(0, (before.size() + after.size()) / 2));
  const Identity examiner = load_test_identity("examiner");
  add_event(cut, draft("stored"), &examiner);
  const LogVerification continued = verify_or_fail(cut);
  BOOST_TEST(continued.intact, all_checks(continued));
  BOOST_TEST(continued.log.events.size() == 3U);
}

BOOST_AUTO_TEST_CASE(inclusion_and_consistency_proofs_hold_and_forgeries_fail) {
  test::TempDir dir;
  const std::string path = make_log(dir, 5);
  for (std::uint64_t number = 1; number <= 5; ++number) {
    auto proof = make_inclusion_proof(path, number);
    BOOST_REQUIRE(proof);
    auto checked = check_custody_proof(*proof, trust(), {});
    BOOST_REQUIRE(checked);
    BOOST_TEST(checked->valid, number);
    BOOST_TEST(checked->kind == "inclusion");
  }
  BOOST_TEST(!make_inclusion_proof(path, 6).has_value());

  json proof = json::parse(*make_inclusion_proof(path, 2));
  proof["audit_path"][0] = std::string(64, '0');
  BOOST_TEST(!check_custody_proof(proof.dump(), trust(), {})->valid);
  // An event swapped for another one of the same log is not proven either.
  json swapped = json::parse(*make_inclusion_proof(path, 2));
  swapped["event"] = json::parse(*make_inclusion_proof(path, 3))["event"];
  BOOST_TEST(!check_custody_proof(swapped.dump(), trust(), {})->valid);

  auto consistency = make_consistency_proof(path, "2");
  BOOST_REQUIRE(consistency);
  auto checked = check_custody_proof(*consistency, trust(), {});
  BOOST_REQUIRE(checked);
  BOOST_TEST(checked->valid);
  BOOST_TEST(checked->kind == "consistency");
  json forged = json::parse(*consistency);
  forged["proof"][0] = std::string(64, 'a');
  BOOST_TEST(!check_custody_proof(forged.dump(), trust(), {})->valid);
  BOOST_TEST(!check_custody_proof("{}", trust(), {}).has_value());

  // The readable copies must say what the signed bytes say.
  json edited = json::parse(*make_inclusion_proof(path, 2));
  edited["event"]["event"]["action"] = "destroyed";
  BOOST_TEST(!check_custody_proof(edited.dump(), trust(), {})->valid);
  json edited_head = json::parse(*make_inclusion_proof(path, 2));
  edited_head["tree_head"]["tree_head"]["tree_size"] = 9;
  BOOST_TEST(!check_custody_proof(edited_head.dump(), trust(), {})->valid);
  json edited_size = json::parse(*consistency);
  edited_size["new_size"] = 4;
  BOOST_TEST(!check_custody_proof(edited_size.dump(), trust(), {})->valid);
}

BOOST_AUTO_TEST_CASE(a_saved_head_detects_rewritten_history) {
  test::TempDir dir;
  const std::string path = make_log(dir, 2);
  const std::string two_events = read_file(path);
  const Identity examiner = load_test_identity("examiner");
  add_event(path, draft("stored"), &examiner);
  auto head = latest_tree_head(path);
  BOOST_REQUIRE(head);
  const std::string saved = dir.file("head.json");
  write_file(saved, *head);
  add_event(path, draft("checked-out"), &examiner);
  BOOST_TEST(verify_or_fail(path, {saved}).intact);
  BOOST_TEST(make_consistency_proof(path, saved).has_value());

  // Cutting the file back to an earlier state is invisible to the log alone (it is a valid older
  // log), but not to someone who kept a later head.
  write_file(path, two_events);
  const LogVerification cut = verify_or_fail(path, {saved});
  BOOST_TEST(!cut.intact);
  BOOST_TEST(has_check(cut, "saved head head.json", Verdict::fail, "events were removed"),
             all_checks(cut));
  const LogVerification other = verify_or_fail(make_log(dir, 3, "other"), {saved});
  BOOST_TEST(has_check(other, "saved head head.json", Verdict::fail, "another log"));
}

BOOST_AUTO_TEST_CASE(a_zip_that_is_no_log_is_refused) {
  test::TempDir dir;
  const std::string path = dir.file("plain.zip");
  auto writer = internal::ZipWriter::create(path, false);
  BOOST_REQUIRE(writer);
  const std::string text = "hello";
  BOOST_REQUIRE(writer->add_member("a.txt", std::as_bytes(std::span(text.data(), text.size()))));
  BOOST_REQUIRE(writer->finish(""));
  auto log = read_custody_log(path);
  BOOST_REQUIRE(!log);
  BOOST_TEST((log.error().code == Errc::corrupt));
  const Identity examiner = load_test_identity("examiner");
  BOOST_TEST(!append_custody_event(path, draft("note"), &examiner, {}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace custody
