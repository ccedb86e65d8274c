// SPDX-License-Identifier: Apache-2.0
// The custody log: a signed, append-only, provable history of one evidence item (inside its
// container) or of a lab's exhibit store (a standalone log file). Specified in custody-log(5).
//
// Every event is canonical JSON (RFC 8785 for our data: sorted keys, no whitespace, integers
// only, UTF-8), signed by its actor as a detached CMS signature. The events are the leaves of an
// RFC 9162 Merkle tree (leaf = SHA-256(0x00 || event bytes)); every append also writes a signed
// tree head (size, root, time), optionally with an RFC 3161 token over the head's bytes. Events
// and heads are appended as new ZIP members (custody/log/event-N.json, .p7s; head-N.json, .p7s,
// .tsr), so nothing already in the file is rewritten and seals over earlier bytes still hold.
//
// Durability: the members are written after the old end of the file and fsynced before the new
// central directory is written, so a crash leaves either the new state or the old one followed by
// a torn tail, which readers skip (the last complete end record wins). Appenders take an
// exclusive lock on the file, so two processes appending at once both land, one after the other.
#pragma once

#include <custody/cades.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/timestamp.hpp>
#include <custody/verdict.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace custody {

inline constexpr const char* k_event_format = "custody-event";
inline constexpr const char* k_tree_head_format = "custody-tree-head";
inline constexpr const char* k_log_info_format = "custody-log";

// The actions an event can record, as spelled in the JSON ("checked-out", "delivery-confirmed").
// Returns nullptr-free names; is_custody_action() says whether a spelling is one of them.
const std::vector<std::string>& custody_actions();
bool is_custody_action(std::string_view action);

// Who did it.
struct Actor {
  std::string name;  // defaults to the certificate's common name
  std::string role;  // "examiner", "courier", "prosecutor"
  std::string organisation;
  std::string certificate_sha256;  // filled in from the signing identity
};

// What the person recording an event says. Empty fields are left out of the event.
struct EventDraft {
  std::string action = "note";
  Actor actor;
  std::string location;      // a place, free text ("BKA Wiesbaden, evidence store 2")
  std::string jurisdiction;  // ISO 3166-1 alpha-2, or an ISO 3166-2 subdivision ("DE", "DE-HE")
  std::string legal_basis;   // "warrant", "MLA request", "EIO"
  std::string legal_reference;
  std::string purpose;
  std::vector<std::string> bag_seals;  // numbers of physical evidence bag seals
  std::string notes;
  // Standalone logs: which item the event is about. Containers fill these from their record.
  std::string evidence_id;
  std::map<std::string, std::string> image_hashes;  // algorithm -> lower-case hex
  // Facts recorded by the tools ("seal": "2", "result": "intact", "output": "disk1.E01").
  std::map<std::string, std::string> details;
  std::string tool_name = "custody-log";  // the program that recorded the event
};

// The custody context of a library operation (acquire, acquire_logical, export_image,
// verify_evidence with recording): who acts, where, under which legal basis and why. The
// operation adds its own facts (action, details, hashes) and records the event itself, in the
// right order (an acquisition's event before its seal, so that the seal covers it).
struct EventContext {
  EventDraft draft;                  // the examiner's facts; action and details are the operation's
  const Identity* signer = nullptr;  // signs the event; nullptr: recorded unsigned (and said so)
};

// Checks a context before an operation starts (which may take hours): the signer can sign now,
// and the draft is one check_event_draft accepts. Nothing is written either way.
Result<void> check_event_context(const EventContext& context);

// Why an operation that records its own event (an export, a verification with recording) must
// leave the evidence at `path` untouched: a file that nobody may write (no write bit: root could
// still write it, but it was made read-only on purpose), one this process cannot write, or one
// on read-only media. Empty when it may be appended to.
std::string why_evidence_is_read_only(const std::string& path);

// Checks a draft before anything is written (an unknown action, a jurisdiction that is not an ISO
// 3166 code, text that is not UTF-8: Errc::invalid_argument), so a tool can refuse early.
Result<void> check_event_draft(const EventDraft& draft);

struct AppendOptions {
  // With cades.tsa_url the new tree head gets an RFC 3161 token (head-N.tsr, for the stock
  // `openssl ts -verify` recipe), and the event's and the head's signatures become CAdES B-T, and
  // B-LT with the signer's revocation status (cades.revocation_files or data in hand, else
  // fetched once for both); without it they are B-B.
  CadesOptions cades;
  unsigned lock_wait_seconds = 120;  // how long to wait for another appender to finish
  // A standalone log file is created when it does not exist (never a container).
  bool create_standalone = false;
  std::string standalone_title;
};

struct AppendResult {
  std::uint64_t sequence = 0;  // 1 for the first event
  std::string event_id;        // urn:uuid:...
  std::string time;
  std::string root_sha256;  // of the tree of all events, this one included
  bool signed_event = false;
  bool timestamped = false;
  std::string timestamp_time;
  std::string timestamp_problem;        // why a requested token is missing (the event is recorded)
  std::string signature_level;          // CAdES level of the event's signature; empty when unsigned
  std::vector<std::string> revocation;  // the signer's status embedded (B-LT), in words
  std::vector<std::string> revocation_der;  // the same data, DER (for the next signature)
  std::vector<std::string> shortfalls;      // why the level is lower than B-LT, with a TSA
};

// The CAdES options of the signer's next signature in the same step, after this append
// (options_after in cades.hpp).
inline CadesOptions options_after(const CadesOptions& options, const AppendResult& earlier) {
  return options_after(options, earlier.revocation_der, earlier.shortfalls,
                       earlier.timestamp_problem);
}

// Appends one event to the log of `path`: an AFF4 container, or a standalone log file. With an
// identity the event and the tree head are signed; without one (a tool recording its own event
// when no key was given) they are recorded unsigned, and verification says so.
// Errc::not_found, Errc::corrupt (not a container or log), Errc::invalid_argument (an unknown
// action, a jurisdiction that is not an ISO 3166 code, text that is not UTF-8, a signer whose
// certificate the revocation data says is revoked: nothing is written), Errc::io_error (write
// failure, or the lock was not obtained in time).
Result<AppendResult> append_custody_event(const std::string& path,
                                          const EventDraft& draft,
                                          const Identity* identity,
                                          const AppendOptions& options = {});

// One event as stored.
struct LoggedEvent {
  std::uint64_t number = 0;              // from the member name
  std::string bytes;                     // exactly as stored (the Merkle leaf)
  std::optional<std::string> signature;  // DER CMS, when signed
  std::string parse_problem;             // why the bytes are not a valid event; empty if fine
  // Parsed fields (when parse_problem is empty).
  std::uint64_t sequence = 0;
  std::string event_id, log_id, action, time, tool_name, tool_version;
  Actor actor;
  std::string location, jurisdiction, legal_basis, legal_reference, purpose, notes;
  std::vector<std::string> bag_seals;
  std::string evidence_id, exhibit;
  std::map<std::string, std::string> image_hashes;
  std::map<std::string, std::string> details;
};

struct LoggedHead {
  std::uint64_t number = 0;
  std::string bytes;
  std::optional<std::string> signature;
  std::optional<std::string> timestamp;  // RFC 3161 token over `bytes`
  std::string parse_problem;
  std::uint64_t tree_size = 0;
  std::string root_sha256, log_id, time, signer_sha256;
};

struct CustodyLog {
  std::string path;
  bool standalone = false;
  std::string log_id;                           // from custody/log/log.json
  std::string title;                            // standalone logs
  std::vector<LoggedEvent> events;              // by number
  std::vector<LoggedHead> heads;                // by number
  std::vector<std::string> unexpected_members;  // under custody/log/ but not ours
  // Bytes after the last complete end record (a torn append, or data added later).
  std::uint64_t trailing_bytes = 0;
  // The container's image hashes from its acquisition record (empty for standalone logs).
  std::map<std::string, std::string> image_hashes;
};

// Reads the log of a container or standalone log file. A container without events gives an empty
// log. Errc::not_found, Errc::corrupt (not a ZIP volume).
Result<CustodyLog> read_custody_log(const std::string& path);

struct LogCheck {
  std::string subject;              // "event 3", "tree head 5", "log"
  Verdict verdict = Verdict::pass;  // pass, warn (an unsigned event, say) or fail
  std::string detail;
  bool summary = false;  // sums up the log (the whole log, a saved head): shown even when it passes
};

// The subject of the not_checked line verify_custody_log adds for a log with signatures: it does
// not judge whether the signers were revoked (custody-verify does, with renewals and --online).
inline constexpr const char* k_log_revocation_subject = "revocation";

struct LogVerification {
  CustodyLog log;
  std::vector<LogCheck> checks;
  bool intact = false;  // no check failed
};

// Checks the log: every event's form, sequence, signature (and the signer's chain against
// `trust_files`; an unsigned event is a warning), that its signer is its actor, time order,
// image hashes against the container's record, every tree head against the events it covers, its
// signature and timestamp (against `tsa_trust_files`), and, for each head in `saved_heads` (JSON
// tree heads kept by someone earlier), that the log still extends it. Edits, deletions,
// reorderings and insertions are named with the event they concern. Errors only when the file
// cannot be read.
Result<LogVerification> verify_custody_log(const std::string& path,
                                           const std::vector<std::string>& trust_files,
                                           const std::vector<std::string>& tsa_trust_files,
                                           const std::vector<std::string>& saved_heads = {});

// A self-contained inclusion proof of event `number` (1-based): the event and its signature, the
// audit path, and the latest signed tree head with its signature and timestamp, as versioned JSON
// ("format": "custody-inclusion-proof"). A receiver checks it with check_custody_proof() or by
// hand (custody-log(5) shows how). Errc::invalid_argument if there is no such event.
Result<std::string> make_inclusion_proof(const std::string& path, std::uint64_t number);

// A consistency proof from an older tree head (`old_head`: the JSON of a custody tree head, or
// of a proof that contains one, or a decimal tree size) to the latest head
// ("format": "custody-consistency-proof").
Result<std::string> make_consistency_proof(const std::string& path, const std::string& old_head);

// The latest tree head as JSON that can be kept and given to verify_custody_log later
// (includes its signature and token, base64).
Result<std::string> latest_tree_head(const std::string& path);

// Keeps a proof or tree head (`document`) in the new file `output`, durably: written to a
// temporary file, fsynced and renamed, never over an existing file. Errc::already_exists (the
// file exists), Errc::cannot_create (its directory does not exist or may not be written),
// Errc::io_error.
Result<void> save_log_document(const std::string& output, const std::string& document);

struct ProofCheck {
  bool valid = false;  // the proof holds and its signatures verify
  std::vector<LogCheck> checks;
  std::string kind;  // "inclusion" or "consistency"
};

// Checks a proof made by make_inclusion_proof() or make_consistency_proof(). Errc::corrupt if the
// text is not such a proof.
Result<ProofCheck> check_custody_proof(const std::string& proof_json,
                                       const std::vector<std::string>& trust_files,
                                       const std::vector<std::string>& tsa_trust_files);

// A proof check as versioned JSON ("format": "custody-proof-check").
std::string proof_check_to_json(const ProofCheck& check);

// A verification as versioned JSON ("format": "custody-log-verification").
std::string log_verification_to_json(const LogVerification& verification);

// The log as versioned JSON for `custody-log show --json` ("format": "custody-log-listing").
// An "accessed" event that unreleased_accesses names carries "unreleased": true.
std::string custody_log_to_json(const CustodyLog& log);

// The numbers of the "accessed" events of custody-mount (details access=mount) that no
// "released" event names (details accessed_id): accesses still mounted, or ended without a trace
// of what was read (the process killed, the machine stopped).
std::vector<std::uint64_t> unreleased_accesses(const CustodyLog& log);

}  // namespace custody
