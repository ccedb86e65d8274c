// SPDX-License-Identifier: Apache-2.0
// Transfer packages between jurisdictions (custody-pack(1), custody-receive(1), format in
// custody-package(5)): evidence containers in a BagIt v1.0 bag with the transfer's facts in
// bag-info.txt, each item's "packaged" custody event with its inclusion proof and signed tree
// head, a CMS signature of the sending authority over tagmanifest-sha256.txt (and its RFC 3161
// token), written as a directory, a pax tar or a zip, optionally encrypted to the receiving
// authorities (envelope.hpp). The receiver checks all of it, records "received" in every
// container's log and signs a receipt, which the sender imports as "delivery-confirmed".
// verify_package() makes the same checks (custody-verify) and releases and records nothing.
#pragma once

#include <custody/cades.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/progress.hpp>
#include <custody/seal.hpp>
#include <custody/verdict.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace custody {

inline constexpr const char* k_transfer_format = "custody-transfer";
inline constexpr const char* k_receipt_format = "custody-receipt";

// Who sends what to whom, on which legal basis (bag-info.txt and custody/transfer.json).
struct TransferFacts {
  std::string sending_authority;  // also Source-Organization
  std::string receiving_authority;
  std::string requesting_state;   // ISO 3166 (the state that asked for the evidence)
  std::string requested_state;    // ISO 3166 (the state that sends it)
  std::string legal_basis;        // "MLA request", "EIO", "court order"
  std::string request_reference;  // also External-Identifier
  std::string purpose;
  std::string use_limits;  // conditions on use or retention
  std::string contact_name, contact_email;
};

// The facts people read in receive and verify output, in order: ("sending authority", value),
// ...; a fact not stated is "(not stated)".
std::vector<std::pair<std::string, std::string>> transfer_fact_rows(const TransferFacts& facts);

struct PackOptions {
  std::vector<std::string> containers;
  // NAME.tar or NAME.zip: an archive; anything else: a directory. With encryption, the archive is
  // never written: NAME.enc.000, NAME.enc.000.p7m, ..., NAME.enc.json are.
  std::string output;
  TransferFacts facts;
  std::vector<std::string> encrypt_to;  // recipients' certificates
  std::uint64_t segment_size = 0;       // 0: the envelope's default
  // With a TSA, the sender's signature becomes CAdES B-T and, with the sender's revocation status
  // (fetched, or given as files), B-LT; a token over the whole signature file is kept as well.
  std::string tsa_url;
  unsigned tsa_timeout = 30;
  std::vector<std::string> revocation_files;  // CRLs and OCSP responses about the sender
  bool fetch_revocation = true;
};

struct PackedItem {
  std::string container;     // as given
  std::string payload_name;  // data/NAME
  std::uint64_t size = 0;    // bytes as packed (the container grew by its "packaged" event)
  std::string sha256;        // of those bytes (manifest-sha256.txt)
  std::uint64_t packaged_event = 0;
  std::string log_id;
  std::uint64_t received_event = 0;  // receiving: the "received" event recorded (or found)
};

struct PackResult {
  std::string package_id;          // urn:uuid
  std::vector<std::string> files;  // what was written (the archive, or the encrypted files)
  std::vector<PackedItem> items;
  std::string payload_oxum;
  bool encrypted = false;
  bool timestamped = false;
  std::string timestamp_time;
  std::string timestamp_problem;
  std::string sender_subject, sender_fingerprint;
  std::string cades_level = "B-B";      // of the sender's signature
  std::vector<std::string> revocation;  // the revocation data embedded in it
  std::vector<std::string> shortfalls;  // why it is not B-LT
};

// Builds the package. Every input is checked first (each container readable, none given twice,
// no output that is an input or exists, the output's directory there); then each container gets a
// signed "packaged" event (so the package holds it). When writing the package fails after that
// (disk full, a read error), the containers are cut back to their size before, byte-identical
// (unless another event was appended since, which the error then names).
// Errc::invalid_argument (no container, a bad state code, encryption to a directory, a container
// given twice, a directory given as a container), Errc::already_exists (an output that exists or
// is an input, a missing output directory), Errc::not_found, Errc::corrupt (not a container, or a
// damaged log), Errc::io_error, Errc::crypto.
Result<PackResult> pack_transfer(const PackOptions& options,
                                 const Identity& sender,
                                 ProgressSink* progress = nullptr,
                                 const CancelToken* cancel = nullptr);

// The result as one versioned JSON document, "format": "custody-pack-result", "version": 1
// (custody-pack(1) lists the members), with a line break at the end.
std::string pack_result_to_json(const PackResult& result, const PackOptions& options);

// What checking a package needs: the package, and whom to trust.
struct PackageCheckOptions {
  std::string input;  // NAME.tar, NAME.zip, a bag directory, or an encrypted package's file
  std::vector<std::string> trust;      // CAs the sender's certificate must chain to
  std::vector<std::string> tsa_trust;  // CAs of trusted TSAs
  // Accept a sender (or a signer in a container) whose certificate has expired since, although no
  // trusted timestamp proves that the signature was made before: a warning instead of a failure.
  bool accept_expired_signers = false;
  // Certificates (PEM or DER files) that may sign a package whose items' "packaged" events another
  // signer made (a package signed again, for example by an authority that forwards it): a warning
  // instead of a failure. The facts must still be those the events recorded.
  std::vector<std::string> allowed_signers;
  // How the sender's revocation status is checked: the data in its signature, and online when
  // `revocation.online` (custody-receive/custody-verify --online).
  RevocationPolicy revocation;
};

// Receiving: the package is checked as verify_package checks it, then released to `output`.
struct ReceiveOptions {
  PackageCheckOptions check;  // the package and whom to trust (`trust` is required)
  std::string output;         // the directory to create with the received bag
  std::string receipt;        // default: OUTPUT.receipt.json (+ .p7s)
  // Who signs the "received" events and the receipt, when not the receiver whose key decrypts
  // (an authority's decryption key on an HSM often may not sign). Null: the receiver.
  const Identity* signer = nullptr;
  // With cades.tsa_url the "received" events (with their tree heads) and the receipt are signed
  // at CAdES B-T, and B-LT with the signer's revocation status (given, or fetched once).
  CadesOptions cades;
};

// One check of a package: pass; warn (passed, but worth saying); fail; not_checked (it could not
// be made, and the detail says why: an encrypted package without the receiver's key, a sender
// without --trust), which a package is not accepted with either.
struct ReceiveCheck {
  std::string subject;  // "package", "bag", "sender", "data/disk1.aff4", ...
  Verdict verdict = Verdict::fail;
  std::string detail;
};

struct ReceiveResult {
  // Every check passed or warned (none failed, none could not be made); receiving: OUTPUT holds
  // the bag, the receipt is written.
  bool accepted = false;
  std::vector<ReceiveCheck> checks;
  std::string package_id;
  std::string sender_subject;
  std::string sender_fingerprint;
  // The facts as custody/transfer.json states them; `facts_confirmed` when bag-info.txt states the
  // same and every item's "packaged" event, signed by the package's signer, recorded the same.
  TransferFacts facts;
  bool facts_confirmed = false;
  // The package is a bag that receive_transfer released (its containers hold their "received"
  // event); only verify_package accepts one.
  bool received_bag = false;
  std::string receipt_path;
  std::string receipt_cades_level;              // "B-B", "B-T" or "B-LT"
  std::vector<std::string> receipt_revocation;  // the signer's status embedded, in words
  std::vector<std::string> receipt_shortfalls;  // why the level is lower than B-LT, with a TSA
  std::vector<PackedItem> items;                // as received, with their "received" event
  // The sender's signature per ETSI EN 319 102-1 (empty indication when it could not be read).
  EtsiValidation sender_etsi;
};

// Checks a package (custody-verify on a package) with every check receive_transfer makes, in the
// same order, and releases and records nothing: it is decrypted (when encrypted) and extracted into
// a private directory in the system's temporary directory, which is removed before it returns. A
// bag directory is checked in place, and may be one that receive_transfer released (its containers
// hold their "received" event: each is checked as the prefix that arrived plus later events, and
// the result says received_bag). `receiver` is needed only to decrypt an encrypted package; without
// it the package's check is not_checked. A package that does not check out is a result (accepted
// == false), not an Error. Errors, before anything is unpacked: Errc::not_found (no package),
// Errc::invalid_argument (an encrypted package not encrypted to the receiver's certificate, a
// directory that is not a bag, an allowed signer's file that holds no certificate); then I/O.
Result<ReceiveResult> verify_package(const PackageCheckOptions& options,
                                     const Identity* receiver,
                                     ProgressSink* progress = nullptr,
                                     const CancelToken* cancel = nullptr);

// Receives a package: runs the checks of verify_package on it (in a private directory beside
// `output`; a bag directory is copied there), then records a signed "received" event in every
// container and writes the signed receipt, and only then renames the bag to `output`. On any
// failure nothing is left that looks received. A rejected package is a result (accepted == false),
// not an Error; Errors are for what prevents checking (Errc::not_found, Errc::already_exists for
// `output`, I/O).
// Refused before anything is unpacked, besides verify_package's refusals: Errc::invalid_argument
// without `output`, without a receiver's identity, when the signer (options.signer, else the
// receiver) cannot sign, or without --trust;
// Errc::already_exists for an output or receipt that exists (named as a package received before
// when it holds one), an output that is an input or lies inside one, a missing output directory,
// and a package whose containers already hold its "received" event.
Result<ReceiveResult> receive_transfer(const ReceiveOptions& options,
                                       const Identity* receiver,
                                       ProgressSink* progress = nullptr,
                                       const CancelToken* cancel = nullptr);

// The result as one versioned JSON document with a line break at the end, "version": 1:
// "format": "custody-receive-result" for receive_transfer's result (with `options` of receiving),
// "custody-package-verification" for verify_package's (with its options). custody-receive(1) and
// custody-package(5) list the members.
std::string receive_result_to_json(const ReceiveResult& result, const ReceiveOptions& options);
std::string receive_result_to_json(const ReceiveResult& result, const PackageCheckOptions& options);

struct ReceiptImport {
  std::uint64_t event = 0;  // the "delivery-confirmed" event
  std::string receiver_subject;
  std::string received_at;
  std::string package_id;
  // The receipt's signature per ETSI EN 319 102-1: TOTAL-PASSED, or INDETERMINATE/TRY_LATER when
  // nothing settles the receiver's revocation status (imported, and said); a revoked receiver is
  // refused.
  EtsiValidation receiver_etsi;
};

// How a receipt's signer is checked at import: the CAs it must chain to, the TSAs whose signature
// time-stamps prove when it signed, and whether to ask its OCSP responder or CRL distribution
// point online.
struct ReceiptCheckOptions {
  std::vector<std::string> trust;
  std::vector<std::string> tsa_trust;
  RevocationPolicy revocation;
};

// The sender's side: checks the receipt's signature (against `trust`), finds this container in it
// (by its log id), checks that the bytes the receiver got are this container's first `size` bytes
// (the container only grew since), judges the receiver's revocation status (EN 319 102-1), and
// records "delivery-confirmed", signed by `identity`, with that judgement as a detail.
// Errc::corrupt (not a receipt, a bad signature, not for this container, different bytes, a
// receiver revoked before the receipt's proven time or with nothing to prove it came first),
// Errc::not_found.
Result<ReceiptImport> import_receipt(const std::string& container,
                                     const std::string& receipt_path,
                                     const ReceiptCheckOptions& options,
                                     const Identity& identity);

// Renews the long-term protection of a package that custody-receive released (the directory
// `bag`): each container in it gets an archive time-stamp (renew_container) whose manifest also
// states the SHA-256 of every tag file of the package (the sender's signature and its token, the
// manifests, custody/transfer.json), so the time-stamp proves the sender's signature existed then,
// and a "renewed" event naming the package. The bag stays what custody-verify accepts as received
// (its containers only grow). A package archive (.tar, .zip) or an encrypted package cannot grow
// without breaking its signature and is refused (Errc::invalid_argument: receive it first), as is
// a bag whose containers hold no "received" event of it. Stops at the first container that cannot
// be renewed (those before keep their renewal).
Result<std::vector<RenewResult>> renew_received_package(const std::string& bag,
                                                        const Identity* identity,
                                                        const RenewOptions& options,
                                                        ProgressSink* progress = nullptr,
                                                        const CancelToken* cancel = nullptr);

}  // namespace custody
