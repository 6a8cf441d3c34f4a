#include "http/access_log.hpp"

#include <spdlog/spdlog.h>

#include <string>

#include "common/log.hpp"
#include "http/errors.hpp"
#include "http/route_label.hpp"

namespace costs::http {
namespace {

constexpr std::size_t kLoggedTargetLimit = 256;  // bytes of an unauthenticated request's target

}  // namespace

void LogAccess(const Services& services, const AccessLine& line, const Response& response) {
  const std::size_t bytes = response.BodyView().size();
  services.metrics->RequestServed(response.route, line.method, response.status, bytes, line.duration);
  std::string_view target = line.target;
  std::string cut;
  if (response.principal.empty() && target.size() > kLoggedTargetLimit) {
    cut.assign(target.substr(0, kLoggedTargetLimit)).append("...");
    target = cut;
  }
  AccessRecord record;
  record.request_id = line.request_id;
  record.remote = line.client;
  record.principal = response.principal;
  record.method = line.method;
  record.route = RouteTemplate(response.route);
  record.target = target;
  record.status = response.status;
  record.bytes = bytes;
  record.duration_us = line.duration.count();
  if (response.error) record.error_code = MapError(response.error->code).wire_code;
  const ScopedRequestId id(line.request_id);
  {
    const ScopedAccessRecord access(record);
    if (AccessLinesStructured()) {
      spdlog::info(std::string_view("access"));  // the formatter writes the record
    } else {
      spdlog::info("{} {} \"{} {}\" {} {}B {}us principal={}", line.request_id, line.client, line.method, target,
                   response.status, bytes, record.duration_us,
                   response.principal.empty() ? std::string_view("-") : std::string_view(response.principal));
    }
  }
  if (response.error && IsServerError(response.error->code)) {
    spdlog::error("request {} failed: {}", line.request_id, response.error->message);
  }
}

}  // namespace costs::http
