// SPDX-License-Identifier: Apache-2.0
// One bounded HTTP exchange over libcurl (http.hpp).
#include "crypto/http.hpp"

#include "crypto/openssl_ptr.hpp"

#include <fmt/format.h>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace custody::internal {

namespace {

using CurlPtr = std::unique_ptr<CURL, OpenSslFree<curl_easy_cleanup>>;
using CurlListPtr = std::unique_ptr<curl_slist, OpenSslFree<curl_slist_free_all>>;

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Download {
  std::string body;
  std::size_t limit = 0;
  bool too_big = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* download = static_cast<Download*>(user);
  const std::size_t bytes = size * count;
  if (download->body.size() + bytes > download->limit) {
    download->too_big = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  download->body.append(data, bytes);
  return bytes;
}

// "application/ocsp-response; charset=x" gives "application/ocsp-response".
std::string bare_media_type(const char* content_type) {
  std::string type = content_type != nullptr ? content_type : "";
  type = type.substr(0, type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(),
                            [](unsigned char c) { return std::isspace(c) != 0; }),
             type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

tl::unexpected<Error> transfer_error(const HttpExchange& exchange,
                                     CURLcode code,
                                     const char* error_buffer,
                                     const Download& download) {
  const std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  const std::string& url = exchange.url;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(Errc::io_error,
                        fmt::format("{} at {} timed out: no reply within {} s ({})",
                                    exchange.service, url, exchange.timeout_seconds, reason));
    case CURLE_COULDNT_CONNECT:
      return make_error(Errc::io_error, fmt::format("cannot connect to {} at {}: {}",
                                                    exchange.service, url, reason));
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (download.too_big || code == CURLE_FILESIZE_EXCEEDED) {
        return make_error(Errc::io_error,
                          fmt::format("the reply of {} at {} is larger than {} bytes",
                                      exchange.service, url, exchange.max_reply));
      }
      [[fallthrough]];
    default:
      return make_error(Errc::io_error, fmt::format("the request to {} at {} failed: {}",
                                                    exchange.service, url, reason));
  }
}

}  // namespace

Result<std::string> http_exchange(const HttpExchange& exchange) {
  global_curl_init();
  CurlPtr curl(curl_easy_init());
  CurlListPtr headers;
  if (!exchange.request_type.empty()) {
    headers.reset(curl_slist_append(nullptr, ("Content-Type: " + exchange.request_type).c_str()));
  }
  if (!curl || (!exchange.request_type.empty() && !headers)) {
    return make_error(Errc::internal, "cannot initialise libcurl");
  }
  Download download;
  download.limit = exchange.max_reply;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, exchange.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  if (!exchange.request_type.empty()) {
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, exchange.body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(exchange.body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  }
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(exchange.timeout_seconds));
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(exchange.max_reply));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    return transfer_error(exchange, code, error_buffer, download);
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return make_error(Errc::io_error, fmt::format("{} at {} answered with HTTP status {}",
                                                  exchange.service, exchange.url, status));
  }
  if (!exchange.reply_types.empty()) {
    const char* content_type = nullptr;
    curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &content_type);
    const std::string type = bare_media_type(content_type);
    if (std::find(exchange.reply_types.begin(), exchange.reply_types.end(), type) ==
        exchange.reply_types.end()) {
      return make_error(
          Errc::io_error,
          fmt::format("{} at {} answered with Content-Type '{}', not {}", exchange.service,
                      exchange.url, content_type != nullptr ? content_type : "",
                      fmt::join(exchange.reply_types, " or ")));
    }
  }
  return std::move(download.body);
}

}  // namespace custody::internal
