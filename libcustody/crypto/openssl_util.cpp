// SPDX-License-Identifier: Apache-2.0
// OpenSSL helpers of the crypto files: the error queue, a copy-free memory BIO, memory BIOs,
// borrowed certificate stacks and RFC 3339 times.
#include "crypto/openssl_util.hpp"

#include <fmt/format.h>
#include <openssl/err.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>

namespace custody::internal {

namespace {

int view_read(BIO* bio, char* out, std::size_t size, std::size_t* read) {
  auto* state = static_cast<ViewState*>(BIO_get_data(bio));
  const std::size_t count = std::min(size, state->left);
  if (count > 0) {
    std::memcpy(out, state->data, count);
  }
  state->data += count;
  state->left -= count;
  *read = count;
  return count > 0 ? 1 : 0;
}

long view_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  const auto* state = static_cast<const ViewState*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_EOF:
      return state->left == 0 ? 1 : 0;
    case BIO_CTRL_PENDING:
      return static_cast<long>(std::min<std::size_t>(state->left, LONG_MAX));
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

const BIO_METHOD* view_method() {
  static const BioMethodPtr method = [] {
    BioMethodPtr made(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "custody view"));
    if (made) {
      BIO_meth_set_read_ex(made.get(), view_read);
      BIO_meth_set_ctrl(made.get(), view_ctrl);
    }
    return made;
  }();
  return method.get();
}

}  // namespace

bool DrainedErrors::has(int library, int reason) const {
  return std::find(codes.begin(), codes.end(), std::pair(library, reason)) != codes.end();
}

bool DrainedErrors::has_library(int library) const {
  return std::any_of(codes.begin(), codes.end(),
                     [library](const std::pair<int, int>& code) { return code.first == library; });
}

DrainedErrors drain_errors() {
  DrainedErrors errors;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!errors.text.empty()) {
      errors.text += "; ";
    }
    errors.text += buffer;
    errors.codes.emplace_back(ERR_GET_LIB(code), ERR_GET_REASON(code));
  }
  if (errors.text.empty()) {
    errors.text = "no details from OpenSSL";
  }
  return errors;
}

tl::unexpected<Error> crypto_error(std::string_view what) {
  return make_error(Errc::crypto, fmt::format("{}: {}", what, openssl_errors()));
}

Result<BioPtr> view_bio(std::string_view content, ViewState& state) {
  state = ViewState{content.data(), content.size()};
  const BIO_METHOD* method = view_method();
  BioPtr bio(method != nullptr ? BIO_new(method) : nullptr);
  if (!bio) {
    return crypto_error("cannot make a BIO for the content");
  }
  BIO_set_data(bio.get(), &state);
  BIO_set_init(bio.get(), 1);
  return bio;
}

BioPtr memory_bio(const std::string& bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string bio_text(BIO* bio) {
  std::string text(BIO_ctrl_pending(bio), '\0');
  std::size_t read = 0;
  if (!text.empty() && BIO_read_ex(bio, text.data(), text.size(), &read) != 1) {
    read = 0;
  }
  text.resize(read);
  return text;
}

Result<X509ViewPtr> stack_view(const std::vector<X509Ptr>& certificates) {
  X509ViewPtr stack(sk_X509_new_null());
  if (!stack) {
    return crypto_error("out of memory");
  }
  for (const X509Ptr& cert : certificates) {
    if (sk_X509_push(stack.get(), cert.get()) <= 0) {
      return crypto_error("out of memory");
    }
  }
  return stack;
}

std::string rfc3339(const std::tm& time) {
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", time.tm_year + 1900, time.tm_mon + 1,
                     time.tm_mday, time.tm_hour, time.tm_min, time.tm_sec);
}

std::string rfc3339(const ASN1_TIME* time) {
  std::tm broken_down{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &broken_down) != 1) {
    ERR_clear_error();
    return {};
  }
  return rfc3339(broken_down);
}

std::string rfc3339(std::time_t time) {
  std::tm broken_down{};
  ::gmtime_r(&time, &broken_down);
  return rfc3339(broken_down);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace custody::internal
