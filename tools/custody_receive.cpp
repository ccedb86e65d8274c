// SPDX-License-Identifier: Apache-2.0
// custody-receive: check a transfer package completely, record its arrival in every container's
// custody log and sign a receipt for the sender; release nothing that does not check out.
#include "common/identity_options.hpp"
#include "common/tool_main.hpp"

#include <custody/transfer.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-receive";

ExitCode run(ReceiveOptions& options,
             const IdentityArguments& identity_args,
             const CommonOptions& common) {
  if (identity_args.key.empty()) {
    return report_error(k_tool, Error{Errc::invalid_argument,
                                      "--key is required: the receipt is signed by the receiver "
                                      "(and an encrypted package needs the receiver's key)",
                                      {},
                                      {},
                                      0,
                                      "give the receiving authority's key and certificate"});
  }
  for (const auto* list : {&options.trust, &options.tsa_trust}) {
    for (const std::string& file : *list) {
      if (::access(file.c_str(), R_OK) != 0) {
        return report_error(
            k_tool,
            Error{Errc::not_found, "cannot read", file, {}, errno, "give the PEM file of the CA"});
      }
    }
  }
  auto identity = Identity::load(to_identity_options(identity_args));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet);
  auto received = receive_transfer(options, &*identity, &progress, &cancel);
  progress.finish();
  if (!received) {
    return report_error(k_tool, received.error());
  }
  if (!common.quiet || !received->accepted) {
    fmt::print("{}: {}\n", received->accepted ? "RECEIVED" : "REJECTED", options.input);
    for (const ReceiveCheck& check : received->checks) {
      const char* word = !check.passed ? "FAIL" : (check.warning ? "WARN" : "PASS");
      fmt::print("{}  {:<20} {}\n", word, check.subject, check.detail);
    }
  }
  if (!received->accepted) {
    fmt::print(stderr,
               "{}: error: the package was rejected; nothing was released (no {} was "
               "created) and no receipt was written\n",
               k_tool, options.output);
    return ExitCode::verification_failed;
  }
  if (!common.quiet) {
    fmt::print("evidence  {}/data/ ({} item{}, each with its \"received\" custody event)\n",
               options.output, received->items.size(), received->items.size() == 1 ? "" : "s");
    fmt::print("receipt   {} and {}.p7s (send both to the sender)\n", received->receipt_path,
               received->receipt_path);
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  custody::ReceiveOptions options;
  IdentityArguments identity;
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
  app.add_option("PACKAGE", options.input,
                 "NAME.tar, NAME.zip, a bag directory, or an encrypted package (NAME.tar.enc.json)")
      ->required();
  app.add_option("-o,--output", options.output, "The new directory for the received bag")
      ->required()
      ->type_name("DIR");
  add_identity_options(app, identity, "");
  app.add_option("--trust", options.trust, "CA certificates (PEM) the sender must chain to")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--tsa-trust", options.tsa_trust, "CA certificates (PEM) of trusted TSAs")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--receipt", options.receipt,
                 "Write the signed receipt here (default: DIR.receipt.json and .p7s)")
      ->type_name("FILE");
  return run_tool(app, argc, argv, [&] { return run(options, identity, common); });
}
