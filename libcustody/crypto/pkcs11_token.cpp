// SPDX-License-Identifier: Apache-2.0
// PKCS#11 modules, tokens, sessions and key objects: the module is loaded once per process and
// shared, the token and key are found by the attributes of an RFC 7512 URI, and every failure is
// turned into an Error that names the token and the next step.
#include "crypto/pkcs11_token.hpp"

#include "crypto/pkcs11_uri.hpp"
#include "crypto/secret_input.hpp"

#include <fmt/format.h>

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace custody::internal {

namespace {

// p11-kit's proxy: every module registered on the system (/usr/share/p11-kit/modules).
constexpr const char* k_proxy_module = "p11-kit-proxy.so";

constexpr ck_flags_t k_serial_session = CKF_SERIAL_SESSION;

// PKCS#11 takes `unsigned char*` (and `void*`) for input it only reads: PINs, data to sign,
// template values. The one place where constness is cast away for it.
unsigned char* input_bytes(std::string_view bytes) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): read-only input of the C API
  return reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
}

// ---- Errors -------------------------------------------------------------------------------

std::string return_value_name(ck_rv_t rv) {
  static const std::map<ck_rv_t, const char*> k_names = {
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
      {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
      {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
      {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
      {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
      {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
  };
  const auto found = k_names.find(rv);
  return found != k_names.end() ? fmt::format("{}", found->second)
                                : fmt::format("PKCS#11 error 0x{:x}", rv);
}

// A token that is gone or failing. A key handle that became invalid after login also means the
// token went away (or was swapped) under the session.
bool is_device_failure(ck_rv_t rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_OBJECT_HANDLE_INVALID ||
         rv == CKR_KEY_HANDLE_INVALID || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR ||
         rv == CKR_DEVICE_MEMORY || rv == CKR_SESSION_CLOSED || rv == CKR_SESSION_HANDLE_INVALID ||
         rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED;
}

tl::unexpected<Error> failure(Errc code, std::string message, std::string hint) {
  return tl::unexpected(Error{code, std::move(message), {}, {}, 0, std::move(hint)});
}

// `what` failed with `rv` on `where` ("private key 'x' on token 'y'").
tl::unexpected<Error> token_failure(ck_rv_t rv, const std::string& what, const std::string& where) {
  const std::string reason = return_value_name(rv);
  if (rv == CKR_PIN_INCORRECT) {
    return failure(Errc::invalid_argument, fmt::format("the PIN does not open {}", where),
                   "check the PIN; a token locks itself after a few wrong PINs in a row");
  }
  if (rv == CKR_PIN_LOCKED) {
    return failure(Errc::invalid_argument,
                   fmt::format("{} is locked: too many wrong PINs were tried", where),
                   "the token's security officer can set a new user PIN (pkcs11-tool --init-pin "
                   "--login --login-type so); nothing was signed or changed");
  }
  if (rv == CKR_PIN_EXPIRED || rv == CKR_PIN_LEN_RANGE || rv == CKR_USER_PIN_NOT_INITIALIZED) {
    return failure(Errc::invalid_argument, fmt::format("cannot log in to {} ({})", where, reason),
                   "set or change the token's user PIN with its own tool, then try again");
  }
  if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_KEY_TYPE_INCONSISTENT ||
      rv == CKR_MECHANISM_INVALID) {
    return failure(Errc::invalid_argument, fmt::format("{} may not {} ({})", where, what, reason),
                   "use a key made for this purpose (a signing key for --key/--by-key/--seal-key "
                   "of the signing tools, a decryption key for the receiver's --key)");
  }
  if (is_device_failure(rv)) {
    return failure(Errc::io_error, fmt::format("cannot {} with {}: {}", what, where, reason),
                   "check that the token is inserted and working, then run the command again; "
                   "nothing was signed or appended");
  }
  return failure(Errc::crypto, fmt::format("cannot {} with {}: {}", what, where, reason),
                 "the token refused the operation; its own tool may say more");
}

// ---- Modules ------------------------------------------------------------------------------

using GetFunctionList = ck_rv_t (*)(struct ck_function_list**);

class Module {
 public:
  Module(void* handle, struct ck_function_list* functions, bool finalize, std::string path)
      : m_handle(handle), m_functions(functions), m_finalize(finalize), m_path(std::move(path)) {}
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() {
    if (m_finalize) {
      m_functions->C_Finalize(nullptr);
    }
    dlclose(m_handle);
  }
  struct ck_function_list* functions() const {
    return m_functions;
  }
  const std::string& path() const { return m_path; }

 private:
  void* m_handle;
  struct ck_function_list* m_functions;
  bool m_finalize;
  std::string m_path;
};

tl::unexpected<Error> module_failure(const std::string& path, const std::string& why) {
  return failure(Errc::invalid_argument,
                 fmt::format("cannot use the PKCS#11 module {}: {}", path, why),
                 "install the token's module (softhsm2, opensc, the vendor's driver) and give its "
                 "path with --pkcs11-module or the URI's module-path");
}

Result<std::shared_ptr<Module>> open_module(const std::string& path) {
  if (path.find('/') != std::string::npos) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
      return module_failure(path, "the file does not exist");
    }
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return module_failure(path, why != nullptr ? why : "it cannot be loaded");
  }
  auto get_function_list =
      reinterpret_cast<GetFunctionList>(dlsym(handle, "C_GetFunctionList"));  // NOLINT
  struct ck_function_list* functions = nullptr;
  if (get_function_list == nullptr || get_function_list(&functions) != CKR_OK ||
      functions == nullptr) {
    dlclose(handle);
    return module_failure(path, "it is not a PKCS#11 module (no C_GetFunctionList)");
  }
  struct ck_c_initialize_args arguments {};
  arguments.flags = CKF_OS_LOCKING_OK;
  const ck_rv_t rv = functions->C_Initialize(&arguments);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    dlclose(handle);
    return module_failure(path, fmt::format("C_Initialize failed ({})", return_value_name(rv)));
  }
  return std::make_shared<Module>(handle, functions, rv == CKR_OK, path);
}

// One Module per path and process: a second C_Initialize is refused, and a C_Finalize would end
// the other user's sessions.
Result<std::shared_ptr<Module>> shared_module(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Module>> modules;
  const std::lock_guard lock(mutex);
  if (auto existing = modules[path].lock()) {
    return existing;
  }
  auto opened = open_module(path);
  CUSTODY_TRY(opened);
  modules[path] = *opened;
  return opened;
}

// ---- Tokens -------------------------------------------------------------------------------

template <std::size_t N>
std::string padded_text(const unsigned char (&field)[N]) {
  std::string text(reinterpret_cast<const char*>(field), N);
  const std::size_t end = text.find_last_not_of(" \0", std::string::npos, 2);
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

struct TokenSlot {
  ck_slot_id_t slot = 0;
  struct ck_token_info info {};
};

bool library_matches(const Pkcs11Uri& uri, struct ck_function_list* functions) {
  if (uri.attribute("library-manufacturer").empty() &&
      uri.attribute("library-description").empty() && uri.attribute("library-version").empty()) {
    return true;
  }
  struct ck_info info {};
  if (functions->C_GetInfo(&info) != CKR_OK) {
    return false;
  }
  const auto same = [&](const char* name, const std::string& value) {
    const std::string wanted = uri.attribute(name);
    return wanted.empty() || wanted == value;
  };
  return same("library-manufacturer", padded_text(info.manufacturer_id)) &&
         same("library-description", padded_text(info.library_description)) &&
         same("library-version",
              fmt::format("{}.{}", info.library_version.major, info.library_version.minor));
}

bool slot_matches(const Pkcs11Uri& uri, struct ck_function_list* functions, const TokenSlot& slot) {
  const auto same = [&](const char* name, const std::string& value) {
    const std::string wanted = uri.attribute(name);
    return wanted.empty() || wanted == value;
  };
  if (!same("token", padded_text(slot.info.label)) ||
      !same("manufacturer", padded_text(slot.info.manufacturer_id)) ||
      !same("model", padded_text(slot.info.model)) ||
      !same("serial", padded_text(slot.info.serial_number)) ||
      !same("slot-id", std::to_string(slot.slot))) {
    return false;
  }
  if (uri.attribute("slot-description").empty() && uri.attribute("slot-manufacturer").empty()) {
    return true;
  }
  struct ck_slot_info info {};
  return functions->C_GetSlotInfo(slot.slot, &info) == CKR_OK &&
         same("slot-description", padded_text(info.slot_description)) &&
         same("slot-manufacturer", padded_text(info.manufacturer_id));
}

Result<std::vector<TokenSlot>> present_tokens(struct ck_function_list* functions,
                                              const std::string& module) {
  unsigned long count = 0;
  ck_rv_t rv = functions->C_GetSlotList(1, nullptr, &count);
  std::vector<ck_slot_id_t> slots(count);
  if (rv == CKR_OK && count > 0) {
    rv = functions->C_GetSlotList(1, slots.data(), &count);
    slots.resize(count);
  }
  if (rv != CKR_OK) {
    return token_failure(rv, "list the tokens", fmt::format("the module {}", module));
  }
  std::vector<TokenSlot> tokens;
  for (const ck_slot_id_t slot : slots) {
    TokenSlot token;
    token.slot = slot;
    if (functions->C_GetTokenInfo(slot, &token.info) == CKR_OK) {
      tokens.push_back(token);
    }
  }
  return tokens;
}

Result<TokenSlot> find_token(const Pkcs11Uri& uri, const std::string& printable, Module& module) {
  struct ck_function_list* functions = module.functions();
  auto tokens = present_tokens(functions, module.path());
  CUSTODY_TRY(tokens);
  std::vector<TokenSlot> matching;
  std::vector<std::string> seen;
  const bool library = library_matches(uri, functions);
  for (const TokenSlot& token : *tokens) {
    const std::string label = padded_text(token.info.label);
    seen.push_back(label.empty() ? std::string("(unlabelled)") : fmt::format("'{}'", label));
    if (library && slot_matches(uri, functions, token)) {
      matching.push_back(token);
    }
  }
  if (matching.empty()) {
    return failure(Errc::io_error,
                   fmt::format("no token that {} names is present (module {}; tokens present: {})",
                               printable, module.path(),
                               seen.empty() ? "none" : fmt::format("{}", fmt::join(seen, ", "))),
                   "insert the token, or correct the URI's token= attribute");
  }
  if (matching.size() > 1) {
    return failure(Errc::invalid_argument,
                   fmt::format("{} names {} tokens; it must name one", printable, matching.size()),
                   "add token=, serial= or slot-id= to the URI");
  }
  return matching.front();
}

// ---- Sessions and objects -----------------------------------------------------------------

// An attribute of an object as bytes; nullopt when the token does not have or show it.
std::optional<std::string> attribute_bytes(struct ck_function_list* functions,
                                           ck_session_handle_t session,
                                           ck_object_handle_t object,
                                           ck_attribute_type_t type) {
  struct ck_attribute attribute {
    type, nullptr, 0
  };
  if (functions->C_GetAttributeValue(session, object, &attribute, 1) != CKR_OK ||
      attribute.value_len == static_cast<unsigned long>(-1)) {
    return std::nullopt;
  }
  std::string value(attribute.value_len, '\0');
  attribute.value = value.data();
  if (functions->C_GetAttributeValue(session, object, &attribute, 1) != CKR_OK) {
    return std::nullopt;
  }
  value.resize(attribute.value_len);
  return value;
}

bool attribute_true(struct ck_function_list* functions,
                    ck_session_handle_t session,
                    ck_object_handle_t object,
                    ck_attribute_type_t type) {
  const auto value = attribute_bytes(functions, session, object, type);
  return value && value->size() == 1 && (*value)[0] != 0;
}

unsigned long attribute_ulong(struct ck_function_list* functions,
                              ck_session_handle_t session,
                              ck_object_handle_t object,
                              ck_attribute_type_t type,
                              unsigned long otherwise) {
  const auto value = attribute_bytes(functions, session, object, type);
  unsigned long number = otherwise;
  if (value && value->size() == sizeof number) {
    std::memcpy(&number, value->data(), sizeof number);
  }
  return number;
}

// The objects of `object_class` (or of any class, when nullopt) with the URI's label and id.
std::vector<ck_object_handle_t> find_objects(struct ck_function_list* functions,
                                             ck_session_handle_t session,
                                             std::optional<ck_object_class_t> object_class,
                                             const std::string* label,
                                             const std::string* id) {
  ck_object_class_t wanted_class = object_class.value_or(0);
  std::vector<struct ck_attribute> filter;
  if (object_class) {
    filter.push_back({CKA_CLASS, &wanted_class, sizeof wanted_class});
  }
  if (label != nullptr) {
    filter.push_back({CKA_LABEL, input_bytes(*label), label->size()});
  }
  if (id != nullptr) {
    filter.push_back({CKA_ID, input_bytes(*id), id->size()});
  }
  std::vector<ck_object_handle_t> found;
  if (functions->C_FindObjectsInit(session, filter.data(), filter.size()) != CKR_OK) {
    return found;
  }
  std::array<ck_object_handle_t, 8> batch{};
  unsigned long count = 0;
  while (functions->C_FindObjects(session, batch.data(), batch.size(), &count) == CKR_OK &&
         count > 0) {
    found.insert(found.end(), batch.begin(), batch.begin() + static_cast<long>(count));
  }
  functions->C_FindObjectsFinal(session);
  return found;
}

const char* class_name(ck_object_class_t object_class) {
  switch (object_class) {
    case CKO_CERTIFICATE:
      return "a certificate";
    case CKO_PUBLIC_KEY:
      return "a public key";
    case CKO_SECRET_KEY:
      return "a secret key";
    case CKO_DATA:
      return "a data object";
    default:
      return "not a private key";
  }
}

}  // namespace

// ---- TokenKey -----------------------------------------------------------------------------

struct TokenKey::Impl {
  std::shared_ptr<Module> module;
  ck_session_handle_t session = CK_INVALID_HANDLE;
  ck_object_handle_t key = CK_INVALID_HANDLE;
  Type type = Type::ec;
  bool can_sign = false, can_decrypt = false, can_derive = false;
  bool always_authenticate = false;  // each signature needs the PIN again (qualified keys)
  std::string description, certificate_der, public_value;
  std::unique_ptr<Secret> pin;  // kept only when always_authenticate
  std::mutex mutex;
  std::optional<Error> error;

  struct ck_function_list* functions() const {
    return module->functions();
  }

  ~Impl() {
    if (session != CK_INVALID_HANDLE) {
      functions()->C_CloseSession(session);
    }
  }

  // C_Login(CKU_CONTEXT_SPECIFIC) after an operation's Init, for keys that demand it.
  ck_rv_t authenticate_operation() {
    if (!always_authenticate || !pin) {
      return CKR_OK;
    }
    const std::string& text = pin->text();
    return functions()->C_Login(session, CKU_CONTEXT_SPECIFIC, input_bytes(text), text.size());
  }

  // Runs Init then the one-part operation, with a buffer grown as the token asks.
  template <typename Init, typename Run>
  Result<std::string> operate(const char* what, Init&& init, Run&& run) {
    const std::lock_guard lock(mutex);
    ck_rv_t rv = init();
    if (rv == CKR_OK) {
      rv = authenticate_operation();
    }
    std::string output(1024, '\0');
    unsigned long length = output.size();
    if (rv == CKR_OK) {
      rv = run(reinterpret_cast<unsigned char*>(output.data()), &length);
    }
    if (rv != CKR_OK) {
      return token_failure(rv, what, description);
    }
    output.resize(length);
    return output;
  }
};

TokenKey::TokenKey(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
TokenKey::~TokenKey() = default;

TokenKey::Type TokenKey::type() const {
  return m_impl->type;
}
bool TokenKey::can_sign() const {
  return m_impl->can_sign;
}
bool TokenKey::can_decrypt() const {
  return m_impl->can_decrypt;
}
bool TokenKey::can_derive() const {
  return m_impl->can_derive;
}
const std::string& TokenKey::description() const {
  return m_impl->description;
}
const std::string& TokenKey::certificate_der() const {
  return m_impl->certificate_der;
}
const std::string& TokenKey::public_value() const {
  return m_impl->public_value;
}

void TokenKey::set_error(Error error) {
  const std::lock_guard lock(m_impl->mutex);
  m_impl->error = std::move(error);
}

std::optional<Error> TokenKey::take_error() {
  const std::lock_guard lock(m_impl->mutex);
  return std::exchange(m_impl->error, std::nullopt);
}

Result<std::string> TokenKey::sign(TokenMechanism mechanism, std::string_view data) {
  Impl& impl = *m_impl;
  struct ck_mechanism chosen {
    static_cast<ck_mechanism_type_t>(mechanism), nullptr, 0
  };
  auto* input = input_bytes(data);
  return impl.operate(
      "sign", [&] { return impl.functions()->C_SignInit(impl.session, &chosen, impl.key); },
      [&](unsigned char* out, unsigned long* length) {
        return impl.functions()->C_Sign(impl.session, input, data.size(), out, length);
      });
}

Result<std::string> TokenKey::decrypt(TokenMechanism mechanism, std::string_view data) {
  Impl& impl = *m_impl;
  struct ck_rsa_pkcs_oaep_params oaep {
    CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0
  };
  struct ck_mechanism chosen {
    static_cast<ck_mechanism_type_t>(mechanism), nullptr, 0
  };
  if (mechanism == TokenMechanism::rsa_pkcs_oaep) {
    chosen.parameter = &oaep;
    chosen.parameter_len = sizeof oaep;
  }
  auto* input = input_bytes(data);
  return impl.operate(
      "decrypt", [&] { return impl.functions()->C_DecryptInit(impl.session, &chosen, impl.key); },
      [&](unsigned char* out, unsigned long* length) {
        return impl.functions()->C_Decrypt(impl.session, input, data.size(), out, length);
      });
}

Result<std::string> TokenKey::derive_ecdh(std::string_view peer_point, std::size_t secret_size) {
  Impl& impl = *m_impl;
  struct ck_ecdh1_derive_params parameters {};
  parameters.kdf = CKD_NULL;
  parameters.public_data = input_bytes(peer_point);
  parameters.public_data_len = peer_point.size();
  struct ck_mechanism chosen {
    CKM_ECDH1_DERIVE, &parameters, sizeof parameters
  };
  ck_object_class_t secret_class = CKO_SECRET_KEY;
  ck_key_type_t secret_type = CKK_GENERIC_SECRET;
  unsigned char no = 0;
  unsigned char yes = 1;
  unsigned long length = secret_size;
  // A session object the token lets us read: the shared secret is only the input of the
  // X9.63 KDF that OpenSSL runs next; the private key itself never leaves.
  std::array<struct ck_attribute, 6> secret_template = {{
      {CKA_CLASS, &secret_class, sizeof secret_class},
      {CKA_KEY_TYPE, &secret_type, sizeof secret_type},
      {CKA_TOKEN, &no, 1},
      {CKA_SENSITIVE, &no, 1},
      {CKA_EXTRACTABLE, &yes, 1},
      {CKA_VALUE_LEN, &length, sizeof length},
  }};
  const std::lock_guard lock(impl.mutex);
  ck_object_handle_t secret = CK_INVALID_HANDLE;
  ck_rv_t rv = impl.functions()->C_DeriveKey(
      impl.session, &chosen, impl.key, secret_template.data(), secret_template.size(), &secret);
  if (rv != CKR_OK) {
    return token_failure(rv, "agree on a key (ECDH)", impl.description);
  }
  auto value = attribute_bytes(impl.functions(), impl.session, secret, CKA_VALUE);
  impl.functions()->C_DestroyObject(impl.session, secret);
  if (!value) {
    return failure(
        Errc::crypto,
        fmt::format("{} made an ECDH secret but does not let it be read", impl.description),
        "the token's policy forbids reading derived secrets: decrypt with a token "
        "that allows it, or with an RSA key");
  }
  return std::move(*value);
}

// ---- Opening a key ------------------------------------------------------------------------

namespace {

// The PIN source: the passphrase options first, else the URI's pin-source.
std::optional<PassphraseSource> pin_source(const IdentityOptions& options, const Pkcs11Uri& uri) {
  if (options.passphrase.kind != PassphraseSource::Kind::none) {
    return options.passphrase;
  }
  if (!uri.pin_source.empty()) {
    std::string path = uri.pin_source;
    if (path.starts_with("file://")) {
      path.erase(0, 7);
    } else if (path.starts_with("file:")) {
      path.erase(0, 5);
    }
    return PassphraseSource{PassphraseSource::Kind::file, path};
  }
  return std::nullopt;
}

Result<void> log_in(TokenKey::Impl& impl,
                    const TokenSlot& token,
                    const IdentityOptions& options,
                    const Pkcs11Uri& uri,
                    const std::string& token_name) {
  const ck_flags_t flags = token.info.flags;
  if ((flags & CKF_USER_PIN_LOCKED) != 0) {
    return token_failure(CKR_PIN_LOCKED, "log in", token_name);
  }
  if ((flags & CKF_LOGIN_REQUIRED) == 0) {
    return {};
  }
  const auto source = pin_source(options, uri);
  ck_rv_t rv = CKR_OK;
  if (!source && (flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0) {
    rv = impl.functions()->C_Login(impl.session, CKU_USER, nullptr, 0);  // the reader's PIN pad
  } else if (!source) {
    return failure(Errc::invalid_argument, fmt::format("{} needs its PIN", token_name),
                   "give it with --passphrase-file, --passphrase-env or --passphrase-prompt, or "
                   "with the URI's pin-source; never on the command line");
  } else {
    auto pin = std::make_unique<Secret>();
    CUSTODY_TRY(
        obtain_passphrase(*source, token_name, options.allow_insecure_key_permissions, *pin));
    const std::string& text = pin->text();
    rv = impl.functions()->C_Login(impl.session, CKU_USER, input_bytes(text), text.size());
    impl.pin = std::move(pin);
  }
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    return token_failure(rv, "log in", token_name);
  }
  return {};
}

Result<ck_object_handle_t> find_private_key(TokenKey::Impl& impl,
                                            const Pkcs11Uri& uri,
                                            const std::string& printable,
                                            const std::string& token_name) {
  const std::string type = uri.attribute("type");
  const char* const hint =
      "list the token's objects with `pkcs11-tool --module MODULE --list-objects "
      "--login` and name the private key by object= (its label) or id=";
  if (!type.empty() && type != "private") {
    const char* what = type == "cert"     ? "a certificate"
                       : type == "public" ? "a public key"
                                          : "an object that is not a private key";
    return failure(Errc::invalid_argument,
                   fmt::format("{} names {} (type={}); a key to sign or decrypt with is "
                               "type=private",
                               printable, what, type),
                   hint);
  }
  const auto found_label = uri.path.find("object");
  const std::string* label = found_label != uri.path.end() ? &found_label->second : nullptr;
  const std::string* id = uri.id ? &*uri.id : nullptr;
  const auto keys = find_objects(impl.functions(), impl.session, CKO_PRIVATE_KEY, label, id);
  if (keys.size() == 1) {
    return keys.front();
  }
  if (keys.size() > 1) {
    return failure(Errc::invalid_argument,
                   fmt::format("{} matches {} private keys on {}; it must name one", printable,
                               keys.size(), token_name),
                   hint);
  }
  // None: say what the name does match, if anything (a certificate, a public key).
  const auto others = label != nullptr || id != nullptr
                          ? find_objects(impl.functions(), impl.session, std::nullopt, label, id)
                          : std::vector<ck_object_handle_t>();
  if (!others.empty()) {
    const unsigned long object_class =
        attribute_ulong(impl.functions(), impl.session, others.front(), CKA_CLASS, CKO_DATA);
    return failure(Errc::invalid_argument,
                   fmt::format("{} names {} on {}, not a private key", printable,
                               class_name(object_class), token_name),
                   hint);
  }
  return failure(Errc::invalid_argument,
                 fmt::format("no private key on {} matches {}", token_name, printable), hint);
}

// The certificate (DER) stored with the key, found by the key's CKA_ID, else by its label.
std::string stored_certificate(TokenKey::Impl& impl,
                               const std::optional<std::string>& id,
                               const std::optional<std::string>& label) {
  for (const auto* name : {&id, &label}) {
    if (!*name || (*name)->empty()) {
      continue;
    }
    const bool by_id = name == &id;
    const auto certificates = find_objects(impl.functions(), impl.session, CKO_CERTIFICATE,
                                           by_id ? nullptr : &**name, by_id ? &**name : nullptr);
    if (!certificates.empty()) {
      return attribute_bytes(impl.functions(), impl.session, certificates.front(), CKA_VALUE)
          .value_or("");
    }
  }
  return {};
}

// The EC point of the public key object with the key's id, unwrapped from its DER OCTET STRING.
std::string stored_ec_point(TokenKey::Impl& impl, const std::optional<std::string>& id) {
  if (!id || id->empty()) {
    return {};
  }
  const auto publics = find_objects(impl.functions(), impl.session, CKO_PUBLIC_KEY, nullptr, &*id);
  if (publics.empty()) {
    return {};
  }
  std::string point =
      attribute_bytes(impl.functions(), impl.session, publics.front(), CKA_EC_POINT).value_or("");
  // DER OCTET STRING (0x04, length) around the 0x04-prefixed uncompressed point; some tokens
  // give the bare point.
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(point[i]); };
  if (point.size() > 3 && byte(0) == 0x04 && byte(1) == point.size() - 2) {
    point.erase(0, 2);
  } else if (point.size() > 3 && byte(0) == 0x04 && byte(1) == 0x81 &&
             byte(2) == point.size() - 3) {
    point.erase(0, 3);
  }
  return point;
}

Result<void> describe_key(TokenKey::Impl& impl, const std::string& token_name) {
  struct ck_function_list* functions = impl.functions();
  const auto label = attribute_bytes(functions, impl.session, impl.key, CKA_LABEL);
  const auto id = attribute_bytes(functions, impl.session, impl.key, CKA_ID);
  impl.description = fmt::format("private key '{}' on {}", label.value_or("?"), token_name);
  const unsigned long key_type =
      attribute_ulong(functions, impl.session, impl.key, CKA_KEY_TYPE, ~0UL);
  if (key_type != CKK_RSA && key_type != CKK_EC) {
    return failure(
        Errc::invalid_argument,
        fmt::format("{} is neither an RSA nor an EC key (type 0x{:x})", impl.description, key_type),
        "custody signs with ECDSA P-256/P-384 or RSA keys");
  }
  impl.type = key_type == CKK_RSA ? TokenKey::Type::rsa : TokenKey::Type::ec;
  impl.can_sign = attribute_true(functions, impl.session, impl.key, CKA_SIGN);
  impl.can_decrypt = attribute_true(functions, impl.session, impl.key, CKA_DECRYPT);
  impl.can_derive = attribute_true(functions, impl.session, impl.key, CKA_DERIVE);
  impl.always_authenticate =
      attribute_true(functions, impl.session, impl.key, CKA_ALWAYS_AUTHENTICATE);
  impl.certificate_der = stored_certificate(impl, id, label);
  impl.public_value =
      impl.type == TokenKey::Type::rsa
          ? attribute_bytes(functions, impl.session, impl.key, CKA_MODULUS).value_or("")
          : stored_ec_point(impl, id);
  return {};
}

}  // namespace

Result<std::shared_ptr<TokenKey>> open_token_key(const IdentityOptions& options) {
  auto uri = parse_pkcs11_uri(options.key_path);
  CUSTODY_TRY(uri);
  const std::string printable = printable_pkcs11_uri(options.key_path);
  const std::string& module_path = !uri->module_path.empty()        ? uri->module_path
                                   : !options.pkcs11_module.empty() ? options.pkcs11_module
                                                                    : std::string(k_proxy_module);
  auto module = shared_module(module_path);
  CUSTODY_TRY(module);
  auto token = find_token(*uri, printable, **module);
  CUSTODY_TRY(token);
  const std::string token_name = fmt::format("token '{}'", padded_text(token->info.label));

  auto impl = std::make_unique<TokenKey::Impl>();
  impl->module = *module;
  impl->description = token_name;
  const ck_rv_t rv = impl->functions()->C_OpenSession(token->slot, k_serial_session, nullptr,
                                                      nullptr, &impl->session);
  if (rv != CKR_OK) {
    return token_failure(rv, "open a session", token_name);
  }
  CUSTODY_TRY(log_in(*impl, *token, options, *uri, token_name));
  auto key = find_private_key(*impl, *uri, printable, token_name);
  CUSTODY_TRY(key);
  impl->key = *key;
  CUSTODY_TRY(describe_key(*impl, token_name));
  if (!impl->always_authenticate) {
    impl->pin.reset();  // not needed again: wipe it now
  }
  return std::make_shared<TokenKey>(std::move(impl));
}

}  // namespace custody::internal
