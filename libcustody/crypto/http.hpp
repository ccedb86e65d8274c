// SPDX-License-Identifier: Apache-2.0
// One HTTP exchange over libcurl, for the services a signature needs: a TSA (RFC 3161 over
// HTTP), an OCSP responder (RFC 6960), a CRL distribution point. Bounded in time and size, http
// and https only, and every failure is an Errc::io_error that names the service and the URL.
#pragma once

#include <custody/error.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace custody::internal {

struct HttpExchange {
  std::string service;  // for messages: "the TSA", "the OCSP responder", "the CRL server"
  std::string url;
  std::string body;          // POSTed when request_type is set; else a GET
  std::string request_type;  // Content-Type of the body ("application/timestamp-query")
  // The Content-Types accepted in the reply (compared without parameters, case-insensitively);
  // empty: any.
  std::vector<std::string> reply_types;
  unsigned timeout_seconds = 30;
  std::size_t max_reply = 1024 * 1024;
};

// The reply body of a 200 answer. Errc::io_error: a timeout, a refused connection, another
// HTTP status, a reply larger than max_reply or of another Content-Type.
Result<std::string> http_exchange(const HttpExchange& exchange);

}  // namespace custody::internal
