#pragma once

#include <optional>
#include <string_view>

#include "http/errors.hpp"
#include "http/handler.hpp"
#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

// The probes of load balancers and orchestrators, outside the API and without credentials or
// rate limits:
//   GET /healthz  200 {"status":"ok"} while the process serves (liveness).
//   GET /readyz   200 {"status":"ready"} when services.readiness() succeeds (the store
//                 answers), else 503 with the BasicFailedReply of billing_service.failed_request
//                 (readiness: take the replica out of rotation; it recovers by itself). No
//                 readiness function: always ready.
// Another method on these paths: 405 with Allow: GET. nullopt for every other target (the
// query string is ignored). Answers are never cached (Cache-Control: no-store).
inline std::optional<Response> ServeProbe(const Request& request, const Services& services) {
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  const bool health = path == "/healthz";
  if (!health && path != "/readyz") return std::nullopt;
  if (request.method != "GET") {
    ErrorExtras extras;
    extras.allow = "GET";
    return MakeErrorResponse(MakeError(ErrorCode::kMethodNotAllowed, "The method is not allowed on this path."),
                             extras);
  }
  Response res;
  if (health) {
    res.body = R"({"status":"ok"})";
  } else if (!services.readiness || services.readiness()) {
    res.body = R"({"status":"ready"})";
  } else {
    res = MakeErrorResponse(MakeError(ErrorCode::kStoreFailed, "This replica cannot reach its store."));
    res.status = 503;
  }
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace costs::http
