// SPDX-License-Identifier: Apache-2.0
// Seals: a signed statement by an examiner (or a witness, a supervisor) of exactly what a
// container was when they sealed it: the SHA-256 of every byte of the file up to that point, of
// every member, and the image's hashes, signed as a detached CMS SignedData. The manifest and the
// signature are appended as new members; nothing already in the file is rewritten, so any number
// of seals can follow one another, each covering the file as it was before it.
#pragma once

#include <custody/cades.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/progress.hpp>
#include <custody/timestamp.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace custody {

inline constexpr const char* k_seal_manifest_format = "custody-seal-manifest";

// Trusted time for a seal, with a TSA: the signature time-stamp inside the signature (CAdES B-T,
// over its signature value), then the revocation status of the signer inside it too (B-LT), and
// an RFC 3161 token over the bytes of the whole signature file (custody/seal-N.p7s), kept as the
// member custody/seal-N.tsr for the stock `openssl ts -verify` recipe.
struct SealOptions {
  std::string tsa_url;        // ask this TSA now (HTTP POST)
  unsigned tsa_timeout = 30;  // seconds
  // B-LT: CRLs and OCSP responses brought as files; with none, the signer's status is fetched
  // (OCSP, else CRL) once the signature is time-stamped, unless fetch_revocation is false.
  std::vector<std::string> revocation_files;
  bool fetch_revocation = true;
  std::string tsq_out;  // offline: write the request here (and keep it as seal-N.tsq)
  // Record a "sealed" event in the container's custody log, in the same append as the seal.
  bool record_event = true;
  std::string tool_name = "custody-seal";  // the program named in that event
};

struct SealResult {
  unsigned number = 0;           // 1 for the first seal of the container
  std::string manifest_member;   // custody/seal-N.json (the signed bytes)
  std::string signature_member;  // custody/seal-N.p7s (DER CMS SignedData, detached)
  std::uint64_t sealed_length = 0;
  std::string sealed_sha256;
  bool timestamped = false;
  std::string timestamp_time;        // genTime of the token
  std::string timestamp_problem;     // why a requested timestamp is missing (the seal is written)
  std::uint64_t event_sequence = 0;  // the "sealed" custody event (0: none recorded)
  std::string level = "B-B";         // the CAdES baseline level of the seal's signature
  std::vector<std::string> revocation;  // the revocation data embedded (B-LT)
  std::vector<std::string> shortfalls;  // why the level is lower than B-LT
};

// Seals the AFF4 container at `path` with `identity`. Errc::not_found, Errc::corrupt (not a
// readable container), Errc::io_error, Errc::crypto.
Result<SealResult> seal_container(const std::string& path,
                                  const Identity& identity,
                                  const SealOptions& options = {},
                                  ProgressSink* progress = nullptr,
                                  const CancelToken* cancel = nullptr);

// The result as versioned JSON ("format": "custody-seal-result", "version": 1).
std::string seal_result_to_json(const SealResult& result,
                                const std::string& container,
                                const CertificateFacts& signer);

// Attaches a TSA reply (`tsr_path`, obtained offline for the request that seal_container wrote
// with tsq_out) to seal `number` as custody/seal-N.tsr. The reply must answer the kept request
// (nonce and imprint). Returns the token's time.
Result<std::string> add_seal_timestamp(const std::string& path,
                                       unsigned number,
                                       const std::string& tsr_path);

// One seal as found in a container, and what checking it showed.
struct SealReport {
  unsigned number = 0;
  bool manifest_readable = false;
  SignatureCheck signature;
  bool file_prefix_matches = false;  // SHA-256 of the first sealed_length bytes
  std::uint64_t sealed_length = 0;
  std::vector<std::string> changed_members;  // listed in the manifest, now different or missing
  std::vector<std::string> added_members;    // present now, not sealed (later seals excepted)
  bool after_acquisition = true;             // signing time not before the acquisition's end
  std::string sealed_at;                     // the signing time (or the manifest's time)
  bool has_timestamp = false;                // custody/seal-N.tsr is present
  TimestampCheck timestamp;                  // its check (when present and readable)
  std::string timestamp_problem;             // why the token could not be checked
  std::string detail;                        // why the manifest could not be read
  EtsiValidation etsi;                       // the signature per EN 319 102-1
};

// --- Archive time-stamps (the long-term part of CAdES B-LTA, in the way ASiC keeps it) ---
// A seal's signature is never rewritten (the container is append-only), so its protection is
// renewed beside it: an archive manifest, custody/archive-N.json, states the SHA-256 of every byte
// of the file up to then and of every member (every seal, custody event, tree head, timestamp and
// the revocation data inside signatures), and an RFC 3161 token over that manifest,
// custody/archive-N.tsr, proves it all existed at that time. Each renewal covers the ones before,
// so renewing before a TSA's certificate expires or its algorithms weaken keeps the chain
// verifiable. Stock check: openssl ts -verify -data archive-N.json -in archive-N.tsr -token_in
// -CAfile TSA-CA.

inline constexpr const char* k_archive_manifest_format = "custody-archive-manifest";

struct RenewOptions {
  std::string tsa_url;  // required
  unsigned tsa_timeout = 30;
  // The "renewed" event's signatures are CAdES B-T, and B-LT with the signer's status from these
  // files or, unless fetch_revocation is false, fetched.
  std::vector<std::string> revocation_files;
  bool fetch_revocation = true;
  std::string tool_name = "custody-seal";  // the program named in the "renewed" event
  // Renewing a received transfer package (renew_received_package): its id and the SHA-256 of
  // each of its tag files, by name, stated in the archive manifest under "package" so that the
  // time-stamp covers the sender's signature too.
  std::string package_id;
  std::vector<std::pair<std::string, std::string>> package_files;
};

struct RenewResult {
  std::string container;  // renew_received_package: the container's payload name, data/...
  unsigned number = 0;    // 1 for the first renewal
  std::string manifest_member, token_member;
  std::uint64_t covered_length = 0;
  std::string covered_sha256;
  std::string time;  // the token's genTime
  std::string tsa_subject;
  unsigned seals = 0;                // how many seals the renewal covers
  std::uint64_t event_sequence = 0;  // the "renewed" custody event
};

// Renews the long-term protection of the container at `path` with a fresh archive time-stamp from
// options.tsa_url, and records a "renewed" custody event (signed by `identity`, unsigned when null)
// in the same append. Nothing is written when the TSA gives no token (Errc::io_error names why):
// a renewal without its time-stamp is worth nothing. Errc::invalid_argument without a TSA or for a
// container with bytes after its end; Errc::not_found, Errc::corrupt.
Result<RenewResult> renew_container(const std::string& path,
                                    const Identity* identity,
                                    const RenewOptions& options,
                                    ProgressSink* progress = nullptr,
                                    const CancelToken* cancel = nullptr);

std::string renew_result_to_json(const RenewResult& result, const std::string& container);

// One archive time-stamp as found, and what checking it showed.
struct ArchiveReport {
  unsigned number = 0;
  bool manifest_readable = false;
  std::uint64_t covered_length = 0;
  bool prefix_matches = false;  // the file's first covered_length bytes are what it states
  bool has_token = false;
  TimestampCheck timestamp;  // the token over the manifest (when present and readable)
  std::string problem;       // why the manifest or the token could not be read
  std::vector<std::string> covered_members;  // the members it lists
  // A renewal of a received package: the package's id and tag files (name, SHA-256) it states.
  std::string package_id;
  std::vector<std::pair<std::string, std::string>> package_files;
};

// Whether `archive` proves, with a TSA the verifier trusts, that its covered bytes existed at its
// time.
bool archive_proves(const ArchiveReport& archive);

// The seals and the archive time-stamps of a container, checked in one read of the file.
struct SealChecks {
  std::vector<SealReport> seals;
  std::vector<ArchiveReport> archives;
};
Result<SealChecks> check_seals_and_archives(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files,
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr,
                                            const RevocationPolicy& revocation = {});

// Checks every seal of the container; `trust_files` are PEM CA bundles for the signers.
// Errors only for a container that cannot be read.
// `revocation`: how the signers' revocation status is checked (SealReport::etsi).
Result<std::vector<SealReport>> check_seals(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            const std::vector<std::string>& tsa_trust_files,
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr,
                                            const RevocationPolicy& revocation = {});

}  // namespace custody
