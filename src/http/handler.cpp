#include "http/handler.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "http/auth_header.hpp"
#include "http/errors.hpp"
#include "http/render.hpp"
#include "http/router.hpp"
#include "http/text.hpp"

namespace costs::http {
namespace {

Response RateLimited(std::string message, int retry_after_seconds) {
  ErrorExtras extras;
  extras.retry_after_seconds = retry_after_seconds;
  return MakeErrorResponse(MakeError(ErrorCode::kRateLimited, std::move(message)), extras);
}

Response Ok(std::string body) {
  Response res;
  res.status = 200;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

// Authenticates the caller and takes a token from its rate limit. Sets `principal` and
// returns nullopt when the request may proceed, else the error response.
std::optional<Response> Admit(const Request& request, const Services& services,
                              service::Principal& principal) {
  Result<Credentials> creds = ParseAuthorization(request.authorization);
  if (!creds) return MakeErrorResponse(creds.error());
  switch (creds->scheme) {
    case AuthScheme::kNone:
      return MakeErrorResponse(MakeError(ErrorCode::kUnauthenticated,
                                         "Authentication is required: send HTTP Basic credentials."));
    case AuthScheme::kApiKey:
      return MakeErrorResponse(MakeError(ErrorCode::kUnauthenticated, "API keys are not supported yet."));
    case AuthScheme::kBasic:
      break;
  }

  if (const int wait = services.failed_logins.Peek(request.client_address); wait > 0) {
    return RateLimited("Too many failed logins from this address; retry later.", wait);
  }
  Result<service::Principal> who = services.auth.AuthenticateBasic(creds->user, creds->password);
  if (!who) {
    if (who.error().code == ErrorCode::kUnauthenticated) {
      (void)services.failed_logins.Acquire(request.client_address);
      return MakeErrorResponse(MakeError(ErrorCode::kUnauthenticated, "The user name or password is wrong."));
    }
    return MakeErrorResponse(who.error());
  }
  principal = std::move(who).value();

  if (const int wait = services.per_principal.Acquire(principal.name); wait > 0) {
    return RateLimited("Too many requests; retry after " + std::to_string(wait) + " s.", wait);
  }
  return std::nullopt;
}

Response PayloadTooLarge(std::size_t limit) {
  return MakeErrorResponse(MakeError(ErrorCode::kPayloadTooLarge,
                                     "The request body is larger than " + std::to_string(limit) + " bytes."));
}

Response Serve(const Route& route, const Request& request, const Services& services,
               const service::Principal& principal) {
  switch (route.endpoint) {
    case Endpoint::kOrganizationCharts: {
      service::RangeQuery query;
      query.from = route.query.Get("from");
      query.to = route.query.Get("to");
      query.bucketing_strategy = route.query.Get("bucketing_strategy");
      Result<domain::Chart> chart = services.costs.OrganizationCharts(principal, route.organization_id, query);
      if (!chart) return MakeErrorResponse(chart.error());
      return Ok(RenderChart(*chart));
    }
    case Endpoint::kGetOrganization: {
      Result<service::Organization> org = services.costs.GetOrganization(principal, route.organization_id);
      if (!org) return MakeErrorResponse(org.error());
      return Ok(RenderOrganization(*org));
    }
    case Endpoint::kIngestUsage: {
      // Admin and media type were checked at the header stage (AdmitRequest).
      Result<service::IngestOutcome> outcome = services.admin.IngestNdjson(principal, request.body);
      if (!outcome) return MakeErrorResponse(outcome.error());
      return Ok(RenderIngestOutcome(*outcome));
    }
  }
  return MakeErrorResponse(MakeError(ErrorCode::kInternal, "unhandled endpoint"));
}

}  // namespace

Admission AdmitRequest(const Request& request, const Services& services, std::size_t max_ingest_body_bytes) {
  Admission admission;
  RouteResult routed = MatchRoute(request.method, request.target);
  if (!routed.route) {
    ErrorExtras extras;
    extras.allow = routed.allow;
    admission.refusal = MakeErrorResponse(routed.error, extras);
    return admission;
  }
  admission.route = std::move(*routed.route);
  admission.refusal = Admit(request, services, admission.principal);
  if (!admission.refusal && admission.route.endpoint == Endpoint::kIngestUsage) {
    if (!admission.principal.is_admin) {
      admission.refusal =
          MakeErrorResponse(MakeError(ErrorCode::kForbidden, "Only platform admins may ingest usage records."));
    } else if (!IsNdjsonMediaType(request.content_type)) {
      admission.refusal = MakeErrorResponse(
          MakeError(ErrorCode::kUnsupportedMediaType,
                    "Send usage records as NDJSON (Content-Type: application/x-ndjson).", {"Content-Type"}));
    }
  }
  if (!admission.refusal) {
    admission.body_limit =
        admission.route.endpoint == Endpoint::kIngestUsage ? max_ingest_body_bytes : kSmallBodyLimit;
    if (request.content_length && *request.content_length > admission.body_limit) {
      admission.refusal = PayloadTooLarge(admission.body_limit);
    }
  }
  if (admission.refusal) admission.refusal->principal = admission.principal.name;
  return admission;
}

Response ServeAdmitted(const Admission& admission, const Request& request, const Services& services) {
  Response res = Serve(admission.route, request, services, admission.principal);
  res.principal = admission.principal.name;
  return res;
}

Response HandleRequest(const Request& request, const Services& services, std::size_t max_ingest_body_bytes) {
  Admission admission = AdmitRequest(request, services, max_ingest_body_bytes);
  if (admission.refusal) return std::move(*admission.refusal);
  if (request.body.size() > admission.body_limit) {
    Response res = PayloadTooLarge(admission.body_limit);
    res.principal = admission.principal.name;
    return res;
  }
  return ServeAdmitted(admission, request, services);
}

}  // namespace costs::http
