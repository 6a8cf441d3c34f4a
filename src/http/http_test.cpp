#include <limits>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "domain/chart.hpp"
#include "domain/time.hpp"
#include "http/auth_header.hpp"
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
  EXPECT_EQ(Json("a\xFF" "b"), "\"a" + kReplacement + "b\"");
  EXPECT_EQ(Json("\xC3"), "\"" + kReplacement + "\"") << "truncated sequence";
  EXPECT_EQ(Json("\xC0\xAF"), "\"" + kReplacement + kReplacement + "\"") << "overlong '/'";
  EXPECT_EQ(Json("\xED\xA0\x80"), "\"" + kReplacement + kReplacement + kReplacement + "\"") << "surrogate";
  EXPECT_EQ(Json("\xF4\x90\x80\x80"), "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\"")
      << "above U+10FFFF";
}

domain::Instant At(std::int64_t unix_seconds) { return domain::FromUnixSeconds(unix_seconds); }

TEST(RenderTest, ChartWritesExactDecimalsAndBucketStartSeconds) {
  domain::Chart chart;
  chart.buckets.push_back({At(1793491200), {{"d1", "search-prod", 300'000'000}, {"d2", "logs \"eu\"", 1}}});
  chart.buckets.push_back({At(1793577600), {}});
  chart.buckets.push_back({At(1793664000), {{"d1", "search-prod", -12'000'000'000}}});
  EXPECT_EQ(RenderChart(chart),
            R"({"data":[)"
            R"({"timestamp":1793491200,"values":[{"id":"d1","name":"search-prod","value":0.3},)"
            R"({"id":"d2","name":"logs \"eu\"","value":0.000000001}]},)"
            R"({"timestamp":1793577600,"values":[]},)"
            R"({"timestamp":1793664000,"values":[{"id":"d1","name":"search-prod","value":-12}]}]})");
}

TEST(RenderTest, ChartWritesExtremeAmountsExactly) {
  domain::Chart chart;
  chart.buckets.push_back(
      {At(0), {{"a", "a", std::numeric_limits<domain::Nanos>::max()}, {"b", "b", 123'456'789'012}}});
  EXPECT_EQ(RenderChart(chart),
            R"({"data":[{"timestamp":0,"values":[{"id":"a","name":"a","value":9223372036.854775807},)"
            R"({"id":"b","name":"b","value":123.456789012}]}]})");
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
  for (const char* target : {"/", "/api/v1", "/api/v1/", "/api/v2/organizations/x", "/api/v1/organizations",
                             "/api/v1/organizations/", "/api/v1/organizations/x/", "/api/v1/billing/costs/x",
                             "/api/v1/billing/costs//charts", "/api/v1/billing/costs/x/charts/extra",
                             "/API/v1/organizations/x", "/api/v1/billing/usage/x", "/api/v1/a/b/c/d/e/f/g/h/i/j"}) {
    const RouteResult r = MatchRoute("GET", target);
    EXPECT_FALSE(r.route.has_value()) << target;
    EXPECT_EQ(r.error.code, ErrorCode::kNotFound) << target;
  }
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
  const RouteResult r =
      MatchRoute("GET", "/api/v1/billing/costs/o/charts?from=2026-11-01T00%3A00%3A00Z&bucketing%5Fstrategy=Monthly&x=a%20b");
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
  for (const char* bad : {"Y", "YQ=", "YQ===", "Y===", "YQ==YQ==", "Y Q==", "YQ=A", "YW-j", "YW_j", "=", "====",
                          "YR==", "YWJ="}) {
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
  for (const char* bad : {"Basic", "Basic ", "Basic !!!", "Basic YWxpY2U=" /* "alice", no colon */,
                          "Basic OnB3" /* ":pw", empty user */, "Basic YWxp Y2U6", "Basicx YWxpY2U6czNjcjN0",
                          "Bearer abc", "Digest username=\"a\""}) {
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

}  // namespace
}  // namespace costs::http
