// SPDX-License-Identifier: Apache-2.0
// The sender's side of a receipt (import_receipt): the receiver's signed receipt checked against
// the container, and its "delivery-confirmed" event recorded.
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/cades.hpp>
#include <custody/custody_log.hpp>
#include <custody/identity.hpp>
#include <custody/text.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace custody {

namespace {

using internal::k_tag_limit;
using internal::sha256_of_file;
using nlohmann::json;

// A receipt whose signature verifies against the given CAs.
struct SignedReceipt {
  json receipt;
  std::string signature;
  SignatureCheck check;
};

Result<SignedReceipt> read_signed_receipt(const std::string& receipt_path,
                                          const std::vector<std::string>& trust) {
  auto bytes = internal::read_small_file(receipt_path, k_tag_limit);
  CUSTODY_TRY(bytes);
  auto signature = internal::read_small_file(receipt_path + ".p7s", k_tag_limit);
  if (!signature) {
    return make_error(Errc::not_found,
                      fmt::format("the receipt's signature {}.p7s is missing", receipt_path));
  }
  if (trust.empty()) {
    return make_error(Errc::invalid_argument,
                      "--trust is required: a receipt is only worth its signer's certificate");
  }
  auto check = verify_detached(*signature, *bytes, trust);
  CUSTODY_TRY(check);
  if (!check->signature_valid || !check->chain_trusted) {
    return make_error(
        Errc::corrupt,
        fmt::format("the receipt's signature does not verify against the given CAs "
                    "({})",
                    check->signature_valid ? check->trust_problem : "altered or forged"));
  }
  json receipt = internal::parse_untrusted_json(*bytes);
  if (!receipt.is_object() || receipt.value("format", "") != k_receipt_format ||
      !receipt.contains("items") || !receipt["items"].is_array()) {
    return make_error(Errc::corrupt, receipt_path + " is not a custody receipt");
  }
  return SignedReceipt{std::move(receipt), std::move(*signature), std::move(*check)};
}

// The receipt's item of the container with this log (version 1, with its size), signed by the
// receiver the receipt names.
Result<json> receipt_item(const SignedReceipt& signed_receipt,
                          const std::string& receipt_path,
                          const std::string& container,
                          const CustodyLog& log) {
  const json& receipt = signed_receipt.receipt;
  const json* found = nullptr;
  for (const json& item : receipt["items"]) {
    if (item.value("log_id", "") == log.log_id) {
      found = &item;
    }
  }
  if (found == nullptr) {
    return make_error(Errc::corrupt, fmt::format("the receipt does not name {} (its log {})",
                                                 container, log.log_id));
  }
  if (receipt.value("version", 0) != 1 || !found->contains("size") ||
      !(*found)["size"].is_number_unsigned()) {
    return make_error(Errc::corrupt, receipt_path + " is not a version 1 custody receipt");
  }
  if (receipt.value(json::json_pointer("/receiver/sha256_fingerprint"), std::string()) !=
      signed_receipt.check.signer.sha256_fingerprint) {
    return make_error(Errc::corrupt, "the receipt is not signed by the receiver it names");
  }
  return *found;
}

// The container was packaged into the receipt's package, and this receipt (by its SHA-256) is not
// recorded in it yet.
Result<void> check_log_for_receipt(const CustodyLog& log,
                                   const std::string& container,
                                   const std::string& package_id,
                                   const std::string& receipt_sha256) {
  bool packaged = false;
  for (const LoggedEvent& event : log.events) {
    const auto id = event.details.find("package_id");
    packaged = packaged || (event.action == "packaged" && id != event.details.end() &&
                            id->second == package_id);
    const auto digest = event.details.find("receipt_sha256");
    if (event.action == "delivery-confirmed" && digest != event.details.end() &&
        digest->second == receipt_sha256) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("this receipt is already recorded (custody event {})", event.number));
    }
  }
  if (!packaged) {
    return make_error(Errc::corrupt,
                      fmt::format("{} was never packaged into {} (no \"packaged\" event names it)",
                                  container, package_id));
  }
  return {};
}

// "TOTAL-PASSED", "INDETERMINATE/TRY_LATER": the outcome, kept in the event.
std::string etsi_outcome(const EtsiValidation& etsi) {
  return etsi.sub_indication.empty() ? etsi.indication
                                     : etsi.indication + "/" + etsi.sub_indication;
}

// The receiver's revocation per EN 319 102-1: a receiver revoked before the receipt's proven time,
// or revoked with nothing to prove the receipt came first, confirms nothing.
Result<EtsiValidation> judge_receiver(const SignedReceipt& signed_receipt,
                                      const ReceiptCheckOptions& options) {
  auto etsi = validate_signature(signed_receipt.signature, signed_receipt.check, options.tsa_trust,
                                 {}, {}, options.revocation);
  CUSTODY_TRY(etsi);
  const std::string receiver = common_name(signed_receipt.check.signer.subject);
  if (etsi->sub_indication == "REVOKED") {
    return make_error(Errc::corrupt,
                      fmt::format("the receipt is signed by {}, whose certificate was revoked on "
                                  "{}, before the receipt's proven time {}{}; nothing was recorded",
                                  receiver, etsi->revoked_at, etsi->proof_time, etsi_words(*etsi)));
  }
  if (etsi->sub_indication == "REVOKED_NO_POE") {
    return make_error(
        Errc::corrupt,
        fmt::format("the receipt is signed by {}, whose certificate was revoked on {}, and no "
                    "trusted time proves the receipt was signed before{}; nothing was recorded "
                    "(give --tsa-trust if the receipt is timestamped)",
                    receiver, etsi->revoked_at, etsi_words(*etsi)));
  }
  if (etsi->sub_indication == "REVOKED_CA_NO_POE") {
    return make_error(Errc::corrupt,
                      fmt::format("the receipt is signed by {}: {}{}; nothing was recorded",
                                  receiver, etsi->detail, etsi_words(*etsi)));
  }
  return etsi;
}

Result<ReceiptImport> import(const std::string& container,
                             const std::string& receipt_path,
                             const ReceiptCheckOptions& options,
                             const Identity& identity) {
  CUSTODY_TRY(identity.check_can_sign());
  auto signed_receipt = read_signed_receipt(receipt_path, options.trust);
  CUSTODY_TRY(signed_receipt);
  auto receiver_etsi = judge_receiver(*signed_receipt, options);
  CUSTODY_TRY(receiver_etsi);
  const json& receipt = signed_receipt->receipt;
  auto log = read_custody_log(container);
  CUSTODY_TRY(log);
  auto item = receipt_item(*signed_receipt, receipt_path, container, *log);
  CUSTODY_TRY(item);
  auto receipt_digest = sha256_of_file(receipt_path, std::nullopt);
  CUSTODY_TRY(receipt_digest);
  CUSTODY_TRY(
      check_log_for_receipt(*log, container, receipt.value("package_id", ""), *receipt_digest));
  // The receiver got this container's first `size` bytes: it only grew since.
  const auto size = item->value("size", std::uint64_t{0});
  auto prefix = sha256_of_file(container, size);
  if (!prefix || *prefix != item->value("sha256", "")) {
    return make_error(Errc::corrupt,
                      fmt::format("what the receiver got is not the first {} bytes of {}: it "
                                  "received other bytes than were sent",
                                  size, container));
  }
  ReceiptImport imported;
  imported.receiver_subject = signed_receipt->check.signer.subject;
  imported.received_at = receipt.value("received_at", "");
  imported.package_id = receipt.value("package_id", "");
  imported.receiver_etsi = std::move(*receiver_etsi);
  EventDraft draft;
  draft.action = "delivery-confirmed";
  draft.tool_name = "custody-log";
  draft.details = {{"package_id", imported.package_id},
                   {"receiver", imported.receiver_subject},
                   {"received_at", imported.received_at},
                   {"receipt_sha256", *receipt_digest},
                   {"receiver_etsi", etsi_outcome(imported.receiver_etsi)}};
  auto added = append_custody_event(container, draft, &identity);
  CUSTODY_TRY(added);
  imported.event = added->sequence;
  return imported;
}

}  // namespace

// JSON of the wrong shape anywhere in a receipt is corrupt input, never a crash.
Result<ReceiptImport> import_receipt(const std::string& container,
                                     const std::string& receipt_path,
                                     const ReceiptCheckOptions& options,
                                     const Identity& identity) {
  return internal::json_errors_are_corrupt(
      fmt::format("{} is not a valid receipt", receipt_path),
      [&] { return import(container, receipt_path, options, identity); });
}

}  // namespace custody
