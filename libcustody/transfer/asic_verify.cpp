// SPDX-License-Identifier: Apache-2.0
// Checking an ASiC-E container (asic.hpp): its mimetype, its manifest against every data object,
// and the CAdES signature over the manifest, as EN 319 162-1 and EN 319 102-1 describe.
#include "chain/custody_log_format.hpp"
#include "core/posix_file.hpp"
#include "transfer/transfer_internal.hpp"
#include "zip/zip.hpp"

#include <custody/asic.hpp>
#include <custody/hash.hpp>
#include <custody/verification.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <span>

namespace custody {

namespace asic_verify_detail {

constexpr std::size_t k_asic_small_limit = std::size_t{64} << 20U;
constexpr std::size_t k_asic_block = std::size_t{4} << 20U;
constexpr std::size_t k_local_header_size = 30;

struct ManifestEntry {
  std::string uri;
  std::string digest_method;
  std::string digest_value;  // base64
};

struct ParsedManifest {
  std::string signature_uri;
  std::vector<ManifestEntry> entries;
};

std::string unescape_xml(std::string text) {
  const std::pair<const char*, char> entities[] = {{"&lt;", '<'},   {"&gt;", '>'},
                                                   {"&quot;", '"'}, {"&apos;", '\''},
                                                   {"&#39;", '\''}, {"&amp;", '&'}};
  for (const auto& [entity, c] : entities) {
    for (std::size_t at = text.find(entity); at != std::string::npos;
         at = text.find(entity, at + 1)) {
      text.replace(at, std::strlen(entity), 1, c);
    }
  }
  return text;
}

// The references of an ASiCManifest; only what EN 319 162-1 puts there is read.
ParsedManifest parse_manifest(const std::string& xml) {
  ParsedManifest parsed;
  static const std::regex sig_ref(R"re(<(?:\w+:)?SigReference\b[^>]*\bURI="([^"]*)")re");
  static const std::regex reference(
      R"re(<(?:\w+:)?DataObjectReference\b[^>]*\bURI="([^"]*)"[^>]*>([\s\S]*?)</(?:\w+:)?DataObjectReference>)re");
  static const std::regex method(R"re(<(?:\w+:)?DigestMethod\b[^>]*\bAlgorithm="([^"]*)")re");
  static const std::regex value(
      R"re(<(?:\w+:)?DigestValue>\s*([^<\s]*)\s*</(?:\w+:)?DigestValue>)re");
  std::smatch match;
  if (std::regex_search(xml, match, sig_ref)) {
    parsed.signature_uri = unescape_xml(match[1].str());
  }
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), reference);
       it != std::sregex_iterator(); ++it) {
    ManifestEntry entry;
    entry.uri = unescape_xml((*it)[1].str());
    const std::string body = (*it)[2].str();
    std::smatch inner;
    if (std::regex_search(body, inner, method)) {
      entry.digest_method = inner[1].str();
    }
    if (std::regex_search(body, inner, value)) {
      entry.digest_value = inner[1].str();
    }
    parsed.entries.push_back(std::move(entry));
  }
  return parsed;
}

// Passes a stored member's bytes to `each` in blocks (an evidence container may be large).
template <typename Each>
Result<void> for_each_member_block(const std::string& path,
                                   const internal::ZipMember& member,
                                   Each each) {
  if (member.method != 0) {
    return make_error(Errc::unsupported,
                      fmt::format("{} is compressed; custody checks ASiC-E data objects that are "
                                  "stored",
                                  member.name));
  }
  internal::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return make_error(Errc::io_error, fmt::format("cannot open {}", path));
  }
  std::vector<std::byte> buffer(k_asic_block);
  for (std::uint64_t done = 0; done < member.compressed_size;) {
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(buffer.size(), member.compressed_size - done));
    auto got = internal::pread_full(fd.get(), std::span(buffer).first(want), path,
                                    member.data_offset + done);
    CUSTODY_TRY(got);
    if (*got != want) {
      return make_error(Errc::corrupt, fmt::format("{} is cut short", member.name));
    }
    CUSTODY_TRY(each(std::span<const std::byte>(buffer).first(want), done));
    done += want;
  }
  return {};
}

Result<std::string> member_sha256(const std::string& path, const internal::ZipMember& member) {
  auto hasher = Hasher::create(HashAlgorithm::sha256);
  CUSTODY_TRY(hasher);
  CUSTODY_TRY(
      for_each_member_block(path, member, [&](std::span<const std::byte> block, std::uint64_t) {
        hasher->update(block);
        return Result<void>{};
      }));
  return hasher->finish_hex();
}

std::string hex_to_base64(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return internal::custody_log::base64(bytes);
}

// The first local header: "mimetype", stored, no extra field, the ASiC-E media type.
std::string mimetype_problem(const std::string& path, const internal::ZipReader& zip) {
  const auto& members = zip.members();
  const auto first = std::min_element(
      members.begin(), members.end(),
      [](const auto& a, const auto& b) { return a.local_header_offset < b.local_header_offset; });
  if (first == members.end() || first->name != "mimetype" || first->local_header_offset != 0) {
    return "the first entry is not 'mimetype'";
  }
  if (first->method != 0) {
    return "the mimetype entry is compressed; it must be stored";
  }
  auto text = zip.read_member(*first, 256);
  if (!text || *text != k_asic_e_mimetype) {
    return fmt::format("the mimetype is not {}", k_asic_e_mimetype);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::array<std::byte, k_local_header_size> header{};
  const bool read_ok =
      fd >= 0 && internal::pread_full(fd, header, path, 0).value_or(0) == header.size();
  if (fd >= 0) {
    ::close(fd);
  }
  const auto extra_length =
      read_ok
          ? (std::to_integer<unsigned>(header[28]) | (std::to_integer<unsigned>(header[29]) << 8U))
          : 1U;
  if (extra_length != 0) {
    return "the mimetype entry has an extra field; EN 319 162-1 allows none";
  }
  return {};
}

// Copies a stored member's bytes to `target` (a new file), for checks that need a file.
Result<void> extract_member(const std::string& path,
                            const internal::ZipMember& member,
                            const std::string& target) {
  internal::UniqueFd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) {
    return make_error(Errc::io_error, fmt::format("cannot extract {} to {}", member.name, target));
  }
  CUSTODY_TRY(for_each_member_block(path, member,
                                    [&](std::span<const std::byte> block, std::uint64_t offset) {
                                      return internal::write_full(out.get(), block, target, offset);
                                    }));
  return out.close_checked(target);
}

}  // namespace asic_verify_detail

using namespace asic_verify_detail;

bool is_asic_e(const std::string& path) {
  auto zip = internal::ZipReader::open(path);
  return zip && zip->find("mimetype") != nullptr && mimetype_problem(path, *zip).empty();
}

namespace {

// An evidence container carried in the ASiC-E is verified in full, as custody-verify verifies it
// on its own: its image, seals and custody log.
void check_carried_container(const std::string& path,
                             const internal::ZipMember& member,
                             const PackageCheckOptions& options,
                             internal::PackageChecker& out) {
  // mkdtemp (mode 0700), never a predictable name another user could plant a link at.
  auto scratch = internal::PrivateDirectory::create("");
  if (!scratch) {
    out.fail(member.name, "cannot be checked as a container: " + scratch.error().message);
    return;
  }
  const std::string copy = scratch->file(std::filesystem::path(member.name).filename().string());
  if (auto extracted = extract_member(path, member, copy); !extracted) {
    out.fail(member.name, "cannot be checked as a container: " + extracted.error().message);
    return;
  }
  VerifyOptions verify;
  verify.trust_files = options.trust;
  verify.tsa_trust_files = options.tsa_trust;
  verify.accept_expired_signers = options.accept_expired_signers;
  verify.revocation = options.revocation;
  auto report = verify_container({copy}, verify);
  if (!report) {
    out.fail(member.name, "cannot be read as a container: " + report.error().message);
  } else if (!report->verified) {
    out.fail(member.name, verification_summary(*report));
  } else {
    out.pass(member.name, verification_summary(*report));
  }
}

void check_data_objects(const std::string& path,
                        const internal::ZipReader& zip,
                        const ParsedManifest& manifest,
                        const PackageCheckOptions& options,
                        internal::PackageChecker& out) {
  std::set<std::string> listed;
  for (const ManifestEntry& entry : manifest.entries) {
    listed.insert(entry.uri);
    const internal::ZipMember* member = zip.find(entry.uri);
    if (member == nullptr) {
      out.fail(entry.uri, "the manifest lists it, but the container does not hold it");
      continue;
    }
    if (entry.digest_method != "http://www.w3.org/2001/04/xmlenc#sha256") {
      out.fail(entry.uri, fmt::format("digest method {} is not SHA-256", entry.digest_method));
      continue;
    }
    auto digest = member_sha256(path, *member);
    if (!digest) {
      out.fail(entry.uri, digest.error().message);
    } else if (hex_to_base64(*digest) != entry.digest_value) {
      out.fail(entry.uri, fmt::format("its SHA-256 ({}) is not the one the signed manifest "
                                      "lists: it was changed",
                                      *digest));
    } else {
      out.pass(entry.uri, "sha256 " + *digest);
      if (entry.uri.ends_with(".aff4")) {
        check_carried_container(path, *member, options, out);
      }
    }
  }
  for (const internal::ZipMember& member : zip.members()) {
    if (member.name != "mimetype" && !member.name.starts_with("META-INF/") &&
        listed.count(member.name) == 0) {
      out.fail(member.name, "the container holds it, but the signed manifest does not list it");
    }
  }
}

void check_signature(const std::string& der,
                     const std::string& manifest_bytes,
                     const PackageCheckOptions& options,
                     internal::PackageChecker& out) {
  auto check = verify_detached(der, manifest_bytes, options.trust);
  if (!check) {
    out.fail("signature", "the signature cannot be read: " + check.error().message);
    return;
  }
  out.result.sender_subject = check->signer.subject;
  out.result.sender_fingerprint = check->signer.sha256_fingerprint;
  if (!check->signature_valid) {
    out.fail("signature", "the signature does not match the manifest: forged or altered");
    return;
  }
  if (options.trust.empty()) {
    out.not_checked("signature", "no --trust given: the signer's certificate cannot be checked");
  } else if (!check->chain_trusted) {
    out.fail("signature", fmt::format("signed by {}, who is not vouched for by the given CAs ({})",
                                      check->signer.subject, check->trust_problem));
  } else {
    out.pass("signature",
             fmt::format("signed by {} ({})", check->signer.subject, check->signing_time));
  }
  auto validation = validate_signature(der, *check, options.tsa_trust, {}, {}, options.revocation);
  if (!validation) {
    out.fail("time", validation.error().message);
    return;
  }
  const EtsiValidation& etsi = *validation;
  out.result.sender_etsi = etsi;
  if (etsi.level == "B-B") {
    out.fail("time",
             "the signature has no signature time-stamp: it is CAdES B-B, and ASiC-E "
             "for exchange needs B-T or better");
  } else if (etsi.proof_time.empty()) {
    out.warn("time",
             "the signature time-stamp is not checked against a TSA you trust: give "
             "--tsa-trust");
  } else {
    out.pass("time",
             fmt::format("CAdES {}: existed at {} ({})", etsi.level, etsi.proof_time, etsi.proof));
  }
  internal::add_revocation_check(etsi, "signer", "ASiC-E", out);
}

}  // namespace

Result<ReceiveResult> verify_asic_e(const std::string& path, const PackageCheckOptions& options) {
  auto zip = internal::ZipReader::open(path);
  CUSTODY_TRY(zip);
  ReceiveResult result;
  internal::PackageChecker out{result};
  const std::string problem = mimetype_problem(path, *zip);
  if (!problem.empty()) {
    out.fail("asic", problem);
  } else {
    out.pass("asic", fmt::format("an ASiC-E container ({}) with {} entries", k_asic_e_mimetype,
                                 zip->members().size()));
  }
  if (zip->members().size() > 1000) {
    out.fail("asic", "more than 1,000 entries: DSS refuses it");
  }
  const internal::ZipMember* manifest_member = zip->find("META-INF/ASiCManifest001.xml");
  if (manifest_member == nullptr) {
    out.fail("manifest", "META-INF/ASiCManifest001.xml is missing");
    result.accepted = false;
    return result;
  }
  // The manifest is untrusted XML read with regular expressions: bounded far above what 1,000
  // references need.
  constexpr std::uint64_t k_manifest_limit = std::uint64_t{4} << 20U;
  if (manifest_member->uncompressed_size > k_manifest_limit) {
    out.fail("manifest", fmt::format("the manifest is larger than {} bytes", k_manifest_limit));
    return result;
  }
  auto manifest_bytes = zip->read_member(*manifest_member, k_asic_small_limit);
  CUSTODY_TRY(manifest_bytes);
  const ParsedManifest manifest = parse_manifest(*manifest_bytes);
  if (manifest.entries.empty() || manifest.signature_uri.empty()) {
    out.fail("manifest", "the manifest lists no data object or names no signature");
  } else {
    out.pass("manifest",
             fmt::format("{} data object{}, signed by {}", manifest.entries.size(),
                         manifest.entries.size() == 1 ? "" : "s", manifest.signature_uri));
  }
  check_data_objects(path, *zip, manifest, options, out);
  const internal::ZipMember* signature =
      manifest.signature_uri.empty() ? nullptr : zip->find(manifest.signature_uri);
  if (signature == nullptr) {
    out.fail("signature", "the signature the manifest names is missing");
  } else {
    auto der = zip->read_member(*signature, k_asic_small_limit);
    CUSTODY_TRY(der);
    check_signature(*der, *manifest_bytes, options, out);
  }
  result.accepted = !internal::any_failed(result.checks);
  return result;
}

}  // namespace custody
