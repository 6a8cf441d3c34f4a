#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace costs::http {

// The API operations we serve, all under /api/v1.
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
};

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
  std::string deployment_id;    // percent-decoded, non-empty on the /deployments/{deployment_id}/ paths
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
