#pragma once

// GET /metrics: the Prometheus text exposition of Services::metrics_text, outside the API:
// no Basic auth and no rate limit. With Services::metrics_token set, only a request carrying
// "Authorization: Bearer TOKEN" is answered (compared in constant time); any other gets 401
// root.unauthenticated with WWW-Authenticate: Bearer realm="metrics". Another method than GET
// (or HEAD): 405 with Allow: GET. Never cached (Cache-Control: no-store).

#include <optional>
#include <string_view>

#include "http/handler.hpp"
#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

// The answer when `request` is for /metrics (the query string is ignored) and
// services.metrics_text is set; nullopt otherwise. Its route is kMetricsRoute.
std::optional<Response> ServeMetrics(const Request& request, const Services& services);

// Whether `a` equals `b`, in a time that depends only on b's length (b: the secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace costs::http
