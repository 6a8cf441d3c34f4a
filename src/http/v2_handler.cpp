#include "http/v2_handler.hpp"

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "http/errors.hpp"
#include "http/render.hpp"
#include "http/render_v2.hpp"
#include "http/v2_query.hpp"

namespace costs::http {
namespace {

// A 200 application/json response, or the error response of `result`.
template <class T, class Render>
Response Answer(const Result<T>& result, Render render) {
  if (!result) return MakeErrorResponse(result.error());
  Response res;  // 200, application/json
  res.body = render(*result);
  return res;
}

// The instance id of the /instances/{instance_id}/ paths, else nullopt (the organization's).
std::optional<std::string_view> InstanceOf(const Route& route) {
  if (route.endpoint == Endpoint::kV2InstanceItems || route.endpoint == Endpoint::kV2InstanceCharts) {
    return route.deployment_id;
  }
  return std::nullopt;
}

}  // namespace

Response ServeV2(const Route& route, const service::Principal& who, const Services& services) {
  const std::string_view org = route.organization_id;
  switch (route.endpoint) {
    case Endpoint::kV2Instances:
      return Answer(services.costs.Instances(who, org, V2QueryOf(route)), RenderInstancesCosts);
    case Endpoint::kV2InstanceItems:
    case Endpoint::kV2Items:
      return Answer(services.costs.Products(who, org, InstanceOf(route), V2QueryOf(route)), RenderProductsCosts);
    case Endpoint::kV2Charts:
    case Endpoint::kV2InstanceCharts:
      return Answer(services.costs.ChartV2(who, org, InstanceOf(route), V2QueryOf(route)), RenderTypedChart);
    case Endpoint::kCreditLineItems:
      return Answer(services.costs.CreditLines(who, org), RenderCreditLines);
    default:  // the v1 endpoints: handler.cpp serves them
      break;
  }
  assert(false && "ServeV2 called for a v1 endpoint");
  return MakeErrorResponse(MakeError(ErrorCode::kInternal, "unhandled endpoint"));
}

}  // namespace costs::http
