#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/handler.hpp"
#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

// The session paths (/api/v1/session) and the session cookie as a credential: what
// handler.cpp's AdmitRequest and ServeAdmitted call for them. Beast-free.

// 429 (Retry-After: 1) when the hash pool has no place left for another login.
Response TooManyLogins(const Services& services);

// 429 billing_service.rate_limited with `message` and Retry-After.
Response RateLimited(std::string message, int retry_after_seconds);

// 429 while the client address (its LoginLimitKey) is locked out after failed logins.
std::optional<Response> LoginLockout(const Services& services, const std::string& login_key);

// Takes one token of the per-principal rate limit for `name`: nullopt, or the 429 with its
// Retry-After when the bucket is empty. Every credential (Basic, ApiKey, the session cookie, a
// sign-in) takes its token here.
std::optional<Response> TakePrincipalToken(const Services& services, std::string_view name);

// The answer to credentials found wrong (a password or an API key, as `api_key` says): while
// the client address is locked out, the lockout's 429 (a key is checked before the lockout,
// since it costs no slow hash); else the failed login is counted and the answer is 401.
Response FailedLogin(const Services& services, const std::string& login_key, bool api_key);

// Whether an Origin header names the request's own origin: "<scheme>://<host>" with <host>
// equal to the Host header, case-insensitive, the default port of the Origin's scheme (:80 for
// http, :443 for https) counting as none on both sides (a browser never writes it in Origin; a
// proxy passing $http_host may keep it in Host). "null" and other schemes never match; an
// empty Origin (not sent) matches.
bool OriginMatches(std::string_view origin, std::string_view host);

// The CSRF rule for a request authenticated by the session cookie that changes state (any
// method but GET and HEAD): it needs "X-Requested-With: costs", and an Origin, when sent, that
// matches its Host. 403 root.forbidden naming what is wrong, or nullopt.
std::optional<Response> CheckCsrf(const Request& request);

// The session id of the request's costs_session cookie, when there is no Authorization header
// and the cookie is sent (possibly empty or malformed), else nullopt.
std::optional<std::string_view> SessionCookieOf(const Request& request);

// Checks the CSRF rule first (a refused request never reaches the store, so it cannot extend
// the session's idle life), then authenticates `request` by its session cookie `id`
// (SessionService::Resolve), then takes a token from the caller's rate limit (keyed by the user
// name). Sets admission.principal and admission.session_expires and returns nullopt when it
// may proceed, else the refusal: 401 root.unauthenticated for several costs_session cookies
// (with the cookie cleared: one set for a wider path or domain could override the user's), a
// malformed, unknown, expired or signed-out session (not counted as a failed login), 403, 429,
// 500. With `may_block` false and a well-formed id, sets admission.deferred (kLookUpSession)
// and does nothing else.
std::optional<Response> AdmitBySession(const Request& request, const Services& services, std::string_view id,
                                       bool may_block, Admission& admission);

// POST /api/v1/session: decodes the body, refuses a locked-out address (429), signs in (a slow
// hash: call on the hash pool), counts a failure against the address (401, challenged with
// `Session` whoever asks: this path takes no Authorization), takes a token of the user's rate
// limit (429 with Retry-After, no session opened), else 201 {"username","is_admin","expires"}
// with the session cookie. REQUIRES: services.sessions.
Response ServeSignIn(const Request& request, const Services& services);

// DELETE /api/v1/session: ends the cookie's session if any; always 204 with the cookie cleared.
// REQUIRES: services.sessions.
Response ServeSignOut(const Request& request, const Services& services);

// The header-stage checks of POST and DELETE /api/v1/session, which take no credentials: the
// Origin (POST, DELETE) and X-Requested-With (DELETE) rules, 403; a sign-in body that is not
// JSON, 415. nullopt when they pass.
std::optional<Response> CheckSessionPath(const Request& request, Endpoint endpoint);

// A 401 to a browser (the request carries "X-Requested-With: costs" or a costs_session cookie)
// challenges with `WWW-Authenticate: Session realm="costs"` instead of Basic, so that the
// browser shows no password dialog of its own.
void ChallengeBrowsers(Response& response, const Request& request);

// `Cache-Control: private, no-cache` on a response to a request that carries the session
// cookie (and no Authorization), and on every response of GET /api/v1/session and
// /api/v1/organizations, unless the response has a Cache-Control of its own: what it says
// depends on who asks.
void KeepPrivate(Response& response, const Request& request, Endpoint endpoint);

}  // namespace costs::http
