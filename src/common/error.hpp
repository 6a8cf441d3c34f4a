#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace costs {

// The closed set of expected failures. src/http/ maps each to a status and a wire code; nothing
// else does.
enum class ErrorCode {
  kInvalidDateRange,      // a from/to that is unparsable, reversed or too long
  kInvalidData,           // any other invalid request parameter or body
  kInvalidRecord,         // a usage record that fails validation
  kUnauthenticated,       // credentials missing or wrong
  kForbidden,             // authenticated but not allowed to do this at all
  kInvalidAccess,         // the organization exists but the caller may not see it
  kOrganizationNotFound,  // no such organization
  kNotFound,              // no such resource or path
  kMethodNotAllowed,      // path exists, method does not
  kConflict,              // a usage record id already stored with other content
  kAlreadyExists,         // creating something that exists
  kPayloadTooLarge,       // request body over the limit
  kUnsupportedMediaType,  // request body of a type we do not read
  kRateLimited,           // token bucket empty
  kStoreFailed,           // the store failed (I/O, database down, timeout)
  kInternal,              // a bug; never expected
};

// A failure: a code, a message for humans (never internals), and the request fields it is
// about (query parameter names, or paths like "records[3].rate").
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<std::string> fields;
};

inline Error MakeError(ErrorCode code, std::string message, std::vector<std::string> fields = {}) {
  return Error{code, std::move(message), std::move(fields)};
}

}  // namespace costs
