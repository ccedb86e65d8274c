// SPDX-License-Identifier: Apache-2.0
// Names of the verdicts (verdict.hpp), for JSON and for text.
#include <custody/verdict.hpp>

namespace custody {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      return "pass";
    case Verdict::warn:
      return "warn";
    case Verdict::fail:
      return "fail";
    case Verdict::not_checked:
      return "not_checked";
  }
  return "fail";
}

const char* verdict_label(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      return "PASS";
    case Verdict::warn:
      return "WARN";
    case Verdict::fail:
      return "FAIL";
    case Verdict::not_checked:
      return "NOT CHECKED";
  }
  return "FAIL";
}

}  // namespace custody
