// SPDX-License-Identifier: Apache-2.0
// ASiC-E (ETSI EN 319 162-1) with a CAdES signature, the container European e-justice systems
// (e-CODEX, whose connector validates with the EU's DSS library) exchange: a ZIP whose first entry
// is `mimetype` (stored, no extra field: "application/vnd.etsi.asic-e+zip"), the data objects,
// META-INF/ASiCManifest001.xml listing each data object with its SHA-256, and
// META-INF/signature001.p7s, a detached CAdES signature (B-T or better) over that manifest.
// Every entry is stored: the compression ratio is 1, far inside DSS's limit of 100; more than
// 1,000 entries, which DSS refuses, are refused here.
#pragma once

#include <custody/cades.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/progress.hpp>
#include <custody/transfer.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace custody {

inline constexpr const char* k_asic_e_mimetype = "application/vnd.etsi.asic-e+zip";

struct AsicOptions {
  std::vector<std::string> containers;  // AFF4 containers (each volume of a striped image)
  std::string output;                   // NAME.asice
  bool overwrite = false;
  // Without the images (too large for a portal): for each container, its custody members (the
  // acquisition record, the custody log, seals, time-stamps, archive time-stamps) under NAME/, its
  // custody chain as CASE/UCO JSON-LD (NAME/case-uco.jsonld), and images.json binding each
  // container by its SHA-256 and size and each image by its recorded hashes; and the court
  // report of each container's verification (NAME/court-report.html), against report_trust and
  // report_tsa_trust (without them the report says the signers and times were not checked).
  bool without_images = false;
  std::vector<std::string> report_trust;
  std::vector<std::string> report_tsa_trust;
  CadesOptions cades;  // cades.tsa_url is required: the signature must be B-T or better
  // Record an "exported" custody event in each container, signed by the ASiC's signer.
  bool record_events = true;
};

struct AsicResult {
  std::string output;
  std::vector<std::pair<std::string, std::string>> data_objects;  // name in the ZIP, SHA-256
  std::uint64_t bytes = 0;                                        // of the ASiC-E file
  std::string cades_level;
  std::string timestamp_time;
  std::vector<std::string> revocation;
  std::vector<std::string> shortfalls;  // why the signature is not B-LT
  std::vector<std::uint64_t> custody_events;
};

// Writes the ASiC-E, atomically (NAME.asice appears only complete). Errc::invalid_argument: no
// TSA, no container, a container given twice, more than 1,000 entries, an output that is an input;
// Errc::already_exists: an output that exists (without overwrite); Errc::io_error: the TSA gave no
// token (nothing is written), or a write failed; errors of reading the containers.
Result<AsicResult> export_asic_e(const AsicOptions& options,
                                 const Identity& signer,
                                 ProgressSink* progress = nullptr,
                                 const CancelToken* cancel = nullptr);

std::string asic_result_to_json(const AsicResult& result);

// Whether the file at `path` is an ASiC-E container (a ZIP whose first entry is the mimetype).
bool is_asic_e(const std::string& path);

// Checks an ASiC-E container: the mimetype entry (first, stored, no extra field, the ASiC-E
// type), the manifest (every data object listed with its SHA-256, which matches, and nothing
// unlisted outside META-INF/), and the signature over the manifest (valid, signer chained to
// `options.trust`, B-T or better, the signer's revocation per EN 319 102-1). The result's checks
// use the subjects "asic", "manifest", the data objects' names, "signature", "time",
// "revocation"; sender_* name the signer. A container that does not check out is a result, not an
// Error; Errc::not_found / Errc::corrupt (not a ZIP) are Errors.
Result<ReceiveResult> verify_asic_e(const std::string& path, const PackageCheckOptions& options);

}  // namespace custody
