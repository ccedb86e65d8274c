// SPDX-License-Identifier: Apache-2.0
// custody-seal: sign what a container is, as a detached CMS signature appended to it.
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/seal.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-seal";

struct TimeOptions {
  std::string tsa;
  unsigned tsa_timeout = 30;
  std::string tsq_out;
  std::string add_timestamp;
  unsigned seal_number = 1;
  std::vector<std::string> revocation_data;  // --revocation-data: CRLs, OCSP responses
  bool no_revocation_fetch = false;
  bool renew = false;  // --renew: an archive time-stamp instead of a seal
};

// A received package's directory, or a package file (refused by the library with what to do).
bool names_a_package(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::is_directory(path, ignored) || path.ends_with(".tar") ||
         path.ends_with(".zip") || path.ends_with(".enc.json");
}

// One renewal per container: of the container itself, or of each container of a package.
ExitCode print_renewals(const std::string& target,
                        const std::vector<RenewResult>& renewals,
                        const Identity* signer,
                        bool package,
                        const CommonOptions& common) {
  const auto container_of = [&](std::size_t i) {
    return package ? fmt::format("{}/{}", target, renewals[i].container) : target;
  };
  if (signer == nullptr) {
    for (const RenewResult& renewed : renewals) {
      print_warning(k_tool, fmt::format("the \"renewed\" event {} is not signed (no --key)",
                                        renewed.event_sequence));
    }
  }
  if (common.json) {
    if (!package) {
      fmt::print("{}", renew_result_to_json(renewals.front(), target));
      return ExitCode::ok;
    }
    nlohmann::ordered_json out{{"format", "custody-seal-renew-package-result"},
                               {"version", 1},
                               {"package", target},
                               {"containers", nlohmann::ordered_json::array()}};
    for (std::size_t i = 0; i < renewals.size(); ++i) {
      out["containers"].push_back(
          nlohmann::ordered_json::parse(renew_result_to_json(renewals[i], container_of(i))));
    }
    print_json(out);
    return ExitCode::ok;
  }
  for (std::size_t i = 0; i < renewals.size() && !common.quiet; ++i) {
    const RenewResult& renewed = renewals[i];
    fmt::print("renewed {} (archive time-stamp {}) at {} by {}\n", container_of(i), renewed.number,
               renewed.time, renewed.tsa_subject);
    fmt::print(
        "  covers   the first {} bytes of the file, sha256 {}: {} seal{}, every custody "
        "event, tree head and time-stamp in them{}\n",
        renewed.covered_length, renewed.covered_sha256, renewed.seals,
        renewed.seals == 1 ? "" : "s",
        package ? ", and the package's tag files (the sender's signature and its token)" : "");
    fmt::print("  members  {} (what was time-stamped), {} (the RFC 3161 token)\n",
               renewed.manifest_member, renewed.token_member);
  }
  return ExitCode::ok;
}

ExitCode renew(const std::string& container,
               const IdentityArguments& args,
               const TimeOptions& time,
               const CommonOptions& common) {
  if (time.tsa.empty()) {
    return report_usage_error(k_tool, "--renew needs --tsa URL",
                              "a renewal is an archive time-stamp from a TSA");
  }
  std::optional<Identity> identity;
  if (!args.key.empty()) {
    auto loaded = Identity::load(to_identity_options(args));
    if (!loaded) {
      return report_error(k_tool, loaded.error());
    }
    identity = std::move(*loaded);
  }
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet && !common.json);
  RenewOptions options;
  options.tsa_url = time.tsa;
  options.tsa_timeout = time.tsa_timeout;
  options.revocation_files = time.revocation_data;
  options.fetch_revocation = !time.no_revocation_fetch;
  const Identity* signer = identity ? &*identity : nullptr;
  if (names_a_package(container)) {
    auto renewed = renew_received_package(container, signer, options, &progress, &cancel);
    progress.finish();
    if (!renewed) {
      return report_error(k_tool, renewed.error());
    }
    return print_renewals(container, *renewed, signer, true, common);
  }
  auto renewed = renew_container(container, signer, options, &progress, &cancel);
  progress.finish();
  if (!renewed) {
    return report_error(k_tool, renewed.error());
  }
  return print_renewals(container, {*renewed}, signer, false, common);
}

ExitCode add_timestamp(const std::string& container,
                       const TimeOptions& time,
                       const CommonOptions& common) {
  auto when = add_seal_timestamp(container, time.seal_number, time.add_timestamp);
  if (!when) {
    return report_error(k_tool, when.error());
  }
  if (common.json) {
    print_json({{"format", "custody-seal-timestamp-result"},
                {"version", 1},
                {"container", container},
                {"seal", time.seal_number},
                {"timestamp_time", *when}});
  } else if (!common.quiet) {
    fmt::print("timestamped seal {} of {}: it existed at {}\n", time.seal_number, container, *when);
  }
  return ExitCode::ok;
}

ExitCode run(const std::string& container,
             const IdentityArguments& args,
             const TimeOptions& time,
             const CommonOptions& common) {
  if (!time.add_timestamp.empty()) {
    return add_timestamp(container, time, common);
  }
  if (time.renew) {
    return renew(container, args, time, common);
  }
  if (args.key.empty()) {
    return report_usage_error(k_tool, "--key is required",
                              "give the examiner's private key and certificate");
  }
  auto identity = Identity::load(to_identity_options(args));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  if (auto can_sign = identity->check_can_sign(); !can_sign) {
    return report_error(k_tool, can_sign.error());
  }
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  SealOptions seal_options;
  seal_options.tsa_url = time.tsa;
  seal_options.tsa_timeout = time.tsa_timeout;
  seal_options.tsq_out = time.tsq_out;
  seal_options.revocation_files = time.revocation_data;
  seal_options.fetch_revocation = !time.no_revocation_fetch;
  auto sealed = seal_container(container, *identity, seal_options, &progress, &cancel);
  progress.finish();
  if (!sealed) {
    return report_error(k_tool, sealed.error());
  }
  const CertificateFacts& signer = identity->certificate();
  if (common.json) {
    fmt::print("{}", seal_result_to_json(*sealed, container, signer));
  } else if (!common.quiet) {
    fmt::print("sealed {} (seal {}) by {}\n", container, sealed->number, signer.subject);
    fmt::print("  covers   the first {} bytes of the file, sha256 {}\n", sealed->sealed_length,
               sealed->sealed_sha256);
    fmt::print("  members  {} (what was signed), {} (the CMS signature)\n", sealed->manifest_member,
               sealed->signature_member);
    if (sealed->timestamped) {
      fmt::print("  time     {} (RFC 3161 token from {}, custody/seal-{}.tsr)\n",
                 sealed->timestamp_time, time.tsa, sealed->number);
    } else if (!time.tsq_out.empty()) {
      fmt::print("  time     request written to {}; attach the reply with --add-timestamp\n",
                 time.tsq_out);
    }
    fmt::print("  level    CAdES {}\n", sealed->level);
    for (const std::string& status : sealed->revocation) {
      fmt::print("  status   {} (embedded)\n", status);
    }
  }
  if (sealed->level != "B-LT" && !time.tsa.empty()) {
    for (const std::string& shortfall : sealed->shortfalls) {
      print_warning(k_tool, fmt::format("seal {} is CAdES {}, not B-LT: {}", sealed->number,
                                        sealed->level, shortfall));
    }
  }
  if (!sealed->timestamp_problem.empty()) {
    print_warning(k_tool,
                  fmt::format("seal {} is written but NOT TIMESTAMPED: {}; the request is kept: "
                              "unzip -p {} custody/seal-{}.tsq > seal.tsq, get a reply from a "
                              "TSA, then custody-seal {} --add-timestamp REPLY.tsr --seal {}",
                              sealed->number, sealed->timestamp_problem, container, sealed->number,
                              container, sealed->number));
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  std::string container;
  IdentityArguments identity;
  CommonOptions common;
  CLI::App app{
      "Seal an AFF4 container: sign, as a detached CMS signature, the SHA-256 of every "
      "byte of the file\nand of every member, and append manifest and signature to it. "
      "Nothing already in the file\nis rewritten; later seals (a witness, a supervisor) "
      "cover earlier ones."};
  add_common_options(app, common, k_tool,
                     "  custody-seal disk1.aff4 --key examiner.key --cert examiner.pem\n"
                     "  custody-seal disk1.aff4 --key witness.p12 --passphrase-prompt\n"
                     "  custody-verify disk1.aff4 --trust lab-ca.pem");
  app.add_option("CONTAINER", container,
                 "The AFF4 container to seal (with --renew: or a received package's directory)")
      ->required();
  add_identity_options(app, identity, "");
  add_signer_trust_option(app, identity);
  TimeOptions time;
  app.add_option("--tsa", time.tsa, "Get an RFC 3161 timestamp of the seal from this TSA (URL)")
      ->type_name("URL");
  app.add_option("--tsa-timeout", time.tsa_timeout, "Seconds to wait for the TSA")
      ->capture_default_str();
  app.add_option("--tsq-out", time.tsq_out,
                 "Offline: write the timestamp request to FILE (take it to a TSA)")
      ->type_name("FILE");
  app.add_option("--add-timestamp", time.add_timestamp,
                 "Attach a TSA reply (.tsr) to a seal made with --tsq-out")
      ->type_name("FILE");
  app.add_option("--seal", time.seal_number, "With --add-timestamp: the seal number")
      ->capture_default_str();
  add_revocation_data_options(app, time.revocation_data, time.no_revocation_fetch, "signer's");
  app.add_flag("--renew", time.renew,
               "Renew the container's long-term protection: an archive time-stamp (--tsa) over "
               "every seal, event, tree head and time-stamp so far; --key signs its event. For a "
               "package custody-receive released, every container in it, and the package's "
               "signature too");
  return run_tool(app, argc, argv, [&] { return run(container, identity, time, common); });
}
