// SPDX-License-Identifier: Apache-2.0
// Inclusion and consistency proofs of the custody log (check_custody_proof on the proof JSON).
#include "fuzz_support.hpp"

#include <custody/custody_log.hpp>

CUSTODY_FUZZ_TARGET(proof)(const std::uint8_t* data, std::size_t size) {
  auto check =
      custody::check_custody_proof(std::string(custody::fuzz::as_text(data, size)), {}, {});
  if (check) {
    (void)custody::proof_check_to_json(*check);
  }
  return 0;
}
