#include "http/router.hpp"

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace costs::http {
namespace {

// One more than the longest route has, so that a longer path, cut here, still matches nothing.
constexpr std::size_t kMaxSegments = 10;

struct PathPattern {
  std::array<std::string_view, 9> segments;  // kOrg / kDeployment mark path parameters
  std::size_t size;
  Endpoint endpoint;
  std::string_view method;
};

constexpr std::string_view kOrg = "{organization_id}";
constexpr std::string_view kDeployment = "{deployment_id}";  // also {instance_id}: a v2 instance is a deployment

constexpr PathPattern kPatterns[] = {
    {{"api", "v1", "billing", "costs", kOrg}, 5, Endpoint::kCostsOverview, "GET"},
    {{"api", "v1", "billing", "costs", kOrg, "charts"}, 6, Endpoint::kOrganizationCharts, "GET"},
    {{"api", "v1", "billing", "costs", kOrg, "deployments"}, 6, Endpoint::kDeploymentsCosts, "GET"},
    {{"api", "v1", "billing", "costs", kOrg, "deployments", kDeployment, "charts"},
     8,
     Endpoint::kDeploymentCharts,
     "GET"},
    {{"api", "v1", "billing", "costs", kOrg, "deployments", kDeployment, "items"},
     8,
     Endpoint::kDeploymentItems,
     "GET"},
    {{"api", "v1", "billing", "costs", kOrg, "items"}, 6, Endpoint::kItemsCosts, "GET"},
    {{"api", "v1", "organizations", kOrg}, 4, Endpoint::kGetOrganization, "GET"},
    {{"api", "v1", "organizations"}, 3, Endpoint::kListOrganizations, "GET"},
    {{"api", "v1", "session"}, 3, Endpoint::kSignIn, "POST"},
    {{"api", "v1", "session"}, 3, Endpoint::kWhoAmI, "GET"},
    {{"api", "v1", "session"}, 3, Endpoint::kSignOut, "DELETE"},
    {{"api", "v1", "billing", "usage"}, 4, Endpoint::kIngestUsage, "POST"},
    {{"api", "v1", "billing", "credits", kOrg}, 5, Endpoint::kAddCredit, "POST"},
    {{"api", "v1", "billing", "organization", kOrg, "line_items"}, 6, Endpoint::kCreditLineItems, "GET"},
    {{"api", "v2", "billing", "organizations", kOrg, "costs", "instances"}, 7, Endpoint::kV2Instances, "GET"},
    {{"api", "v2", "billing", "organizations", kOrg, "costs", "instances", kDeployment, "items"},
     9,
     Endpoint::kV2InstanceItems,
     "GET"},
    {{"api", "v2", "billing", "organizations", kOrg, "costs", "items"}, 7, Endpoint::kV2Items, "GET"},
    {{"api", "v2", "billing", "organizations", kOrg, "charts"}, 6, Endpoint::kV2Charts, "GET"},
    {{"api", "v2", "billing", "organizations", kOrg, "instances", kDeployment, "charts"},
     8,
     Endpoint::kV2InstanceCharts,
     "GET"},
};

// Whether `segments` fit `pattern`; on a match, the path parameters (if any) are stored.
bool Matches(const PathPattern& pattern, const std::vector<std::string>& segments, std::string& org_id,
             std::string& deployment_id) {
  if (segments.size() != pattern.size) return false;
  std::string_view org;
  std::string_view deployment;
  for (std::size_t i = 0; i < pattern.size; ++i) {
    if (pattern.segments[i] == kOrg || pattern.segments[i] == kDeployment) {
      if (segments[i].empty()) return false;
      (pattern.segments[i] == kOrg ? org : deployment) = segments[i];
    } else if (segments[i] != pattern.segments[i]) {
      return false;
    }
  }
  org_id.assign(org);
  deployment_id.assign(deployment);
  return true;
}

}  // namespace

bool IsV2(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kV2Instances:
    case Endpoint::kV2InstanceItems:
    case Endpoint::kV2Items:
    case Endpoint::kV2Charts:
    case Endpoint::kV2InstanceCharts:
      return true;
    default:  // v1
      return false;
  }
}

std::optional<std::string_view> QueryParams::Get(std::string_view key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

RouteResult MatchRoute(std::string_view method, std::string_view target) {
  RouteResult result;
  const auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    result.error = MakeError(ErrorCode::kInvalidData, "The request target is not a valid URL path and query.");
    return result;
  }
  const boost::urls::url_view url = *parsed;

  // The segments as sent, percent-decoded. Not url.segments(): it hides a leading "/." (so
  // "/./api/v1/..." would match while "/api/./v1/..." does not); no dot segment is removed here.
  std::vector<std::string> segments;
  const std::string_view path = url.encoded_path();  // origin-form: starts with '/'
  for (std::size_t begin = 1; begin <= path.size() && segments.size() < kMaxSegments;) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    segments.push_back(boost::urls::pct_string_view(path.substr(begin, end - begin)).decode());
    begin = end + 1;
  }

  std::string org_id;
  std::string deployment_id;
  for (const PathPattern& pattern : kPatterns) {
    if (!Matches(pattern, segments, org_id, deployment_id)) continue;
    if (method != pattern.method) {
      if (!result.allow.empty()) result.allow.append(", ");
      result.allow.append(pattern.method);
      continue;
    }
    Route route;
    route.endpoint = pattern.endpoint;
    route.organization_id = std::move(org_id);
    route.deployment_id = std::move(deployment_id);
    // Decoding with the default options keeps a raw '+' as '+'.
    for (const auto param : url.encoded_params()) {
      route.query.Add(param.key.decode(), param.has_value ? param.value.decode() : std::string());
    }
    result.route = std::move(route);
    result.allow.clear();
    return result;
  }
  if (!result.allow.empty()) {
    result.error = MakeError(ErrorCode::kMethodNotAllowed,
                             "The method " + std::string(method.substr(0, 16)) + " is not allowed on this path.");
    return result;
  }
  result.error = MakeError(ErrorCode::kNotFound, "There is no such API path.");
  return result;
}

}  // namespace costs::http
