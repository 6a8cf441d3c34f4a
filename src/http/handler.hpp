#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "http/accept.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "service/auth.hpp"

namespace costs::http {

// One HTTP request, as the session hands it over. Views into the session's request; absent
// headers are empty.
struct Request {
  std::string_view method;          // as sent: "GET"
  std::string_view target;          // origin-form: "/api/v1/organizations/org-a"
  std::string_view authorization;   // the Authorization header
  std::string_view content_type;    // the Content-Type header
  std::string_view accept;          // the Accept header
  std::string_view body;            // empty at the header stage (AdmitRequest)
  std::string_view client_address;  // the peer's IP address, keys the failed-login limiter
  std::string_view cookie;          // the Cookie header (the session cookie: cookie.hpp)
  std::string_view origin;          // the Origin header (CSRF checks)
  std::string_view host;            // the Host header: the request's own origin
  std::string_view requested_with;  // the X-Requested-With header (CSRF checks)
  // The request came over HTTPS: from a trusted proxy (--trusted-proxies) that says
  // X-Forwarded-Proto: https. The session cookie is then Secure.
  bool https = false;
  // The declared Content-Length in bytes; nullopt when there is none (no body, or chunked).
  std::optional<std::uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked (only the usage ingest takes it)
  // The Accept-Encoding header: whether the dashboard's files may be sent gzip-compressed.
  std::string_view accept_encoding;
  // The If-None-Match header: the billing GETs answer 304 when it names their ETag (etag.hpp).
  std::string_view if_none_match;
};

// The body limit (bytes) of every request but an admitted usage ingest. Such bodies are read
// and ignored; a longer one is answered 413.
inline constexpr std::size_t kSmallBodyLimit = 16 * 1024;

// What AdmitRequest left for a thread that may block (it was called with may_block false).
enum class Deferral {
  kNone,            // decided
  kVerifyPassword,  // Basic credentials not verified recently: a slow hash (and a store read)
  kLookUpKey,       // an API key not verified recently: a store read
  kLookUpSession,   // a session cookie: store reads (sessions are never cached in the process)
  kReadiness,       // GET /readyz: services.readiness() (a store read)
};

// What the header stage decided about a request (AdmitRequest).
struct Admission {
  // Set when AdmitRequest could not decide without blocking: call it again, with may_block,
  // where blocking is fine. The other members are then meaningless.
  Deferral deferred = Deferral::kNone;
  // Set when the request is refused on its header alone: the session sends it without
  // reading the body. The other members are then meaningless.
  std::optional<Response> refusal;
  Route route;                    // the matched operation
  service::Principal principal;   // the authenticated caller; its rate-limit token is taken
  std::size_t body_limit = 0;     // bytes of body the session may read; beyond -> 413
  Format format = Format::kJson;  // the negotiated representation of a successful response
  // Set when the caller was authenticated by the session cookie: the session's end.
  std::optional<domain::Instant> session_expires;
};

// The representations an endpoint offers, in the server's order of preference: JSON, and CSV
// on the deployments and items endpoints. Error bodies are always JSON.
std::span<const Format> OffersOf(Endpoint endpoint);

// Decides on a request from its header alone (request.body is not looked at), in this order:
// the probes and the dashboard's files (services.dashboard: `/`, `/assets/...`; no credentials),
// route (400 for a target that is not origin-form, 404, 405; no credentials needed),
// authenticate with Basic or ApiKey credentials (401; 429 while the client address is locked
// out after failed logins, checked before verifying; a failed verification of either scheme
// counts against the address), take one token from the caller's rate limit (429); for the
// usage ingest and the credits, that the caller is a platform admin (403 root.forbidden) and
// the body NDJSON, respectively JSON (415); the Accept header against OffersOf (406
// root.not_acceptable). Then the body: a chunked body anywhere but the usage ingest is refused
// (411 root.length_required: those bodies are small and read only to be ignored); the body
// limit is `max_ingest_body_bytes` for the usage ingest, kSmallBodyLimit for everything else; a
// declared Content-Length above it is refused (413).
// Verifies credentials and takes a token at most once per call, so a request must not be
// admitted twice. Exceptions thrown by a service propagate to the caller.
// With `may_block` false it decides only what needs no store call and no slow hash (the
// probes' /healthz, routing, cached credentials, rate limits, the checks above) and otherwise
// returns `deferred` set and nothing taken: the I/O threads call it so, and the server's pools
// call it again with `may_block` for the rest.
Admission AdmitRequest(const Request& request, const Services& services, std::size_t max_ingest_body_bytes,
                       bool may_block = true);

// Serves an admitted request: decode -> call one service operation -> encode, with no further
// authentication or rate limiting. Every failure is an error response from the one table in
// errors.hpp; exceptions thrown by a service propagate to the caller (the session answers 500
// and logs them).
// With services.body_cache set, a GET of the org charts, deployment charts, deployments or
// items (org or deployment), or of one of the five v2 operations, whose query has both `from`
// and `to` is served through it: CostsService::PrepareRead (PrepareReadV2) authorizes and
// validates the request and reads the organization's data version (its errors are answered as
// the endpoint's own), then the body stored under (endpoint, organization, deployment or
// instance, resolved range, strategy, format, version, v2 option) is served as
// Response::shared_body, or the endpoint computes and renders it and a 200 is stored.
// Errors are never stored; the overview and the line_items (they depend on the current time)
// and the organization lookup never go through the cache.
// Every billing GET's 200 (those above, the overview, the line_items, the organization lookup)
// carries an ETag (etag.hpp: from the same key, plus the current time where the answer depends
// on it) and Cache-Control: private, no-cache; when request.if_none_match names the tag the
// answer is 304 without a body, before any usage is read. Errors carry no ETag.
// REQUIRES: `admission` came from AdmitRequest for this request, without a refusal, and
// request.body.size() <= admission.body_limit.
Response ServeAdmitted(const Admission& admission, const Request& request, const Services& services);

// ServeAdmitted's answer when it is a body the cache holds and everything needed to find it is
// in memory (CostsService::PrepareHeldRead: an organization seen before, a data version the
// store holds); nullopt otherwise (then ServeAdmitted answers, on a thread that may block).
// Never blocks on I/O: the server calls it on its I/O thread, sparing a cached body two thread
// hand-offs. Same REQUIRES as ServeAdmitted.
std::optional<Response> ServeHeld(const Admission& admission, const Request& request, const Services& services);

// Both stages for a request whose body is at hand (unit tests): AdmitRequest, then 413 when
// the body is longer than the admitted limit, then ServeAdmitted.
Response HandleRequest(const Request& request, const Services& services,
                       std::size_t max_ingest_body_bytes = kDefaultMaxBodyBytes);

}  // namespace costs::http
