// SPDX-License-Identifier: Apache-2.0
// What verifying a custody log and checking a proof share: the list of checks and how they are
// recorded, the signature and timestamp checks, and the checks as JSON.
#pragma once

#include <custody/custody_log.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace custody::internal::custody_log {

// Records checks as they are made. The checks of the whole log and of saved heads sum it up
// (LogCheck::summary); those of single events and heads are detail.
struct Checker {
  std::vector<LogCheck>& checks;
  void pass(std::string subject, std::string detail) {
    add(std::move(subject), Verdict::pass, std::move(detail));
  }
  void fail(std::string subject, std::string detail) {
    add(std::move(subject), Verdict::fail, std::move(detail));
  }
  void warn(std::string subject, std::string detail) {
    add(std::move(subject), Verdict::warn, std::move(detail));
  }

 private:
  void add(std::string subject, Verdict verdict, std::string detail) {
    const bool summary = subject == "log" || subject.starts_with("saved head ");
    checks.push_back(LogCheck{std::move(subject), verdict, std::move(detail), summary});
  }
};

// A signature over `bytes` by the certificate with fingerprint `expected_signer` (may be empty:
// any signer). Returns the signer's subject, or empty after reporting a failure.
std::string check_signature(Checker& out,
                            const std::string& subject,
                            const std::optional<std::string>& signature,
                            const std::string& bytes,
                            const std::string& expected_signer,
                            const std::vector<std::string>& trust_files);

// The RFC 3161 token of a tree head, if it has one.
void check_head_timestamp(Checker& out,
                          const LoggedHead& head,
                          const std::vector<std::string>& tsa_trust_files);

// Whether no check failed (warnings are fine).
bool none_failed(const std::vector<LogCheck>& checks);

// [{"subject", "result", "detail"}, ...]
nlohmann::json checks_to_json(const std::vector<LogCheck>& checks);

}  // namespace custody::internal::custody_log
