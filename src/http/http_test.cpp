#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

#include "domain/chart.hpp"
#include "domain/time.hpp"
#include "http/accept.hpp"
#include "http/auth_header.hpp"
#include "http/credit_request.hpp"
#include "http/csv.hpp"
#include "http/errors.hpp"
#include "http/render.hpp"
#include "http/request_id.hpp"
#include "http/router.hpp"
#include "http/text.hpp"

namespace costs::http {
namespace {

// ---- Error table ----------------------------------------------------------------------

TEST(ErrorTableTest, EveryCodeMapsToItsStatusAndWireCode) {
  struct Row {
    ErrorCode code;
    unsigned status;
    std::string_view wire;
  };
  const Row rows[] = {
      {ErrorCode::kInvalidDateRange, 400, "costs.invalid_date_range"},
      {ErrorCode::kInvalidData, 400, "root.invalid_data"},
      {ErrorCode::kInvalidRecord, 400, "usage.invalid_record"},
      {ErrorCode::kUnauthenticated, 401, "root.unauthenticated"},
      {ErrorCode::kForbidden, 403, "root.forbidden"},
      {ErrorCode::kInvalidAccess, 403, "organization.invalid_access"},
      {ErrorCode::kOrganizationNotFound, 404, "organization.not_found"},
      {ErrorCode::kNotFound, 404, "root.not_found"},
      {ErrorCode::kMethodNotAllowed, 405, "root.method_not_allowed"},
      {ErrorCode::kConflict, 409, "usage.conflict"},
      {ErrorCode::kAlreadyExists, 409, "root.already_exists"},
      {ErrorCode::kPayloadTooLarge, 413, "root.payload_too_large"},
      {ErrorCode::kUnsupportedMediaType, 415, "root.unsupported_media_type"},
      {ErrorCode::kRateLimited, 429, "billing_service.rate_limited"},
      {ErrorCode::kStoreFailed, 500, "billing_service.failed_request"},
      {ErrorCode::kInternal, 500, "billing_service.failed_request"},
  };
  for (const Row& row : rows) {
    const ErrorMapping m = MapError(row.code);
    EXPECT_EQ(m.status, row.status) << row.wire;
    EXPECT_EQ(m.wire_code, row.wire);
    const Response res = MakeErrorResponse(MakeError(row.code, "msg"));
    EXPECT_EQ(res.status, row.status) << row.wire;
    EXPECT_EQ(res.content_type, "application/json");
    ASSERT_NE(res.FindHeader("x-cloud-error-codes"), nullptr) << row.wire;
    EXPECT_EQ(*res.FindHeader("X-Cloud-Error-Codes"), row.wire);
    EXPECT_EQ(IsServerError(row.code), row.status >= 500) << row.wire;
  }
}

TEST(ErrorTableTest, BodyIsBasicFailedReplyWithFieldsOnlyWhenPresent) {
  EXPECT_EQ(MakeErrorResponse(MakeError(ErrorCode::kNotFound, "There is no such API path.")).body,
            R"({"errors":[{"code":"root.not_found","message":"There is no such API path."}]})");
  EXPECT_EQ(MakeErrorResponse(MakeError(ErrorCode::kInvalidDateRange, "bad \"range\"", {"from", "to"})).body,
            R"({"errors":[{"code":"costs.invalid_date_range","message":"bad \"range\"","fields":["from","to"]}]})");
}

TEST(ErrorTableTest, UnauthenticatedAsksForBasicAuth) {
  const Response res = MakeErrorResponse(MakeError(ErrorCode::kUnauthenticated, "no"));
  ASSERT_NE(res.FindHeader("WWW-Authenticate"), nullptr);
  EXPECT_EQ(*res.FindHeader("www-authenticate"), "Basic realm=\"costs\"");
  EXPECT_EQ(res.FindHeader("Retry-After"), nullptr);
  EXPECT_EQ(res.FindHeader("Allow"), nullptr);
}

TEST(ErrorTableTest, RateLimitedSaysWhenToRetry) {
  ErrorExtras extras;
  extras.retry_after_seconds = 7;
  Response res = MakeErrorResponse(MakeError(ErrorCode::kRateLimited, "slow down"), extras);
  ASSERT_NE(res.FindHeader("Retry-After"), nullptr);
  EXPECT_EQ(*res.FindHeader("Retry-After"), "7");
  EXPECT_EQ(res.FindHeader("WWW-Authenticate"), nullptr);

  extras.retry_after_seconds = 0;  // never tell a client to retry at once
  res = MakeErrorResponse(MakeError(ErrorCode::kRateLimited, "slow down"), extras);
  EXPECT_EQ(*res.FindHeader("Retry-After"), "1");
}

TEST(ErrorTableTest, MethodNotAllowedListsAllowedMethods) {
  ErrorExtras extras;
  extras.allow = "POST";
  const Response res = MakeErrorResponse(MakeError(ErrorCode::kMethodNotAllowed, "no"), extras);
  ASSERT_NE(res.FindHeader("Allow"), nullptr);
  EXPECT_EQ(*res.FindHeader("Allow"), "POST");
  EXPECT_EQ(*res.FindHeader("x-cloud-error-codes"), "root.method_not_allowed");
}

TEST(ErrorTableTest, InternalErrorsDoNotLeakTheirMessage) {
  const Response res =
      MakeErrorResponse(MakeError(ErrorCode::kInternal, "SELECT * FROM usage failed at /var/lib/x", {"sql"}));
  EXPECT_EQ(res.body.find("SELECT"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("/var/lib"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("fields"), std::string::npos) << res.body;
  ASSERT_TRUE(res.error.has_value());
  EXPECT_EQ(res.error->message, "SELECT * FROM usage failed at /var/lib/x") << "the log keeps the detail";
}

TEST(ErrorTableTest, StoreFailureKeepsItsUserSafeMessage) {
  const Response res = MakeErrorResponse(MakeError(ErrorCode::kStoreFailed, "The database is unavailable."));
  EXPECT_EQ(res.body,
            R"({"errors":[{"code":"billing_service.failed_request","message":"The database is unavailable."}]})");
}

// ---- Rendering ------------------------------------------------------------------------

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(RenderTest, JsonStringsEscapeQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("plain"), "\"plain\"");
  EXPECT_EQ(Json(""), "\"\"");
  EXPECT_EQ(Json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Json("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(Json(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(Json("/ and </script>"), "\"/ and </script>\"");
}

TEST(RenderTest, JsonStringsKeepValidUtf8AndReplaceInvalidBytes) {
  EXPECT_EQ(Json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  const std::string kReplacement = "\xEF\xBF\xBD";
  EXPECT_EQ(Json("a\xFF"
                 "b"),
            "\"a" + kReplacement + "b\"");
  EXPECT_EQ(Json("\xC3"), "\"" + kReplacement + "\"") << "truncated sequence";
  EXPECT_EQ(Json("\xC0\xAF"), "\"" + kReplacement + kReplacement + "\"") << "overlong '/'";
  EXPECT_EQ(Json("\xED\xA0\x80"), "\"" + kReplacement + kReplacement + kReplacement + "\"") << "surrogate";
  EXPECT_EQ(Json("\xF4\x90\x80\x80"), "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\"")
      << "above U+10FFFF";
}

domain::Instant At(std::int64_t unix_seconds) { return domain::FromUnixSeconds(unix_seconds); }

TEST(RenderTest, ChartWritesExactDecimalsAndBucketStartSeconds) {
  domain::Chart chart;
  chart.series = {{"d1", "search-prod"}, {"d2", "logs \"eu\""}};
  chart.buckets.push_back({At(1793491200), {{0, 300'000'000}, {1, 1}}});
  chart.buckets.push_back({At(1793577600), {}});
  chart.buckets.push_back({At(1793664000), {{0, -12'000'000'000}}});
  EXPECT_EQ(RenderChart(chart),
            R"({"data":[)"
            R"({"timestamp":1793491200,"values":[{"id":"d1","name":"search-prod","value":0.3},)"
            R"({"id":"d2","name":"logs \"eu\"","value":0.000000001}]},)"
            R"({"timestamp":1793577600,"values":[]},)"
            R"({"timestamp":1793664000,"values":[{"id":"d1","name":"search-prod","value":-12}]}]})");
}

TEST(RenderTest, ChartWritesExtremeAmountsExactly) {
  domain::Chart chart;
  chart.series = {{"b", "b"}, {"a", "a"}};
  chart.buckets.push_back({At(0), {{1, std::numeric_limits<domain::Nanos>::max()}, {0, 123'456'789'012}}});
  EXPECT_EQ(RenderChart(chart),
            R"({"data":[{"timestamp":0,"values":[{"id":"a","name":"a","value":9223372036.854775807},)"
            R"({"id":"b","name":"b","value":123.456789012}]}]})");
}

// Sums a read forms are 128-bit (two days of 5,000,000,000 ECU make a month of 10^19
// nano-ECU): written digit for digit, never wrapped or narrowed.
TEST(RenderTest, SumsBeyondInt64AreWrittenExactly) {
  const domain::WideNanos big = domain::WideNanos{10'000'000'000} * domain::kNanosPerEcu + 1;
  domain::Chart chart;
  chart.series = {{"d1", "d1"}};
  chart.buckets.push_back({At(0), {{0, big}, {0, -big}}});
  EXPECT_EQ(RenderChart(chart),
            R"({"data":[{"timestamp":0,"values":[{"id":"d1","name":"d1","value":10000000000.000000001},)"
            R"({"id":"d1","name":"d1","value":-10000000000.000000001}]}]})");
  service::DeploymentsCosts costs;
  costs.total_cost = big;
  service::DeploymentCosts& d = costs.deployments.emplace_back();
  d.id = "d1";
  d.name = "d1";
  d.costs.by_dimension[0] = big;
  d.costs.total = big;
  d.hourly_rate = big;
  EXPECT_NE(RenderDeploymentsCosts(costs).find(R"({"total_cost":10000000000.000000001,)"), std::string::npos);
  EXPECT_NE(RenderDeploymentsCsv(costs).find("d1,d1,10000000000.000000001,10000000000.000000001,0,"), std::string::npos)
      << RenderDeploymentsCsv(costs);
  service::ItemsCosts items;
  service::ResourceItem& r = items.resources.emplace_back();
  r.kind = "elasticsearch";                  // a resource always has one (asserted by the renderer)
  r.usage_ns = domain::WideNanos{1} << 100;  // 2^100 ns: 352,125,166,730,063,722.6 hours
  r.price = big;
  EXPECT_NE(
      RenderItemsCosts(items).find(R"("hours":352125166730063723,"price_per_hour":0,"price":10000000000.000000001)"),
      std::string::npos)
      << RenderItemsCosts(items);
}

TEST(RenderTest, EmptyChartIsAnEmptyDataArray) { EXPECT_EQ(RenderChart({}), R"({"data":[]})"); }

TEST(RenderTest, OrganizationAndIngestOutcome) {
  EXPECT_EQ(RenderOrganization({"org-a", "Acme \"A\""}), R"({"id":"org-a","name":"Acme \"A\""})");
  EXPECT_EQ(RenderIngestOutcome({12, 3}), R"({"stored":12,"duplicates":3})");
}

// ---- Router ---------------------------------------------------------------------------

TEST(RouterTest, MatchesOrganizationCharts) {
  const RouteResult r = MatchRoute("GET", "/api/v1/billing/costs/org-a/charts?from=2026-11-01&to=2026-11-30");
  ASSERT_TRUE(r.route.has_value()) << r.error.message;
  EXPECT_EQ(r.route->endpoint, Endpoint::kOrganizationCharts);
  EXPECT_EQ(r.route->organization_id, "org-a");
  EXPECT_EQ(r.route->query.Get("from"), "2026-11-01");
  EXPECT_EQ(r.route->query.Get("to"), "2026-11-30");
  EXPECT_EQ(r.route->query.Get("bucketing_strategy"), std::nullopt);
}

TEST(RouterTest, MatchesGetOrganizationAndIngest) {
  RouteResult r = MatchRoute("GET", "/api/v1/organizations/org-b");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->endpoint, Endpoint::kGetOrganization);
  EXPECT_EQ(r.route->organization_id, "org-b");

  r = MatchRoute("POST", "/api/v1/billing/usage");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->endpoint, Endpoint::kIngestUsage);
  EXPECT_EQ(r.route->organization_id, "");
}

TEST(RouterTest, PercentDecodesPathSegments) {
  const RouteResult r = MatchRoute("GET", "/api/v1/organizations/org%20a%2Fb%25");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->organization_id, "org a/b%");
}

TEST(RouterTest, UnknownPathsAreNotFound) {
  for (const char* target : {"/",
                             "/api/v1",
                             "/api/v1/",
                             "/api/v2/organizations/x",
                             "/api/v1/organizations/",
                             "/api/v1/organizations/x/",
                             "/api/v1/billing/costs",
                             "/api/v1/billing/costs/",
                             "/api/v1/billing/costs/x/",
                             "/api/v1/billing/costs//charts",
                             "/api/v1/billing/costs/x/charts/extra",
                             "/API/v1/organizations/x",
                             "/api/v1/billing/usage/x",
                             "/api/v1/a/b/c/d/e/f/g/h/i/j",
                             "/api/v1/billing/costs/x/deployments/",
                             "/api/v1/billing/costs/x/deployments/d",
                             "/api/v1/billing/costs/x/deployments/d/",
                             "/api/v1/billing/costs/x/deployments//charts",
                             "/api/v1/billing/costs/x/deployments/d/charts/extra",
                             "/api/v1/billing/costs/x/deployments/d/items/x/y",
                             "/api/v1/billing/costs/x/items/extra",
                             "/api/v1/billing/credits",
                             "/api/v1/billing/credits/",
                             "/api/v1/billing/credits/x/y",
                             "/api/v1/session/",
                             "/api/v1/session/x"}) {
    const RouteResult r = MatchRoute("GET", target);
    EXPECT_FALSE(r.route.has_value()) << target;
    EXPECT_EQ(r.error.code, ErrorCode::kNotFound) << target;
  }
}

// Segments are compared as sent: a dot segment is a segment like any other, wherever it is
// (found by fuzz/router_fuzz.cpp: Boost.URL's segments() hides a leading "/." prefix, so
// "/./api/..." matched while "/api/./v1/..." did not).
TEST(RouterTest, DotSegmentsAreNotRemoved) {
  for (const char* target : {"/./api/v1/organizations/x", "/api/./v1/organizations/x", "/../api/v1/organizations/x",
                             "/.//api/v1/organizations/x", "/./api/v1/billing/costs/x?from=2026-11-01"}) {
    const RouteResult r = MatchRoute("GET", target);
    EXPECT_FALSE(r.route.has_value()) << target;
    EXPECT_EQ(r.error.code, ErrorCode::kNotFound) << target;
  }
  const RouteResult dot = MatchRoute("GET", "/api/v1/organizations/.");
  ASSERT_TRUE(dot.route.has_value());
  EXPECT_EQ(dot.route->organization_id, ".");
}

TEST(RouterTest, WrongMethodIsNotAllowedWithAllow) {
  RouteResult r = MatchRoute("POST", "/api/v1/billing/costs/x/charts");
  EXPECT_FALSE(r.route.has_value());
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET");

  r = MatchRoute("HEAD", "/api/v1/organizations/x");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET");

  r = MatchRoute("GET", "/api/v1/billing/usage");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "POST");

  r = MatchRoute("get", "/api/v1/organizations/x");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed) << "methods are case-sensitive";
}

TEST(RouterTest, MalformedTargetIsInvalidData) {
  for (const char* target : {"*", "http://example.com/api/v1/organizations/x", "/api/v1/organizations/%zz",
                             "/api/v1/organizations/x?from=%2"}) {
    const RouteResult r = MatchRoute("GET", target);
    EXPECT_FALSE(r.route.has_value()) << target;
    EXPECT_EQ(r.error.code, ErrorCode::kInvalidData) << target;
  }
}

TEST(RouterTest, RawPlusInQueryIsALiteralPlus) {
  const RouteResult r =
      MatchRoute("GET", "/api/v1/billing/costs/o/charts?from=2026-11-01T00:00:00+05:30&to=2026-11-02T00:00:00%2B05:30");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->query.Get("from"), "2026-11-01T00:00:00+05:30");
  EXPECT_EQ(r.route->query.Get("to"), "2026-11-02T00:00:00+05:30");
}

TEST(RouterTest, QueryValuesArePercentDecoded) {
  const RouteResult r = MatchRoute(
      "GET", "/api/v1/billing/costs/o/charts?from=2026-11-01T00%3A00%3A00Z&bucketing%5Fstrategy=Monthly&x=a%20b");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->query.Get("from"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(r.route->query.Get("bucketing_strategy"), "Monthly");
  EXPECT_EQ(r.route->query.Get("x"), "a b");
}

TEST(RouterTest, FirstOfRepeatedParametersWinsAndUnknownOnesAreKept) {
  const RouteResult r =
      MatchRoute("GET", "/api/v1/billing/costs/o/charts?granularity=day&from=2026-11-01&from=2026-12-01&to&");
  ASSERT_TRUE(r.route.has_value());
  EXPECT_EQ(r.route->query.Get("from"), "2026-11-01");
  EXPECT_EQ(r.route->query.Get("to"), "") << "a parameter without '=' is present and empty";
  EXPECT_EQ(r.route->query.Get("granularity"), "day");
  EXPECT_EQ(r.route->query.Get("FROM"), std::nullopt) << "names are case-sensitive";
}

// ---- Authorization header -------------------------------------------------------------

TEST(Base64Test, DecodesPaddedAndUnpadded) {
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("YQ=="), "a");
  EXPECT_EQ(DecodeBase64("YQ"), "a");
  EXPECT_EQ(DecodeBase64("YWI="), "ab");
  EXPECT_EQ(DecodeBase64("YWI"), "ab");
  EXPECT_EQ(DecodeBase64("YWJj"), "abc");
  EXPECT_EQ(DecodeBase64("YWxpY2U6czNjcjN0"), "alice:s3cr3t");
  EXPECT_EQ(DecodeBase64("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(DecodeBase64("AA=="), std::string(1, '\0'));
}

TEST(Base64Test, RejectsMalformedInput) {
  for (const char* bad :
       {"Y", "YQ=", "YQ===", "Y===", "YQ==YQ==", "Y Q==", "YQ=A", "YW-j", "YW_j", "=", "====", "YR==", "YWJ="}) {
    EXPECT_EQ(DecodeBase64(bad), std::nullopt) << bad;
  }
}

TEST(AuthorizationTest, ParsesBasicCredentials) {
  Result<Credentials> c = ParseAuthorization("Basic YWxpY2U6czNjcjN0");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, AuthScheme::kBasic);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cr3t");

  c = ParseAuthorization("  bAsIc    YWxpY2U6czNjcjN0  ");  // scheme case-insensitive, extra spaces
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "alice");

  c = ParseAuthorization("Basic YWxpY2U6YTpiOmM=");  // "alice:a:b:c": the password keeps its colons
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->password, "a:b:c");

  c = ParseAuthorization("Basic YWxpY2U6");  // "alice:": empty password, the authenticator decides
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "");
}

TEST(AuthorizationTest, NoHeaderIsNoCredentials) {
  Result<Credentials> c = ParseAuthorization("");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, AuthScheme::kNone);
  c = ParseAuthorization("   ");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, AuthScheme::kNone);
}

TEST(AuthorizationTest, RejectsMalformedBasicCredentials) {
  for (const char* bad :
       {"Basic", "Basic ", "Basic !!!", "Basic YWxpY2U=" /* "alice", no colon */, "Basic OnB3" /* ":pw", empty user */,
        "Basic YWxp Y2U6", "Basicx YWxpY2U6czNjcjN0", "Bearer abc", "Digest username=\"a\""}) {
    const Result<Credentials> c = ParseAuthorization(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated) << bad;
    EXPECT_EQ(c.error().message.find("YWxp"), std::string::npos) << "never echoes credentials";
  }
}

TEST(AuthorizationTest, ParsesApiKey) {
  Result<Credentials> c = ParseAuthorization("ApiKey abc123==");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, AuthScheme::kApiKey);
  EXPECT_EQ(c->api_key, "abc123==");
  EXPECT_FALSE(ParseAuthorization("ApiKey").has_value());
  EXPECT_FALSE(ParseAuthorization("ApiKey   ").has_value());
}

// ---- Small helpers --------------------------------------------------------------------

TEST(MediaTypeTest, AcceptsNdjsonWithParameters) {
  EXPECT_TRUE(IsNdjsonMediaType("application/x-ndjson"));
  EXPECT_TRUE(IsNdjsonMediaType("Application/X-NDJSON; charset=utf-8"));
  EXPECT_TRUE(IsNdjsonMediaType("application/jsonl"));
  EXPECT_TRUE(IsNdjsonMediaType(" application/x-ndjson ;charset=UTF-8"));
  EXPECT_FALSE(IsNdjsonMediaType(""));
  EXPECT_FALSE(IsNdjsonMediaType("application/json"));
  EXPECT_FALSE(IsNdjsonMediaType("text/plain"));
  EXPECT_FALSE(IsNdjsonMediaType("application/x-ndjsonx"));
}

TEST(RequestIdTest, FreshIdsAreUniqueAndSane) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    EXPECT_TRUE(IsSaneRequestId(id)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(RequestIdTest, EchoesOnlySaneClientIds) {
  EXPECT_TRUE(IsSaneRequestId("abc-DEF_123.x"));
  EXPECT_TRUE(IsSaneRequestId(std::string(64, 'a')));
  EXPECT_FALSE(IsSaneRequestId(std::string(65, 'a')));
  EXPECT_FALSE(IsSaneRequestId(""));
  EXPECT_FALSE(IsSaneRequestId("a b"));
  EXPECT_FALSE(IsSaneRequestId("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(IsSaneRequestId("id/1"));
}

// ---- New endpoints: routes ------------------------------------------------------------

TEST(RouterTest, MatchesEveryCostsPathWithItsParameters) {
  struct Row {
    const char* method;
    const char* target;
    Endpoint endpoint;
    const char* org;
    const char* deployment;
  };
  const Row rows[] = {
      {"GET", "/api/v1/billing/costs/org-a", Endpoint::kCostsOverview, "org-a", ""},
      {"GET", "/api/v1/billing/costs/org-a/charts", Endpoint::kOrganizationCharts, "org-a", ""},
      {"GET", "/api/v1/billing/costs/org-a/deployments", Endpoint::kDeploymentsCosts, "org-a", ""},
      {"GET", "/api/v1/billing/costs/org-a/deployments/d%201/charts", Endpoint::kDeploymentCharts, "org-a", "d 1"},
      {"GET", "/api/v1/billing/costs/org-a/deployments/d%2F2/items?from=x", Endpoint::kDeploymentItems, "org-a", "d/2"},
      {"GET", "/api/v1/billing/costs/org-a/items", Endpoint::kItemsCosts, "org-a", ""},
      {"POST", "/api/v1/billing/credits/org%2Da", Endpoint::kAddCredit, "org-a", ""},
      // Path parameters that look like literal segments are still parameters.
      {"GET", "/api/v1/billing/costs/charts", Endpoint::kCostsOverview, "charts", ""},
      {"GET", "/api/v1/billing/costs/o/deployments/items/charts", Endpoint::kDeploymentCharts, "o", "items"},
  };
  for (const Row& row : rows) {
    const RouteResult r = MatchRoute(row.method, row.target);
    ASSERT_TRUE(r.route.has_value()) << row.target << ": " << r.error.message;
    EXPECT_EQ(r.route->endpoint, row.endpoint) << row.target;
    EXPECT_EQ(r.route->organization_id, row.org) << row.target;
    EXPECT_EQ(r.route->deployment_id, row.deployment) << row.target;
  }
}

TEST(RouterTest, NewPathsAllowOnlyTheirMethod) {
  RouteResult r = MatchRoute("POST", "/api/v1/billing/costs/x");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET");
  r = MatchRoute("GET", "/api/v1/billing/credits/x");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "POST");
  r = MatchRoute("DELETE", "/api/v1/billing/costs/x/deployments/d/items");
  EXPECT_EQ(r.error.code, ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET");
}

// ---- Accept negotiation ---------------------------------------------------------------

std::string Negotiated(std::string_view accept, bool csv_offered = true) {
  static constexpr Format kBoth[] = {Format::kJson, Format::kCsv};
  static constexpr Format kJson[] = {Format::kJson};
  const std::optional<Format> f = csv_offered ? NegotiateFormat(accept, kBoth) : NegotiateFormat(accept, kJson);
  if (!f) return "406";
  return std::string(MediaTypeOf(*f));
}

TEST(AcceptTest, JsonForNoPreferenceAndForJsonRanges) {
  for (const char* accept : {"", "  ", "*/*", "application/*", "application/json", "APPLICATION/JSON",
                             "application/json; charset=utf-8", "*/*;q=0.8", "text/html, */*;q=0.1",
                             "application/json, text/csv", "application/json;q=1.0, text/csv;q=0.999"}) {
    EXPECT_EQ(Negotiated(accept), "application/json") << accept;
  }
}

TEST(AcceptTest, CsvForCsvRangesWhereOffered) {
  for (const char* accept : {"text/csv", "text/*", "Text/CSV", "text/csv; charset=utf-8", "text/csv, application/json",
                             "text/csv, */*", "application/json;q=0.5, text/csv", "*/*, application/json;q=0",
                             "text/csv;q=0.3, */*;q=0.2", "text/csv;header=present;q=1", "text/csv;x=\"a,b\""}) {
    EXPECT_EQ(Negotiated(accept), "text/csv") << accept;
  }
}

TEST(AcceptTest, CsvOnlyWhereItIsNotOfferedIsNotAcceptable) {
  for (const char* accept : {"text/csv", "text/*", "text/csv, application/json;q=0"}) {
    EXPECT_EQ(Negotiated(accept, false), "406") << accept;
  }
  EXPECT_EQ(Negotiated("text/csv, application/json;q=0.1", false), "application/json");
}

TEST(AcceptTest, ZeroQualityAndUnknownTypesAreNotAcceptable) {
  for (const char* accept : {"text/html", "application/xml", "application/problem+json", "image/*",
                             "application/json;q=0, text/csv;q=0", "*/*;q=0", "text/html, json"}) {
    EXPECT_EQ(Negotiated(accept), "406") << accept;
  }
}

TEST(AcceptTest, AHeaderOfOnlyMalformedElementsCountsAsAbsent) {
  for (const char* accept : {"json", "*/json", "/", "application/json;q=2", "application/json;q=0.1234",
                             "application/json;q=x", "text/csv;q=1.001"}) {
    EXPECT_EQ(Negotiated(accept), "application/json") << accept;
  }
}

TEST(AcceptTest, RealClientsDefaultsAreAcceptable) {
  // Java's HttpURLConnection default, and curl's.
  EXPECT_EQ(Negotiated("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"), "application/json");
  EXPECT_EQ(Negotiated("*"), "application/json");
  EXPECT_EQ(Negotiated("text/csv; q=.5, application/json; q=.4"), "text/csv");
}

TEST(AcceptTest, MostSpecificRangeDecidesAnOffersQuality) {
  EXPECT_EQ(Negotiated("text/*;q=0.9, text/csv;q=0, application/json;q=0.1"), "application/json");
  EXPECT_EQ(Negotiated("*/*;q=0.1, application/*;q=0"), "text/csv");
  EXPECT_EQ(Negotiated("application/json;q=0.5, application/json;q=1"), "application/json")
      << "the first of equally specific ranges counts";
  EXPECT_EQ(Negotiated("garbage, text/csv"), "text/csv") << "malformed elements are skipped";
}

// ---- Error table: route overrides and HTTP-only refusals --------------------------------

TEST(ErrorTableTest, RouteMayNameItsNotFoundCode) {
  ErrorExtras extras;
  extras.not_found_as = NotFoundAs::kEsClusterId;
  Response res = MakeErrorResponse(MakeError(ErrorCode::kNotFound, "no deployment", {"deployment_id"}), extras);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(*res.FindHeader("x-cloud-error-codes"), "billing_service.es_cluster_id_not_found");
  EXPECT_EQ(res.body, R"({"errors":[{"code":"billing_service.es_cluster_id_not_found","message":"no deployment",)"
                      R"("fields":["deployment_id"]}]})");
  res = MakeErrorResponse(MakeError(ErrorCode::kOrganizationNotFound, "no org"), extras);
  EXPECT_EQ(*res.FindHeader("x-cloud-error-codes"), "organization.not_found") << "only kNotFound is renamed";
}

TEST(ErrorTableTest, NotAcceptableIsAnHttpOnlyRefusal) {
  EXPECT_EQ(MapRefusal(HttpRefusal::kNotAcceptable).status, 406u);
  const Response res = MakeRefusalResponse(HttpRefusal::kNotAcceptable, "JSON only");
  EXPECT_EQ(res.status, 406u);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(*res.FindHeader("x-cloud-error-codes"), "root.not_acceptable");
  EXPECT_EQ(res.body, R"({"errors":[{"code":"root.not_acceptable","message":"JSON only"}]})");
  EXPECT_FALSE(res.error.has_value());
}

// ---- Rendering: overview, deployments, items, credits ----------------------------------

domain::Instant At(const char* rfc3339) { return *domain::ParseRfc3339(rfc3339); }

service::DimensionCosts Costs(std::array<domain::Nanos, domain::kDimensionCount> by) {
  service::DimensionCosts c;
  for (std::size_t i = 0; i < by.size(); ++i) c.by_dimension[i] = by[i];
  for (const domain::Nanos n : by) c.total += n;
  return c;
}

constexpr const char* kDimensionsOfCosts =
    R"({"total":0.300000001,"dimensions":[{"type":"capacity","cost":0.1},{"type":"data_in","cost":0.2},)"
    R"({"type":"data_internode","cost":0},{"type":"data_out","cost":0.000000001},{"type":"storage_api","cost":0},)"
    R"({"type":"storage_bytes","cost":0}]})";

TEST(RenderTest, OverviewWithoutBalanceListsAllSixDimensionsInSpecOrder) {
  service::CostsOverview o;
  o.costs = Costs({100'000'000, 200'000'000, 0, 1, 0, 0});
  o.hourly_rate = 182'600'000;
  o.trials = -5;
  EXPECT_EQ(RenderCostsOverview(o),
            std::string(R"({"costs":)") + kDimensionsOfCosts + R"(,"hourly_rate":0.1826,"trials":-0.000000005})");
}

TEST(RenderTest, OverviewWithBalanceWritesLineItemsWithRfc3339Instants) {
  service::CostsOverview o;
  service::Balance b;
  b.available = 12'500'000'000;
  b.remaining = 12'400'000'000;
  b.line_items.push_back(
      {{"c-1", "org-a", 12'500'000'000, At("2026-01-01T00:00:00Z"), At("2027-01-01T00:00:00.5Z")}, 12'400'000'000});
  o.balance = b;
  EXPECT_EQ(RenderCostsOverview(o),
            R"({"costs":{"total":0,"dimensions":[{"type":"capacity","cost":0},{"type":"data_in","cost":0},)"
            R"({"type":"data_internode","cost":0},{"type":"data_out","cost":0},{"type":"storage_api","cost":0},)"
            R"({"type":"storage_bytes","cost":0}]},"hourly_rate":0,"trials":0,"balance":{"available":12.5,)"
            R"("remaining":12.4,"line_items":[{"id":"c-1","ecu_quantity":12.5,"ecu_balance":12.4,)"
            R"("start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00.5Z"}]}})");
  o.balance->line_items.clear();
  EXPECT_NE(RenderCostsOverview(o).find(R"("line_items":[]})"), std::string::npos);
}

service::DeploymentsCosts SampleDeployments() {
  service::DeploymentsCosts d;
  service::DeploymentCosts one;
  one.id = "d1";
  one.name = "search, \"prod\"";
  one.costs = Costs({100'000'000, 200'000'000, 0, 1, 0, 0});
  one.hourly_rate = 91'300'000;
  one.period = {At("2024-01-31T20:00:00Z"), At("2024-02-02T00:00:00Z")};
  d.deployments.push_back(one);
  d.total_cost = one.costs.total;
  return d;
}

TEST(RenderTest, DeploymentsCostsExactWithPeriods) {
  EXPECT_EQ(RenderDeploymentsCosts(SampleDeployments()),
            std::string(R"({"total_cost":0.300000001,"deployments":[{"deployment_id":"d1",)") +
                R"("deployment_name":"search, \"prod\"","costs":)" + kDimensionsOfCosts +
                R"(,"hourly_rate":0.0913,"period":{"start":"2024-01-31T20:00:00Z","end":"2024-02-02T00:00:00Z"}}]})");
  EXPECT_EQ(RenderDeploymentsCosts({}), R"({"total_cost":0,"deployments":[]})");
}

service::ItemsCosts SampleItems() {
  service::ItemsCosts items;
  items.costs = Costs({182'600'000, 0, 0, 566'666'666, 0, 0});
  service::ResourceItem r;
  r.sku = "gcp.es.datahot";
  r.kind = "elasticsearch";
  r.name = "Elasticsearch hot 8 GB";
  r.instance_count = 2;
  r.usage_ns = 5 * domain::kNsPerHour / 2;  // 2.5 h -> 2 (half-even)
  r.price = 182'600'000;
  r.price_per_hour = 73'040'000;
  r.period = {At("2024-01-31T20:00:00Z"), At("2024-01-31T23:00:00Z")};
  items.resources.push_back(r);
  service::DtsItem d;
  d.sku = "gcp.data.out";
  d.dimension = domain::Dimension::kDataOut;
  d.name = "Data out";
  d.unit = "GB";
  d.quantity_milli = 1500;  // 1.5 -> 2
  d.rate = "0.0000000017";
  d.cost = 566'666'666;
  items.dts.push_back(d);
  return items;
}

TEST(RenderTest, ItemsCostsExactWithRoundedHoursAndQuantities) {
  EXPECT_EQ(RenderItemsCosts(SampleItems()),
            R"({"costs":{"total":0.749266666,"dimensions":[{"type":"capacity","cost":0.1826},)"
            R"({"type":"data_in","cost":0},{"type":"data_internode","cost":0},{"type":"data_out","cost":0.566666666},)"
            R"({"type":"storage_api","cost":0},{"type":"storage_bytes","cost":0}]},)"
            R"("resources":[{"sku":"gcp.es.datahot","name":"Elasticsearch hot 8 GB","kind":"elasticsearch",)"
            R"("instance_count":2,"hours":2,"price_per_hour":0.07304,"price":0.1826,)"
            R"("period":{"start":"2024-01-31T20:00:00Z","end":"2024-01-31T23:00:00Z"}}],)"
            R"("data_transfer_and_storage":[{"sku":"gcp.data.out","name":"Data out","type":"data_out",)"
            R"("quantity":{"value":2,"formatted_value":"1.5 GB"},)"
            R"("rate":{"value":0.0000000017,"formatted_value":"0.0000000017 per GB"},"cost":0.566666666}]})");
}

TEST(RenderTest, ItemNumbersRoundHalfEven) {
  service::ResourceItem r;
  const std::pair<std::int64_t, std::int64_t> hours[] = {{0, 0},
                                                         {domain::kNsPerHour / 2, 0},
                                                         {domain::kNsPerHour / 2 + 1, 1},
                                                         {3 * domain::kNsPerHour / 2, 2},
                                                         {5 * domain::kNsPerHour / 2, 2},
                                                         {7 * domain::kNsPerHour / 2, 4},
                                                         {domain::kNsPerHour - 1, 1}};
  for (const auto& [ns, want] : hours) {
    r.usage_ns = ns;
    EXPECT_EQ(ItemHours(r), want) << ns;
  }
  service::DtsItem d;
  const std::pair<std::int64_t, std::int64_t> quantities[] = {
      {499, 0}, {500, 0}, {501, 1}, {1500, 2}, {2500, 2}, {-1500, -2}, {-2500, -2}, {-501, -1}, {1'000, 1}};
  for (const auto& [milli, want] : quantities) {
    d.quantity_milli = milli;
    EXPECT_EQ(DtsQuantityValue(d), want) << milli;
  }
  r.instance_count = std::int64_t{1} << 40;
  EXPECT_EQ(ItemInstanceCount(r), 2147483647) << "capped at the spec's int32";
}

TEST(RenderTest, DtsWithoutUnitAndNegativeQuantity) {
  service::ItemsCosts items;
  service::DtsItem d;
  d.sku = "s";
  d.dimension = domain::Dimension::kStorageBytes;
  d.name = "Storage";
  d.quantity_milli = -1;
  d.rate = "2";
  d.cost = -2'000'000;
  items.dts.push_back(d);
  const std::string body = RenderItemsCosts(items);
  EXPECT_NE(body.find(R"("quantity":{"value":0,"formatted_value":"-0.001"},"rate":{"value":2,"formatted_value":"2"},)"
                      R"("cost":-0.002)"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("resources":[])"), std::string::npos) << body;
}

TEST(RenderTest, CreditEchoesExactAmountAndInstants) {
  EXPECT_EQ(RenderCredit({"c-1", "org-a", 12'500'000'001, At("2026-01-01T00:00:00Z"), At("2026-02-01T00:00:00Z")}),
            R"({"id":"c-1","organization_id":"org-a","ecu":12.500000001,"start":"2026-01-01T00:00:00Z",)"
            R"("end":"2026-02-01T00:00:00Z"})");
}

// ---- CSV ------------------------------------------------------------------------------

std::string CsvField(std::string_view s) {
  std::string out;
  AppendCsvField(out, s);
  return out;
}

TEST(CsvTest, QuotesOnlyFieldsThatNeedItAndDoublesQuotes) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("\""), "\"\"\"\"");
  EXPECT_EQ(CsvField("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(CsvField("lf\nonly"), "\"lf\nonly\"");
  EXPECT_EQ(CsvField("cr\ronly"), "\"cr\ronly\"");
  EXPECT_EQ(CsvField("semi;colon 'quote' tab\t"), "semi;colon 'quote' tab\t");
  EXPECT_EQ(CsvField("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(CsvField("bad\xFF,\""), "\"bad\xEF\xBF\xBD,\"\"\"") << "ill-formed UTF-8 becomes U+FFFD";
}

TEST(CsvTest, DeploymentsRowsMatchTheJsonNumbers) {
  EXPECT_EQ(RenderDeploymentsCsv(SampleDeployments()),
            "deployment_id,deployment_name,total_cost,capacity,data_in,data_internode,data_out,storage_api,"
            "storage_bytes,hourly_rate,period_start,period_end\r\n"
            "d1,\"search, \"\"prod\"\"\",0.300000001,0.1,0.2,0,0.000000001,0,0,0.0913,2024-01-31T20:00:00Z,"
            "2024-02-02T00:00:00Z\r\n");
  EXPECT_EQ(RenderDeploymentsCsv({}),
            "deployment_id,deployment_name,total_cost,capacity,data_in,data_internode,data_out,storage_api,"
            "storage_bytes,hourly_rate,period_start,period_end\r\n");
}

TEST(CsvTest, ItemsRowsHaveEveryColumnAndEmptyFieldsWhereNotApplicable) {
  EXPECT_EQ(RenderItemsCsv(SampleItems()),
            "section,sku,name,kind_or_type,instance_count,hours,quantity,unit,rate,price_per_hour,cost,period_start,"
            "period_end\r\n"
            "resource,gcp.es.datahot,Elasticsearch hot 8 GB,elasticsearch,2,2,,,,0.07304,0.1826,2024-01-31T20:00:00Z,"
            "2024-01-31T23:00:00Z\r\n"
            "data_transfer_and_storage,gcp.data.out,Data out,data_out,,,1.5,GB,0.0000000017,,0.566666666,,\r\n");
}

// ---- POST credits body ------------------------------------------------------------------

TEST(CreditRequestTest, DecodesStringOrNumberAmountsExactly) {
  Result<CreditRequest> c =
      DecodeCreditRequest(R"({"id":"c-1","ecu":"12.5","start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->id, "c-1");
  EXPECT_EQ(c->ecu, 12'500'000'000);
  EXPECT_EQ(c->start, At("2026-01-01T00:00:00Z"));
  EXPECT_EQ(c->end, At("2026-02-01T00:00:00Z"));

  c = DecodeCreditRequest(R"({"ecu":0.300000001,"id":"c","start":"2026-01-01","end":"2026-01-31"})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->ecu, 300'000'001) << "a JSON number is read from its text, not through a double";
  EXPECT_EQ(c->start, At("2026-01-01T00:00:00Z")) << "a bare start date is the start of that day";
  EXPECT_EQ(c->end, At("2026-02-01T00:00:00Z")) << "a bare end date is the end of that day";
}

TEST(CreditRequestTest, UnknownMembersAreProblems) {
  Result<CreditRequest> c = DecodeCreditRequest(
      R"({"id":"c","ecu":"5","start":"2026-01-01","end":"2026-01-31","currency":"USD","organization_id":"x"})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"currency", "organization_id"}));
}

TEST(CreditRequestTest, ReportsEveryProblemWithItsField) {
  Result<CreditRequest> c = DecodeCreditRequest(R"({"id":7,"ecu":"1.0000000001","start":"soon"})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidData);
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"id", "ecu", "start", "end"}));

  c = DecodeCreditRequest(R"({"id":"c","ecu":"0","start":"2026-02-01","end":"2026-01-31"})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"ecu", "start", "end"}));

  c = DecodeCreditRequest(R"({"id":"c","id":"d","ecu":-1,"start":"2026-01-01","end":null})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"id", "ecu", "end"}));

  c = DecodeCreditRequest(R"({"id":"c","ecu":true,"start":20260101,"end":"2026-01-01"})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"ecu", "start"}));
}

TEST(CreditRequestTest, ABodyThatIsNotOneJsonObjectIsInvalidWithoutFields) {
  for (const char* body : {"", "[]", "{", R"({"id":"c"} x)", "\"c\"", "null"}) {
    Result<CreditRequest> c = DecodeCreditRequest(body);
    ASSERT_FALSE(c.has_value()) << body;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidData) << body;
    EXPECT_TRUE(c.error().fields.empty()) << body;
  }
}

}  // namespace
}  // namespace costs::http
