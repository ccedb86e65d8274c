// SPDX-License-Identifier: Apache-2.0
// What the transfer files share (pack.cpp, package_checks.cpp, unpack.cpp, receive.cpp,
// receipt.cpp): the package's member names, the facts' fields, a package's checks as they are
// recorded, and the steps of checking one (custody-package(5)).
#pragma once

#include "core/untrusted_json.hpp"  // text_at

#include <custody/error.hpp>
#include <custody/hash.hpp>
#include <custody/identity.hpp>
#include <custody/progress.hpp>
#include <custody/transfer.hpp>
#include <custody/verdict.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custody::internal {

inline constexpr std::size_t k_tag_limit = std::size_t{64} << 20U;  // a tag file read whole
inline constexpr const char* k_transfer_member = "custody/transfer.json";
inline constexpr const char* k_signature_member = "custody/tagmanifest-sha256.txt.p7s";
inline constexpr const char* k_token_member = "custody/tagmanifest-sha256.txt.p7s.tsr";

// Every fact, by its name in custody/transfer.json (and the text checks of check_pack_options).
struct FactField {
  const char* key;
  std::string TransferFacts::*member;
};
inline constexpr std::array<FactField, 10> k_fact_fields{{
    {"sending_authority", &TransferFacts::sending_authority},
    {"receiving_authority", &TransferFacts::receiving_authority},
    {"requesting_state", &TransferFacts::requesting_state},
    {"requested_state", &TransferFacts::requested_state},
    {"legal_basis", &TransferFacts::legal_basis},
    {"request_reference", &TransferFacts::request_reference},
    {"purpose", &TransferFacts::purpose},
    {"use_limits", &TransferFacts::use_limits},
    {"contact_name", &TransferFacts::contact_name},
    {"contact_email", &TransferFacts::contact_email},
}};

// SHA-256 of `bytes`, lower-case hex ("" only when the hash cannot be made at all).
inline std::string sha256_hex_of(std::string_view bytes) {
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  if (!hasher) {
    return {};
  }
  hasher->update(std::as_bytes(std::span(bytes.data(), bytes.size())));
  return hasher->finish_hex();
}

// SHA-256 of the first `length` bytes of `path` (all of it when nullopt), as hash_file says.
inline Result<std::string> sha256_of_file(const std::string& path,
                                          std::optional<std::uint64_t> length) {
  constexpr std::array k_sha256{HashAlgorithm::sha256};
  auto digests = hash_file(path, k_sha256, length);
  CUSTODY_TRY(digests);
  return digests->at(HashAlgorithm::sha256);
}

// ---- pack.cpp ---------------------------------------------------------------------------------

// The facts stated (not the empty ones), by their names in custody/transfer.json.
nlohmann::json facts_json(const TransferFacts& facts);

// A directory where a file is expected is named as such (Errc::invalid_argument).
Result<void> not_a_directory(const std::string& path, const char* what, const char* hint);

// ---- The checks of a package (package_checks.cpp) ---------------------------------------------

// Whether a package fails with these checks: one failed, or could not be made.
inline bool any_failed(const std::vector<ReceiveCheck>& checks) {
  return std::any_of(checks.begin(), checks.end(), [](const ReceiveCheck& check) {
    return check.verdict == Verdict::fail || check.verdict == Verdict::not_checked;
  });
}

// Records the checks of a package as they are made.
struct PackageChecker {
  ReceiveResult& result;
  void pass(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::pass, std::move(detail)});
  }
  void warn(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::warn, std::move(detail)});
  }
  void fail(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::fail, std::move(detail)});
  }
  // A check that could not be made: the package is not accepted either.
  void not_checked(std::string subject, std::string detail) {
    result.checks.push_back({std::move(subject), Verdict::not_checked, std::move(detail)});
  }
};

// The "revocation" check of a package's or ASiC-E's signer (`who`: "sender", "signer"; `what`:
// "package", "ASiC-E") from its EN 319 102-1 validation: revoked before the proven time, or with
// nothing to prove the signature came first, fails; a status nothing settles is a warning.
void add_revocation_check(const EtsiValidation& etsi,
                          const std::string& who,
                          const std::string& what,
                          PackageChecker& out);

// A BagIt manifest's lines, "DIGEST  NAME", in order (NAME as written, percent-encoded; a CR
// before the LF, which BagIt allows, is not part of it).
std::vector<std::pair<std::string, std::string>> manifest_lines(const std::string& text);
// The same as name -> digest.
std::map<std::string, std::string> manifest_entries(const std::string& text);

// What arrived of one item of a bag that custody-receive released, from its "received" event.
struct Arrival {
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t event = 0;
  std::string by;
  std::string time;
};

// The "received" events of the package in the containers of the bag directory `bag`, by payload
// name. Read from the statement before it is checked: the sizes only say how much of each
// container is compared with the signed manifests.
std::map<std::string, Arrival> find_arrivals(const std::string& bag);

// Every byte released must be the sender's: each file of the bag must be listed in the signed
// tag manifest, or be a payload file of manifest-sha256.txt (which the tag manifest lists).
void check_coverage(const std::string& bag, PackageChecker& out);

// Every payload file must be an item of the transfer statement, and bag-info's count must agree.
void check_declared_payload(const std::string& bag,
                            const nlohmann::json& transfer,
                            PackageChecker& out);

// The sender's signature over the tag manifest, its timestamp, and the validity of the sender's
// certificate (sets the result's sender).
void check_sender(const PackageCheckOptions& options,
                  const std::string& bag,
                  const nlohmann::json& transfer,
                  PackageChecker& out);

// The facts of bag-info.txt, custody/transfer.json and every item's "packaged" event, and the
// signer of those events, against each other (sets the result's facts). `listed`: the signed tag
// manifest's entries; `allowed_signers`: fingerprints that may sign what others packed.
void check_facts(const std::string& bag,
                 const nlohmann::json& transfer,
                 const std::map<std::string, std::string>& listed,
                 const std::set<std::string>& allowed_signers,
                 PackageChecker& out);

// One item of the transfer statement: its container verified in full, its log extending the
// packed proof, its hashes as declared; in a received bag, its "received" event as the manifest
// says it arrived. An item that passes is added to the result's items.
void check_item(const PackageCheckOptions& options,
                const CancelToken* cancel,
                const std::string& bag,
                const nlohmann::json& item,
                const std::map<std::string, std::string>& listed,
                const std::map<std::string, Arrival>& arrivals,
                PackageChecker& out);

// ---- Unpacking (unpack.cpp) -------------------------------------------------------------------

// A private (0700) directory, removed with this object unless what it holds was moved away.
class PrivateDirectory {
 public:
  // Beside `output`, or in the system's temporary directory when `output` is empty.
  static Result<PrivateDirectory> create(const std::string& output);
  PrivateDirectory(PrivateDirectory&& other) noexcept;
  PrivateDirectory& operator=(PrivateDirectory&&) = delete;
  PrivateDirectory(const PrivateDirectory&) = delete;
  PrivateDirectory& operator=(const PrivateDirectory&) = delete;
  ~PrivateDirectory();
  std::string file(const std::string& name) const;

 private:
  explicit PrivateDirectory(std::string path);
  std::string m_path;
};

// Whether `input` names an encrypted package (NAME.enc.json, a segment, or NAME with the index
// beside it), and the index's name.
bool is_encrypted_package(const std::string& input);
std::string index_path_of(const std::string& input);

// What a package's checks are run for.
enum class Purpose : std::uint8_t {
  verify,   // verify_package: a bag directory is checked in place, and may be a received one
  receive,  // receive_transfer: a bag directory is copied (to be released), never a received one
};

// A package as checked: the checks' verdicts and, once it is unpacked, the bag with what the
// receipt needs of it. The private directory (and the bag in it) goes with it.
struct CheckedPackage {
  ReceiveResult result;
  std::optional<PrivateDirectory> scratch;
  std::string bag;          // in `scratch`, or the input itself (a bag directory verified in place)
  nlohmann::json transfer;  // custody/transfer.json, once it is known to be a transfer statement
  nlohmann::json package_files = nlohmann::json::array();  // the package's files and hashes
  std::map<std::string, Arrival> arrivals;  // a bag receive_transfer released: what arrived
};

// Decrypts (when encrypted) and extracts the package into `checked.scratch` (as `checked.bag`), or
// takes a bag directory; the package's own files and their hashes go into
// `checked.package_files`. False when the package fails (its checks say why).
Result<bool> unpack(const PackageCheckOptions& options,
                    Purpose purpose,
                    const Identity* receiver,
                    const CancelToken* cancel,
                    CheckedPackage& checked);

}  // namespace custody::internal
