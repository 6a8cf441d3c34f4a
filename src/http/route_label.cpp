#include "http/route_label.hpp"

#include <array>

#include "http/router.hpp"

namespace costs::http {
namespace {

constexpr std::array<std::string_view, kUnmatchedRoute + 1> kTemplates = {
    "/api/v1/billing/costs/{organization_id}",
    "/api/v1/billing/costs/{organization_id}/charts",
    "/api/v1/billing/costs/{organization_id}/deployments",
    "/api/v1/billing/costs/{organization_id}/deployments/{deployment_id}/charts",
    "/api/v1/billing/costs/{organization_id}/deployments/{deployment_id}/items",
    "/api/v1/billing/costs/{organization_id}/items",
    "/api/v1/organizations/{organization_id}",
    "/api/v1/billing/usage",
    "/api/v1/billing/credits/{organization_id}",
    "/api/v2/billing/organizations/{organization_id}/costs/instances",
    "/api/v2/billing/organizations/{organization_id}/costs/instances/{instance_id}/items",
    "/api/v2/billing/organizations/{organization_id}/costs/items",
    "/api/v2/billing/organizations/{organization_id}/charts",
    "/api/v2/billing/organizations/{organization_id}/instances/{instance_id}/charts",
    "/api/v1/billing/organization/{organization_id}/line_items",
    "/api/v1/session",
    "/api/v1/session",
    "/api/v1/session",
    "/api/v1/organizations",
    // kEndpointRoutes ...
    "/healthz",
    "/readyz",
    "dashboard",
    "/metrics",
    "unmatched",
};
static_assert(static_cast<std::size_t>(Endpoint::kListOrganizations) + 1 == kEndpointRoutes,
              "one template per Endpoint, in its order");

}  // namespace

std::size_t RouteOf(Endpoint endpoint) { return static_cast<std::size_t>(endpoint); }

std::string_view RouteTemplate(std::size_t route) {
  return kTemplates[route < kTemplates.size() ? route : kUnmatchedRoute];
}

std::vector<std::string> RouteTemplates() { return {kTemplates.begin(), kTemplates.end()}; }

}  // namespace costs::http
