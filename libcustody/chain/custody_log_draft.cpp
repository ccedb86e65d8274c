// SPDX-License-Identifier: Apache-2.0
// What an event may say: the custody actions, and the checks a draft passes before anything is
// written (the action, an ISO 3166 jurisdiction, UTF-8 text).
#include "chain/custody_log_format.hpp"

#include <custody/custody_log.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace custody {

using namespace internal::custody_log;  // the parts of the custody log (custody_log_format.hpp)

namespace {

// ISO 3166-1 alpha-2 officially assigned codes.
constexpr std::string_view k_iso3166 =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW";

Result<void> check_action(const std::string& action) {
  if (!is_custody_action(action)) {
    std::string known;
    for (const std::string& name : custody_actions()) {
      known += (known.empty() ? "" : ", ") + name;
    }
    return make_error(Errc::invalid_argument,
                      fmt::format("unknown action \"{}\"; use one of: {}", action, known));
  }
  return {};
}

// Empty, an ISO 3166-1 country code ("DE"), or a subdivision of one ("DE-HE").
Result<void> check_jurisdiction(const std::string& jurisdiction) {
  if (!jurisdiction.empty()) {
    const std::string_view code = std::string_view(jurisdiction).substr(0, 2);
    const bool subdivision_ok =
        jurisdiction.size() == 2 ||
        (jurisdiction.size() >= 4 && jurisdiction.size() <= 6 && jurisdiction[2] == '-' &&
         std::all_of(jurisdiction.begin() + 3, jurisdiction.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }));
    if (!subdivision_ok || k_iso3166.find(code) == std::string_view::npos || code[0] == ' ' ||
        k_iso3166.find(code) % 3 != 0) {
      return make_error(Errc::invalid_argument,
                        fmt::format("jurisdiction \"{}\" is not an ISO 3166 code; give a country "
                                    "code such as DE, FR or NL, or a subdivision such as DE-HE",
                                    jurisdiction));
    }
  }
  return {};
}

Result<void> check_text_is_utf8(const EventDraft& draft) {
  std::vector<const std::string*> texts{
      &draft.actor.name, &draft.actor.role,  &draft.actor.organisation,
      &draft.location,   &draft.legal_basis, &draft.legal_reference,
      &draft.purpose,    &draft.notes,       &draft.evidence_id};
  for (const std::string& seal : draft.bag_seals) {
    texts.push_back(&seal);
  }
  for (const auto& [key, value] : draft.details) {
    texts.push_back(&key);
    texts.push_back(&value);
  }
  for (const std::string* text : texts) {
    if (!is_utf8(*text)) {
      return make_error(Errc::invalid_argument,
                        "a field of the event is not valid UTF-8 text; give it in UTF-8");
    }
  }
  return {};
}

}  // namespace

const std::vector<std::string>& custody_actions() {
  static const std::vector<std::string> actions{
      "acquired",           "imported",    "sealed",     "renewed",     "verified",
      "accessed",           "exported",    "packaged",   "sent",        "received",
      "delivery-confirmed", "checked-out", "checked-in", "transferred", "stored",
      "returned",           "destroyed",   "released",   "note"};
  return actions;
}

bool is_custody_action(std::string_view action) {
  const auto& actions = custody_actions();
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

Result<void> check_event_draft(const EventDraft& draft) {
  CUSTODY_TRY(check_action(draft.action));
  CUSTODY_TRY(check_jurisdiction(draft.jurisdiction));
  return check_text_is_utf8(draft);
}

}  // namespace custody
