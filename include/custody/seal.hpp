// SPDX-License-Identifier: Apache-2.0
// Seals: a signed statement by an examiner (or a witness, a supervisor) of exactly what a
// container was when they sealed it: the SHA-256 of every byte of the file up to that point, of
// every member, and the image's hashes, signed as a detached CMS SignedData. The manifest and the
// signature are appended as new members; nothing already in the file is rewritten, so any number
// of seals can follow one another, each covering the file as it was before it.
#pragma once

#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/progress.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace custody {

inline constexpr const char* k_seal_manifest_format = "custody-seal-manifest";

struct SealResult {
  unsigned number = 0;           // 1 for the first seal of the container
  std::string manifest_member;   // custody/seal-N.json (the signed bytes)
  std::string signature_member;  // custody/seal-N.p7s (DER CMS SignedData, detached)
  std::uint64_t sealed_length = 0;
  std::string sealed_sha256;
};

// Seals the AFF4 container at `path` with `identity`. Errc::not_found, Errc::corrupt (not a
// readable container), Errc::io_error, Errc::crypto.
Result<SealResult> seal_container(const std::string& path,
                                  const Identity& identity,
                                  ProgressSink* progress = nullptr,
                                  const CancelToken* cancel = nullptr);

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
  std::string detail;                        // why the manifest could not be read
};

// Checks every seal of the container; `trust_files` are PEM CA bundles for the signers.
// Errors only for a container that cannot be read.
Result<std::vector<SealReport>> check_seals(const std::vector<std::string>& paths,
                                            const std::vector<std::string>& trust_files,
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr);

}  // namespace custody
