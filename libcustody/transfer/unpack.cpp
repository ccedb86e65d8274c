// SPDX-License-Identifier: Apache-2.0
// Unpacking a package into a private directory to check it: an encrypted package checked and
// decrypted, a tar or zip extracted safely, a bag directory copied or taken where it is.
#include "core/posix_file.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/bagit.hpp>
#include <custody/envelope.hpp>
#include <custody/identity.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <regex>

namespace custody::internal {

namespace fs = std::filesystem;
using nlohmann::json;

Result<PrivateDirectory> PrivateDirectory::create(const std::string& output) {
  std::error_code ignored;
  fs::path parent =
      output.empty() ? fs::temp_directory_path(ignored) : fs::path(output).parent_path();
  if (parent.empty()) {
    parent = ".";
  }
  std::string pattern = (parent / ".custody-receive-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return make_sys_error(Errc::io_error, "cannot create a private directory in", parent.string(),
                          errno);
  }
  return PrivateDirectory(pattern);
}

PrivateDirectory::PrivateDirectory(std::string path) : m_path(std::move(path)) {}

PrivateDirectory::PrivateDirectory(PrivateDirectory&& other) noexcept
    : m_path(std::move(other.m_path)) {
  other.m_path.clear();
}

PrivateDirectory::~PrivateDirectory() {
  if (!m_path.empty()) {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
}

std::string PrivateDirectory::file(const std::string& name) const {
  return (fs::path(m_path) / name).string();
}

bool is_encrypted_package(const std::string& input) {
  static const std::regex k_segment(R"(\.enc\.[0-9]{3,}(\.p7m)?$)");
  return input.ends_with(".enc.json") || std::regex_search(input, k_segment) ||
         fs::exists(input + ".enc.json");
}

// The index of an encrypted package, from any of its names.
std::string index_path_of(const std::string& input) {
  if (input.ends_with(".enc.json")) {
    return input;
  }
  const std::size_t at = input.rfind(".enc.");
  return (at == std::string::npos ? input : input.substr(0, at)) + ".enc.json";
}

namespace {

// The name, size and SHA-256 of one of the package's own files, for the receipt.
Result<void> add_package_file(const std::string& path, json& package_files) {
  auto digest = sha256_of_file(path, std::nullopt);
  CUSTODY_TRY(digest);
  std::error_code ignored;
  package_files.push_back(json{{"name", fs::path(path).filename().string()},
                               {"size", fs::file_size(path, ignored)},
                               {"sha256", *digest}});
  return {};
}

// The files of an encrypted package as its index lists them: the index, then each segment's
// ciphertext and envelope.
void add_envelope_files(const std::string& input, const EnvelopeIndex& index, json& package_files) {
  // The index was read just before; should it not hash now, the receipt lists the segments only.
  (void)add_package_file(index_path_of(input), package_files);
  for (const EnvelopeSegment& segment : index.segments) {
    package_files.push_back(
        json{{"name", segment.ciphertext}, {"size", segment.size}, {"sha256", segment.sha256}});
    package_files.push_back(json{{"name", segment.envelope},
                                 {"size", segment.envelope_size},
                                 {"sha256", segment.envelope_sha256}});
  }
}

// An encrypted package: every segment must be there as the index lists it; then it is decrypted
// into `archive`, each segment's AES-256-GCM tag checked. False when the package fails.
Result<bool> decrypt(const std::string& input,
                     const Identity* receiver,
                     const std::string& archive,
                     json& package_files,
                     PackageChecker& out) {
  auto arrived = check_package(input);
  CUSTODY_TRY(arrived);
  if (arrived->verdict != Verdict::pass) {
    std::string problems;
    for (const std::string& problem : arrived->problems) {
      problems += (problems.empty() ? "" : "; ") + problem;
    }
    out.fail("package", "incomplete or altered in transit: " + problems);
    return false;
  }
  auto index = read_envelope_index(input);
  CUSTODY_TRY(index);
  add_envelope_files(input, *index, package_files);
  if (receiver == nullptr) {
    return make_error(Errc::invalid_argument,
                      "the package is encrypted: give the receiver's key and certificate (--key, "
                      "--cert) to check it");
  }
  auto decrypted = decrypt_package(input, *receiver, archive);
  if (!decrypted && decrypted.error().code == Errc::io_error) {
    return tl::unexpected(decrypted.error());  // our disk, not the package
  }
  if (!decrypted) {
    out.fail("package", "cannot be decrypted: " + decrypted.error().message);
    return false;
  }
  out.pass("package", fmt::format("decrypted {} segment{}: every AES-256-GCM tag verified",
                                  decrypted->segments, decrypted->segments == 1 ? "" : "s"));
  return true;
}

// A tar or zip, extracted safely into `bag` (where extract_bag_archive validates the bag).
Result<bool> extract(const std::string& archive,
                     const CancelToken* cancel,
                     const std::string& bag,
                     PackageChecker& out) {
  BagExtractLimits limits;
  limits.cancel = cancel;
  auto extracted = extract_bag_archive(archive, bag, limits);
  if (!extracted &&
      (extracted.error().code == Errc::io_error || extracted.error().code == Errc::cancelled)) {
    return tl::unexpected(extracted.error());  // our disk (full, failing), not the package
  }
  if (!extracted) {
    out.fail("package", "refused: " + extracted.error().message);
    return false;
  }
  if (!extracted->extracted) {
    for (const std::string& line : extracted->report.lines(Verdict::fail)) {
      out.fail("bag", line);
    }
    return false;
  }
  out.pass("bag", "a valid BagIt bag: every payload file listed, nothing unlisted, all hashes");
  return true;
}

// A package whose containers hold its "received" event is not received again.
tl::unexpected<Error> received_already(const std::string& input,
                                       const std::map<std::string, Arrival>& arrivals) {
  const auto& [payload, arrival] = *arrivals.begin();
  return tl::unexpected(
      Error{Errc::already_exists,
            fmt::format("this package was received already: {} holds its \"received\" custody "
                        "event (event {}, by {} at {})",
                        payload, arrival.event, arrival.by, arrival.time),
            input,
            {},
            0,
            "check a received bag with custody-verify DIR --trust ... (the sender's and the "
            "receiver's CAs); receive a package once, from the files the sender sent"});
}

// A bag directory validated where it is; a released bag's containers as the prefixes that arrived.
Result<bool> validate_bag_directory(const std::string& bag,
                                    const std::map<std::string, Arrival>& arrivals,
                                    PackageChecker& out) {
  BagValidateOptions validation;
  for (const auto& [payload, arrival] : arrivals) {
    validation.payload_prefixes[payload] = arrival.size;
  }
  auto report = validate_bag(bag, validation);
  CUSTODY_TRY(report);
  if (!report->valid()) {
    for (const std::string& line : report->lines(Verdict::fail)) {
      out.fail("bag", line);
    }
    return false;
  }
  out.pass("bag", arrivals.empty()
                      ? "a valid BagIt bag: every payload file listed, nothing unlisted, all "
                        "hashes"
                      : "a bag released by custody-receive: each container's first bytes, as "
                        "its \"received\" event says they arrived, have every hash the "
                        "manifests list; nothing unlisted");
  return true;
}

// A bag directory: verifying, it is only read, where it is, and may be one that receive_transfer
// released; receiving, it is copied into the private directory, unless it was received already.
Result<bool> take_bag_directory(const std::string& input,
                                Purpose purpose,
                                CheckedPackage& checked,
                                PackageChecker& out) {
  checked.arrivals = find_arrivals(input);
  if (purpose == Purpose::verify) {
    checked.bag = input;
  } else {
    if (!checked.arrivals.empty()) {
      return received_already(input, checked.arrivals);
    }
    std::error_code failure;
    fs::copy(input, checked.bag, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             failure);
    if (failure) {
      return make_error(Errc::io_error,
                        fmt::format("cannot copy {}: {}", input, failure.message()));
    }
  }
  return validate_bag_directory(checked.bag, checked.arrivals, out);
}

}  // namespace

// Decrypts (when encrypted) and extracts the package into the private directory, or takes a bag
// directory (take_bag_directory); the package's own files and their hashes go into
// `checked.package_files`. False when the package fails (its checks say why).
Result<bool> unpack(const PackageCheckOptions& options,
                    Purpose purpose,
                    const Identity* receiver,
                    const CancelToken* cancel,
                    CheckedPackage& checked) {
  PackageChecker out{checked.result};
  std::error_code ignored;
  if (is_encrypted_package(options.input)) {
    const std::string archive = checked.scratch->file("package");
    auto decrypted = decrypt(options.input, receiver, archive, checked.package_files, out);
    if (!decrypted || !*decrypted) {
      return decrypted;
    }
    return extract(archive, cancel, checked.bag, out);
  }
  if (fs::is_directory(options.input, ignored)) {
    return take_bag_directory(options.input, purpose, checked, out);
  }
  CUSTODY_TRY(add_package_file(options.input, checked.package_files));
  return extract(options.input, cancel, checked.bag, out);
}

}  // namespace custody::internal
