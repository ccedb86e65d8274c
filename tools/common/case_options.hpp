// SPDX-License-Identifier: Apache-2.0
// Command-line options for case fields (custody-acquire, custody-export) and for the context of
// a custody event (custody-acquire, custody-log add): one spelling of each option for every tool.
#pragma once

#include <custody/custody_log.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace custody::tools {

// --case, --evidence, ...: a field that stays unset unless given (an empty value is given).
inline void add_case_option(CLI::App& app,
                            const char* name,
                            std::optional<std::string>& field,
                            const char* help) {
  app.add_option_function<std::string>(
         name, [&field](const std::string& value) { field = value; }, help)
      ->type_name("TEXT");
}

// Who, where, under which legal basis and why: the context the library records in its event.
inline void add_event_context_options(CLI::App& app, EventDraft& draft) {
  app.add_option("--role", draft.actor.role, "Custody log: your role (examiner, courier, ...)")
      ->type_name("TEXT");
  app.add_option("--organisation", draft.actor.organisation, "Custody log: your organisation")
      ->type_name("TEXT");
  app.add_option("--location", draft.location, "Custody log: where it happens (free text)")
      ->type_name("TEXT");
  app.add_option("--jurisdiction", draft.jurisdiction,
                 "Custody log: ISO 3166 code of where it happens (DE, FR, DE-HE)")
      ->type_name("CODE");
  app.add_option("--legal-basis", draft.legal_basis,
                 "Custody log: warrant, MLA request, EIO, consent, ...")
      ->type_name("TEXT");
  app.add_option("--legal-reference", draft.legal_reference,
                 "Custody log: the warrant's or request's reference")
      ->type_name("TEXT");
  app.add_option("--purpose", draft.purpose, "Custody log: why")->type_name("TEXT");
  app.add_option("--bag-seal", draft.bag_seals, "Custody log: evidence bag seal number")
      ->type_name("TEXT")
      ->allow_extra_args(false);
}

}  // namespace custody::tools
