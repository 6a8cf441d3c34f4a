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

// Wire codes a route may use for kNotFound instead of the table's root.not_found, where the
// spec names another code for the thing that was not found.
enum class NotFoundAs {
  kDefault,      // root.not_found
  kEsClusterId,  // billing_service.es_cluster_id_not_found (the deployment items path)
};

// What some errors need beyond the Error itself.
struct ErrorExtras {
  int retry_after_seconds = 1;                     // kRateLimited: the Retry-After value (clamped to >= 1)
  std::string_view allow = "GET";                  // kMethodNotAllowed: the Allow value
  NotFoundAs not_found_as = NotFoundAs::kDefault;  // kNotFound: the wire code
};

// The complete error response: status per MapError (the wire code per `not_found_as` for
// kNotFound), a BasicFailedReply body
// ({"errors":[{"code","message","fields"?}]}, "fields" only when non-empty), Content-Type
// application/json, x-cloud-error-codes, and per status WWW-Authenticate (401), Retry-After
// (429) or Allow (405). kInternal's message is replaced by a generic one and its fields
// dropped: it is a bug, and its message may carry internals.
Response MakeErrorResponse(const Error& error, const ErrorExtras& extras = {});

// Refusals only the HTTP edge makes: they have no ErrorCode (src/common knows nothing of
// HTTP), but their status and wire code live in this table too.
enum class HttpRefusal {
  kNotAcceptable,   // 406 root.not_acceptable: no representation the Accept header takes
  kLengthRequired,  // 411 root.length_required: a chunked body where only Content-Length is taken
};
ErrorMapping MapRefusal(HttpRefusal refusal);

// The error response of a refusal: as MakeErrorResponse (BasicFailedReply, JSON,
// x-cloud-error-codes), without `error` set (the access log shows the status).
Response MakeRefusalResponse(HttpRefusal refusal, std::string_view message);

// Whether an error is ours rather than the caller's (logged at error level).
bool IsServerError(ErrorCode code);

}  // namespace costs::http
