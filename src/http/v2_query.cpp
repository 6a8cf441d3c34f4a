#include "http/v2_query.hpp"

namespace costs::http {

service::V2Query V2QueryOf(const Route& route) {
  service::V2Query query;
  query.from = route.query.Get("from");
  query.to = route.query.Get("to");
  switch (route.endpoint) {
    case Endpoint::kV2Charts:
      query.bucketing_strategy = route.query.Get("bucketing_strategy");
      break;
    case Endpoint::kV2InstanceCharts:
      query.bucketing_strategy = route.query.Get("bucketing_strategy");
      query.instance_type = route.query.Get("instance_type");
      break;
    case Endpoint::kV2Items:
      query.serverless_group_by = route.query.Get("serverless_group_by");
      break;
    default:
      break;  // from and to only
  }
  return query;
}

std::optional<std::uint8_t> BodyVariantOf(const Route& route) {
  const service::V2Query query = IsV2(route.endpoint) ? V2QueryOf(route) : service::V2Query{};
  if (route.endpoint == Endpoint::kV2Items) {
    const auto group_by = ParseServerlessGroupBy(query.serverless_group_by);
    if (!group_by) return std::nullopt;
    return static_cast<std::uint8_t>(*group_by);
  }
  if (route.endpoint == Endpoint::kV2InstanceCharts) {
    const auto filter = ParseInstanceTypeFilter(query.instance_type);
    if (!filter) return std::nullopt;
    return static_cast<std::uint8_t>(*filter);
  }
  return 0;
}

}  // namespace costs::http
