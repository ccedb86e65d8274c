// SPDX-License-Identifier: Apache-2.0
// The checks of an unpacked package (custody-package(5)): what the sender's signature covers, the
// payload declared, the sender, the facts and each item, as receive and verify make them.
#include "chain/archive_timestamp.hpp"
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "transfer/bagit_text.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/custody_log.hpp>
#include <custody/identity.hpp>
#include <custody/text.hpp>
#include <custody/timestamp.hpp>
#include <custody/transfer.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <filesystem>

namespace custody::internal {

namespace fs = std::filesystem;
using nlohmann::json;

// A BagIt manifest's lines, "DIGEST  NAME", in order (NAME as written, percent-encoded; a CR
// before the LF, which BagIt allows, is not part of it).
std::vector<std::pair<std::string, std::string>> manifest_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const std::size_t space = line.find_first_of(" \t");
    const std::size_t name =
        space == std::string::npos ? space : line.find_first_not_of(" \t", space);
    if (name != std::string::npos) {
      lines.emplace_back(line.substr(0, space), line.substr(name));
    }
    at = end + 1;
  }
  return lines;
}

// The same as name -> digest.
std::map<std::string, std::string> manifest_entries(const std::string& text) {
  std::map<std::string, std::string> names;
  for (auto& [digest, name] : manifest_lines(text)) {
    names[name] = digest;
  }
  return names;
}

// The "received" events of the package in the containers of the bag directory `bag`, by payload
// name. Read from the statement before it is checked: the sizes only say how much of each
// container is compared with the signed manifests.
std::map<std::string, Arrival> find_arrivals(const std::string& bag) {
  std::map<std::string, Arrival> arrivals;
  auto text = internal::read_small_file(bag + "/" + k_transfer_member, k_tag_limit);
  const json transfer = text ? internal::parse_untrusted_json(*text) : json();
  const std::string package_id = text_at(transfer, "/package_id");
  if (package_id.empty() || !transfer.contains("items") || !transfer["items"].is_array()) {
    return arrivals;
  }
  for (const json& item : transfer["items"]) {
    const std::string payload = text_at(item, "/payload");
    if (!payload.starts_with("data/") || payload.find("..") != std::string::npos) {
      continue;
    }
    auto log = read_custody_log(bag + "/" + payload);
    if (!log) {
      continue;
    }
    for (const LoggedEvent& event : log->events) {
      const auto id = event.details.find("package_id");
      const auto size = event.details.find("arrived_size");
      if (event.action != "received" || id == event.details.end() || id->second != package_id ||
          size == event.details.end()) {
        continue;
      }
      Arrival arrival;
      const std::string& digits = size->second;
      if (std::from_chars(digits.data(), digits.data() + digits.size(), arrival.size).ec !=
          std::errc()) {
        continue;
      }
      const auto sha256 = event.details.find("arrived_sha256");
      arrival.sha256 = sha256 == event.details.end() ? std::string() : sha256->second;
      arrival.event = event.number;
      arrival.by = event.actor.name;
      arrival.time = event.time;
      arrivals[payload] = arrival;
      break;
    }
  }
  return arrivals;
}

// Every byte released must be the sender's: each file of the bag must be listed in the signed
// tag manifest, or be a payload file of manifest-sha256.txt (which the tag manifest lists). The
// exceptions are the tag manifest itself, the signature and its token (each checked for what it
// is), and tagmanifest-sha512.txt when it says exactly what the signed tag manifest implies: the
// same files in the same order (the bag's validation checked its hashes).
void check_coverage(const std::string& bag, PackageChecker& out) {
  auto tags = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  if (!tags) {
    return;  // the sender's check says that nothing is signed
  }
  const auto decoded = [](const std::string& raw) {
    internal::BagPath path = internal::check_bag_path(raw, true);
    return path.error.empty() ? path.path : raw;
  };
  std::set<std::string> covered{"tagmanifest-sha256.txt", k_signature_member, k_token_member};
  const auto tag_lines = manifest_lines(*tags);
  for (const auto& [digest, name] : tag_lines) {
    covered.insert(decoded(name));
  }
  if (covered.count("manifest-sha256.txt") != 0) {
    if (auto payload = internal::read_small_file(bag + "/manifest-sha256.txt", k_tag_limit)) {
      for (const auto& [digest, name] : manifest_lines(*payload)) {
        covered.insert(decoded(name));
      }
    }
  }
  if (auto sha512 = internal::read_small_file(bag + "/tagmanifest-sha512.txt", k_tag_limit)) {
    const auto lines = manifest_lines(*sha512);
    bool same = lines.size() == tag_lines.size();
    std::string implied;
    for (std::size_t i = 0; same && i < lines.size(); ++i) {
      same = lines[i].second == tag_lines[i].second;
      implied += lines[i].first + "  " + lines[i].second + "\n";
    }
    if (!same || implied != *sha512) {
      out.fail("tagmanifest-sha512.txt",
               "the sender's signature does not cover it: it must list exactly the files of the "
               "signed tagmanifest-sha256.txt, in the same order");
    }
    covered.insert("tagmanifest-sha512.txt");
  }
  std::error_code failure;
  std::vector<std::string> directories;
  for (auto walk = fs::recursive_directory_iterator(bag, failure);
       !failure && walk != fs::recursive_directory_iterator(); walk.increment(failure)) {
    const std::string relative = walk->path().lexically_relative(bag).generic_string();
    if (walk->symlink_status(failure).type() == fs::file_type::directory) {
      directories.push_back(relative);
    } else if (covered.count(relative) == 0) {
      out.fail(relative,
               "the package holds this file, but the sender's signature does not cover it (no "
               "signed manifest lists it); it is not released");
    }
  }
  for (const std::string& directory : directories) {
    const auto below = covered.lower_bound(directory + "/");
    if (below == covered.end() || !below->starts_with(directory + "/")) {
      out.fail(directory + "/",
               "the package holds this directory, but no file the sender signed is in it");
    }
  }
  if (failure) {
    out.fail("bag", "cannot list the bag: " + failure.message());
  }
}

namespace {

// The facts as custody/transfer.json states them.
void read_facts(const json& transfer, TransferFacts& facts) {
  const json stated = transfer.contains("facts") ? transfer["facts"] : json::object();
  for (const FactField& field : k_fact_fields) {
    facts.*field.member =
        stated.is_object() && stated.contains(field.key) && stated[field.key].is_string()
            ? stated[field.key].get<std::string>()
            : std::string();
  }
}

// bag-info.txt's "Label: value" lines (the first of each label).
std::map<std::string, std::string> bag_info_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos && !line.empty() && line.front() != ' ' &&
        line.front() != '\t') {
      const std::size_t value = line.find_first_not_of(" \t", colon + 1);
      fields.emplace(line.substr(0, colon),
                     value == std::string::npos ? std::string() : line.substr(value));
    }
    at = end + 1;
  }
  return fields;
}

// Where each fact is in bag-info.txt and in a "packaged" event (custody-package(5)).
struct FactPlace {
  std::string TransferFacts::*member;
  const char* words;
  const char* label;
  const char* event;  // JSON pointer into the event, or nullptr: not in the event
};
constexpr std::array<FactPlace, 10> k_fact_places{{
    {&TransferFacts::sending_authority, "sending authority", "Sending-Authority",
     "/actor/organisation"},
    {&TransferFacts::receiving_authority, "receiving authority", "Receiving-Authority",
     "/details/receiving_authority"},
    {&TransferFacts::requesting_state, "requesting state", "Requesting-State",
     "/details/requesting_state"},
    {&TransferFacts::requested_state, "requested state", "Requested-State",
     "/location/jurisdiction"},
    {&TransferFacts::legal_basis, "legal basis", "Legal-Basis", "/legal/basis"},
    {&TransferFacts::request_reference, "request reference", "Request-Reference",
     "/legal/reference"},
    {&TransferFacts::purpose, "purpose", "Purpose", "/purpose"},
    {&TransferFacts::use_limits, "use limits", "Use-Limits", "/details/use_limits"},
    {&TransferFacts::contact_name, "contact name", "Contact-Name", nullptr},
    {&TransferFacts::contact_email, "contact email", "Contact-Email", nullptr},
}};

// bag-info.txt against custody/transfer.json (`stated`); false when they differ, which is said.
bool compare_bag_info(const std::string& bag, const TransferFacts& stated, PackageChecker& out) {
  bool same = true;
  auto info_text = internal::read_small_file(bag + "/bag-info.txt", k_tag_limit);
  const auto info = info_text ? bag_info_fields(*info_text) : std::map<std::string, std::string>{};
  const auto info_value = [&](const char* label) {
    const auto found = info.find(label);
    return found == info.end() ? std::string() : found->second;
  };
  for (const FactPlace& place : k_fact_places) {
    const std::string& value = stated.*place.member;
    if (info_value(place.label) != value) {
      out.fail("facts", fmt::format("bag-info.txt says {}: \"{}\", but custody/transfer.json says "
                                    "\"{}\"",
                                    place.label, info_value(place.label), value));
      same = false;
    }
  }
  if (info_value("Custody-Package-Id") != out.result.package_id) {
    out.fail("facts",
             "the Custody-Package-Id of bag-info.txt is not the package identifier of "
             "custody/transfer.json");
    same = false;
  }
  return same;
}

// An item's "packaged" event, from its proof in the bag; null when the item names no signed proof
// or the proof holds no event (the item's check says so).
json packaged_event(const std::string& bag,
                    const json& item,
                    const std::map<std::string, std::string>& listed) {
  const std::string proof_name = text_at(item, "/proof");
  if (!proof_name.starts_with("custody/items/") || proof_name.find("..") != std::string::npos ||
      listed.count(proof_name) == 0) {
    return json();
  }
  auto proof_text = internal::read_small_file(bag + "/" + proof_name, k_tag_limit);
  const json proof = proof_text ? internal::parse_untrusted_json(*proof_text) : json();
  const json::json_pointer event("/event/event");
  return proof.is_object() && proof.contains(event) && proof.at(event).is_object() ? proof.at(event)
                                                                                   : json();
}

// The signer and the facts of the "packaged" event of `payload` against the package's signer and
// statement; false when they differ, which is said (a signer allowed with --allow-signer is a
// warning).
bool compare_packaged_event(const json& event,
                            const std::string& payload,
                            const std::set<std::string>& allowed_signers,
                            PackageChecker& out) {
  bool same = true;
  const ReceiveResult& result = out.result;
  const std::string packer = text_at(event, "/actor/certificate_sha256");
  if (!result.sender_fingerprint.empty() && packer != result.sender_fingerprint &&
      allowed_signers.count(result.sender_fingerprint) != 0) {
    out.warn("sender",
             fmt::format("the package is signed by {}, who did not pack {} (its "
                         "\"packaged\" event is signed by the certificate with "
                         "SHA-256 {}): accepted with --allow-signer",
                         result.sender_subject, payload, packer.empty() ? "(none)" : packer));
  } else if (!result.sender_fingerprint.empty() && packer != result.sender_fingerprint) {
    out.fail("sender",
             fmt::format("the package is signed by {}, but {} was packaged by another signer (its "
                         "\"packaged\" event is signed by the certificate with SHA-256 {}): the "
                         "package was signed again by someone who did not pack it",
                         result.sender_subject, payload, packer.empty() ? "(none)" : packer));
    same = false;
  }
  for (const FactPlace& place : k_fact_places) {
    if (place.event == nullptr) {
      continue;
    }
    const std::string recorded = text_at(event, place.event);
    if (recorded != result.facts.*place.member) {
      out.fail("facts", fmt::format("the {} differs: custody/transfer.json says \"{}\", but the "
                                    "\"packaged\" event of {}, which the sender signed when "
                                    "packing, says \"{}\"",
                                    place.words, result.facts.*place.member, payload, recorded));
      same = false;
    }
  }
  return same;
}

}  // namespace

// The facts and the signer against what the sender recorded when packing: bag-info.txt must state
// what custody/transfer.json states, and every item's "packaged" event (signed in the container's
// log, proven by its proof) must be signed by the package's signer and record the same facts. So
// a package signed again by someone else, or with other facts, is refused even when its new
// signer holds a certificate of a trusted CA.
void check_facts(const std::string& bag,
                 const json& transfer,
                 const std::map<std::string, std::string>& listed,
                 const std::set<std::string>& allowed_signers,
                 PackageChecker& out) {
  read_facts(transfer, out.result.facts);
  bool confirmed = compare_bag_info(bag, out.result.facts, out);
  for (const json& item : transfer["items"]) {
    const json event = packaged_event(bag, item, listed);
    if (event.is_null()) {
      confirmed = false;  // the item's check names it
      continue;
    }
    const bool same =
        compare_packaged_event(event, text_at(item, "/payload"), allowed_signers, out);
    confirmed = confirmed && same;
  }
  out.result.facts_confirmed = confirmed && !out.result.sender_fingerprint.empty();
  if (out.result.facts_confirmed) {
    out.pass("facts",
             "bag-info.txt, custody/transfer.json and every item's \"packaged\" event, signed by "
             "the sender when packing, state the same facts");
  }
}

namespace {

// The sender's signature over tagmanifest-sha256.txt, read from the bag.
struct SenderSignature {
  std::string signature;  // CMS (DER)
  SignatureCheck check;
};

// The signature over the tag manifest, by a signer the given CAs vouch for, who is the sender that
// custody/transfer.json names, over a tag manifest that lists what the signature must cover. Sets
// the result's sender; nullopt after a check that failed or could not be made.
std::optional<SenderSignature> check_sender_signature(const PackageCheckOptions& options,
                                                      const std::string& bag,
                                                      const json& transfer,
                                                      PackageChecker& out) {
  auto manifest = internal::read_small_file(bag + "/tagmanifest-sha256.txt", k_tag_limit);
  auto signature = internal::read_small_file(bag + "/" + k_signature_member, k_tag_limit);
  if (!manifest || !signature) {
    out.fail("sender", "the package carries no signature over tagmanifest-sha256.txt");
    return std::nullopt;
  }
  if (options.trust.empty()) {
    out.not_checked("sender", "no --trust given: the sender's certificate cannot be checked");
    return std::nullopt;
  }
  auto check = verify_detached(*signature, *manifest, options.trust);
  if (!check || !check->signature_valid) {
    out.fail("sender",
             "the signature over tagmanifest-sha256.txt does not verify: the package "
             "was altered or the signature forged");
    return std::nullopt;
  }
  out.result.sender_subject = check->signer.subject;
  if (!check->chain_trusted) {
    out.fail("sender", fmt::format("signed by {}, who is not vouched for by the given CAs ({})",
                                   check->signer.subject, check->trust_problem));
    return std::nullopt;
  }
  if (text_at(transfer, "/sender/sha256_fingerprint") != check->signer.sha256_fingerprint) {
    out.fail("sender", "the signer is not the sender named in custody/transfer.json");
    return std::nullopt;
  }
  // The tag manifest must list what the signature is meant to cover.
  const std::map<std::string, std::string> listed = manifest_entries(*manifest);
  for (const char* required : {"bag-info.txt", "manifest-sha256.txt", k_transfer_member}) {
    if (listed.count(required) == 0) {
      out.fail("sender", fmt::format("the signed tag manifest does not list {}", required));
      return std::nullopt;
    }
  }
  out.result.sender_fingerprint = check->signer.sha256_fingerprint;
  return SenderSignature{std::move(*signature), std::move(*check)};
}

// The sender's timestamp token: whether there is one, and its check (when it could be read).
struct SenderTimestamp {
  bool present = false;
  std::optional<TimestampCheck> stamp;
  bool trusted = false;  // over the signature, by a TSA the given CAs vouch for
  // The earliest renewal of the received package (custody-seal --renew) whose archive
  // time-stamp, by a trusted TSA, states the signature file as it is: a later proof that the
  // signature existed, for when the token is missing or can no longer be trusted.
  std::string renewal_time;
  std::string renewal_by;

  // The earliest trusted time at which the signature is proven to exist, and what proves it;
  // empty when nothing does.
  std::pair<std::string, std::string> proof() const {
    if (trusted) {
      return {stamp->time,
              fmt::format("time-stamp token {} by {}", k_token_member, stamp->tsa_subject)};
    }
    return {renewal_time, renewal_by};
  }
};

// The renewals in the bag's containers that cover the sender's signature (see SenderTimestamp).
void find_package_renewal(const PackageCheckOptions& options,
                          const std::string& bag,
                          const json& transfer,
                          const std::string& signature,
                          SenderTimestamp& time) {
  if (options.tsa_trust.empty()) {
    return;
  }
  const std::string signature_sha256 = sha256_hex_of(signature);
  const std::string package_id = text_at(transfer, "/package_id");
  for (const json& item : transfer["items"]) {
    const std::string payload = text_at(item, "/payload");
    if (!payload.starts_with("data/") || payload.find("..") != std::string::npos) {
      continue;
    }
    auto zip = ZipReader::open(bag + "/" + payload);
    auto archives = zip ? read_archives(*zip, options.tsa_trust)
                        : Result<std::vector<ArchiveRead>>(tl::unexpected(zip.error()));
    if (!archives) {
      continue;  // the item's own check says what is wrong with it
    }
    for (const ArchiveRead& archive : *archives) {
      const ArchiveReport& report = archive.report;
      const bool states_signature =
          report.package_id == package_id &&
          std::find(report.package_files.begin(), report.package_files.end(),
                    std::pair<std::string, std::string>(k_signature_member, signature_sha256)) !=
              report.package_files.end();
      if (states_signature && report.has_token && report.timestamp.imprint_matches &&
          report.timestamp.signature_valid &&
          (time.renewal_time.empty() || report.timestamp.time < time.renewal_time)) {
        time.renewal_time = report.timestamp.time;
        time.renewal_by = fmt::format("archive time-stamp {} in {} by {}", report.number, payload,
                                      report.timestamp.tsa_subject);
      }
    }
  }
}

SenderTimestamp read_sender_timestamp(const PackageCheckOptions& options,
                                      const std::string& bag,
                                      const std::string& signature) {
  SenderTimestamp time;
  auto token = internal::read_small_file(bag + "/" + k_token_member, k_tag_limit);
  time.present = static_cast<bool>(token);
  if (token) {
    if (auto checked = verify_timestamp(*token, signature, options.tsa_trust)) {
      time.stamp = *checked;
    }
  }
  time.trusted = time.stamp && time.stamp->imprint_matches && time.stamp->signature_valid &&
                 !options.tsa_trust.empty();
  return time;
}

// The sender's certificate: one that has expired since is accepted only when a trusted timestamp
// proves the signature was made before (or with accept_expired_signers, as a warning).
void check_sender_validity(const PackageCheckOptions& options,
                           const SignatureCheck& check,
                           const SenderTimestamp& time,
                           PackageChecker& out) {
  const std::string& expiry = check.signer.not_after;
  const bool expired = !expiry.empty() && expiry < utc_now();
  const auto [proof_time, proof_by] = time.proof();
  if (expired && !(!proof_time.empty() && proof_time <= expiry)) {
    const std::string why = fmt::format(
        "signed by {}, whose certificate has expired (on {}), and no trusted time proves that the "
        "package was signed before ({}); its date, {}, is the sender's own claim",
        check.signer.subject, expiry,
        !proof_time.empty() ? fmt::format("the {} is later than the expiry", proof_by)
        : !time.present     ? std::string("it is not timestamped")
                            : std::string("its timestamp is not checked against a TSA you trust: "
                                              "give --tsa-trust"),
        check.signing_time.empty() ? std::string("unknown") : check.signing_time);
    if (options.accept_expired_signers) {
      out.warn("sender", why + " (accepted with --accept-expired-signers)");
    } else {
      out.fail("sender", why + "; if you accept that claim, give --accept-expired-signers");
    }
    return;
  }
  out.pass("sender", fmt::format("signed by {} ({}){}", check.signer.subject, check.signing_time,
                                 expired ? fmt::format("; the certificate expired on {}, after "
                                                       "the trusted time of the signature ({})",
                                                       expiry, proof_by)
                                         : std::string()));
}

// The timestamp over the sender's signature.
void check_sender_time(const PackageCheckOptions& options,
                       const SenderTimestamp& time,
                       PackageChecker& out) {
  const std::optional<TimestampCheck>& stamp = time.stamp;
  if (!time.present && !time.renewal_time.empty()) {
    out.pass("time", fmt::format("signed by {} at the latest (the package has no token of its "
                                 "own; proven by {})",
                                 time.renewal_time, time.renewal_by));
  } else if (!time.present) {
    out.warn("time", "the sender's signature is not timestamped: its time is the sender's claim");
  } else if (!stamp || !stamp->imprint_matches) {
    out.fail("time", "the timestamp is not over the sender's signature");
  } else if (!stamp->signature_valid && !options.tsa_trust.empty()) {
    out.fail("time", "the timestamp is not from a TSA the given CAs vouch for");
  } else if (!stamp->signature_valid || options.tsa_trust.empty()) {
    out.warn("time", fmt::format("packed by {} at the latest, by a TSA not checked (give "
                                 "--tsa-trust)",
                                 stamp->time));
  } else {
    out.pass("time", fmt::format("signed by {} at the latest (trusted time by {})", stamp->time,
                                 stamp->tsa_subject));
  }
}

}  // namespace

void add_revocation_check(const EtsiValidation& etsi,
                          const std::string& who,
                          const std::string& what,
                          PackageChecker& out) {
  const std::string words = etsi_words(etsi);
  if (etsi.sub_indication == "REVOKED") {
    out.fail("revocation",
             fmt::format("the {}'s certificate was revoked on {}, before the signature's proven "
                         "time {}{}",
                         who, etsi.revoked_at, etsi.proof_time, words));
  } else if (etsi.sub_indication == "REVOKED_NO_POE") {
    out.fail("revocation",
             fmt::format("the {}'s certificate was revoked on {}, and no trusted time proves the "
                         "{} was signed before (give --tsa-trust if it is timestamped){}",
                         who, etsi.revoked_at, what, words));
  } else if (etsi.sub_indication == "REVOKED_CA_NO_POE") {
    out.fail("revocation", fmt::format("the {}'s certificate: {}{}", who, etsi.detail, words));
  } else if (etsi.sub_indication == "TRY_LATER") {
    out.warn("revocation", fmt::format("the {}'s revocation status is not checked: {}{}", who,
                                       etsi.revocation, words));
  } else {
    out.pass("revocation", fmt::format("the {}'s certificate: {}{}", who, etsi.revocation, words));
  }
}

namespace {

// The sender's signature per EN 319 102-1, and what it says of the sender's revocation: revoked
// before the signature's proven time, or revoked with nothing to prove the signature came first,
// fails; a status nothing settles is said (a warning), never passed over.
void check_sender_revocation(const PackageCheckOptions& options,
                             const SenderSignature& signed_by,
                             const SenderTimestamp& time,
                             PackageChecker& out) {
  const auto [proof_time, proof_by] = time.proof();
  auto validation = validate_signature(signed_by.signature, signed_by.check, options.tsa_trust,
                                       proof_time, proof_by, options.revocation);
  if (!validation) {
    out.fail("revocation", "the sender's signature cannot be read: " + validation.error().message);
    return;
  }
  const EtsiValidation& etsi = *validation;
  out.result.sender_etsi = etsi;
  add_revocation_check(etsi, "sender", "package", out);
}

}  // namespace

// The sender's signature over the tag manifest, the validity of the sender's certificate, and the
// signature's timestamp.
void check_sender(const PackageCheckOptions& options,
                  const std::string& bag,
                  const json& transfer,
                  PackageChecker& out) {
  const std::optional<SenderSignature> signed_by =
      check_sender_signature(options, bag, transfer, out);
  if (!signed_by) {
    return;
  }
  SenderTimestamp time = read_sender_timestamp(options, bag, signed_by->signature);
  find_package_renewal(options, bag, transfer, signed_by->signature, time);
  check_sender_validity(options, signed_by->check, time, out);
  check_sender_time(options, time, out);
  check_sender_revocation(options, *signed_by, time, out);
}

// Every payload file must be an item of the transfer statement (a signed file the statement does
// not declare would be released unchecked), and bag-info's count must agree.
void check_declared_payload(const std::string& bag, const json& transfer, PackageChecker& out) {
  std::set<std::string> declared;
  for (const json& item : transfer["items"]) {
    declared.insert(text_at(item, "/payload"));
  }
  std::error_code ignored;
  for (auto entry = fs::recursive_directory_iterator(bag + "/data", ignored);
       entry != fs::recursive_directory_iterator(); entry.increment(ignored)) {
    if (entry->is_regular_file(ignored)) {
      const std::string name = "data/" + fs::relative(entry->path(), bag + "/data").string();
      if (declared.count(name) == 0) {
        out.fail(name, "the package holds it, but custody/transfer.json does not declare it");
      }
    }
  }
  auto info = internal::read_small_file(bag + "/bag-info.txt", k_tag_limit);
  const std::string count = fmt::format("\nNumber-Of-Items: {}\n", transfer["items"].size());
  if (info && info->find("Number-Of-Items:") != std::string::npos &&
      ("\n" + *info).find(count) == std::string::npos) {
    out.fail("bag-info.txt", "its Number-Of-Items differs from the items declared");
  }
}

namespace {

// The container verified in full (verify_container); a container without a seal of its own is a
// warning (the sender's signature covers its bytes). False when a check failed, which is said.
bool check_container(const PackageCheckOptions& options,
                     const CancelToken* cancel,
                     const std::string& path,
                     const std::string& payload,
                     PackageChecker& out) {
  VerifyOptions verify;
  verify.trust_files = options.trust;
  verify.tsa_trust_files = options.tsa_trust;
  verify.accept_expired_signers = options.accept_expired_signers;
  verify.revocation = options.revocation;
  auto report = verify_container({path}, verify, nullptr, cancel);
  if (!report) {
    out.fail(payload, "cannot be read as a container: " + report.error().message);
    return false;
  }
  bool verified = true;
  for (const Check& check : report->checks) {
    if (check.verdict != Verdict::fail) {
      continue;
    }
    if (check.kind == CheckKind::seal && check.subject == "container") {
      // No seal of its own: the sender's signature over the bag vouches for its bytes.
      out.warn(payload,
               "the container carries no seal of its own; the sender's signature over "
               "the package covers its bytes");
      continue;
    }
    verified = false;
    out.fail(payload, describe_check(check));
  }
  return verified;
}

// The container's custody log: it extends the tree head the sender packed (the item's proof of
// its "packaged" event, of this package), nothing follows its last event, and its image hashes and
// log are those custody/transfer.json declares. The log, or nullopt after a failed check.
std::optional<LogVerification> check_item_log(const PackageCheckOptions& options,
                                              const std::string& bag,
                                              const json& item,
                                              const std::string& payload,
                                              PackageChecker& out) {
  const std::string path = bag + "/" + payload;
  const std::string proof_path = bag + "/" + text_at(item, "/proof");
  auto proof_text = internal::read_small_file(proof_path, k_tag_limit);
  auto proof = proof_text ? check_custody_proof(*proof_text, options.trust, options.tsa_trust)
                          : Result<ProofCheck>(tl::unexpected(proof_text.error()));
  if (!proof || !proof->valid) {
    out.fail(payload, "the inclusion proof of its \"packaged\" event does not hold");
    return std::nullopt;
  }
  auto log = verify_custody_log(path, options.trust, options.tsa_trust, {proof_path});
  if (!log || !log->intact) {
    out.fail(payload, "its custody log does not extend the tree head the sender packed");
    return std::nullopt;
  }
  if (log->log.trailing_bytes != 0) {
    // custody-pack and custody-receive only append complete events: anything after the last end
    // record was added by something else.
    out.fail(payload, fmt::format("{} bytes follow the container's last complete end record: "
                                  "something that is not a custody event was added to it",
                                  log->log.trailing_bytes));
    return std::nullopt;
  }
  const json packed = internal::parse_untrusted_json(*proof_text);
  if (text_at(packed, "/event/event/details/package_id") != out.result.package_id ||
      text_at(packed, "/event/event/action") != "packaged") {
    out.fail(payload, "its proof is of an event of another package");
    return std::nullopt;
  }
  if (!item.contains("image_hashes") || item["image_hashes"] != json(log->log.image_hashes) ||
      text_at(item, "/log_id") != log->log.log_id) {
    out.fail(payload, "its image hashes or log differ from what custody/transfer.json declares");
    return std::nullopt;
  }
  return std::move(*log);
}

// In a bag custody-receive released: the item's "received" event, recording the bytes that
// manifest-sha256.txt lists. Words for the item's check ("" when the bag was not received), or
// nullopt after a failed check.
std::optional<std::string> check_arrival(const std::string& bag,
                                         const std::string& payload,
                                         const std::map<std::string, Arrival>& arrivals,
                                         PackageChecker& out) {
  if (arrivals.empty()) {
    return std::string();
  }
  const auto arrival = arrivals.find(payload);
  if (arrival == arrivals.end()) {
    out.fail(payload,
             "the other items hold their \"received\" event, this one does not: it is not the "
             "container that was received (cut back, or replaced)");
    return std::nullopt;
  }
  auto manifest = internal::read_small_file(bag + "/manifest-sha256.txt", k_tag_limit);
  const auto entries =
      manifest ? manifest_entries(*manifest) : std::map<std::string, std::string>{};
  const auto listed_sha256 = entries.find(payload);
  if (listed_sha256 == entries.end() || arrival->second.sha256 != listed_sha256->second) {
    out.fail(payload, fmt::format("its \"received\" event (event {}) records other bytes than "
                                  "manifest-sha256.txt lists",
                                  arrival->second.event));
    return std::nullopt;
  }
  return fmt::format(", received as event {} by {} at {} ({} bytes arrived)", arrival->second.event,
                     arrival->second.by, arrival->second.time, arrival->second.size);
}

// An item that passed: said, and added to the result's items.
void add_checked_item(const std::string& bag,
                      const json& item,
                      const std::string& payload,
                      const LogVerification& log,
                      const std::string& received,
                      const std::map<std::string, Arrival>& arrivals,
                      PackageChecker& out) {
  const auto sha256 = log.log.image_hashes.find("sha256");
  std::uint64_t packaged_event = 0;
  if (item.contains("packaged_event") && item["packaged_event"].is_number_unsigned()) {
    packaged_event = item["packaged_event"].get<std::uint64_t>();
  }
  out.pass(payload,
           fmt::format("intact: {} events, packaged as event {}{}{}", log.log.events.size(),
                       packaged_event, received,
                       sha256 == log.log.image_hashes.end() ? std::string()
                                                            : ", image sha256 " + sha256->second));
  PackedItem checked;
  checked.container = bag + "/" + payload;
  checked.payload_name = payload;
  checked.packaged_event = packaged_event;
  checked.log_id = log.log.log_id;
  if (const auto arrival = arrivals.find(payload); arrival != arrivals.end()) {
    checked.size = arrival->second.size;
    checked.sha256 = arrival->second.sha256;
    checked.received_event = arrival->second.event;
  }
  out.result.items.push_back(std::move(checked));
}

}  // namespace

// One container: within the signed bag, verified in full, its log extending the packed proof, its
// hashes as declared; in a received bag, its "received" event as the manifest says it arrived.
void check_item(const PackageCheckOptions& options,
                const CancelToken* cancel,
                const std::string& bag,
                const json& item,
                const std::map<std::string, std::string>& listed,
                const std::map<std::string, Arrival>& arrivals,
                PackageChecker& out) {
  const std::string payload = text_at(item, "/payload");
  const std::string proof_name = text_at(item, "/proof");
  if (payload.find("..") != std::string::npos || !payload.starts_with("data/") ||
      proof_name.find("..") != std::string::npos || !proof_name.starts_with("custody/items/") ||
      listed.count(proof_name) == 0) {
    out.fail(payload.empty() ? "item" : payload,
             "custody/transfer.json names an item or proof outside the signed bag");
    return;
  }
  if (!check_container(options, cancel, bag + "/" + payload, payload, out)) {
    return;
  }
  const std::optional<LogVerification> log = check_item_log(options, bag, item, payload, out);
  if (!log) {
    return;
  }
  const std::optional<std::string> received = check_arrival(bag, payload, arrivals, out);
  if (received) {
    add_checked_item(bag, item, payload, *log, *received, arrivals, out);
  }
}

}  // namespace custody::internal
