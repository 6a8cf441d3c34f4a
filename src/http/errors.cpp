#include "http/errors.hpp"

#include <algorithm>
#include <string>

#include "http/render.hpp"

namespace costs::http {

ErrorMapping MapError(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidDateRange:
      return {400, "costs.invalid_date_range"};
    case ErrorCode::kInvalidData:
      return {400, "root.invalid_data"};
    case ErrorCode::kInvalidRecord:
      return {400, "usage.invalid_record"};
    case ErrorCode::kUnauthenticated:
      return {401, "root.unauthenticated"};
    case ErrorCode::kForbidden:
      return {403, "root.forbidden"};
    case ErrorCode::kInvalidAccess:
      return {403, "organization.invalid_access"};
    case ErrorCode::kOrganizationNotFound:
      return {404, "organization.not_found"};
    case ErrorCode::kNotFound:
      return {404, "root.not_found"};
    case ErrorCode::kMethodNotAllowed:
      return {405, "root.method_not_allowed"};
    case ErrorCode::kConflict:
      return {409, "usage.conflict"};
    case ErrorCode::kAlreadyExists:
      return {409, "root.already_exists"};
    case ErrorCode::kPayloadTooLarge:
      return {413, "root.payload_too_large"};
    case ErrorCode::kUnsupportedMediaType:
      return {415, "root.unsupported_media_type"};
    case ErrorCode::kRateLimited:
      return {429, "billing_service.rate_limited"};
    case ErrorCode::kStoreFailed:
      return {500, "billing_service.failed_request"};
    case ErrorCode::kInternal:
      return {500, "billing_service.failed_request"};
  }
  // Not reached for a valid enumerator; an out-of-range value is a bug like kInternal.
  return {500, "billing_service.failed_request"};
}

ErrorMapping MapRefusal(HttpRefusal refusal) {
  switch (refusal) {
    case HttpRefusal::kNotAcceptable:
      return {406, "root.not_acceptable"};
    case HttpRefusal::kLengthRequired:
      return {411, "root.length_required"};
  }
  return {500, "billing_service.failed_request"};
}

namespace {

std::string_view NotFoundWireCode(NotFoundAs as) {
  switch (as) {
    case NotFoundAs::kDefault:
      break;
    case NotFoundAs::kEsClusterId:
      return "billing_service.es_cluster_id_not_found";
  }
  return MapError(ErrorCode::kNotFound).wire_code;
}

}  // namespace

bool IsServerError(ErrorCode code) { return MapError(code).status >= 500; }

Response MakeRefusalResponse(HttpRefusal refusal, std::string_view message) {
  const ErrorMapping mapping = MapRefusal(refusal);
  static const std::vector<std::string> kNoFields;
  Response res;
  res.status = mapping.status;
  res.content_type = "application/json";
  res.body = RenderFailedReply(mapping.wire_code, message, kNoFields);
  res.headers.emplace_back("x-cloud-error-codes", std::string(mapping.wire_code));
  return res;
}

Response MakeErrorResponse(const Error& error, const ErrorExtras& extras) {
  ErrorMapping mapping = MapError(error.code);
  if (error.code == ErrorCode::kNotFound) mapping.wire_code = NotFoundWireCode(extras.not_found_as);
  Response res;
  res.status = mapping.status;
  res.content_type = "application/json";
  res.error = error;
  if (error.code == ErrorCode::kInternal) {
    static const std::vector<std::string> kNoFields;
    res.body = RenderFailedReply(mapping.wire_code, "The request failed because of an internal error.", kNoFields);
  } else {
    res.body = RenderFailedReply(mapping.wire_code, error.message, error.fields);
  }
  res.headers.emplace_back("x-cloud-error-codes", std::string(mapping.wire_code));
  switch (mapping.status) {
    case 401:
      res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"costs\"");
      break;
    case 405:
      res.headers.emplace_back("Allow", std::string(extras.allow));
      break;
    case 429:
      res.headers.emplace_back("Retry-After", std::to_string(std::max(1, extras.retry_after_seconds)));
      break;
    default:
      break;
  }
  return res;
}

}  // namespace costs::http
