// SPDX-License-Identifier: Apache-2.0
// Renewing a received transfer package (transfer.hpp): an archive time-stamp in each of its
// containers that states the package's tag files too. A package's own files cannot change
// without breaking the sender's signature, so its long-term protection lives in the evidence.
#include "core/posix_file.hpp"
#include "core/untrusted_json.hpp"
#include "transfer/transfer_internal.hpp"

#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

namespace custody {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Every file of the bag outside data/, by its name in the bag, with its SHA-256, in name order.
Result<std::vector<std::pair<std::string, std::string>>> tag_file_digests(const std::string& bag) {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code failure;
  for (auto entry = fs::recursive_directory_iterator(bag, failure);
       !failure && entry != fs::recursive_directory_iterator(); entry.increment(failure)) {
    const std::string name = fs::relative(entry->path(), bag).generic_string();
    if (name == "data" || name.starts_with("data/")) {
      entry.disable_recursion_pending();
      continue;
    }
    if (entry->is_regular_file(failure)) {
      auto sha256 = internal::sha256_of_file(entry->path().string(), std::nullopt);
      CUSTODY_TRY(sha256);
      files.emplace_back(name, std::move(*sha256));
    }
  }
  if (failure) {
    return make_error(Errc::io_error,
                      fmt::format("cannot read the package {}: {}", bag, failure.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

tl::unexpected<Error> refuse(std::string message, std::string hint) {
  return tl::unexpected(
      Error{Errc::invalid_argument, std::move(message), {}, {}, 0, std::move(hint)});
}

// The received bag's package id and its containers, each with its "received" event.
struct ReceivedPackage {
  std::string package_id;
  std::vector<std::string> containers;  // payload names, data/...
};

Result<ReceivedPackage> read_received_package(const std::string& bag) {
  std::error_code ignored;
  if (!fs::is_directory(bag, ignored)) {
    return refuse(fmt::format("{} is a package file, which cannot grow without breaking the "
                              "sender's signature",
                              bag),
                  "receive it (custody-receive), then renew the directory it was received "
                  "into; the sender renews its own containers");
  }
  auto text =
      internal::read_small_file(bag + "/" + internal::k_transfer_member, internal::k_tag_limit);
  if (!text) {
    return make_error(Errc::invalid_argument, fmt::format("{} is not a transfer package (no {})",
                                                          bag, internal::k_transfer_member));
  }
  const json transfer = internal::parse_untrusted_json(*text);
  ReceivedPackage package;
  package.package_id = internal::text_at(transfer, "/package_id");
  if (package.package_id.empty() || !transfer.contains("items") || !transfer["items"].is_array()) {
    return make_error(Errc::corrupt, fmt::format("the transfer statement of {} is damaged; check "
                                                 "it with custody-verify {}",
                                                 bag, bag));
  }
  const std::map<std::string, internal::Arrival> arrivals = internal::find_arrivals(bag);
  for (const json& item : transfer["items"]) {
    const std::string payload = internal::text_at(item, "/payload");
    if (arrivals.count(payload) == 0) {
      return refuse(
          fmt::format("{} in {} holds no \"received\" event of package {}: only a "
                      "package custody-receive released can be renewed",
                      payload.empty() ? std::string("an item") : payload, bag, package.package_id),
          "receive the package first (custody-receive)");
    }
    package.containers.push_back(payload);
  }
  return package;
}

}  // namespace

Result<std::vector<RenewResult>> renew_received_package(const std::string& bag,
                                                        const Identity* identity,
                                                        const RenewOptions& options,
                                                        ProgressSink* progress,
                                                        const CancelToken* cancel) {
  auto package = internal::json_errors_are_corrupt(
      fmt::format("the transfer statement of {} is not valid", bag),
      [&] { return read_received_package(bag); });
  CUSTODY_TRY(package);
  auto tag_files = tag_file_digests(bag);
  CUSTODY_TRY(tag_files);
  RenewOptions renew = options;
  renew.package_id = package->package_id;
  renew.package_files = std::move(*tag_files);
  std::vector<RenewResult> results;
  for (const std::string& payload : package->containers) {
    auto renewed = renew_container(bag + "/" + payload, identity, renew, progress, cancel);
    if (!renewed) {
      Error error = renewed.error();
      error.message = fmt::format(
          "{}: {}{}", payload, error.message,
          results.empty() ? ""
                          : fmt::format(" ({} container{} before it "
                                        "renewed)",
                                        results.size(), results.size() == 1 ? "" : "s"));
      return tl::unexpected(std::move(error));
    }
    renewed->container = payload;
    results.push_back(std::move(*renewed));
  }
  return results;
}

}  // namespace custody
