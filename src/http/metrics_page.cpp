#include "http/metrics_page.hpp"

#include "http/errors.hpp"
#include "http/route_label.hpp"
#include "http/text.hpp"

namespace costs::http {
namespace {

constexpr std::string_view kBearer = "Bearer ";

bool Authorized(std::string_view authorization, std::string_view token) {
  if (token.empty()) return true;
  if (authorization.size() < kBearer.size() || !EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  return ConstantTimeEquals(authorization.substr(kBearer.size()), token);
}

Response Answer(const Request& request, const Services& services) {
  if (request.method != "GET" && request.method != "HEAD") {
    ErrorExtras extras;
    extras.allow = "GET";
    return MakeErrorResponse(MakeError(ErrorCode::kMethodNotAllowed, "The method is not allowed on this path."),
                             extras);
  }
  if (!Authorized(request.authorization, services.metrics_token)) {
    Response res = MakeErrorResponse(
        MakeError(ErrorCode::kUnauthenticated, "GET /metrics needs Authorization: Bearer with the metrics token."));
    for (auto& [name, value] : res.headers) {
      if (EqualsIgnoreCase(name, "WWW-Authenticate")) value = "Bearer realm=\"metrics\"";
    }
    return res;
  }
  Response res;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = services.metrics_text();
  return res;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of b is compared with a byte of a (cycled), whatever differs first.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = a.empty() ? 0 : static_cast<unsigned char>(a[i % a.size()]);
    diff |= static_cast<unsigned char>(x ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

std::optional<Response> ServeMetrics(const Request& request, const Services& services) {
  if (!services.metrics_text) return std::nullopt;
  if (request.target.substr(0, request.target.find('?')) != "/metrics") return std::nullopt;
  Response res = Answer(request, services);
  res.headers.emplace_back("Cache-Control", "no-store");
  res.route = kMetricsRoute;
  return res;
}

}  // namespace costs::http
