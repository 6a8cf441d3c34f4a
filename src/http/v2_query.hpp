#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "http/router.hpp"
#include "service/instance_costs.hpp"

// The query parameters of the Billing API v2 operations, read from a route. Beast-free.
namespace costs::http {

// The parameters each v2 operation takes, as received (views into route.query): `from` and
// `to` everywhere; `bucketing_strategy` on both charts; `serverless_group_by` on the
// organization's costs/items; `instance_type` on an instance's charts. Every other parameter
// (include_names among them: names are always known here) is ignored, as on v1.
// REQUIRES: IsV2(route.endpoint). The views are valid as long as `route` is.
service::V2Query V2QueryOf(const Route& route);

// The v2 enums and their one parser each live with the service (instance_costs.hpp).
using service::InstanceTypeFilter;
using service::ParseInstanceTypeFilter;
using service::ParseServerlessGroupBy;
using service::ServerlessGroupBy;

// What of a v2 request's query changes its body besides the range and the bucketing strategy,
// as one small number for the BodyKey: the normalized serverless_group_by on costs/items, the
// normalized instance_type on an instance's charts, 0 elsewhere (and on every v1 endpoint), so
// that `Product_Family` and `product_family` share a body and `product` and `product_family`
// do not. nullopt when the value is not one of its enum (the request is then not cached; the
// service refuses it anyway).
std::optional<std::uint8_t> BodyVariantOf(const Route& route);

}  // namespace costs::http
