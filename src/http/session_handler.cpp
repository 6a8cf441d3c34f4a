#include "http/session_handler.hpp"

#include <utility>

#include "http/client_address.hpp"
#include "http/cookie.hpp"
#include "http/errors.hpp"
#include "http/render.hpp"
#include "http/session_request.hpp"
#include "http/text.hpp"

namespace costs::http {
namespace {

constexpr std::string_view kRequestedWith = "costs";

Response Forbidden(std::string message) {
  return MakeErrorResponse(MakeError(ErrorCode::kForbidden, std::move(message)));
}

Response SessionExpired() {
  return MakeErrorResponse(
      MakeError(ErrorCode::kUnauthenticated, "Your session has expired or was signed out; sign in again."));
}

// The 401's challenge for the dashboard: `Session`, not `Basic` (no browser password dialog).
void ChallengeWithSession(Response& response) {
  for (auto& [name, value] : response.headers) {
    if (EqualsIgnoreCase(name, "WWW-Authenticate")) value = "Session realm=\"costs\"";
  }
}

std::optional<Response> CheckOrigin(const Request& request) {
  if (OriginMatches(request.origin, request.host)) return std::nullopt;
  return Forbidden("The request comes from another site (its Origin is not this server's); it is refused.");
}

}  // namespace

Response RateLimited(std::string message, int retry_after_seconds) {
  ErrorExtras extras;
  extras.retry_after_seconds = retry_after_seconds;
  return MakeErrorResponse(MakeError(ErrorCode::kRateLimited, std::move(message)), extras);
}

Response TooManyLogins(const Services& services) {
  services.metrics->RateLimited(service::Metrics::Limiter::kHashQueue);
  return MakeErrorResponse(
      MakeError(ErrorCode::kRateLimited, "Too many logins are being verified; retry in a second."));
}

std::optional<Response> LoginLockout(const Services& services, const std::string& login_key) {
  if (const int wait = services.failed_logins.Peek(login_key); wait > 0) {
    services.metrics->RateLimited(service::Metrics::Limiter::kFailedLogins);
    return RateLimited("Too many failed logins from this address; retry later.", wait);
  }
  return std::nullopt;
}

std::optional<Response> TakePrincipalToken(const Services& services, std::string_view name) {
  if (const int wait = services.per_principal.Acquire(name); wait > 0) {
    services.metrics->RateLimited(service::Metrics::Limiter::kPerPrincipal);
    return RateLimited("Too many requests; retry after " + std::to_string(wait) + " s.", wait);
  }
  return std::nullopt;
}

Response FailedLogin(const Services& services, const std::string& login_key, bool api_key) {
  if (api_key) {
    if (auto refusal = LoginLockout(services, login_key)) return std::move(*refusal);
  }
  services.metrics->LoginFailed();
  (void)services.failed_logins.Acquire(login_key);
  return MakeErrorResponse(
      MakeError(ErrorCode::kUnauthenticated, api_key ? "The API key is not valid (unknown, revoked or expired)."
                                                     : "The user name or password is wrong."));
}

bool OriginMatches(std::string_view origin, std::string_view host) {
  if (origin.empty()) return true;
  struct Scheme {
    std::string_view prefix;
    std::string_view default_port;
  };
  for (const Scheme scheme : {Scheme{"http://", ":80"}, Scheme{"https://", ":443"}}) {
    if (origin.size() > scheme.prefix.size() &&
        EqualsIgnoreCase(origin.substr(0, scheme.prefix.size()), scheme.prefix)) {
      std::string_view authority = origin.substr(scheme.prefix.size());
      if (authority.ends_with(scheme.default_port)) authority.remove_suffix(scheme.default_port.size());
      if (host.ends_with(scheme.default_port)) host.remove_suffix(scheme.default_port.size());
      return !host.empty() && !authority.empty() && EqualsIgnoreCase(authority, host);
    }
  }
  return false;  // "null", another scheme, or not an origin
}

std::optional<Response> CheckCsrf(const Request& request) {
  if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
  if (request.requested_with != kRequestedWith) {
    return Forbidden(
        "A request signed in by the session cookie that changes something must send the header "
        "X-Requested-With: costs.");
  }
  return CheckOrigin(request);
}

std::optional<std::string_view> SessionCookieOf(const Request& request) {
  if (!request.authorization.empty() || request.cookie.empty()) return std::nullopt;
  return FindCookie(request.cookie, kSessionCookie);
}

std::optional<Response> AdmitBySession(const Request& request, const Services& services, std::string_view id,
                                       bool may_block, Admission& admission) {
  if (CountCookies(request.cookie, kSessionCookie) > 1) {
    Response res = MakeErrorResponse(
        MakeError(ErrorCode::kUnauthenticated,
                  "The request carries more than one costs_session cookie (one may come from another site); they are "
                  "refused and cleared: sign in again."));
    res.headers.emplace_back("Set-Cookie", ClearedSessionCookie(request.https));
    return res;
  }
  if (services.sessions == nullptr || !service::SessionService::IsWellFormedId(id)) return SessionExpired();
  if (auto refusal = CheckCsrf(request)) return refusal;
  if (!may_block) {
    admission.deferred = Deferral::kLookUpSession;
    return std::nullopt;
  }
  Result<service::SessionCaller> caller = services.sessions->Resolve(id);
  if (!caller) {
    if (caller.error().code == ErrorCode::kUnauthenticated) return SessionExpired();
    return MakeErrorResponse(caller.error());
  }
  admission.principal = std::move(caller->principal);
  admission.session_expires = caller->expires;
  return TakePrincipalToken(services, admission.principal.name);
}

std::optional<Response> CheckSessionPath(const Request& request, Endpoint endpoint) {
  if (endpoint == Endpoint::kSignOut && request.requested_with != kRequestedWith) {
    return Forbidden("Signing out must send the header X-Requested-With: costs.");
  }
  if (auto refusal = CheckOrigin(request)) return refusal;
  if (endpoint == Endpoint::kSignIn && !IsJsonMediaType(request.content_type)) {
    return MakeErrorResponse(MakeError(ErrorCode::kUnsupportedMediaType,
                                       "Send the sign-in as JSON (Content-Type: application/json).", {"Content-Type"}));
  }
  return std::nullopt;
}

Response ServeSignIn(const Request& request, const Services& services) {
  Result<SignInRequest> sign_in = DecodeSignInRequest(request.body);
  if (!sign_in) return MakeErrorResponse(sign_in.error());
  const std::string login_key = LoginLimitKey(request.client_address);
  // As Basic and ApiKey: a password costs a slow hash and is refused before it while locked
  // out; a key costs one digest and is checked first, so that a valid key is never locked out.
  if (!sign_in->with_api_key) {
    if (auto refusal = LoginLockout(services, login_key)) return std::move(*refusal);
  }
  // A sign-in from cached credentials is cheap but writes a session: it takes a token of the
  // user's rate limit, before the session is opened.
  std::optional<Response> rate_limited;
  const service::SessionService::Admit admit = [&](const service::Principal& who) -> Status {
    rate_limited = TakePrincipalToken(services, who.name);
    if (rate_limited) return MakeError(ErrorCode::kRateLimited, "rate limited");
    return {};
  };
  Result<service::SignedIn> signed_in =
      sign_in->with_api_key ? services.sessions->SignInWithApiKey(sign_in->api_key, admit)
                            : services.sessions->SignInWithPassword(sign_in->username, sign_in->password, admit);
  if (rate_limited) return std::move(*rate_limited);
  if (!signed_in) {
    if (signed_in.error().code != ErrorCode::kUnauthenticated) return MakeErrorResponse(signed_in.error());
    Response res = FailedLogin(services, login_key, sign_in->with_api_key);
    // This path takes no Authorization: a Basic challenge would ask for what it cannot use.
    ChallengeWithSession(res);
    return res;
  }
  Response res;
  res.status = 201;
  res.body = RenderSessionCaller(signed_in->principal, signed_in->expires);
  res.headers.emplace_back("Set-Cookie", SessionCookie(signed_in->id, request.https));
  res.headers.emplace_back("Cache-Control", "no-store");
  res.principal = signed_in->principal.name;
  return res;
}

Response ServeSignOut(const Request& request, const Services& services) {
  if (const std::optional<std::string_view> id = FindCookie(request.cookie, kSessionCookie)) {
    if (Status s = services.sessions->SignOut(*id); !s) return MakeErrorResponse(s.error());
  }
  Response res;
  res.status = 204;
  res.content_type.clear();
  res.headers.emplace_back("Set-Cookie", ClearedSessionCookie(request.https));
  return res;
}

void KeepPrivate(Response& response, const Request& request, Endpoint endpoint) {
  const bool caller_path = endpoint == Endpoint::kWhoAmI || endpoint == Endpoint::kListOrganizations;
  if (!caller_path && !SessionCookieOf(request)) return;
  if (response.FindHeader("Cache-Control") == nullptr)
    response.headers.emplace_back("Cache-Control", "private, no-cache");
}

void ChallengeBrowsers(Response& response, const Request& request) {
  if (response.status != 401) return;
  const bool browser =
      request.requested_with == kRequestedWith || FindCookie(request.cookie, kSessionCookie).has_value();
  if (browser) ChallengeWithSession(response);
}

}  // namespace costs::http
