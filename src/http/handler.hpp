#pragma once

#include <string_view>

#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

// One parsed HTTP request, as the session hands it over. Views into the session's request;
// absent headers are empty.
struct Request {
  std::string_view method;          // as sent: "GET"
  std::string_view target;          // origin-form: "/api/v1/organizations/org-a"
  std::string_view authorization;   // the Authorization header
  std::string_view content_type;    // the Content-Type header
  std::string_view body;
  std::string_view client_address;  // the peer's IP address, keys the failed-login limiter
};

// Serves one API request: route (404/405), authenticate (401, or 429 while the client address
// is locked out after failed logins), take a token from the caller's rate limit (429), then
// decode -> call one service operation -> encode. Every failure is an error response from the
// one table in errors.hpp. Exceptions thrown by a service propagate to the caller (the session
// answers 500 and logs them).
Response HandleRequest(const Request& request, const Services& services);

}  // namespace costs::http
