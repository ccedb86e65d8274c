// SPDX-License-Identifier: Apache-2.0
// custody-log: record, show, verify and prove the custody history of an evidence item.
#include "common/case_options.hpp"
#include "common/check_lines.hpp"
#include "common/identity_options.hpp"
#include "common/revocation_options.hpp"
#include "common/tool_main.hpp"

#include <custody/custody_log.hpp>
#include <custody/transfer.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>

namespace custody::tools {
namespace {

constexpr const char* k_tool = "custody-log";

struct AddArguments {
  EventDraft draft;
  IdentityArguments identity;
  std::string tsa;
  unsigned tsa_timeout = 30;
  std::vector<std::string> revocation_data;
  bool no_revocation_fetch = false;
  bool create = false;
  std::string title;
  std::string image_sha256;
};

struct CheckArguments {
  std::vector<std::string> trust;
  std::vector<std::string> tsa_trust;
  std::vector<std::string> saved_heads;
  RevocationPolicy revocation;  // import-receipt: the receiver's status
};

// A trust, TSA or head file that does not exist is a missing input (66), named, and a trust file
// that holds no certificate a usage error (64): the user's to fix, not a failed signature.
std::optional<ExitCode> check_files_exist(const CheckArguments& args) {
  std::vector<std::string> trust = args.trust;
  trust.insert(trust.end(), args.tsa_trust.begin(), args.tsa_trust.end());
  if (auto usable = check_trust_files(trust); !usable) {
    return report_error(k_tool, usable.error());
  }
  for (const std::string& file : args.saved_heads) {
    if (::access(file.c_str(), R_OK) != 0) {
      return report_error(k_tool, Error{Errc::not_found,
                                        "cannot read",
                                        file,
                                        {},
                                        errno,
                                        "check the name of the saved head file"});
    }
  }
  return std::nullopt;
}

ExitCode run_add(const std::string& target, AddArguments& args, const CommonOptions& common) {
  if (args.identity.key.empty()) {
    return report_usage_error(k_tool, "--by-key is required: every event is signed by its actor",
                              "give your private key and certificate (--by-key, "
                              "--by-cert)");
  }
  if (!args.title.empty() && !args.create) {
    return report_usage_error(k_tool, "--title names a new standalone log: it needs --create");
  }
  auto identity = Identity::load(to_identity_options(args.identity));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  if (!args.image_sha256.empty()) {
    args.draft.image_hashes["sha256"] = args.image_sha256;
  }
  AppendOptions options;
  options.cades.tsa_url = args.tsa;
  options.cades.tsa_timeout = args.tsa_timeout;
  options.cades.revocation_files = args.revocation_data;
  options.cades.fetch_revocation = !args.no_revocation_fetch;
  options.create_standalone = args.create;
  options.standalone_title = args.title;
  auto added = append_custody_event(target, args.draft, &*identity, options);
  if (!added) {
    return report_error(k_tool, added.error());
  }
  if (common.json) {
    fmt::print(
        "{{\"format\":\"custody-log-added\",\"version\":1,\"sequence\":{},\"event_id\":"
        "\"{}\",\"time\":\"{}\",\"root_sha256\":\"{}\",\"timestamped\":{},"
        "\"cades_level\":\"{}\"}}\n",
        added->sequence, added->event_id, added->time, added->root_sha256,
        added->timestamped ? "true" : "false", added->signature_level);
  } else if (!common.quiet) {
    fmt::print("recorded event {} ({}) in {} at {}\n", added->sequence, args.draft.action, target,
               added->time);
    fmt::print("  by       {}\n", identity->certificate().subject);
    fmt::print("  tree     {} events, root {}\n", added->sequence, added->root_sha256);
    if (added->timestamped) {
      fmt::print("  time     {} (RFC 3161 token from {})\n", added->timestamp_time, args.tsa);
    }
    fmt::print("  level    CAdES {} (the event's and the tree head's signatures)\n",
               added->signature_level);
    for (const std::string& status : added->revocation) {
      fmt::print("  status   {} (embedded)\n", status);
    }
  }
  if (added->signature_level != "B-LT" && !args.tsa.empty()) {
    for (const std::string& shortfall : added->shortfalls) {
      print_warning(k_tool, fmt::format("event {} is signed at CAdES {}, not B-LT: {}",
                                        added->sequence, added->signature_level, shortfall));
    }
  }
  if (!added->timestamp_problem.empty()) {
    print_warning(k_tool, fmt::format("event {} is recorded, but its tree head is NOT "
                                      "TIMESTAMPED: {}",
                                      added->sequence, added->timestamp_problem));
  }
  return ExitCode::ok;
}

std::string who(const LoggedEvent& event) {
  std::string text = event.actor.name.empty() ? "(unnamed)" : event.actor.name;
  std::string extra = event.actor.role;
  if (!event.actor.organisation.empty()) {
    extra += (extra.empty() ? "" : ", ") + event.actor.organisation;
  }
  return extra.empty() ? text : fmt::format("{} ({})", text, extra);
}

std::string where(const LoggedEvent& event) {
  if (event.location.empty()) {
    return event.jurisdiction;
  }
  return event.jurisdiction.empty() ? event.location
                                    : fmt::format("{}, {}", event.location, event.jurisdiction);
}

void print_event(const LoggedEvent& event) {
  if (!event.parse_problem.empty()) {
    fmt::print("{:>4}  UNREADABLE: {}\n", event.number, event.parse_problem);
    return;
  }
  fmt::print("{:>4}  {}  {:<18} {}{}\n", event.number, event.time, event.action, who(event),
             event.signature ? "" : "  [unsigned]");
  const auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) {
      fmt::print("      {:<9} {}\n", label, value);
    }
  };
  line("where", where(event));
  std::string legal = event.legal_basis;
  if (!event.legal_reference.empty()) {
    legal += (legal.empty() ? "" : " ") + event.legal_reference;
  }
  line("legal", legal);
  line("purpose", event.purpose);
  std::string seals;
  for (const std::string& seal : event.bag_seals) {
    seals += (seals.empty() ? "" : ", ") + seal;
  }
  line("bag seals", seals);
  std::string details;
  for (const auto& [key, value] : event.details) {
    details += fmt::format("{}{}={}", details.empty() ? "" : " ", key, value);
  }
  line("details", details);
  line("notes", event.notes);
}

ExitCode run_show(const std::string& target, const CommonOptions& common) {
  auto log = read_custody_log(target);
  if (!log) {
    return report_error(k_tool, log.error());
  }
  if (common.json) {
    fmt::print("{}", custody_log_to_json(*log));
    return ExitCode::ok;
  }
  if (common.quiet) {
    return ExitCode::ok;
  }
  if (log->events.empty()) {
    fmt::print("{}: no custody events recorded\n", target);
    return ExitCode::ok;
  }
  fmt::print("custody log of {}{} ({} events; log {})\n", target,
             log->title.empty() ? "" : " \"" + log->title + "\"", log->events.size(), log->log_id);
  fmt::print("   #  time (UTC)            action             by\n");
  const std::vector<std::uint64_t> unreleased = unreleased_accesses(*log);
  for (const LoggedEvent& event : log->events) {
    print_event(event);
    if (std::find(unreleased.begin(), unreleased.end(), event.number) != unreleased.end()) {
      fmt::print(
          "      NOT RELEASED: no \"released\" event closes this access (still mounted, or "
          "the mount was killed or the machine stopped)\n");
    }
  }
  if (!log->heads.empty()) {
    const LoggedHead& head = log->heads.back();
    fmt::print("tree head: {} events, root {}, {}{}\n", head.tree_size, head.root_sha256, head.time,
               head.timestamp ? ", timestamped" : "");
  }
  fmt::print("(this listing does not check signatures: run custody-log verify)\n");
  return ExitCode::ok;
}

ExitCode run_verify(const std::string& target,
                    const CheckArguments& args,
                    const CommonOptions& common) {
  if (auto missing = check_files_exist(args)) {
    return *missing;
  }
  auto verified = verify_custody_log(target, args.trust, args.tsa_trust, args.saved_heads);
  if (!verified) {
    return report_error(k_tool, verified.error());
  }
  if (common.json) {
    fmt::print("{}", log_verification_to_json(*verified));
  } else if (!common.quiet) {
    print_check_lines(verified->checks, "", 16, [&](const LogCheck& check) {
      return check.verdict != Verdict::pass || check.summary || common.verbose > 0;
    });
    fmt::print("{}: custody log {}\n", target, verified->intact ? "INTACT" : "FAILED VERIFICATION");
  }
  return verified->intact ? ExitCode::ok : ExitCode::verification_failed;
}

// Writes a proof or head (JSON) to `output`, or prints it; with --json and a file, the document
// on stdout says what was written.
ExitCode write_output(const std::string& text,
                      const std::string& output,
                      const char* kind,
                      const CommonOptions& common) {
  if (output.empty() || output == "-") {
    fmt::print("{}", text);
    return ExitCode::ok;
  }
  auto saved = save_log_document(output, text);
  if (!saved) {
    return report_error(k_tool, saved.error());
  }
  if (common.json) {
    print_json(
        {{"format", "custody-log-written"}, {"version", 1}, {"kind", kind}, {"file", output}});
  } else if (!common.quiet) {
    fmt::print("{} written to {}\n", kind, output);
  }
  return ExitCode::ok;
}

ExitCode run_prove(const std::string& target,
                   std::uint64_t event,
                   const std::string& from,
                   const std::string& output,
                   const CommonOptions& common) {
  if ((event == 0) == from.empty()) {
    return report_usage_error(k_tool, "give exactly one of --event N and --from HEAD");
  }
  auto proof =
      event != 0 ? make_inclusion_proof(target, event) : make_consistency_proof(target, from);
  if (!proof) {
    return report_error(k_tool, proof.error());
  }
  return write_output(*proof, output, event != 0 ? "inclusion proof" : "consistency proof", common);
}

ExitCode run_head(const std::string& target,
                  const std::string& output,
                  const CommonOptions& common) {
  auto head = latest_tree_head(target);
  if (!head) {
    return report_error(k_tool, head.error());
  }
  return write_output(*head, output, "tree head", common);
}

ExitCode run_check_proof(const std::string& file,
                         const CheckArguments& args,
                         const CommonOptions& common) {
  if (auto missing = check_files_exist(args)) {
    return *missing;
  }
  std::FILE* handle = std::fopen(file.c_str(), "rb");
  if (handle == nullptr) {
    return report_error(k_tool, Error{Errc::not_found, "cannot open", file, {}, errno, {}});
  }
  std::string text;
  char buffer[65536];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, handle)) > 0 && text.size() < (64U << 20U)) {
    text.append(buffer, got);
  }
  std::fclose(handle);
  auto checked = check_custody_proof(text, args.trust, args.tsa_trust);
  if (!checked) {
    return report_error(k_tool, checked.error());
  }
  if (common.json) {
    fmt::print("{}", proof_check_to_json(*checked));
  } else if (!common.quiet) {
    print_check_lines(checked->checks, "", 16);
    fmt::print("{}: {} proof {}\n", file, checked->kind, checked->valid ? "HOLDS" : "FAILS");
  }
  return checked->valid ? ExitCode::ok : ExitCode::verification_failed;
}

ExitCode run_import_receipt(const std::string& target,
                            const std::string& receipt,
                            const CheckArguments& checks,
                            const IdentityArguments& identity_args,
                            const CommonOptions& common) {
  if (auto missing = check_files_exist(checks)) {
    return *missing;
  }
  if (identity_args.key.empty()) {
    return report_usage_error(k_tool, "--by-key is required: the confirmation is signed by you");
  }
  auto identity = Identity::load(to_identity_options(identity_args));
  if (!identity) {
    return report_error(k_tool, identity.error());
  }
  auto imported = import_receipt(
      target, receipt, ReceiptCheckOptions{checks.trust, checks.tsa_trust, checks.revocation},
      *identity);
  if (!imported) {
    return report_error(k_tool, imported.error());
  }
  const EtsiValidation& etsi = imported->receiver_etsi;
  if (common.json) {
    print_json({{"format", "custody-log-delivery-confirmed"},
                {"version", 1},
                {"container", target},
                {"custody_event", imported->event},
                {"receiver_subject", imported->receiver_subject},
                {"received_at", imported->received_at},
                {"package_id", imported->package_id},
                {"receiver_etsi",
                 {{"indication", etsi.indication},
                  {"sub_indication", etsi.sub_indication},
                  {"cades_level", etsi.level},
                  {"revocation", etsi.revocation}}}});
  } else if (!common.quiet) {
    fmt::print("delivery confirmed: {} received package {} at {}\n", imported->receiver_subject,
               imported->package_id, imported->received_at);
    fmt::print("  receiver's certificate: {}{}\n", etsi.revocation, etsi_words(etsi));
    fmt::print("recorded as custody event {} in {}\n", imported->event, target);
  }
  if (etsi.sub_indication == "TRY_LATER") {
    print_warning(k_tool, fmt::format("the receiver's revocation status is NOT CHECKED: {} (the "
                                      "receipt carries none that settles it; give --online)",
                                      etsi.revocation));
  }
  return ExitCode::ok;
}

void add_check_options(CLI::App& command, CheckArguments& args) {
  command.add_option("--trust", args.trust, "CA certificates (PEM) the signers must chain to")
      ->type_name("FILE")
      ->allow_extra_args(false);
  command.add_option("--tsa-trust", args.tsa_trust, "CA certificates (PEM) of trusted TSAs")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

void add_event_options(CLI::App& add, AddArguments& args) {
  EventDraft& draft = args.draft;
  add.add_option("--action", draft.action, "What happened (see custody-log(1) for the list)")
      ->required();
  add.add_option("--name", draft.actor.name, "Your name (default: your certificate's CN)");
  add_event_context_options(add, draft);
  add.add_option("--notes", draft.notes, "Free notes");
  add.add_option("--evidence-id", draft.evidence_id,
                 "Standalone logs: the item this event is about (containers know their own)");
  add.add_option("--image-sha256", args.image_sha256,
                 "Standalone logs: the item's image SHA-256 at this moment");
  add_identity_options(add, args.identity, "by-");
  add_signer_trust_option(add, args.identity);
  add.add_option("--tsa", args.tsa,
                 "Timestamp the new tree head with this RFC 3161 TSA (URL), and make the event's "
                 "and head's signatures CAdES B-T (B-LT with the signer's revocation status)")
      ->type_name("URL");
  add.add_option("--tsa-timeout", args.tsa_timeout, "Seconds to wait for the TSA")
      ->capture_default_str();
  add_revocation_data_options(add, args.revocation_data, args.no_revocation_fetch, "signer's");
  add.add_flag("--create", args.create, "Start a standalone log file if TARGET does not exist");
  add.add_option("--title", args.title, "With --create: a title for the standalone log");
}

}  // namespace
}  // namespace custody::tools

int main(int argc, char** argv) {
  using namespace custody::tools;
  CommonOptions common;
  CLI::App app{
      "Record, show, verify and prove the custody history of evidence: signed events in an\n"
      "append-only RFC 9162 Merkle tree, kept inside the AFF4 container (or a standalone log)."};
  add_common_options(
      app, common, k_tool,
      "  custody-log add disk1.aff4 --action transferred --by-key me.key --by-cert me.pem \\\n"
      "      --location 'BKA Wiesbaden' --jurisdiction DE --purpose 'handover to prosecutor'\n"
      "  custody-log show disk1.aff4\n"
      "  custody-log verify disk1.aff4 --trust lab-ca.pem\n"
      "  custody-log prove disk1.aff4 --event 2 -o event2.proof.json\n"
      "  custody-log check-proof event2.proof.json --trust lab-ca.pem");
  app.require_subcommand(1);
  app.fallthrough();  // -q, --json, -v after the subcommand, where people type them
  std::string target;
  std::string output;
  AddArguments add_args;
  CheckArguments check_args;
  std::uint64_t event = 0;
  std::string from;

  CLI::App* add = app.add_subcommand("add", "Record an event, signed by you");
  add->add_option("TARGET", target, "The AFF4 container or standalone log file")->required();
  add_event_options(*add, add_args);

  CLI::App* show = app.add_subcommand("show", "Print the timeline of events");
  show->add_option("TARGET", target, "The AFF4 container or standalone log file")->required();

  CLI::App* verify = app.add_subcommand("verify", "Check signatures, the tree, time order");
  verify->add_option("TARGET", target, "The AFF4 container or standalone log file")->required();
  add_check_options(*verify, check_args);
  verify
      ->add_option("--head", check_args.saved_heads,
                   "A tree head saved earlier (custody-log head): check the log still extends it")
      ->type_name("FILE")
      ->allow_extra_args(false);

  CLI::App* prove = app.add_subcommand("prove", "Write an inclusion or consistency proof");
  prove->add_option("TARGET", target, "The AFF4 container or standalone log file")->required();
  prove->add_option("--event", event, "Prove that event N is in the log");
  prove->add_option("--from", from, "Prove the log extends this older head (FILE or tree size)")
      ->type_name("HEAD");
  prove->add_option("-o,--output", output, "Write the proof to FILE (default: stdout)")
      ->type_name("FILE");

  CLI::App* head = app.add_subcommand("head", "Write the latest signed tree head, to keep");
  head->add_option("TARGET", target, "The AFF4 container or standalone log file")->required();
  head->add_option("-o,--output", output, "Write it to FILE (default: stdout)")->type_name("FILE");

  std::string receipt;
  IdentityArguments import_identity;
  CLI::App* import_cmd = app.add_subcommand(
      "import-receipt", "Check a receiver's signed receipt and record \"delivery-confirmed\"");
  import_cmd->add_option("TARGET", target, "The container that was sent")->required();
  import_cmd->add_option("RECEIPT", receipt, "The receipt (RECEIPT.p7s beside it)")->required();
  import_cmd->add_option("--trust", check_args.trust, "CA certificates (PEM) of the receiver")
      ->type_name("FILE")
      ->required()
      ->allow_extra_args(false);
  import_cmd
      ->add_option("--tsa-trust", check_args.tsa_trust,
                   "CA certificates (PEM) of trusted TSAs (the receipt's signature time-stamp)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  add_online_options(*import_cmd, check_args.revocation, "the receiver");
  add_identity_options(*import_cmd, import_identity, "by-");

  CLI::App* check = app.add_subcommand("check-proof", "Check a proof made by prove");
  check->add_option("PROOF", target, "The proof file")->required();
  add_check_options(*check, check_args);

  return run_tool(app, argc, argv, [&] {
    if (add->parsed()) {
      return run_add(target, add_args, common);
    }
    if (show->parsed()) {
      return run_show(target, common);
    }
    if (verify->parsed()) {
      return run_verify(target, check_args, common);
    }
    if (prove->parsed()) {
      return run_prove(target, event, from, output, common);
    }
    if (head->parsed()) {
      return run_head(target, output, common);
    }
    if (import_cmd->parsed()) {
      return run_import_receipt(target, receipt, check_args, import_identity, common);
    }
    return run_check_proof(target, check_args, common);
  });
}
