// SPDX-License-Identifier: Apache-2.0
// custody-receive: check a transfer package completely, record its arrival in every container's
// custody log and sign a receipt for the sender; release nothing that does not check out.
#include "common/check_lines.hpp"
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/transfer.hpp>

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-receive";

// The facts of the transfer, for people: what the sender signed and recorded when packing, or,
// when that did not check out, what the package claims.
void print_facts(const ReceiveResult& result) {
  const TransferFacts& facts = result.facts;
  fmt::print("facts     {}\n", result.facts_confirmed
                                   ? "as signed by the sender and recorded in every item's "
                                     "\"packaged\" event"
                                   : "as the package states them (NOT confirmed: see the checks)");
  for (const auto& [words, value] : transfer_fact_rows(facts)) {
    fmt::print("  {:<20} {}\n", words, value);
  }
}

ExitCode run(ReceiveOptions& options,
             const IdentityArguments& identity_args,
             const IdentityArguments& signer_args,
             const CommonOptions& common) {
  if (identity_args.key.empty()) {
    return report_usage_error(k_tool,
                              "--key is required: the receipt is signed by the receiver "
                              "(and an encrypted package needs the receiver's key)",
                              "give the receiving authority's key and certificate");
  }
  std::vector<std::string> all_trust = options.check.trust;
  all_trust.insert(all_trust.end(), options.check.tsa_trust.begin(), options.check.tsa_trust.end());
  // A trust file that is missing (66) or not a certificate (64) is the user's to fix, before
  // anything is unpacked.
  if (auto usable = check_trust_files(all_trust); !usable) {
    return report_error(k_tool, usable.error());
  }
  auto identity = Identity::load(to_identity_options(identity_args));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  if (signer_args.key.empty() && (!signer_args.cert.empty() || !signer_args.chain.empty())) {
    return report_usage_error(k_tool, "--by-cert and --by-chain need --by-key",
                              "give the key that signs the receipt with --by-key");
  }
  auto signer = load_identity_if_given(with_secrets_of(signer_args, identity_args));
  if (!signer) {
    return report_error(k_tool, signer.error());
  }
  options.signer = signer->has_value() ? &**signer : nullptr;
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet && !common.json);
  auto received = receive_transfer(options, &*identity, &progress, &cancel);
  progress.finish();
  if (!received) {
    return report_error(k_tool, received.error());
  }
  if (common.json) {
    fmt::print("{}", receive_result_to_json(*received, options));
  } else if (!common.quiet || !received->accepted) {
    fmt::print("{}: {}\n", received->accepted ? "RECEIVED" : "REJECTED", options.check.input);
    print_check_lines(received->checks, "", 20);
    if (!received->package_id.empty()) {
      print_facts(*received);
    }
  }
  if (!received->accepted) {
    fmt::print(stderr,
               "{}: error: the package was rejected; nothing was released (no {} was "
               "created) and no receipt was written\n",
               k_tool, options.output);
    return ExitCode::verification_failed;
  }
  if (!common.quiet && !common.json) {
    fmt::print("evidence  {}/data/ ({} item{}, each with its \"received\" custody event)\n",
               options.output, received->items.size(), received->items.size() == 1 ? "" : "s");
    fmt::print("receipt   {} and {}.p7s (send both to the sender)\n", received->receipt_path,
               received->receipt_path);
    fmt::print("level     CAdES {} (the receipt's and the \"received\" events' signatures)\n",
               received->receipt_cades_level);
    for (const std::string& status : received->receipt_revocation) {
      fmt::print("status    {} (embedded)\n", status);
    }
  }
  if (received->receipt_cades_level != "B-LT" && !options.cades.tsa_url.empty()) {
    for (const std::string& shortfall : received->receipt_shortfalls) {
      print_warning(k_tool, fmt::format("the receipt is signed at CAdES {}, not B-LT: {}",
                                        received->receipt_cades_level, shortfall));
    }
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  custody::ReceiveOptions options;
  IdentityArguments identity;
  IdentityArguments signer;  // --by-key: signs the events and the receipt instead of --key
  CommonOptions common;
  CLI::App app{
      "Receive a transfer package: decrypt it, extract it safely, validate the bag, check the "
      "sender's\nsignature and every container (hashes, seals, custody log), then record "
      "\"received\" in\neach container and sign a receipt. A package that fails any check is "
      "rejected whole."};
  add_common_options(
      app, common, k_tool,
      "  custody-receive transfer.tar -o received/ --key paris.key --cert paris.pem \\\n"
      "      --trust bka-ca.pem --tsa-trust tsa-ca.pem\n"
      "  custody-receive transfer.tar.enc.json -o received/ --key paris.key --cert paris.pem "
      "--trust bka-ca.pem");
  app.add_option("PACKAGE", options.check.input,
                 "NAME.tar, NAME.zip, a bag directory, or an encrypted package (NAME.tar.enc.json)")
      ->required();
  app.add_option("-o,--output", options.output, "The new directory for the received bag")
      ->required()
      ->type_name("DIR");
  add_identity_options(app, identity, "");
  add_key_options(app, signer, "by-");
  app.get_option("--by-key")
      ->description(
          "Sign the \"received\" events and the receipt with this key (a file or a PKCS#11 URI) "
          "instead of --key: for a decryption key that may not sign; --pkcs11-module and the "
          "passphrase options serve both");
  app.add_option("--trust", options.check.trust, "CA certificates (PEM) the sender must chain to")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--tsa-trust", options.check.tsa_trust, "CA certificates (PEM) of trusted TSAs")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_flag("--accept-expired-signers", options.check.accept_expired_signers,
               "Accept a sender (or a signer in a container) whose certificate has expired "
               "since, although no trusted timestamp proves the signature was made before (a "
               "warning instead of a failure)");
  add_online_options(app, options.check.revocation, "the sender and each seal's signer");
  app.add_option("--allow-signer", options.check.allowed_signers,
                 "Accept a package signed by this certificate although another signer packed its "
                 "items (a package signed again, e.g. by a forwarding authority); repeatable")
      ->type_name("CERT")
      ->allow_extra_args(false);
  app.add_option("--receipt", options.receipt,
                 "Write the signed receipt here (default: DIR.receipt.json and .p7s)")
      ->type_name("FILE");
  app.add_option(
         "--tsa", options.cades.tsa_url,
         "Sign the receipt and the \"received\" events at CAdES B-T with signature "
         "time-stamps from this RFC 3161 TSA (URL), B-LT with the signer's revocation status")
      ->type_name("URL");
  app.add_option("--tsa-timeout", options.cades.tsa_timeout, "Seconds to wait for the TSA")
      ->capture_default_str();
  std::vector<std::string> revocation_data;
  bool no_revocation_fetch = false;
  add_revocation_data_options(app, revocation_data, no_revocation_fetch, "signer's");
  return run_tool(app, argc, argv, [&] {
    options.cades.revocation_files = revocation_data;
    options.cades.fetch_revocation = !no_revocation_fetch;
    return run(options, identity, signer, common);
  });
}
