// SPDX-License-Identifier: Apache-2.0
// The identities of samples/keys/make-test-identities.sh (a test CA, examiners, a witness, expired
// and foreign certificates), made once per test process.
#pragma once

#include "temp_dir.hpp"

#include <custody/identity.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace custody::test {

inline const TempDir& test_identities() {
  static const TempDir dir;
  static const bool made = [] {
    const std::filesystem::path script =
        std::filesystem::path(CUSTODY_SOURCE_DIR) / "samples/keys/make-test-identities.sh";
    const std::string command =
        "bash '" + script.string() + "' '" + dir.file("") + "' >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
  }();
  BOOST_REQUIRE_MESSAGE(made, "make-test-identities.sh failed");
  return dir;
}

// "examiner" -> the file examiner.pem/.key of the test identities.
inline std::string test_identity_file(const std::string& name) {
  return test_identities().file(name);
}

inline Identity load_test_identity(const std::string& stem) {
  IdentityOptions options;
  options.key_path = test_identity_file(stem + ".key");
  options.cert_path = test_identity_file(stem + ".pem");
  auto identity = Identity::load(options);
  BOOST_REQUIRE_MESSAGE(identity, (identity ? "" : identity.error().to_string()));
  return std::move(*identity);
}

}  // namespace custody::test
