#include "http/handler.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "http/auth_header.hpp"
#include "http/body_cache.hpp"
#include "http/client_address.hpp"
#include "http/credit_request.hpp"
#include "http/csv.hpp"
#include "http/dashboard.hpp"
#include "http/errors.hpp"
#include "http/etag.hpp"
#include "http/metrics_page.hpp"
#include "http/probes.hpp"
#include "http/render.hpp"
#include "http/route_label.hpp"
#include "http/router.hpp"
#include "http/session_handler.hpp"
#include "http/text.hpp"
#include "http/v2_handler.hpp"
#include "http/v2_query.hpp"

namespace costs::http {
namespace {

Response Ok(std::string body, unsigned status = 200) {
  Response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

// A successful response of an endpoint that offers several representations: says so to caches.
Response Negotiated(std::string body, Format format) {
  Response res = Ok(std::move(body));
  if (format == Format::kCsv) res.content_type = std::string(kCsvContentType);
  res.headers.emplace_back("Vary", "Accept");
  return res;
}

constexpr Format kJsonOnly[] = {Format::kJson};
constexpr Format kJsonOrCsv[] = {Format::kJson, Format::kCsv};

// Authenticates the caller and takes a token from its rate limit. Sets `principal` and
// returns nullopt when the request may proceed, else the error response. With `may_block`
// false, credentials that need the store or a slow hash are not verified: `deferral` says
// which, and nothing else is done (no token taken, no failed login counted).
// Failed logins are limited per LoginLimitKey of the client address. Credentials verified
// within the cache TTL and valid API keys are served whatever their address's failed logins
// (a locked-out address is only refused what would cost a verification: a password not
// cached, or an API key that turns out invalid).
std::optional<Response> Admit(const Request& request, const Services& services, bool may_block,
                              service::Principal& principal, Deferral& deferral) {
  Result<Credentials> creds = ParseAuthorization(request.authorization);
  if (!creds) return MakeErrorResponse(creds.error());
  if (creds->scheme == AuthScheme::kNone) {
    return MakeErrorResponse(
        MakeError(ErrorCode::kUnauthenticated, "Authentication is required: send HTTP Basic or ApiKey credentials."));
  }
  const bool api_key = creds->scheme == AuthScheme::kApiKey;
  std::optional<service::Principal> cached =
      api_key ? services.auth.CachedApiKey(creds->api_key) : services.auth.CachedBasic(creds->user, creds->password);
  if (!cached && !may_block) {
    deferral = api_key ? Deferral::kLookUpKey : Deferral::kVerifyPassword;
    return std::nullopt;
  }
  if (cached) {
    services.metrics->AuthCacheHit();
    principal = std::move(*cached);
  } else {
    const std::string login_key = LoginLimitKey(request.client_address);
    // A password costs a slow hash: refused before it while locked out. A key costs one
    // digest: checked first (FailedLogin), so that a valid key is never locked out.
    if (!api_key) {
      if (auto refusal = LoginLockout(services, login_key)) return refusal;
    }
    Result<service::Principal> who = api_key ? services.auth.AuthenticateApiKey(creds->api_key)
                                             : services.auth.AuthenticateBasic(creds->user, creds->password);
    if (!who) {
      if (who.error().code != ErrorCode::kUnauthenticated) return MakeErrorResponse(who.error());
      return FailedLogin(services, login_key, api_key);
    }
    principal = std::move(who).value();
  }
  return TakePrincipalToken(services, principal.name);
}

// Who the caller is, by the route: the sign-in and sign-out paths take no credentials (only
// their own header checks); elsewhere the session cookie authenticates when there is no
// Authorization header, else Admit. Arguments and result as Admit's.
std::optional<Response> AdmitCaller(const Request& request, const Services& services, bool may_block,
                                    Admission& admission) {
  const Endpoint endpoint = admission.route.endpoint;
  const bool session_path =
      endpoint == Endpoint::kSignIn || endpoint == Endpoint::kWhoAmI || endpoint == Endpoint::kSignOut;
  if (session_path && services.sessions == nullptr) {
    return MakeErrorResponse(MakeError(ErrorCode::kNotFound, "There is no such API path."));
  }
  if (endpoint == Endpoint::kSignIn || endpoint == Endpoint::kSignOut) return CheckSessionPath(request, endpoint);
  const std::optional<std::string_view> id = services.sessions ? SessionCookieOf(request) : std::nullopt;
  if (id) {
    return AdmitBySession(request, services, *id, may_block, admission);
  }
  return Admit(request, services, may_block, admission.principal, admission.deferred);
}

Response PayloadTooLarge(std::size_t limit) {
  return MakeErrorResponse(
      MakeError(ErrorCode::kPayloadTooLarge, "The request body is larger than " + std::to_string(limit) + " bytes."));
}

// The range parameters of a request; bucketing_strategy only for the charts.
service::RangeQuery RangeOf(const Route& route) {
  service::RangeQuery query;
  query.from = route.query.Get("from");
  query.to = route.query.Get("to");
  if (route.endpoint == Endpoint::kOrganizationCharts || route.endpoint == Endpoint::kDeploymentCharts) {
    query.bucketing_strategy = route.query.Get("bucketing_strategy");
  }
  return query;
}

// What an endpoint's error responses need beyond the error: the spec names the unknown
// deployment of the deployment items path billing_service.es_cluster_id_not_found.
ErrorExtras ErrorExtrasOf(Endpoint endpoint) {
  ErrorExtras extras;
  if (endpoint == Endpoint::kDeploymentItems) extras.not_found_as = NotFoundAs::kEsClusterId;
  return extras;
}

// Serves an admitted request: decode -> one service operation -> encode. No BodyCache.
Response Serve(const Admission& admission, const Request& request, const Services& services) {
  const Route& route = admission.route;
  const service::Principal& principal = admission.principal;
  switch (route.endpoint) {
    case Endpoint::kCostsOverview: {
      Result<service::CostsOverview> overview =
          services.costs.Overview(principal, route.organization_id, RangeOf(route));
      if (!overview) return MakeErrorResponse(overview.error());
      return Ok(RenderCostsOverview(*overview));
    }
    case Endpoint::kOrganizationCharts: {
      Result<domain::Chart> chart = services.costs.OrganizationCharts(principal, route.organization_id, RangeOf(route));
      if (!chart) return MakeErrorResponse(chart.error());
      return Ok(RenderChart(*chart));
    }
    case Endpoint::kDeploymentsCosts: {
      Result<service::DeploymentsCosts> costs =
          services.costs.Deployments(principal, route.organization_id, RangeOf(route));
      if (!costs) return MakeErrorResponse(costs.error());
      const bool csv = admission.format == Format::kCsv;
      return Negotiated(csv ? RenderDeploymentsCsv(*costs) : RenderDeploymentsCosts(*costs), admission.format);
    }
    case Endpoint::kDeploymentCharts: {
      Result<domain::Chart> chart =
          services.costs.DeploymentCharts(principal, route.organization_id, route.deployment_id, RangeOf(route));
      if (!chart) return MakeErrorResponse(chart.error());
      return Ok(RenderChart(*chart));
    }
    case Endpoint::kItemsCosts:
    case Endpoint::kDeploymentItems: {
      const bool one_deployment = route.endpoint == Endpoint::kDeploymentItems;
      Result<service::ItemsCosts> items = services.costs.Items(
          principal, route.organization_id,
          one_deployment ? std::optional<std::string_view>(route.deployment_id) : std::nullopt, RangeOf(route));
      if (!items) return MakeErrorResponse(items.error(), ErrorExtrasOf(route.endpoint));
      const bool csv = admission.format == Format::kCsv;
      return Negotiated(csv ? RenderItemsCsv(*items) : RenderItemsCosts(*items), admission.format);
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
    case Endpoint::kAddCredit: {
      // Admin and media type were checked at the header stage (AdmitRequest).
      Result<CreditRequest> credit = DecodeCreditRequest(request.body);
      if (!credit) return MakeErrorResponse(credit.error());
      const service::Credit added{credit->id, route.organization_id, credit->ecu, credit->start, credit->end};
      if (Status s = services.admin.AddCredit(added.organization_id, added.id, added.ecu, added.start, added.end); !s) {
        return MakeErrorResponse(s.error());
      }
      return Ok(RenderCredit(added), 201);
    }
    case Endpoint::kV2Instances:
    case Endpoint::kV2InstanceItems:
    case Endpoint::kV2Items:
    case Endpoint::kV2Charts:
    case Endpoint::kV2InstanceCharts:
    case Endpoint::kCreditLineItems:
      return ServeV2(route, principal, services);
    case Endpoint::kListOrganizations: {
      Result<std::vector<service::Organization>> orgs = services.costs.ListOrganizations(principal);
      if (!orgs) return MakeErrorResponse(orgs.error());
      return Ok(RenderOrganizations(*orgs));
    }
    case Endpoint::kWhoAmI:
      return Ok(RenderSessionCaller(principal, admission.session_expires));
    case Endpoint::kSignIn:
      return ServeSignIn(request, services);
    case Endpoint::kSignOut:
      return ServeSignOut(request, services);
  }
  return MakeErrorResponse(MakeError(ErrorCode::kInternal, "unhandled endpoint"));
}

// The endpoints whose successful bodies depend only on the request's endpoint, path, resolved
// range, strategy, v2 option (BodyVariantOf) and representation and on the organization's data
// version (CostsService::PrepareRead, PrepareReadV2). Not the overview nor the line_items (they
// depend on the current time) nor the organization lookup (not a range read).
bool IsCacheable(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kOrganizationCharts:
    case Endpoint::kDeploymentCharts:
    case Endpoint::kDeploymentsCosts:
    case Endpoint::kItemsCosts:
    case Endpoint::kDeploymentItems:
    case Endpoint::kV2Instances:
    case Endpoint::kV2InstanceItems:
    case Endpoint::kV2Items:
    case Endpoint::kV2Charts:
    case Endpoint::kV2InstanceCharts:
      return true;
    case Endpoint::kCostsOverview:
    case Endpoint::kGetOrganization:
    case Endpoint::kIngestUsage:
    case Endpoint::kAddCredit:
    case Endpoint::kCreditLineItems:
    case Endpoint::kSignIn:
    case Endpoint::kWhoAmI:
    case Endpoint::kSignOut:
    case Endpoint::kListOrganizations:
      break;
  }
  return false;
}

// PrepareRead, or PrepareReadV2 on a v2 endpoint, for a cacheable endpoint's request.
Result<service::CostsService::ReadKey> PrepareCachedRead(const Admission& admission, const Services& services) {
  const Route& route = admission.route;
  const Endpoint e = route.endpoint;
  if (IsV2(e)) {
    const bool chart = e == Endpoint::kV2Charts || e == Endpoint::kV2InstanceCharts;
    const bool instance = e == Endpoint::kV2InstanceItems || e == Endpoint::kV2InstanceCharts;
    return services.costs.PrepareReadV2(admission.principal, route.organization_id, V2QueryOf(route), chart, instance);
  }
  const bool chart = e == Endpoint::kOrganizationCharts || e == Endpoint::kDeploymentCharts;
  return services.costs.PrepareRead(admission.principal, route.organization_id, RangeOf(route), chart);
}

// PrepareCachedRead from what the process holds in memory (CostsService::PrepareHeldRead):
// nullopt when it would ask the store.
std::optional<Result<service::CostsService::ReadKey>> PrepareHeldCachedRead(const Admission& admission,
                                                                            const Services& services) {
  const Route& route = admission.route;
  const Endpoint e = route.endpoint;
  if (IsV2(e)) {
    const bool chart = e == Endpoint::kV2Charts || e == Endpoint::kV2InstanceCharts;
    const bool instance = e == Endpoint::kV2InstanceItems || e == Endpoint::kV2InstanceCharts;
    return services.costs.PrepareHeldReadV2(admission.principal, route.organization_id, V2QueryOf(route), chart,
                                            instance);
  }
  const bool chart = e == Endpoint::kOrganizationCharts || e == Endpoint::kDeploymentCharts;
  return services.costs.PrepareHeldRead(admission.principal, route.organization_id, RangeOf(route), chart);
}

// Whether `route` may be served from the body cache at all, and its variant there.
std::optional<std::uint8_t> CachedVariantOf(const Route& route, const Services& services) {
  if (services.body_cache == nullptr || !IsCacheable(route.endpoint) || !route.query.Get("from") ||
      !route.query.Get("to")) {
    return std::nullopt;
  }
  return BodyVariantOf(route);
}

BodyKey BodyKeyOf(const Admission& admission, const service::CostsService::ReadKey& read, std::uint8_t variant) {
  const Route& route = admission.route;
  return BodyKey{route.endpoint,     route.organization_id, route.deployment_id,
                 read.range.from.ns, read.range.to.ns,      read.strategy,
                 admission.format,   read.version,          variant};
}

// A 200 carrying a stored body, as the endpoint answers it.
Response StoredBody(const Admission& admission, std::shared_ptr<const std::string> body) {
  const bool negotiated = OffersOf(admission.route.endpoint).size() > 1;
  Response res = negotiated ? Negotiated({}, admission.format) : Ok({});
  res.shared_body = std::move(body);
  return res;
}

// How an endpoint's 200 is tagged (etag.hpp): by its read key (kRange); by its read key and
// the current time (kRangeAtNow: the overview, whose balance depends on it); by the
// organization's data version and the current time alone (kNow: the credits' line items); by
// the body (kBody: the organization lookup); or not at all.
enum class Tagging { kNone, kRange, kRangeAtNow, kNow, kBody };

Tagging TaggingOf(Endpoint endpoint) {
  if (IsCacheable(endpoint)) return Tagging::kRange;
  switch (endpoint) {
    case Endpoint::kCostsOverview:
      return Tagging::kRangeAtNow;
    case Endpoint::kCreditLineItems:
      return Tagging::kNow;
    case Endpoint::kGetOrganization:
      return Tagging::kBody;
    default:
      return Tagging::kNone;
  }
}

// The read key a tagged request's ETag is made of: PrepareCachedRead for the range endpoints;
// PrepareRead for the overview (it validates as the overview does); for the line items
// PrepareRead without a range (their only errors, authorization and the store's, are the
// same), the range then left out of the tag. Errors are the endpoint's own.
Result<service::CostsService::ReadKey> PrepareTagRead(const Admission& admission, Tagging tagging,
                                                      const Services& services) {
  const Route& route = admission.route;
  if (tagging == Tagging::kRange) return PrepareCachedRead(admission, services);
  const service::RangeQuery range = tagging == Tagging::kNow ? service::RangeQuery{} : RangeOf(route);
  Result<service::CostsService::ReadKey> read =
      services.costs.PrepareRead(admission.principal, route.organization_id, range, /*chart=*/false);
  if (read && tagging == Tagging::kNow) read->range = {};
  return read;
}

// What every tagged answer, 200 or 304, carries.
void AddValidators(Response& res, const std::string& etag) {
  res.headers.emplace_back("ETag", etag);
  res.headers.emplace_back("Cache-Control", "private, no-cache");
}

// 304 Not Modified: no body, the validators and Vary of the 200 it stands for.
Response NotModified(const Admission& admission, const std::string& etag) {
  const bool negotiated = OffersOf(admission.route.endpoint).size() > 1;
  Response res = negotiated ? Negotiated({}, admission.format) : Ok({});
  res.status = 304;
  res.content_type.clear();
  AddValidators(res, etag);
  return res;
}

// The 200 `res` with its validators, or a 304 when the request's If-None-Match names them.
Response Validated(Response res, const Admission& admission, const Request& request, const std::string& etag) {
  if (res.status != 200 || res.error) return res;  // errors carry no tag
  if (IfNoneMatchHits(request.if_none_match, etag)) return NotModified(admission, etag);
  AddValidators(res, etag);
  return res;
}

// The body of a tagged range request: from services.body_cache where the body is cacheable
// (a stored body as it is, else rendered and a success stored), else rendered. Only ranges
// with both `from` and `to` are stored: a defaulted `to` is the current time, which no later
// request asks for again (v2 requires both anyway).
Response RenderOrFind(const Admission& admission, const Request& request, const Services& services, BodyKey key) {
  if (!CachedVariantOf(admission.route, services)) return Serve(admission, request, services);
  std::shared_ptr<const std::string> stored = services.body_cache->Find(key);
  services.metrics->BodyCacheLookup(stored != nullptr);
  if (stored) return StoredBody(admission, std::move(stored));
  // The body is computed after the version was read, so it is at least as new as the key.
  Response res = Serve(admission, request, services);
  if (res.status != 200 || res.error) return res;  // errors are never stored
  auto body = std::make_shared<const std::string>(std::move(res.body));
  res.body.clear();
  services.body_cache->Insert(std::move(key), body);
  res.shared_body = std::move(body);
  return res;
}

// Serve, with the ETag of a billing GET: its read key (PrepareTagRead) authorizes and validates
// the request and reads the organization's data version (its errors are answered as the
// endpoint's own); a request whose If-None-Match names the tag gets 304 before any data is
// read; otherwise the body (RenderOrFind) is a function of the key, data read after the
// version being at least as new as it.
Response ServeTagged(const Admission& admission, const Request& request, const Services& services) {
  const Tagging tagging = TaggingOf(admission.route.endpoint);
  if (tagging == Tagging::kNone) return Serve(admission, request, services);
  if (tagging == Tagging::kBody) {
    Response res = Serve(admission, request, services);
    const std::string etag = EntityTagOfBody(res.BodyView());
    return Validated(std::move(res), admission, request, etag);
  }
  const std::optional<std::uint8_t> variant = BodyVariantOf(admission.route);
  if (!variant) return Serve(admission, request, services);  // answers the invalid option
  Result<service::CostsService::ReadKey> read = PrepareTagRead(admission, tagging, services);
  if (!read) return MakeErrorResponse(read.error(), ErrorExtrasOf(admission.route.endpoint));
  BodyKey key = BodyKeyOf(admission, *read, *variant);
  const std::optional<std::int64_t> now =
      tagging == Tagging::kRange ? std::nullopt : std::optional<std::int64_t>(services.costs.Now().ns);
  const std::string etag = EntityTagOf(key, now);
  if (IfNoneMatchHits(request.if_none_match, etag)) return NotModified(admission, etag);
  return Validated(RenderOrFind(admission, request, services, std::move(key)), admission, request, etag);
}

// Why a request is refused after authentication, from its header alone (admin-only
// operations, body media types, Accept), or nullopt. Sets admission.format.
std::optional<Response> CheckOperation(const Request& request, Admission& admission) {
  const Endpoint endpoint = admission.route.endpoint;
  if (endpoint == Endpoint::kIngestUsage || endpoint == Endpoint::kAddCredit) {
    if (!admission.principal.is_admin) {
      return MakeErrorResponse(MakeError(ErrorCode::kForbidden, endpoint == Endpoint::kIngestUsage
                                                                    ? "Only platform admins may ingest usage records."
                                                                    : "Only platform admins may add credits."));
    }
    if (endpoint == Endpoint::kIngestUsage && !IsNdjsonMediaType(request.content_type)) {
      return MakeErrorResponse(MakeError(ErrorCode::kUnsupportedMediaType,
                                         "Send usage records as NDJSON (Content-Type: application/x-ndjson).",
                                         {"Content-Type"}));
    }
    if (endpoint == Endpoint::kAddCredit && !IsJsonMediaType(request.content_type)) {
      return MakeErrorResponse(MakeError(ErrorCode::kUnsupportedMediaType,
                                         "Send the credit as JSON (Content-Type: application/json).",
                                         {"Content-Type"}));
    }
  }
  const std::span<const Format> offers = OffersOf(endpoint);
  if (offers.size() == 1) {
    // A JSON-only resource ignores Accept (RFC 9110 allows serving the default): clients send
    // all sorts of Accept headers, and a 406 would only break them.
    admission.format = offers.front();
    return std::nullopt;
  }
  const std::optional<Format> format = NegotiateFormat(request.accept, offers);
  if (!format) {
    const std::string_view message =
        offers.size() > 1 ? "This resource is available as application/json or text/csv only (see Accept)."
                          : "This resource is available as application/json only (see Accept).";
    return MakeRefusalResponse(HttpRefusal::kNotAcceptable, message);
  }
  admission.format = *format;
  return std::nullopt;
}

}  // namespace

std::span<const Format> OffersOf(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kDeploymentsCosts:
    case Endpoint::kItemsCosts:
    case Endpoint::kDeploymentItems:
      return kJsonOrCsv;
    case Endpoint::kCostsOverview:
    case Endpoint::kOrganizationCharts:
    case Endpoint::kDeploymentCharts:
    case Endpoint::kGetOrganization:
    case Endpoint::kIngestUsage:
    case Endpoint::kAddCredit:
    case Endpoint::kV2Instances:
    case Endpoint::kV2InstanceItems:
    case Endpoint::kV2Items:
    case Endpoint::kV2Charts:
    case Endpoint::kV2InstanceCharts:
    case Endpoint::kCreditLineItems:
    case Endpoint::kSignIn:
    case Endpoint::kWhoAmI:
    case Endpoint::kSignOut:
    case Endpoint::kListOrganizations:
      break;
  }
  return kJsonOnly;
}

Admission AdmitRequest(const Request& request, const Services& services, std::size_t max_ingest_body_bytes,
                       bool may_block) {
  Admission admission;
  // /healthz and /readyz: answered here, before routing and authentication (probes.hpp).
  const Probe probe = ProbeOf(request);
  if (probe == Probe::kReady && !may_block && request.method == "GET" && services.readiness) {
    admission.deferred = Deferral::kReadiness;
    return admission;
  }
  if (probe != Probe::kNone) {
    admission.refusal = ProbeResponse(probe, request, probe == Probe::kReady ? CheckReadiness(services) : Status{});
    admission.refusal->route = probe == Probe::kReady ? kReadyzRoute : kHealthzRoute;
    return admission;
  }
  // The dashboard's static files (dashboard.hpp): no credentials, no rate limit, like the probes.
  if (services.dashboard != nullptr) {
    if (std::optional<Response> file = services.dashboard->Serve(request)) {
      admission.refusal = std::move(file);
      admission.refusal->route = kDashboardRoute;
      return admission;
    }
  }
  if (std::optional<Response> metrics = ServeMetrics(request, services)) {
    admission.refusal = std::move(metrics);
    return admission;
  }
  if (services.metrics_only) {
    admission.refusal = MakeErrorResponse(MakeError(ErrorCode::kNotFound, "This listener serves GET /metrics only."));
    return admission;
  }
  RouteResult routed = MatchRoute(request.method, request.target);
  if (!routed.route) {
    ErrorExtras extras;
    extras.allow = routed.allow;
    admission.refusal = MakeErrorResponse(routed.error, extras);
    return admission;
  }
  admission.route = std::move(*routed.route);
  admission.refusal = AdmitCaller(request, services, may_block, admission);
  if (admission.deferred != Deferral::kNone) return admission;
  if (!admission.refusal) admission.refusal = CheckOperation(request, admission);
  if (!admission.refusal) {
    admission.body_limit = admission.route.endpoint == Endpoint::kIngestUsage ? max_ingest_body_bytes : kSmallBodyLimit;
    if (request.chunked && admission.route.endpoint != Endpoint::kIngestUsage) {
      admission.refusal = MakeRefusalResponse(
          HttpRefusal::kLengthRequired, "Only POST /api/v1/billing/usage takes a chunked body; send Content-Length.");
    } else if (request.content_length && *request.content_length > admission.body_limit) {
      admission.refusal = PayloadTooLarge(admission.body_limit);
    }
  }
  if (admission.refusal) {
    admission.refusal->principal = admission.principal.name;
    admission.refusal->route = RouteOf(admission.route.endpoint);
    ChallengeBrowsers(*admission.refusal, request);
    KeepPrivate(*admission.refusal, request, admission.route.endpoint);
  }
  return admission;
}

namespace {

// What every admitted answer gets: its principal (for the log) and its headers for browsers.
Response Finished(Response res, const Admission& admission, const Request& request) {
  if (res.principal.empty()) res.principal = admission.principal.name;
  res.route = RouteOf(admission.route.endpoint);
  ChallengeBrowsers(res, request);
  KeepPrivate(res, request, admission.route.endpoint);
  return res;
}

}  // namespace

std::optional<Response> ServeHeld(const Admission& admission, const Request& request, const Services& services) {
  const std::optional<std::uint8_t> variant = CachedVariantOf(admission.route, services);
  if (!variant) return std::nullopt;
  std::optional<Result<service::CostsService::ReadKey>> read = PrepareHeldCachedRead(admission, services);
  if (!read || !*read) return std::nullopt;  // errors too are answered on the pool, as ever
  BodyKey key = BodyKeyOf(admission, **read, *variant);
  const std::string etag = EntityTagOf(key);  // a cacheable endpoint: Tagging::kRange
  if (IfNoneMatchHits(request.if_none_match, etag)) return Finished(NotModified(admission, etag), admission, request);
  std::shared_ptr<const std::string> body = services.body_cache->Find(key);
  if (!body) return std::nullopt;  // counted when ServeAdmitted looks it up again
  services.metrics->BodyCacheLookup(true);
  return Finished(Validated(StoredBody(admission, std::move(body)), admission, request, etag), admission, request);
}

Response ServeAdmitted(const Admission& admission, const Request& request, const Services& services) {
  return Finished(ServeTagged(admission, request, services), admission, request);
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
