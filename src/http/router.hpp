#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace costs::http {

// The API operations we serve: v1 and the Billing API v2's cost and chart operations.
enum class Endpoint {
  kCostsOverview,       // GET  /api/v1/billing/costs/{organization_id}
  kOrganizationCharts,  // GET  /api/v1/billing/costs/{organization_id}/charts
  kDeploymentsCosts,    // GET  /api/v1/billing/costs/{organization_id}/deployments
  kDeploymentCharts,    // GET  /api/v1/billing/costs/{organization_id}/deployments/{deployment_id}/charts
  kDeploymentItems,     // GET  /api/v1/billing/costs/{organization_id}/deployments/{deployment_id}/items
  kItemsCosts,          // GET  /api/v1/billing/costs/{organization_id}/items
  kGetOrganization,     // GET  /api/v1/organizations/{organization_id}
  kIngestUsage,         // POST /api/v1/billing/usage
  kAddCredit,           // POST /api/v1/billing/credits/{organization_id}
  // Billing API v2 (service/instance_costs.hpp); prefix /api/v2/billing/organizations/{organization_id}
  kV2Instances,       // GET  {prefix}/costs/instances
  kV2InstanceItems,   // GET  {prefix}/costs/instances/{instance_id}/items
  kV2Items,           // GET  {prefix}/costs/items
  kV2Charts,          // GET  {prefix}/charts
  kV2InstanceCharts,  // GET  {prefix}/instances/{instance_id}/charts
  kCreditLineItems,   // GET  /api/v1/billing/organization/{organization_id}/line_items (singular "organization")
  // Sessions (the dashboard's cookie) and the caller's organizations.
  kSignIn,             // POST   /api/v1/session
  kWhoAmI,             // GET    /api/v1/session
  kSignOut,            // DELETE /api/v1/session
  kListOrganizations,  // GET    /api/v1/organizations
};

// Whether an endpoint is one of the five v2 cost and chart operations.
bool IsV2(Endpoint endpoint);

// The query parameters of a request, percent-decoded, in order. A raw '+' is a literal plus,
// not a space (clients send RFC 3339 offsets like "+05:30" unencoded); "%2B" is a plus too,
// "%20" a space. A parameter without '=' has an empty value.
class QueryParams {
 public:
  void Add(std::string key, std::string value) { params_.emplace_back(std::move(key), std::move(value)); }

  // The value of the first parameter named `key` (exact, case-sensitive match), or nullopt.
  // The view is valid as long as this object is.
  std::optional<std::string_view> Get(std::string_view key) const;

  std::size_t size() const { return params_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// A matched request: which operation, and its decoded path and query parameters.
struct Route {
  Endpoint endpoint = Endpoint::kGetOrganization;
  std::string organization_id;  // percent-decoded, opaque, non-empty; empty for kIngestUsage
  // Percent-decoded, non-empty on the /deployments/{deployment_id}/ paths and on the v2
  // /instances/{instance_id}/ paths (a v2 instance is a deployment or serverless project).
  std::string deployment_id;
  QueryParams query;
};

struct RouteResult {
  std::optional<Route> route;  // set when the request matched an operation
  // Otherwise why not: kNotFound (no such path), kMethodNotAllowed (the path exists, the
  // method does not; see `allow`), or kInvalidData (the target is not a valid origin-form URL).
  Error error;
  std::string allow;  // with kMethodNotAllowed: the methods the path takes, e.g. "GET"
};

// Routes a request by its method (case-sensitive, as sent: "GET") and target (origin-form,
// as sent: "/api/v1/organizations/org%2Da?x=1"). Path segments are percent-decoded before
// they are compared; a trailing slash or an empty segment does not match. HEAD is not
// allowed where GET is.
RouteResult MatchRoute(std::string_view method, std::string_view target);

}  // namespace costs::http
