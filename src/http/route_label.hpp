#pragma once

// The route templates by which requests are counted (GET /metrics) and logged: one per API
// operation (router.hpp), the probes, the dashboard's files, /metrics, and "unmatched" for
// everything else (404, 405, a target that is not origin-form, a request we could not read).
// A client cannot add one: the set is fixed here.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace costs::http {

enum class Endpoint;

// Indexes into RouteTemplates(). The API operations come first, at their Endpoint's value.
inline constexpr std::size_t kEndpointRoutes = 19;
inline constexpr std::size_t kHealthzRoute = kEndpointRoutes;
inline constexpr std::size_t kReadyzRoute = kEndpointRoutes + 1;
inline constexpr std::size_t kDashboardRoute = kEndpointRoutes + 2;
inline constexpr std::size_t kMetricsRoute = kEndpointRoutes + 3;
inline constexpr std::size_t kUnmatchedRoute = kEndpointRoutes + 4;  // the last one

// The route index of an API operation.
std::size_t RouteOf(Endpoint endpoint);

// The template of a route index ("unmatched" for one out of range), e.g.
// "/api/v1/billing/costs/{organization_id}/charts".
std::string_view RouteTemplate(std::size_t route);

// Every template, by index (service::Metrics' `route`).
std::vector<std::string> RouteTemplates();

}  // namespace costs::http
