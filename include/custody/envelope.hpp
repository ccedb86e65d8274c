// SPDX-License-Identifier: Apache-2.0
// Encrypted transfer packages: a stream of any size encrypted to one or more receiving
// authorities' certificates, that a receiver can decrypt with stock OpenSSL.
//
// FORMAT. The plaintext is cut into segments of at most `segment_size` bytes (default 1 GiB).
// Each segment i (000, 001, ...) is encrypted on its own, as a *detached* CMS AuthEnvelopedData
// (RFC 5083/5084: AES-256-GCM, a fresh random 256-bit content key and 96-bit IV per segment,
// 16-byte tag), and written as two files beside the output base path NAME:
//   NAME.enc.000        the raw AES-256-GCM ciphertext (exactly as long as the plaintext segment)
//   NAME.enc.000.p7m    DER CMS AuthEnvelopedData: the recipients (the content key wrapped for each
//                       certificate), the IV and the tag; no encryptedContent (RFC 5652 allows it
//                       absent). A few hundred bytes.
//   NAME.enc.json       the index, plaintext JSON: format "custody-envelope" version 1, the
//                       cipher, segment size, plaintext size, the recipients' certificates
//                       (subject, issuer, serial, SHA-256 fingerprint, key type) and, per segment,
//                       both file names with their sizes and SHA-256. A receiver can check what
//                       arrived before decrypting (`sha256sum`, or check_package()).
// An empty plaintext still has one (empty) segment, whose tag proves it empty. A plaintext of
// exactly k * segment_size bytes has k segments.
// Recipients: RSA (>= 2048 bits; key transport with RSAES-OAEP, SHA-256) and EC P-256/P-384/P-521
// (ephemeral-static ECDH, X9.63 KDF with SHA-256, AES-256 key wrap). X25519/X448 and Ed25519/Ed448
// certificates are refused: OpenSSL 3.0 cannot encrypt CMS to them.
//
// WHY SEGMENTS, AND WHY THIS SIZE. One GCM key/IV must not encrypt more than ~64 GiB, and stock
// `openssl cms -decrypt` (3.0.22, measured) holds the whole plaintext of a message in memory until
// the tag verifies (it writes nothing before): a 1.8 GB segment decrypts in 2.9 GB of RAM, a
// 2.5 GB one fails (BUF_MEM_grow_clean: malloc failure). Segments of at most 1.5 GiB therefore
// stay decryptable by stock openssl; the default 1 GiB needs about 1.7 GiB of RAM there. Our own
// decryption streams in a few MiB whatever the segment size. A fresh content key and IV per
// segment is what OpenSSL's CMS API does (it draws both itself), and it leaves no IV-reuse or
// per-key volume concern.
//
// WHAT THE TAGS PROVE, AND WHAT THEY DO NOT. A verified tag proves that a segment is unchanged
// since it was encrypted. It does not prove who encrypted it: anyone holding a recipient's
// certificate can make a valid segment. The order and completeness of segments rest on the index
// (its file hashes), so the index, or the archive inside the package, must be signed by the
// sender for origin to be proven (custody-pack signs the bag inside).
//
// DECRYPTING WITH STOCK OPENSSL. Each segment on its own, in the order the index lists them; the
// plaintexts concatenated are the package. In the package's directory, with bash and jq:
//   jq -r '.segments[].envelope' NAME.enc.json | while read -r p7m; do
//     openssl cms -decrypt -binary -inform DER -in "$p7m" -content "${p7m%.p7m}" -inkey
//     receiver.key -recip receiver.pem || exit 1
//   done > NAME.part && mv NAME.part NAME || { rm -f NAME.part; echo 'NOT decrypted' >&2; }
// One segment by hand: openssl cms -decrypt -binary -inform DER -in NAME.enc.000.p7m
//   -content NAME.enc.000 -inkey receiver.key -recip receiver.pem -out NAME.000
// openssl (3.0) writes nothing before the tag verified, and exits 4 if it did not (or if the key
// is not a recipient). For a PKCS#12 identity, extract the key and certificate first:
//   openssl pkcs12 -in receiver.p12 -nocerts -out receiver.key   (asks for a new PEM passphrase)
//   openssl pkcs12 -in receiver.p12 -clcerts -nokeys -out receiver.pem
// Check the arrival before decrypting (no key needed), in the package's directory:
//   jq -r '.segments[] | "\(.sha256)  \(.ciphertext)\n\(.envelope_sha256)  \(.envelope)"'
//   NAME.enc.json | sha256sum -c
#pragma once

#include <custody/byte_sink.hpp>
#include <custody/error.hpp>
#include <custody/identity.hpp>
#include <custody/verdict.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace custody {

// 1 GiB: decryptable by stock openssl in about 2 GiB of memory (see above).
inline constexpr std::uint64_t k_default_envelope_segment_size = std::uint64_t{1} << 30U;
// The largest segment stock OpenSSL 3.0 can still decrypt (it buffers the whole plaintext, and its
// memory buffers stop at 0x5ffffffc bytes).
inline constexpr std::uint64_t k_max_envelope_segment_size = std::uint64_t{1536} << 20U;

struct EnvelopeOptions {
  std::vector<std::string> recipient_certificates;  // PEM or DER files, one certificate each
  std::string output_base;  // NAME: files NAME.enc.000, NAME.enc.000.p7m, ..., NAME.enc.json
  std::uint64_t segment_size = k_default_envelope_segment_size;  // 1 .. k_max_envelope_segment_size
  bool overwrite = false;  // replace existing package files instead of refusing
};

// A ByteSink that writes only ciphertext: whatever is written to it is encrypted to every
// recipient, segment by segment, as described above. finish() completes the last segment and
// writes the index (atomically, last: a package without its index is incomplete). A sink
// destroyed without finish(), or after an error, removes every file it created.
// Memory: a few MiB whatever the size.
// Errors at opening: Errc::invalid_argument (no recipient, a bad segment size, an X25519/Ed25519
// or small-RSA certificate, the same certificate twice), Errc::not_found/Errc::corrupt (a
// certificate file), Errc::already_exists (package files exist and !overwrite).
Result<std::unique_ptr<ByteSink>> open_encrypting_sink(const EnvelopeOptions& options);

struct EnvelopeSegment {
  std::uint64_t size = 0;           // ciphertext bytes = plaintext bytes
  std::string ciphertext;           // file name (no directory): NAME.enc.000
  std::string sha256;               // of the ciphertext file
  std::string envelope;             // NAME.enc.000.p7m
  std::uint64_t envelope_size = 0;  // bytes of the .p7m
  std::string envelope_sha256;      // of the .p7m
};

struct EnvelopeIndex {
  std::string cipher;  // "aes-256-gcm"
  std::uint64_t segment_size = 0;
  std::uint64_t plaintext_size = 0;
  std::vector<CertificateFacts> recipients;
  std::vector<EnvelopeSegment> segments;
};

// Reads the index of a package. `input` is the index (NAME.enc.json), the base NAME, or any of
// the package's files (NAME.enc.003, NAME.enc.000.p7m): the index beside it is what counts.
// Errc::not_found, Errc::corrupt (not an index, or sizes and names that do not add up).
Result<EnvelopeIndex> read_envelope_index(const std::string& input);

// What arrived: every segment's two files exist with the size and SHA-256 the index lists. No key
// needed. A verdict, never an Error, unless the index itself cannot be read.
struct PackageCheck {
  Verdict verdict = Verdict::not_checked;  // pass: every file as listed; fail: see problems
  std::vector<std::string> problems;       // one line per missing, short or altered file
};
Result<PackageCheck> check_package(const std::string& input);

struct DecryptReport {
  std::uint64_t plaintext_size = 0;
  std::size_t segments = 0;
};

// Decrypts `input` (as read_envelope_index) with the receiver's identity into `output`: a
// temporary file (mode 0600) in output's directory, fsynced and renamed to `output` only after
// every segment's tag verified; removed on any failure, so nothing unauthenticated is released.
// Errors: Errc::invalid_argument "this package is not encrypted to the certificate CN=...; it is
// for: CN=...; CN=..."; Errc::crypto when a tag does not verify (naming the segment);
// Errc::not_found for a missing index, segment or .p7m; Errc::corrupt for a short, altered or
// truncated one (naming it); Errc::already_exists if `output` exists and !overwrite.
// Memory: a few MiB whatever the size.
Result<DecryptReport> decrypt_package(const std::string& input,
                                      const Identity& receiver,
                                      const std::string& output,
                                      bool overwrite = false);

// The streaming variant: writes plaintext into `plaintext` and calls its finish() only after every
// tag verified. CAUTION: the bytes of a segment reach the sink before that segment's tag is
// checked (that is what streaming means); on any error finish() is not called and the sink must
// discard what it got (ByteSink's contract). Same errors as decrypt_package.
Result<DecryptReport> decrypt_package_to(const std::string& input,
                                         const Identity& receiver,
                                         ByteSink& plaintext);

}  // namespace custody
