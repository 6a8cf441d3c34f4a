// Fuzz target: the router and the query string (src/http/router.hpp), against a reference
// reading of RFC 9112 origin-form written here (RFC 3986 path-absolute and query, percent
// decoding, '&'-separated parameters split at the first '=').
// Input: the first byte picks the method, the rest is the target.
// Properties: a target is refused as kInvalidData exactly when the reference finds it is not
// origin-form; otherwise the segments the reference decodes pick the route (or 404/405 with
// an Allow list), with the decoded organization and deployment ids; the query parameters are
// the reference's, in number and (first occurrence of each key) value. On the v2 routes,
// V2QueryOf gives each operation exactly its parameters (the first of each, as decoded) and
// BodyVariantOf reads serverless_group_by / instance_type as a case-insensitive reference does.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http/router.hpp"
#include "http/v2_query.hpp"

namespace {

using costs::http::Endpoint;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsPchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

// Percent-decodes `s`, whose characters are `allowed` or %XX; nullopt otherwise.
template <class Allowed>
std::optional<std::string> Decode(std::string_view s, Allowed allowed) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || Hex(s[i + 1]) < 0 || Hex(s[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else if (allowed(s[i])) {
      out.push_back(s[i]);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

struct RefTarget {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> params;
};

std::optional<RefTarget> ReadTarget(std::string_view target) {
  if (target.empty() || target[0] != '/') return std::nullopt;
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  RefTarget out;
  for (std::size_t pos = 1; pos <= path.size();) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    auto segment = Decode(path.substr(pos, end - pos), IsPchar);
    if (!segment) return std::nullopt;
    out.segments.push_back(std::move(*segment));
    pos = end + 1;
  }
  if (path == "/") out.segments.clear();
  if (q == std::string_view::npos) return out;
  const std::string_view query = target.substr(q + 1);
  const auto query_char = [](char c) { return IsPchar(c) || c == '/' || c == '?'; };
  if (!Decode(query, query_char)) return std::nullopt;
  for (std::size_t pos = 0; pos <= query.size();) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(pos, end - pos);
    const std::size_t eq = param.find('=');
    auto key = Decode(param.substr(0, eq), query_char);
    auto value = eq == std::string_view::npos ? std::string() : *Decode(param.substr(eq + 1), query_char);
    out.params.emplace_back(std::move(*key), std::move(value));
    pos = end + 1;
  }
  return out;
}

struct RefRoute {
  Endpoint endpoint;
  const char* method;
  std::string org;
  std::string deployment;
};

// The route the segments name, whatever the method.
// The v2 routes: /api/v2/billing/organizations/{org}/...
void V2Candidates(const std::vector<std::string>& s, std::vector<RefRoute>& out) {
  const std::size_t n = s.size();
  if (n < 6 || s[2] != "billing" || s[3] != "organizations" || s[4].empty()) return;
  if (n == 6 && s[5] == "charts") out.push_back({Endpoint::kV2Charts, "GET", s[4], ""});
  if (n == 7 && s[5] == "costs" && s[6] == "instances") out.push_back({Endpoint::kV2Instances, "GET", s[4], ""});
  if (n == 7 && s[5] == "costs" && s[6] == "items") out.push_back({Endpoint::kV2Items, "GET", s[4], ""});
  if (n == 8 && s[5] == "instances" && !s[6].empty() && s[7] == "charts") {
    out.push_back({Endpoint::kV2InstanceCharts, "GET", s[4], s[6]});
  }
  if (n == 9 && s[5] == "costs" && s[6] == "instances" && !s[7].empty() && s[8] == "items") {
    out.push_back({Endpoint::kV2InstanceItems, "GET", s[4], s[7]});
  }
}

std::vector<RefRoute> Candidates(const std::vector<std::string>& s) {
  std::vector<RefRoute> out;
  const std::size_t n = s.size();
  if (n >= 4 && s[0] == "api" && s[1] == "v2") V2Candidates(s, out);
  if (n < 4 || s[0] != "api" || s[1] != "v1") return out;
  if (n == 6 && s[2] == "billing" && s[3] == "organization" && !s[4].empty() && s[5] == "line_items") {
    out.push_back({Endpoint::kCreditLineItems, "GET", s[4], ""});
  }
  if (n == 4 && s[2] == "organizations" && !s[3].empty()) out.push_back({Endpoint::kGetOrganization, "GET", s[3], ""});
  if (n == 4 && s[2] == "billing" && s[3] == "usage") out.push_back({Endpoint::kIngestUsage, "POST", "", ""});
  if (s[2] != "billing" || n < 5 || s[4].empty()) return out;
  if (n == 5 && s[3] == "credits") out.push_back({Endpoint::kAddCredit, "POST", s[4], ""});
  if (s[3] != "costs") return out;
  if (n == 5) out.push_back({Endpoint::kCostsOverview, "GET", s[4], ""});
  if (n == 6 && s[5] == "charts") out.push_back({Endpoint::kOrganizationCharts, "GET", s[4], ""});
  if (n == 6 && s[5] == "deployments") out.push_back({Endpoint::kDeploymentsCosts, "GET", s[4], ""});
  if (n == 6 && s[5] == "items") out.push_back({Endpoint::kItemsCosts, "GET", s[4], ""});
  if (n == 8 && s[5] == "deployments" && !s[6].empty() && s[7] == "charts") {
    out.push_back({Endpoint::kDeploymentCharts, "GET", s[4], s[6]});
  }
  if (n == 8 && s[5] == "deployments" && !s[6].empty() && s[7] == "items") {
    out.push_back({Endpoint::kDeploymentItems, "GET", s[4], s[6]});
  }
  return out;
}

// The first value of `key` in the reference's parameters, or nullopt.
std::optional<std::string_view> RefParam(const RefTarget& ref, std::string_view key) {
  for (const auto& [k, v] : ref.params) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The variant a reference reading gives: the index of the lower-cased value in its enum (absent:
// the first), -1 when it is none of them.
int RefVariant(std::optional<std::string_view> value, std::initializer_list<std::string_view> names) {
  if (!value) return 0;
  int i = 0;
  for (std::string_view name : names) {
    if (Lower(*value) == name) return i;
    ++i;
  }
  return -1;
}

void CheckV2Query(const costs::http::Route& route, const RefTarget& ref) {
  using costs::http::BodyVariantOf;
  const Endpoint e = route.endpoint;
  const std::optional<std::uint8_t> variant = BodyVariantOf(route);
  if (!costs::http::IsV2(e)) {
    FUZZ_CHECK(variant == 0, "a v1 route has a body variant");
    return;
  }
  const costs::service::V2Query q = costs::http::V2QueryOf(route);
  const bool chart = e == Endpoint::kV2Charts || e == Endpoint::kV2InstanceCharts;
  FUZZ_CHECK(q.from == RefParam(ref, "from") && q.to == RefParam(ref, "to"), "from/to");
  FUZZ_CHECK(q.bucketing_strategy == (chart ? RefParam(ref, "bucketing_strategy") : std::nullopt),
             "bucketing_strategy");
  const auto group_by = e == Endpoint::kV2Items ? RefParam(ref, "serverless_group_by") : std::nullopt;
  const auto instance_type = e == Endpoint::kV2InstanceCharts ? RefParam(ref, "instance_type") : std::nullopt;
  FUZZ_CHECK(q.serverless_group_by == group_by && q.instance_type == instance_type,
             "serverless_group_by/instance_type");
  int want = 0;
  if (e == Endpoint::kV2Items) want = RefVariant(group_by, {"product", "product_family"});
  if (e == Endpoint::kV2InstanceCharts) want = RefVariant(instance_type, {"all", "deployments", "projects"});
  FUZZ_CHECK(want < 0 ? !variant : variant == want, "body variant");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr const char* kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "get"};
  const std::string_view method = kMethods[data[0] % 6];
  const std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto result = costs::http::MatchRoute(method, target);
  const auto ref = ReadTarget(target);
  if (!ref) {
    FUZZ_CHECK(!result.route && result.error.code == costs::ErrorCode::kInvalidData,
               "accepted a target that is not origin-form: " + std::string(target));
    return 0;
  }
  FUZZ_CHECK(result.route || result.error.code != costs::ErrorCode::kInvalidData,
             "refused an origin-form target: " + std::string(target));
  const std::vector<RefRoute> candidates = Candidates(ref->segments);
  const RefRoute* match = nullptr;
  for (const RefRoute& c : candidates) {
    if (method == c.method) match = &c;
  }
  if (!match) {
    FUZZ_CHECK(!result.route, "matched a route the reference does not: " + std::string(target));
    const auto expected = candidates.empty() ? costs::ErrorCode::kNotFound : costs::ErrorCode::kMethodNotAllowed;
    FUZZ_CHECK(result.error.code == expected, "404 and 405 mixed up: " + std::string(target));
    FUZZ_CHECK(candidates.empty() == result.allow.empty(), "Allow list");
    return 0;
  }
  FUZZ_CHECK(result.route.has_value(), "missed the route: " + std::string(target));
  const costs::http::Route& route = *result.route;
  FUZZ_CHECK(route.endpoint == match->endpoint, "other endpoint: " + std::string(target));
  FUZZ_CHECK(route.organization_id == match->org && route.deployment_id == match->deployment,
             "other path parameters: " + std::string(target));
  FUZZ_CHECK(route.query.size() == ref->params.size(), "other number of query parameters: " + std::string(target));
  for (const auto& [key, value] : ref->params) {
    std::optional<std::string_view> first;
    for (const auto& [k, v] : ref->params) {
      if (k == key) {
        first = v;
        break;
      }
    }
    FUZZ_CHECK(route.query.Get(key) == first, "other value of query parameter " + key);
  }
  CheckV2Query(route, *ref);
  return 0;
}
