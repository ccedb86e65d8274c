// SPDX-License-Identifier: Apache-2.0
// The command-line options about signers' revocation status, shared by the tools that sign with
// a TSA (custody-seal, custody-pack: what goes into a CAdES B-LT signature) and those that check
// signatures (custody-verify, custody-receive: whether to ask online).
#pragma once

#include <custody/cades.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace custody::tools {

// --revocation-data FILE... and --no-revocation-fetch. `who`: "signer's", "sender's".
inline void add_revocation_data_options(CLI::App& app,
                                        std::vector<std::string>& files,
                                        bool& no_fetch,
                                        const std::string& who) {
  app.add_option("--revocation-data", files,
                 "A CRL (DER or PEM) or OCSP response (DER) about the " + who +
                     " certificate, to embed (CAdES B-LT) instead of fetching it; repeatable")
      ->allow_extra_args(false)
      ->type_name("FILE");
  app.add_flag("--no-revocation-fetch", no_fetch,
               "Do not ask the " + who +
                   " OCSP responder or CRL distribution point (the signature is then CAdES B-T "
                   "at most, unless --revocation-data is given)");
}

// --online and --online-timeout. `whose`: "each seal's signer", "the sender".
inline void add_online_options(CLI::App& app, RevocationPolicy& policy, const std::string& whose) {
  app.add_flag("--online", policy.online,
               "Ask the OCSP responder or CRL distribution point of " + whose +
                   " for the revocation status when the signature carries none that settles it");
  app.add_option("--online-timeout", policy.timeout,
                 "With --online: seconds to wait for each "
                 "responder")
      ->capture_default_str();
}

}  // namespace custody::tools
