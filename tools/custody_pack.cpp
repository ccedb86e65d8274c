// SPDX-License-Identifier: Apache-2.0
// custody-pack: put evidence containers into a signed (optionally encrypted) BagIt transfer
// package for another authority.
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/text.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-pack";

struct Arguments {
  PackOptions pack;
  IdentityArguments identity;
  std::string segment_size;
  bool no_revocation_fetch = false;
};

ExitCode run(Arguments& args, const CommonOptions& common) {
  if (args.identity.key.empty()) {
    return report_usage_error(k_tool,
                              "--key is required: the package is signed by the sending "
                              "authority",
                              "give the sender's private key and certificate");
  }
  if (!args.segment_size.empty()) {
    auto size = parse_size(args.segment_size);
    if (!size) {
      return report_error(k_tool, size.error());
    }
    args.pack.segment_size = *size;
  }
  auto identity = Identity::load(to_identity_options(args.identity));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  const CancelToken& cancel = install_interrupt_handler(k_tool);
  ConsoleProgress progress(!common.quiet && !common.json);
  args.pack.fetch_revocation = !args.no_revocation_fetch;
  auto packed = pack_transfer(args.pack, *identity, &progress, &cancel);
  progress.finish();
  if (!packed) {
    return report_error(k_tool, packed.error());
  }
  if (common.json) {
    fmt::print("{}", pack_result_to_json(*packed, args.pack));
  } else if (!common.quiet) {
    fmt::print("packed {} item{} into {} (package {})\n", packed->items.size(),
               packed->items.size() == 1 ? "" : "s", args.pack.output, packed->package_id);
    for (const PackedItem& item : packed->items) {
      fmt::print("  {}  {} bytes, sha256 {}, \"packaged\" = custody event {}\n", item.payload_name,
                 item.size, item.sha256, item.packaged_event);
    }
    fmt::print("  signed by {}\n", identity->certificate().subject);
    if (packed->timestamped) {
      fmt::print("  time      {} (RFC 3161)\n", packed->timestamp_time);
    }
    fmt::print("  level     CAdES {}\n", packed->cades_level);
    for (const std::string& status : packed->revocation) {
      fmt::print("  status    {} (embedded)\n", status);
    }
    if (packed->encrypted) {
      fmt::print("  encrypted to {} recipient{}: {} files, index {}.enc.json\n",
                 args.pack.encrypt_to.size(), args.pack.encrypt_to.size() == 1 ? "" : "s",
                 packed->files.size(), args.pack.output);
    }
  }
  if (!packed->timestamp_problem.empty()) {
    print_warning(k_tool,
                  "the package is written but NOT TIMESTAMPED: " + packed->timestamp_problem);
  }
  if (packed->cades_level != "B-LT" && !args.pack.tsa_url.empty()) {
    for (const std::string& shortfall : packed->shortfalls) {
      print_warning(k_tool, fmt::format("the sender's signature is CAdES {}, not B-LT: {}",
                                        packed->cades_level, shortfall));
    }
  }
  return ExitCode::ok;
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  Arguments args;
  CommonOptions common;
  CLI::App app{
      "Pack evidence containers into a transfer package for another authority: a BagIt v1.0 "
      "bag\n(tar, zip or a directory) with the transfer's facts, each item's \"packaged\" custody "
      "event\nand its proof, signed by the sending authority and optionally encrypted to the "
      "receivers."};
  add_common_options(
      app, common, k_tool,
      "  custody-pack disk1.aff4 phone.aff4 -o transfer.tar --key bka.key --cert bka.pem \\\n"
      "      --sending-authority 'BKA' --receiving-authority 'Parquet de Paris' \\\n"
      "      --requested-state DE --requesting-state FR --legal-basis EIO --reference EIO-2026-17\n"
      "  custody-pack disk1.aff4 -o transfer.tar --key bka.key --cert bka.pem \\\n"
      "      --encrypt-to paris.pem --encrypt-to eurojust.pem");
  custody::PackOptions& pack = args.pack;
  custody::TransferFacts& facts = pack.facts;
  app.add_option("CONTAINER", pack.containers, "The AFF4 containers to send")->required();
  app.add_option("-o,--output", pack.output, "NAME.tar (pax), NAME.zip (zip64) or a new directory")
      ->required()
      ->type_name("PATH");
  add_identity_options(app, args.identity, "");
  add_signer_trust_option(app, args.identity);
  app.add_option("--sending-authority", facts.sending_authority, "Who sends (Source-Organization)")
      ->type_name("TEXT");
  app.add_option("--receiving-authority", facts.receiving_authority, "Who is to receive")
      ->type_name("TEXT");
  app.add_option("--requesting-state", facts.requesting_state,
                 "ISO 3166 code of the state that asked for the evidence")
      ->type_name("CODE");
  app.add_option("--requested-state", facts.requested_state,
                 "ISO 3166 code of the state that sends it")
      ->type_name("CODE");
  app.add_option("--legal-basis", facts.legal_basis, "MLA request, EIO, court order, ...")
      ->type_name("TEXT");
  app.add_option("--reference", facts.request_reference,
                 "The request's reference (MLA or EIO number; External-Identifier)")
      ->type_name("TEXT");
  app.add_option("--purpose", facts.purpose, "Why the evidence is sent")->type_name("TEXT");
  app.add_option("--use-limits", facts.use_limits, "Conditions on use or retention")
      ->type_name("TEXT");
  app.add_option("--contact-name", facts.contact_name, "Contact-Name")->type_name("TEXT");
  app.add_option("--contact-email", facts.contact_email, "Contact-Email")->type_name("TEXT");
  app.add_option("--encrypt-to", pack.encrypt_to,
                 "Encrypt to this receiver's certificate (repeatable); the plaintext package is "
                 "never written")
      ->type_name("CERT")
      ->allow_extra_args(false);
  app.add_option("--segment-size", args.segment_size,
                 "With --encrypt-to: encrypted segment size (default 1G, at most 1536M)")
      ->type_name("SIZE");
  app.add_option("--tsa", pack.tsa_url, "Timestamp the sender's signature with this TSA (URL)")
      ->type_name("URL");
  app.add_option("--tsa-timeout", pack.tsa_timeout, "Seconds to wait for the TSA")
      ->capture_default_str();
  add_revocation_data_options(app, pack.revocation_files, args.no_revocation_fetch, "sender's");
  return run_tool(app, argc, argv, [&] { return run(args, common); });
}
