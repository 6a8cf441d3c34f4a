#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/response.hpp"

namespace costs::http {

// The one table from ErrorCode to HTTP: the status and the wire code sent in the
// BasicFailedReply body and in `x-cloud-error-codes`. Every ErrorCode has an entry.
struct ErrorMapping {
  unsigned status;
  std::string_view wire_code;
};
ErrorMapping MapError(ErrorCode code);

// What some errors need beyond the Error itself.
struct ErrorExtras {
  int retry_after_seconds = 1;  // kRateLimited: the Retry-After value (clamped to >= 1)
  std::string_view allow = "GET";  // kMethodNotAllowed: the Allow value
};

// The complete error response: status per MapError, a BasicFailedReply body
// ({"errors":[{"code","message","fields"?}]}, "fields" only when non-empty), Content-Type
// application/json, x-cloud-error-codes, and per status WWW-Authenticate (401), Retry-After
// (429) or Allow (405). kInternal's message is replaced by a generic one and its fields
// dropped: it is a bug, and its message may carry internals.
Response MakeErrorResponse(const Error& error, const ErrorExtras& extras = {});

// Whether an error is ours rather than the caller's (logged at error level).
bool IsServerError(ErrorCode code);

}  // namespace costs::http
