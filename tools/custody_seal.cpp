// SPDX-License-Identifier: Apache-2.0
// custody-seal: sign what a container is, as a detached CMS signature appended to it.
#include "common/identity_options.hpp"
#include "common/tool_main.hpp"

#include <custody/seal.hpp>

#include <fmt/format.h>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-seal";

ExitCode run(const std::string& container,
             const IdentityArguments& args,
             const CommonOptions& common) {
  if (args.key.empty()) {
    return report_error(k_tool, Error{Errc::invalid_argument,
                                      "--key is required",
                                      {},
                                      {},
                                      0,
                                      "give the examiner's private key and certificate"});
  }
  auto identity = Identity::load(to_identity_options(args));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  const CancelToken& cancel = install_interrupt_handler();
  ConsoleProgress progress(!common.quiet);
  auto sealed = seal_container(container, *identity, &progress, &cancel);
  progress.finish();
  if (!sealed) {
    return report_error(k_tool, sealed.error());
  }
  const CertificateFacts& signer = identity->certificate();
  if (common.json) {
    fmt::print(
        "{{\"format\":\"custody-seal-result\",\"version\":1,\"container\":\"{}\","
        "\"seal\":{},\"manifest\":\"{}\",\"signature\":\"{}\",\"sealed_length\":{},"
        "\"sealed_sha256\":\"{}\",\"signer_sha256_fingerprint\":\"{}\"}}\n",
        container, sealed->number, sealed->manifest_member, sealed->signature_member,
        sealed->sealed_length, sealed->sealed_sha256, signer.sha256_fingerprint);
  } else if (!common.quiet) {
    fmt::print("sealed {} (seal {}) by {}\n", container, sealed->number, signer.subject);
    fmt::print("  covers   the first {} bytes of the file, sha256 {}\n", sealed->sealed_length,
               sealed->sealed_sha256);
    fmt::print("  members  {} (what was signed), {} (the CMS signature)\n", sealed->manifest_member,
               sealed->signature_member);
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
  app.add_option("CONTAINER", container, "The AFF4 container to seal")->required();
  add_identity_options(app, identity, "");
  return run_tool(app, argc, argv, [&] { return run(container, identity, common); });
}
