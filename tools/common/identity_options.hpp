// SPDX-License-Identifier: Apache-2.0
// The command-line options that name a signing identity (key file or PKCS#11 URI, certificate,
// chain, module, passphrase or PIN), shared by every tool that signs.
#pragma once

#include <custody/identity.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace custody::tools {

struct IdentityArguments {
  std::string key;
  std::string cert;
  std::string chain;
  std::string pkcs11_module;
  std::string passphrase_file;
  std::string passphrase_env;
  bool passphrase_prompt = false;
  bool allow_insecure = false;
  std::vector<std::string> signer_trust;  // --trust of the tools that sign: checked before signing
};

// Adds --<prefix>key, --<prefix>cert and --<prefix>chain to `app`: a second identity of a tool
// (custody-receive's --by-key), whose PIN or passphrase comes from the first one's options.
inline void add_key_options(CLI::App& app, IdentityArguments& args, const std::string& prefix) {
  app.add_option("--" + prefix + "key", args.key,
                 "Private key: PEM (plain or passphrase-protected), PKCS#12 (.p12/.pfx), or a "
                 "PKCS#11 URI ('pkcs11:token=...;object=...;type=private') of a key on a token")
      ->type_name("FILE|URI");
  app.add_option("--" + prefix + "cert", args.cert,
                 "Certificate of the key (PEM; not for PKCS#12; for a token key, default: the "
                 "one stored with it)")
      ->type_name("FILE");
  app.add_option("--" + prefix + "chain", args.chain,
                 "Intermediate certificates to include (PEM bundle)")
      ->type_name("FILE");
}

// Adds --<prefix>key, --<prefix>cert, --<prefix>chain, --pkcs11-module and the passphrase
// options to `app`.
inline void add_identity_options(CLI::App& app,
                                 IdentityArguments& args,
                                 const std::string& prefix) {
  add_key_options(app, args, prefix);
  app.add_option("--pkcs11-module", args.pkcs11_module,
                 "PKCS#11 module for a key URI without module-path (default: p11-kit's proxy, "
                 "every module registered on the system)")
      ->type_name("FILE");
  app.add_option("--passphrase-file", args.passphrase_file,
                 "Read the key's passphrase (a token key: its PIN) from FILE")
      ->type_name("FILE");
  app.add_option("--passphrase-env", args.passphrase_env,
                 "Read the key's passphrase (or PIN) from the environment variable VAR")
      ->type_name("VAR");
  app.add_flag("--passphrase-prompt", args.passphrase_prompt,
               "Ask for the key's passphrase (or PIN) on the terminal");
  app.add_flag("--allow-insecure-key-permissions", args.allow_insecure,
               "Accept a private key file that other users can read");
}

// Adds --trust to a tool that signs: the signer's certificate must chain to these CAs, or nothing
// is signed (Identity::check_can_sign).
inline void add_signer_trust_option(CLI::App& app, IdentityArguments& args) {
  app.add_option("--trust", args.signer_trust,
                 "Refuse to sign unless the signer's certificate chains to these CAs (PEM); "
                 "repeatable")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

// `key` with the module and the passphrase options of `from`: a tool's second key shares them.
inline IdentityArguments with_secrets_of(IdentityArguments key, const IdentityArguments& from) {
  key.pkcs11_module = from.pkcs11_module;
  key.passphrase_file = from.passphrase_file;
  key.passphrase_env = from.passphrase_env;
  key.passphrase_prompt = from.passphrase_prompt;
  key.allow_insecure = from.allow_insecure;
  return key;
}

inline IdentityOptions to_identity_options(const IdentityArguments& args) {
  IdentityOptions options;
  options.signer_trust_files = args.signer_trust;
  options.key_path = args.key;
  options.cert_path = args.cert;
  options.chain_path = args.chain;
  options.pkcs11_module = args.pkcs11_module;
  options.allow_insecure_key_permissions = args.allow_insecure;
  if (!args.passphrase_file.empty()) {
    options.passphrase = PassphraseSource{PassphraseSource::Kind::file, args.passphrase_file};
  } else if (!args.passphrase_env.empty()) {
    options.passphrase = PassphraseSource{PassphraseSource::Kind::environment, args.passphrase_env};
  } else if (args.passphrase_prompt) {
    options.passphrase = PassphraseSource{PassphraseSource::Kind::prompt, {}};
  }
  return options;
}

// The identity of optional --by-key style options: none when no key was given (the event is then
// recorded unsigned), an error when one was given and cannot be used.
inline Result<std::optional<Identity>> load_identity_if_given(const IdentityArguments& args) {
  if (args.key.empty()) {
    return std::optional<Identity>();
  }
  auto loaded = Identity::load(to_identity_options(args));
  if (!loaded) {
    return tl::unexpected(loaded.error());
  }
  return std::optional<Identity>(std::move(*loaded));
}

}  // namespace custody::tools
