#pragma once

#include "http/response.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "service/auth.hpp"

namespace costs::http {

// Serves an admitted request of a Billing API v2 operation (IsV2) or of
// GET /api/v1/billing/organization/{org}/line_items: its query (V2QueryOf) → one CostsService
// call (Instances, Products, ChartV2, CreditLines) → its body (render_v2.hpp, RenderTypedChart).
// Errors are the one table's (errors.hpp): an unknown instance is 404 root.not_found. No
// BodyCache here (handler.cpp's ServeTagged wraps it). Beast-free.
// REQUIRES: IsV2(route.endpoint) or route.endpoint == Endpoint::kCreditLineItems.
Response ServeV2(const Route& route, const service::Principal& who, const Services& services);

}  // namespace costs::http
