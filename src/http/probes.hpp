#pragma once

#include <string_view>

#include "common/result.hpp"
#include "http/errors.hpp"
#include "http/handler.hpp"
#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

// The probes of load balancers and orchestrators, outside the API and without credentials or
// rate limits:
//   GET /healthz  200 {"status":"ok"} while the process serves (liveness). Answered on the I/O
//                 thread; never waits for the store or for password hashing.
//   GET /readyz   200 {"status":"ready"} when services.readiness() succeeds (the store
//                 answers), else 503 with the BasicFailedReply of billing_service.failed_request
//                 (readiness: take the replica out of rotation; it recovers by itself). No
//                 readiness function: always ready. The server runs the check off the I/O
//                 threads and answers 503 when it takes longer than
//                 ServerOptions::readiness_timeout.
// Another method on these paths: 405 with Allow: GET. Answers are never cached
// (Cache-Control: no-store).
enum class Probe { kNone, kHealth, kReady };

// Which probe `request` asks for (the query string is ignored).
inline Probe ProbeOf(const Request& request) {
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz") return Probe::kHealth;
  if (path == "/readyz") return Probe::kReady;
  return Probe::kNone;
}

// services.readiness(), or success when there is none.
inline Status CheckReadiness(const Services& services) { return services.readiness ? services.readiness() : Status{}; }

// The answer to probe `probe` (not kNone), given the outcome of the readiness check (read for
// kReady only).
inline Response ProbeResponse(Probe probe, const Request& request, const Status& readiness) {
  if (request.method != "GET") {
    ErrorExtras extras;
    extras.allow = "GET";
    return MakeErrorResponse(MakeError(ErrorCode::kMethodNotAllowed, "The method is not allowed on this path."),
                             extras);
  }
  Response res;
  if (probe == Probe::kHealth) {
    res.body = R"({"status":"ok"})";
  } else if (readiness) {
    res.body = R"({"status":"ready"})";
  } else {
    res = MakeErrorResponse(MakeError(ErrorCode::kStoreFailed, "This replica cannot reach its store."));
    res.status = 503;
  }
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace costs::http
