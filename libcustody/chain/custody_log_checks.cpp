// SPDX-License-Identifier: Apache-2.0
// The checks that verifying a custody log and checking a proof share: signatures (and the signer
// against the certificate named), tree head timestamps, and the checks as JSON.
#include "chain/custody_log_checks.hpp"

#include <custody/identity.hpp>
#include <custody/timestamp.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace custody {

namespace internal::custody_log {

using nlohmann::json;

// A signature over `bytes` by the certificate with fingerprint `expected_signer` (may be empty:
// any signer). Returns the signer's subject, or empty after reporting a failure.
std::string check_signature(Checker& out,
                            const std::string& subject,
                            const std::optional<std::string>& signature,
                            const std::string& bytes,
                            const std::string& expected_signer,
                            const std::vector<std::string>& trust_files) {
  if (!signature) {
    out.warn(subject,
             "not signed: recorded by a tool without a key; only the later signed tree "
             "heads protect it");
    return {};
  }
  auto check = verify_detached(*signature, bytes, trust_files);
  if (!check) {
    out.fail(subject, "the signature cannot be read: " + check.error().message);
    return {};
  }
  if (!check->signature_valid) {
    out.fail(subject,
             "the signature does not match: the content changed after it was signed, "
             "or the signature is forged");
    return {};
  }
  if (!expected_signer.empty() && check->signer.sha256_fingerprint != expected_signer) {
    out.fail(subject, fmt::format("signed by {}, not by the certificate it names ({})",
                                  check->signer.subject, expected_signer));
    return {};
  }
  if (!check->valid_at_signing_time) {
    out.fail(subject, fmt::format("the signer's certificate ({}) was not valid when it signed ({})",
                                  check->signer.subject, check->signing_time));
    return {};
  }
  if (!check->chain_trusted) {
    if (trust_files.empty()) {
      out.warn(subject, fmt::format("correctly signed by {}, whose certificate is not checked "
                                    "against a CA (give --trust)",
                                    check->signer.subject));
    } else {
      out.fail(subject, fmt::format("correctly signed by {}, but not by a key the given CAs "
                                    "vouch for ({})",
                                    check->signer.subject, check->trust_problem));
    }
    return check->signer.subject;
  }
  out.pass(subject, "signed by " + check->signer.subject);
  return check->signer.subject;
}

void check_head_timestamp(Checker& out,
                          const LoggedHead& head,
                          const std::vector<std::string>& tsa_trust_files) {
  if (!head.timestamp) {
    return;
  }
  const std::string subject = fmt::format("tree head {} timestamp", head.number);
  auto stamp = verify_timestamp(*head.timestamp, head.bytes, tsa_trust_files);
  if (!stamp) {
    out.fail(subject, "unreadable: " + stamp.error().message);
  } else if (!stamp->imprint_matches) {
    out.fail(subject, "the timestamp is not over this tree head");
  } else if (!stamp->signature_valid && !tsa_trust_files.empty()) {
    out.fail(subject, "not signed by a TSA the given CAs vouch for (" + stamp->detail + ")");
  } else if (!stamp->signature_valid) {
    out.warn(subject, fmt::format("existed at {} by {}, a TSA not checked against a CA (give "
                                  "--tsa-trust)",
                                  stamp->time, stamp->tsa_subject));
  } else if (stamp->time < head.time) {
    out.fail(subject, fmt::format("the trusted time {} is before the head's own time {}",
                                  stamp->time, head.time));
  } else {
    out.pass(subject,
             fmt::format("existed at {} (trusted time by {})", stamp->time, stamp->tsa_subject));
  }
}

bool none_failed(const std::vector<LogCheck>& checks) {
  return std::none_of(checks.begin(), checks.end(),
                      [](const LogCheck& c) { return c.verdict == Verdict::fail; });
}

json checks_to_json(const std::vector<LogCheck>& checks) {
  json out = json::array();
  for (const LogCheck& check : checks) {
    out.push_back(json{{"subject", check.subject},
                       {"result", verdict_name(check.verdict)},
                       {"detail", check.detail}});
  }
  return out;
}

}  // namespace internal::custody_log

}  // namespace custody
