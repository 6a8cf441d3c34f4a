// HandleRequest over the real services and the in-memory store: the order of checks (route,
// then auth and limits, then the handler), and decode -> service -> encode per endpoint.
// AdmitRequest: what is decided from a request's header alone, before any body is read.

#include "http/handler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/body_cache.hpp"
#include "http/testing/handler_fixture.hpp"
#include "service/store.hpp"

namespace costs::http {
namespace {

const char* kLine =
    R"({"id":"u1","organization_id":"org-a","deployment_id":"d1","deployment_name":"search","dimension":"capacity",)"
    R"("kind":"elasticsearch","start":"2026-11-01T00:00:00Z","end":"2026-11-01T01:00:00Z","quantity":"3","rate":"0.1"})"
    "\n";

TEST_F(HandlerTest, RoutesBeforeAuthenticating) {
  Response res = Call("GET", "/api/v1/nope", "");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "root.not_found");

  res = Call("DELETE", "/api/v1/organizations/org-a", "");
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(Header(res, "Allow"), "GET");
  EXPECT_EQ(hasher_.verifications.load(), 0);
}

TEST_F(HandlerTest, MissingOrMalformedCredentialsAreUnauthenticated) {
  for (const char* auth : {"", "Basic !!", "Bearer x", "ApiKey "}) {
    const Response res = Call("GET", "/api/v1/organizations/org-a", auth);
    EXPECT_EQ(res.status, 401u) << auth;
    EXPECT_EQ(Code(res), "root.unauthenticated") << auth;
    EXPECT_EQ(Header(res, "WWW-Authenticate"), "Basic realm=\"costs\"") << auth;
    EXPECT_EQ(res.principal, "") << auth;
  }
  // Nothing was verified, so nothing counted: the burst of 3 is whole.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(failed_logins_.Acquire("192.0.2.1"), 0) << i;
}

TEST_F(HandlerTest, FailedLoginsLockTheAddressOutWithoutVerifying) {
  for (int i = 0; i < 3; ++i) {
    const Response res = Call("GET", "/api/v1/organizations/org-a", kWrongAuth);
    EXPECT_EQ(res.status, 401u) << "attempt " << i;
  }
  const int verified = hasher_.verifications.load();
  const Response res = Call("GET", "/api/v1/organizations/org-a", kAliceAuth);
  EXPECT_EQ(res.status, 429u);
  EXPECT_EQ(Code(res), "billing_service.rate_limited");
  EXPECT_GE(std::stoi(Header(res, "Retry-After")), 1);
  EXPECT_EQ(hasher_.verifications.load(), verified) << "a locked-out address gets no verification";

  clock_.mono += 5 * domain::kNsPerSecond;  // tokens come back
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);
}

TEST_F(HandlerTest, CachedCredentialsAreNotLockedOutByTheirAddress) {
  ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);  // verified, cached
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", kWrongAuth).status, 401u) << i;
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kWrongAuth).status, 429u) << "the address is locked out";
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u)
      << "credentials verified within the cache TTL are served whatever their address's failed logins";
}

TEST_F(HandlerTest, FailedLoginsOfOneIPv6Slash64ShareABucket) {
  for (int i = 1; i <= 3; ++i) {
    client_ = "2001:db8:0:1::" + std::to_string(i);
    ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", kWrongAuth).status, 401u) << client_;
  }
  client_ = "2001:db8:0:1:ffff::9";
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kWrongAuth).status, 429u) << "another address of the /64";
  client_ = "2001:db8:0:2::1";
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kWrongAuth).status, 401u) << "another /64";
}

TEST_F(HandlerTest, PerPrincipalLimitAnswers429WithRetryAfter) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);
  const Response res = Call("GET", "/api/v1/billing/costs/org-a/charts", kAliceAuth);
  EXPECT_EQ(res.status, 429u);
  EXPECT_EQ(Code(res), "billing_service.rate_limited");
  EXPECT_EQ(Header(res, "Retry-After"), "1");
  EXPECT_EQ(res.principal, "alice");
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kRootAuth).status, 200u) << "root has its own bucket";
}

TEST_F(HandlerTest, GetOrganizationFollowsAccessRules) {
  Response res = Call("GET", "/api/v1/organizations/org-a", kAliceAuth);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"id":"org-a","name":"Org A"})");
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.principal, "alice");

  res = Call("GET", "/api/v1/organizations/org-b", kAliceAuth);
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(Code(res), "organization.invalid_access");

  res = Call("GET", "/api/v1/organizations/org-nope", kRootAuth);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "organization.not_found");
}

TEST_F(HandlerTest, IngestThenChartsWithAnEncodedOffset) {
  Response res = Call("POST", "/api/v1/billing/usage", kRootAuth, kLine, "application/x-ndjson; charset=utf-8");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body, R"({"stored":1,"duplicates":0})");

  // 2026-11-01T05:30:00+05:30 = 2026-11-01T00:00:00Z; raw '+' and %2B both mean plus.
  res = Call("GET",
             "/api/v1/billing/costs/org-a/charts?from=2026-11-01T05:30:00+05:30&to=2026-11-01T06:00:00%2B05:30"
             "&granularity=day",
             kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body, R"({"data":[{"timestamp":1793491200,"values":[{"id":"d1","name":"search","value":0.15}]}]})");
}

TEST_F(HandlerTest, ChartErrorsComeFromTheService) {
  Response res = Call("GET", "/api/v1/billing/costs/org-a/charts?from=yesterday", kAliceAuth);
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(Code(res), "costs.invalid_date_range");
  EXPECT_NE(res.body.find(R"("fields":["from"])"), std::string::npos) << res.body;

  res = Call("GET", "/api/v1/billing/costs/org-a/charts?bucketing_strategy=weekly", kAliceAuth);
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(Code(res), "root.invalid_data");
}

TEST_F(HandlerTest, IngestChecksMediaTypeAndAdmin) {
  Response res = Call("POST", "/api/v1/billing/usage", kRootAuth, kLine, "application/json");
  EXPECT_EQ(res.status, 415u);
  EXPECT_EQ(Code(res), "root.unsupported_media_type");

  res = Call("POST", "/api/v1/billing/usage", kRootAuth, kLine, "");
  EXPECT_EQ(res.status, 415u);

  res = Call("POST", "/api/v1/billing/usage", kAliceAuth, kLine, "application/jsonl");
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(Code(res), "root.forbidden");
}

TEST_F(HandlerTest, StoreOutageIsA500WithoutInternals) {
  ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);  // cached login
  store_.SetUnavailable(true);
  // (The organization itself is remembered once found, so a chart is what needs the store.)
  const Response res = Call("GET", "/api/v1/billing/costs/org-a/charts", kAliceAuth);
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(Code(res), "billing_service.failed_request");
  ASSERT_TRUE(res.error.has_value());
  EXPECT_EQ(res.error->code, ErrorCode::kStoreFailed);
  store_.SetUnavailable(false);
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);
}

constexpr std::size_t kIngestLimit = 1 << 20;
constexpr std::uint64_t kThirtyMegabytes = 30u << 20;

TEST_F(HandlerTest, AdmitRefusesAnUnauthenticatedIngestOnItsHeader) {
  const Admission a =
      AdmitRequest(Head("POST", "/api/v1/billing/usage", "", kThirtyMegabytes, kNdjson), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value()) << "a 30 MB body without credentials must not be admitted";
  EXPECT_EQ(a.refusal->status, 401u);
  EXPECT_EQ(Code(*a.refusal), "root.unauthenticated");
  EXPECT_EQ(Header(*a.refusal, "WWW-Authenticate"), "Basic realm=\"costs\"");

  // Failed logins at the header stage count against the address (burst 3), then lock it out.
  for (unsigned expected : {401u, 401u, 401u, 429u}) {
    const Admission wrong = AdmitRequest(Head("POST", "/api/v1/billing/usage", kWrongAuth, kThirtyMegabytes, kNdjson),
                                         services_, kIngestLimit);
    ASSERT_TRUE(wrong.refusal.has_value());
    EXPECT_EQ(wrong.refusal->status, expected);
  }
}

TEST_F(HandlerTest, AdmitRoutesBeforeAuthenticating) {
  Admission a = AdmitRequest(Head("GET", "/api/v1/nope", "", kThirtyMegabytes), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 404u);

  a = AdmitRequest(Head("PUT", "/api/v1/billing/usage", "", kThirtyMegabytes, kNdjson), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 405u);
  EXPECT_EQ(Header(*a.refusal, "Allow"), "POST");

  a = AdmitRequest(Head("GET", "http://example.com/api/v1/organizations/org-a", kAliceAuth), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 400u) << "a target that is not origin-form";
  EXPECT_EQ(hasher_.verifications.load(), 0) << "no credentials are verified for an unroutable request";
}

TEST_F(HandlerTest, AdmitGivesOnlyTheAdminIngestTheLargeBodyLimit) {
  Admission a =
      AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, kIngestLimit, kNdjson), services_, kIngestLimit);
  ASSERT_FALSE(a.refusal.has_value()) << a.refusal->body;
  EXPECT_EQ(a.route.endpoint, Endpoint::kIngestUsage);
  EXPECT_EQ(a.principal.name, "root");
  EXPECT_EQ(a.body_limit, kIngestLimit);

  a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, std::nullopt, "application/jsonl"), services_,
                   kIngestLimit);
  ASSERT_FALSE(a.refusal.has_value()) << "chunked: the limit applies while the body is read";
  EXPECT_EQ(a.body_limit, kIngestLimit);

  a = AdmitRequest(Head("GET", "/api/v1/organizations/org-a", kAliceAuth), services_, kIngestLimit);
  ASSERT_FALSE(a.refusal.has_value()) << a.refusal->body;
  EXPECT_EQ(a.route.endpoint, Endpoint::kGetOrganization);
  EXPECT_EQ(a.route.organization_id, "org-a");
  EXPECT_EQ(a.principal.name, "alice");
  EXPECT_EQ(a.body_limit, kSmallBodyLimit);

  a = AdmitRequest(Head("GET", "/api/v1/organizations/org-a", kRootAuth, kSmallBodyLimit), services_, kIngestLimit);
  ASSERT_FALSE(a.refusal.has_value()) << "a small body on a GET is read and ignored";
  EXPECT_EQ(a.body_limit, kSmallBodyLimit);
}

TEST_F(HandlerTest, AdmitRefusesADeclaredBodyOverTheLimit) {
  Admission a = AdmitRequest(Head("GET", "/api/v1/organizations/org-a", kAliceAuth, kSmallBodyLimit + 1), services_,
                             kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 413u);
  EXPECT_EQ(Code(*a.refusal), "root.payload_too_large");
  EXPECT_EQ(a.refusal->principal, "alice");

  a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, kIngestLimit + 1, kNdjson), services_,
                   kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 413u);
}

TEST_F(HandlerTest, AdmitChecksIngestAdminThenMediaType) {
  Admission a =
      AdmitRequest(Head("POST", "/api/v1/billing/usage", kAliceAuth, 100, "application/json"), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 403u) << "a non-admin is refused whatever it sends";
  EXPECT_EQ(Code(*a.refusal), "root.forbidden");
  EXPECT_EQ(a.refusal->principal, "alice");

  a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, 100, "application/json"), services_, kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 415u);
  EXPECT_EQ(Code(*a.refusal), "root.unsupported_media_type");
}

TEST_F(HandlerTest, AdmitThenServeTakesOneRateLimitTokenPerRequest) {
  // The burst is 5: were the limit taken at both stages, the third request would be refused.
  for (int i = 0; i < 5; ++i) {
    Request req = Head("GET", "/api/v1/organizations/org-a", kAliceAuth);
    const Admission a = AdmitRequest(req, services_, kIngestLimit);
    ASSERT_FALSE(a.refusal.has_value()) << "request " << i << ": " << a.refusal->body;
    const Response res = ServeAdmitted(a, req, services_);
    EXPECT_EQ(res.status, 200u) << "request " << i << ": " << res.body;
    EXPECT_EQ(res.principal, "alice");
  }
  const Admission limited =
      AdmitRequest(Head("GET", "/api/v1/organizations/org-a", kAliceAuth), services_, kIngestLimit);
  ASSERT_TRUE(limited.refusal.has_value());
  EXPECT_EQ(limited.refusal->status, 429u);
}

TEST_F(HandlerTest, AdmittedIngestIsServedWithItsBody) {
  Request req = Head("POST", "/api/v1/billing/usage", kRootAuth, std::string_view(kLine).size(), kNdjson);
  const Admission a = AdmitRequest(req, services_, kIngestLimit);
  ASSERT_FALSE(a.refusal.has_value()) << a.refusal->body;
  req.body = kLine;
  const Response res = ServeAdmitted(a, req, services_);
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body, R"({"stored":1,"duplicates":0})");
  EXPECT_EQ(res.principal, "root");
}

TEST_F(HandlerTest, HandleRequestRefusesABodyOverTheLimit) {
  const std::string body(kSmallBodyLimit + 1, 'x');
  Response res = Call("GET", "/api/v1/organizations/org-a", kAliceAuth, body);
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(Code(res), "root.payload_too_large");
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth, std::string(kSmallBodyLimit, 'x')).status, 200u)
      << "a body within the limit is ignored";
}

// ---- The rest of the API family --------------------------------------------------------

constexpr const char* kJson = "application/json";

TEST_F(ApiFamilyTest, OverviewSumsDimensionsTrialsAndTheLatestHourlyRate) {
  const Response res = Call("GET", std::string("/api/v1/billing/costs/org-a") + kRange, kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.content_type, "application/json");
  // capacity 4 x 0.0913 + 0.3 = 0.6652; data out 0.15; latest hour (01:00): 0.1826 + 0.3.
  EXPECT_EQ(res.BodyView(),
            R"({"costs":{"total":0.8152,"dimensions":[{"type":"capacity","cost":0.6652},{"type":"data_in","cost":0},)"
            R"({"type":"data_internode","cost":0},{"type":"data_out","cost":0.15},{"type":"storage_api","cost":0},)"
            R"({"type":"storage_bytes","cost":0}]},"hourly_rate":0.4826,"trials":0.3})");
}

TEST_F(ApiFamilyTest, DeploymentsAsJsonAndAsCsv) {
  const std::string target = std::string("/api/v1/billing/costs/org-a/deployments") + kRange;
  Response res = Call("GET", target, kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(Header(res, "Vary"), "Accept");
  EXPECT_EQ(res.BodyView(),
            R"({"total_cost":0.8152,"deployments":[{"deployment_id":"d1","deployment_name":"search, \"prod\"",)"
            R"("costs":{"total":0.5152,"dimensions":[{"type":"capacity","cost":0.3652},{"type":"data_in","cost":0},)"
            R"({"type":"data_internode","cost":0},{"type":"data_out","cost":0.15},{"type":"storage_api","cost":0},)"
            R"({"type":"storage_bytes","cost":0}]},"hourly_rate":0.1826,)"
            R"("period":{"start":"2026-11-01T00:00:00Z","end":"2026-11-01T02:00:00Z"}},)"
            R"({"deployment_id":"d2","deployment_name":"logs","costs":{"total":0.3,"dimensions":[)"
            R"({"type":"capacity","cost":0.3},{"type":"data_in","cost":0},{"type":"data_internode","cost":0},)"
            R"({"type":"data_out","cost":0},{"type":"storage_api","cost":0},{"type":"storage_bytes","cost":0}]},)"
            R"("hourly_rate":0.3,"period":{"start":"2026-11-01T01:00:00Z","end":"2026-11-01T02:00:00Z"}}]})");

  res = Call("GET", target, kAliceAuth, {}, {}, "text/csv");
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(Header(res, "Vary"), "Accept");
  EXPECT_EQ(res.BodyView(),
            "deployment_id,deployment_name,total_cost,capacity,data_in,data_internode,data_out,storage_api,"
            "storage_bytes,hourly_rate,period_start,period_end\r\n"
            "d1,\"search, \"\"prod\"\"\",0.5152,0.3652,0,0,0.15,0,0,0.1826,2026-11-01T00:00:00Z,"
            "2026-11-01T02:00:00Z\r\n"
            "d2,logs,0.3,0.3,0,0,0,0,0,0.3,2026-11-01T01:00:00Z,2026-11-01T02:00:00Z\r\n");
}

TEST_F(ApiFamilyTest, ItemsOfTheOrganizationAndOfOneDeployment) {
  Response res = Call("GET", std::string("/api/v1/billing/costs/org-a/items") + kRange, kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_NE(res.BodyView().find(R"({"sku":"hot","name":"Hot 8 GB","kind":"elasticsearch","instance_count":2,"hours":2,)"
                                R"("price_per_hour":0.1826,"price":0.3652,)"),
            std::string::npos)
      << res.BodyView();
  EXPECT_NE(res.BodyView().find(R"({"sku":"kb","name":"Kibana","kind":"kibana","instance_count":1,"hours":1,)"),
            std::string::npos)
      << res.BodyView();
  EXPECT_NE(res.BodyView().find(R"("data_transfer_and_storage":[{"sku":"out","name":"Data out","type":"data_out",)"
                                R"("quantity":{"value":2,"formatted_value":"1.5 GiB"},)"
                                R"("rate":{"value":0.1,"formatted_value":"0.1 per GiB"},"cost":0.15}])"),
            std::string::npos)
      << res.BodyView();

  res = Call("GET", std::string("/api/v1/billing/costs/org-a/deployments/d2/items") + kRange, kAliceAuth, {}, {},
             "text/*");
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(res.BodyView(),
            "section,sku,name,kind_or_type,instance_count,hours,quantity,unit,rate,price_per_hour,cost,period_start,"
            "period_end\r\n"
            "resource,kb,Kibana,kibana,1,1,,,,0.3,0.3,2026-11-01T01:00:00Z,2026-11-01T02:00:00Z\r\n");
}

TEST_F(ApiFamilyTest, DeploymentChartsHaveOneValuePerDimension) {
  const Response res =
      Call("GET", std::string("/api/v1/billing/costs/org-a/deployments/d1/charts") + kRange, kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.BodyView(), R"({"data":[{"timestamp":1793491200,"values":[{"id":"capacity","name":"Capacity",)"
                            R"("value":0.3652},{"id":"data_out","name":"Data out","value":0.15}]}]})");
}

TEST_F(ApiFamilyTest, UnknownDeploymentsAreNotFoundWithThePathsCode) {
  Response res = Call("GET", "/api/v1/billing/costs/org-a/deployments/nope/charts", kAliceAuth);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "root.not_found");
  EXPECT_NE(res.BodyView().find(R"("fields":["deployment_id"])"), std::string::npos) << res.BodyView();

  res = Call("GET", "/api/v1/billing/costs/org-a/deployments/nope/items", kAliceAuth, {}, {}, "text/csv");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "billing_service.es_cluster_id_not_found");
  EXPECT_EQ(res.content_type, "application/json") << "errors are always JSON";

  res = Call("GET", "/api/v1/billing/costs/org-nope/deployments/d1/items", kRootAuth);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "organization.not_found") << "only the deployment is renamed";

  res = Call("GET", "/api/v1/billing/costs/org-b/items", kAliceAuth);
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(Code(res), "organization.invalid_access");
}

TEST_F(ApiFamilyTest, RangeErrorsComeFromTheServiceOnEveryPath) {
  for (const char* path : {"", "/deployments", "/items", "/deployments/d1/items", "/deployments/d1/charts"}) {
    const Response res =
        Call("GET", std::string("/api/v1/billing/costs/org-a") + path + "?from=2026-11-02&to=2026-11-01", kAliceAuth);
    EXPECT_EQ(res.status, 400u) << path;
    EXPECT_EQ(Code(res), "costs.invalid_date_range") << path;
  }
  const Response res = Call("GET", "/api/v1/billing/costs/org-a?bucketing_strategy=weekly", kAliceAuth);
  EXPECT_EQ(res.status, 200u) << "bucketing_strategy means nothing to the overview: ignored";
}

TEST_F(ApiFamilyTest, AcceptIsNegotiatedAfterAuthentication) {
  Response res = Call("GET", "/api/v1/billing/costs/org-a", kAliceAuth, {}, {}, "text/csv");
  EXPECT_EQ(res.status, 200u) << "the overview is JSON only and ignores Accept";
  EXPECT_EQ(res.content_type, "application/json");

  res = Call("GET", "/api/v1/billing/costs/org-a/items", kAliceAuth, {}, {}, "text/html");
  EXPECT_EQ(res.status, 406u) << "where CSV is offered, an Accept allowing neither is refused";
  EXPECT_EQ(Code(res), "root.not_acceptable");
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.principal, "alice");
  res = Call("GET", "/api/v1/billing/costs/org-a/items", kAliceAuth, {}, {}, "text/csv;q=0, application/*");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "application/json");

  res = Call("GET", "/api/v1/billing/costs/org-a/items", "", {}, {}, "text/html");
  EXPECT_EQ(res.status, 401u) << "credentials first";
  res = Call("GET", "/api/v1/billing/costs/org-nope/items", kRootAuth, {}, {}, "text/csv");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.content_type, "application/json");
}

TEST_F(ApiFamilyTest, CreditsArePlatformAdminsJsonOnly) {
  const char* body = R"({"id":"c-1","ecu":"100","start":"2026-11-01","end":"2026-12-31"})";
  Response res = Call("POST", "/api/v1/billing/credits/org-a", kAliceAuth, body, kJson);
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(Code(res), "root.forbidden");
  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth, body, "application/x-www-form-urlencoded");
  EXPECT_EQ(res.status, 415u);
  EXPECT_EQ(Code(res), "root.unsupported_media_type");

  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth, body, "application/json; charset=utf-8");
  ASSERT_EQ(res.status, 201u) << res.BodyView();
  EXPECT_EQ(res.BodyView(), R"({"id":"c-1","organization_id":"org-a","ecu":100,"start":"2026-11-01T00:00:00Z",)"
                            R"("end":"2027-01-01T00:00:00Z"})");
  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth, body, kJson);
  EXPECT_EQ(res.status, 201u) << "an identical re-send is a no-op";
  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth,
             R"({"id":"c-1","ecu":101,"start":"2026-11-01","end":"2026-12-31"})", kJson);
  EXPECT_EQ(res.status, 409u);
  EXPECT_EQ(Code(res), "root.already_exists");

  res = Call("POST", "/api/v1/billing/credits/org-nope", kRootAuth, body, kJson);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "organization.not_found");
  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth,
             R"({"id":"bad id!","ecu":1,"start":"2026-11-01",)"
             R"("end":"2026-11-02"})",
             kJson);
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(Code(res), "root.invalid_data");
  EXPECT_NE(res.BodyView().find(R"("fields":["id"])"), std::string::npos) << res.BodyView();
  res = Call("POST", "/api/v1/billing/credits/org-a", kRootAuth, R"({"ecu":"x"})", kJson);
  EXPECT_EQ(res.status, 400u);
  EXPECT_NE(res.BodyView().find(R"("fields":["id","ecu","start","end"])"), std::string::npos) << res.BodyView();

  // 2026-11-15: the credit is valid; usage since its start (0.8152) consumed part of it.
  res = Call("GET", "/api/v1/billing/costs/org-a?from=2026-11-01&to=2026-11-01", kAliceAuth);
  ASSERT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_NE(res.BodyView().find(R"("balance":{"available":100,"remaining":99.1848,"line_items":[{"id":"c-1",)"
                                R"("ecu_quantity":100,"ecu_balance":99.1848,"start":"2026-11-01T00:00:00Z",)"
                                R"("end":"2027-01-01T00:00:00Z"}]})"),
            std::string::npos)
      << res.BodyView();
}

TEST_F(ApiFamilyTest, ApiKeysActAsTheirUser) {
  auto created = admin_.CreateApiKey("alice", "ci", std::nullopt, clock_.now);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  const std::string auth = "ApiKey " + created->key;
  Response res = Call("GET", "/api/v1/billing/costs/org-a/deployments", auth);
  EXPECT_EQ(res.status, 200u) << res.BodyView();
  EXPECT_EQ(res.principal, "alice");
  res = Call("GET", "/api/v1/billing/costs/org-b", auth);
  EXPECT_EQ(res.status, 403u) << "with alice's access";
  res = Call("POST", "/api/v1/billing/credits/org-a", auth, R"({})", kJson);
  EXPECT_EQ(res.status, 403u) << "alice is no admin";

  // Revoked before its first use (a used key is cached for up to 30 s).
  auto revoked = admin_.CreateApiKey("alice", "", std::nullopt, clock_.now);
  ASSERT_TRUE(revoked.has_value());
  ASSERT_TRUE(admin_.RevokeApiKey(revoked->id));
  res = Call("GET", "/api/v1/organizations/org-a", "ApiKey " + revoked->key);
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(Code(res), "root.unauthenticated");

  auto expiring = admin_.CreateApiKey("alice", "", domain::Instant{clock_.now.ns + domain::kNsPerHour}, clock_.now);
  ASSERT_TRUE(expiring.has_value());
  clock_.now.ns += 2 * domain::kNsPerHour;
  res = Call("GET", "/api/v1/organizations/org-a", "ApiKey " + expiring->key);
  EXPECT_EQ(res.status, 401u) << "expired";
}

TEST_F(ApiFamilyTest, WrongApiKeysCountAsFailedLogins) {
  for (unsigned expected : {401u, 401u, 401u, 429u}) {
    const Response res = Call("GET", "/api/v1/organizations/org-a", "ApiKey costs_0123456789abcdef_nope");
    EXPECT_EQ(res.status, expected);
  }
}

TEST_F(ApiFamilyTest, ValidApiKeysAreNotLockedOutByTheirAddress) {
  auto created = admin_.CreateApiKey("alice", "ci", std::nullopt, clock_.now);
  ASSERT_TRUE(created);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", "ApiKey costs_0123456789abcdef_nope").status, 401u);
  }
  ASSERT_EQ(Call("GET", "/api/v1/organizations/org-a", "ApiKey costs_0123456789abcdef_nope").status, 429u);
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", "ApiKey " + created->key).status, 200u)
      << "a valid key is served whatever its address's failed logins";
}

// ---- Shared bodies (BodyCache) ---------------------------------------------------------

TEST_F(ApiFamilyTest, ASecondIdenticalRequestIsServedFromTheCache) {
  const Services uncached{costs_, admin_, auth_, unlimited_, failed_logins_};
  struct Case {
    const char* path;
    const char* accept;
  };
  const Case cases[] = {{"/charts", ""},
                        {"/deployments", ""},
                        {"/deployments", "text/csv"},
                        {"/items", ""},
                        {"/items", "text/csv"},
                        {"/deployments/d1/charts", ""},
                        {"/deployments/d2/items", ""},
                        {"/deployments/d2/items", "text/csv"}};
  for (const Case& c : cases) {
    const std::string target = std::string("/api/v1/billing/costs/org-a") + c.path + kRange;
    const std::string what = target + " Accept: " + c.accept;
    const int before = counting_.data_reads.load();
    const Response first = Call("GET", target, kAliceAuth, {}, {}, c.accept);
    ASSERT_EQ(first.status, 200u) << what << ": " << first.BodyView();
    const int computed = counting_.data_reads.load();
    EXPECT_GT(computed, before) << what << ": the first request computes its body";

    const Response second = Call("GET", target, kAliceAuth, {}, {}, c.accept);
    ASSERT_EQ(second.status, 200u) << what << ": " << second.BodyView();
    EXPECT_EQ(counting_.data_reads.load(), computed) << what << ": the second reads no usage data";
    ASSERT_NE(second.shared_body, nullptr) << what;
    EXPECT_EQ(second.shared_body.get(), first.shared_body.get()) << what << ": the same bytes, not a copy";
    EXPECT_TRUE(second.body.empty()) << what;
    EXPECT_EQ(second.content_type, first.content_type) << what;
    EXPECT_EQ(second.headers, first.headers) << what << ": Vary: Accept on a hit too";
    EXPECT_EQ(second.principal, "alice") << what;

    active_ = &uncached;
    const Response fresh = Call("GET", target, kAliceAuth, {}, {}, c.accept);
    active_ = &family_services_;
    EXPECT_EQ(second.BodyView(), fresh.BodyView()) << what << ": a shared body is what rendering gives";
    EXPECT_EQ(fresh.shared_body, nullptr) << what << ": without a cache nothing is shared";
  }
  const BodyCache::Stats stats = body_cache_.stats();
  EXPECT_EQ(stats.insertions, std::size(cases));
  EXPECT_EQ(stats.entries, std::size(cases)) << "JSON and CSV of one path are separate entries";
  EXPECT_EQ(stats.hits, std::size(cases));
}

TEST_F(ApiFamilyTest, TheCacheIsKeyedOnTheResolvedRange) {
  const std::string charts = "/api/v1/billing/costs/org-a/charts";
  const Response first = Call("GET", charts + "?from=2026-11-01&to=2026-11-01", kAliceAuth);
  ASSERT_EQ(first.status, 200u) << first.BodyView();
  // The same day spelt as instants, with an offset, and the strategy in another case.
  const Response second = Call(
      "GET", charts + "?from=2026-11-01T01:00:00%2B01:00&to=2026-11-02T00:00:00Z&bucketing_strategy=Daily", kAliceAuth);
  ASSERT_EQ(second.status, 200u) << second.BodyView();
  EXPECT_EQ(second.shared_body.get(), first.shared_body.get());
  const Response monthly =
      Call("GET", charts + "?from=2026-11-01&to=2026-11-01&bucketing_strategy=monthly", kAliceAuth);
  ASSERT_EQ(monthly.status, 200u) << monthly.BodyView();
  EXPECT_NE(monthly.shared_body.get(), first.shared_body.get()) << "another strategy, another body";
  EXPECT_EQ(body_cache_.stats().entries, 2u);
}

// One more hour of capacity for a third deployment of org-a.
const char* kMoreUsage =
    R"({"id":"c3","organization_id":"org-a","deployment_id":"d3","deployment_name":"new","dimension":"capacity",)"
    R"("kind":"apm","instance_count":1,"sku":"apm","name":"APM","start":"2026-11-01T03:00:00Z",)"
    R"("end":"2026-11-01T04:00:00Z","quantity":"1","rate":"0.5"})"
    "\n";

TEST_F(ApiFamilyTest, AnIngestChangesTheCachedBody) {
  const std::string target = std::string("/api/v1/billing/costs/org-a/charts") + kRange;
  const Response before = Call("GET", target, kAliceAuth);
  ASSERT_EQ(before.status, 200u) << before.BodyView();
  EXPECT_EQ(before.BodyView().find(R"("id":"d3")"), std::string_view::npos);

  // Re-sending stored records stores nothing: the version stays, the body is still shared.
  ASSERT_EQ(Call("POST", "/api/v1/billing/usage", kRootAuth, kUsage, kNdjson).status, 200u);
  EXPECT_EQ(Call("GET", target, kAliceAuth).shared_body.get(), before.shared_body.get());

  ASSERT_EQ(Call("POST", "/api/v1/billing/usage", kRootAuth, kMoreUsage, kNdjson).status, 200u);
  const int reads = counting_.data_reads.load();
  const Response after = Call("GET", target, kAliceAuth);
  ASSERT_EQ(after.status, 200u) << after.BodyView();
  EXPECT_GT(counting_.data_reads.load(), reads) << "a new data version is computed afresh";
  EXPECT_NE(after.BodyView().find(R"({"id":"d3","name":"new","value":0.5})"), std::string_view::npos)
      << after.BodyView();
  EXPECT_EQ(Call("GET", target, kAliceAuth).shared_body.get(), after.shared_body.get()) << "and then shared again";
}

TEST_F(ApiFamilyTest, EveryRequestForACachedBodyIsAuthorized) {
  ASSERT_TRUE(admin_.PutUser("bob", "pw-bob", false, {"org-b"}));
  const char* bob = "Basic Ym9iOnB3LWJvYg==";  // bob:pw-bob
  for (const char* path : {"/charts", "/deployments", "/items", "/deployments/d1/charts", "/deployments/d1/items"}) {
    const std::string target = std::string("/api/v1/billing/costs/org-a") + path + kRange;
    const Response cached = Call("GET", target, kAliceAuth);
    ASSERT_EQ(cached.status, 200u) << target << ": " << cached.BodyView();

    Response res = Call("GET", target, bob);
    EXPECT_EQ(res.status, 403u) << target << ": bob is no member of org-a";
    EXPECT_EQ(Code(res), "organization.invalid_access") << target;
    EXPECT_EQ(res.shared_body, nullptr) << target;
    res = Call("GET", target, "");
    EXPECT_EQ(res.status, 401u) << target;
    res = Call("GET", target, kRootAuth);
    EXPECT_EQ(res.status, 200u) << target << ": a platform admin reads every organization";
    EXPECT_EQ(res.shared_body.get(), cached.shared_body.get()) << target;
  }
}

TEST_F(ApiFamilyTest, RangesWithoutBothEndsAreNotCached) {
  // A defaulted `to` is now, a defaulted `from` the start of the current month: no later
  // request asks for the same body again.
  for (const char* query : {"", "?from=2026-11-01", "?to=2026-11-02", "?bucketing_strategy=daily"}) {
    const std::string target = std::string("/api/v1/billing/costs/org-a/charts") + query;
    for (int i = 0; i < 2; ++i) {
      const Response res = Call("GET", target, kAliceAuth);
      ASSERT_EQ(res.status, 200u) << target << ": " << res.BodyView();
      EXPECT_EQ(res.shared_body, nullptr) << target << " (request " << i << ") is rendered for itself";
    }
  }
  EXPECT_EQ(body_cache_.stats().insertions, 0u);
  EXPECT_EQ(body_cache_.stats().hits + body_cache_.stats().misses, 0u) << "not even looked up";
}

TEST_F(ApiFamilyTest, ErrorsTheOverviewAndTheOrganizationAreNeverStored) {
  const std::string org = "/api/v1/billing/costs/org-a";
  for (int i = 0; i < 2; ++i) {
    Response res = Call("GET", org + "/deployments/nope/charts" + kRange, kAliceAuth);
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(Code(res), "root.not_found");
    res = Call("GET", org + "/deployments/nope/items" + kRange, kAliceAuth);
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(Code(res), "billing_service.es_cluster_id_not_found") << "the path's code, also via the cache";
    res = Call("GET", org + "/deployments/d1/items?from=2026-11-02&to=2026-11-01", kAliceAuth);
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(Code(res), "costs.invalid_date_range");
    res = Call("GET", org + "/charts?from=2026-11-01&to=2026-11-02&bucketing_strategy=weekly", kAliceAuth);
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(Code(res), "root.invalid_data");
    res = Call("GET", "/api/v1/billing/costs/org-nope/items" + std::string(kRange), kRootAuth);
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(Code(res), "organization.not_found");

    const int reads = counting_.data_reads.load();
    res = Call("GET", org + kRange, kAliceAuth);
    EXPECT_EQ(res.status, 200u) << res.BodyView();
    EXPECT_GT(counting_.data_reads.load(), reads) << "the overview (balance as of now) is always computed";
    EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);
  }
  EXPECT_EQ(body_cache_.stats().insertions, 0u);
  EXPECT_EQ(body_cache_.stats().entries, 0u);
}

// ---- Cached bodies found from memory alone (ServeHeld: the server's I/O thread) -------------

// A store that never holds a data version in memory (as one whose versions are all read from
// its database).
class UnheldStore final : public service::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::optional<std::int64_t> HeldDataVersion(std::string_view /*org*/) override { return std::nullopt; }
};

class ServeHeldTest : public ApiFamilyTest {
 protected:
  // ServeHeld's answer to a GET, admitted as the server admits it.
  std::optional<Response> Held(const Services& services, std::string_view target, std::string_view auth) {
    const Request req = Head("GET", target, auth);
    const Admission admission = AdmitRequest(req, services, kIngestLimit);
    EXPECT_FALSE(admission.refusal.has_value()) << target;
    return ServeHeld(admission, req, services);
  }

  const std::string target_ = std::string("/api/v1/billing/costs/org-a/charts") + kRange;
};

TEST_F(ServeHeldTest, AnswersACachedBodyAsServeAdmittedWould) {
  EXPECT_FALSE(Held(family_services_, target_, kAliceAuth)) << "nothing is cached yet";
  const Response rendered = Call("GET", target_, kAliceAuth);
  ASSERT_EQ(rendered.status, 200u) << rendered.BodyView();
  const int reads = counting_.data_reads.load();

  const std::optional<Response> held = Held(family_services_, target_, kAliceAuth);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->status, 200u);
  EXPECT_EQ(held->shared_body.get(), rendered.shared_body.get()) << "the stored bytes";
  EXPECT_EQ(held->content_type, rendered.content_type);
  EXPECT_EQ(held->headers, rendered.headers);
  EXPECT_EQ(held->principal, "alice");
  EXPECT_EQ(counting_.data_reads.load(), reads) << "no data read";

  const std::string csv = std::string("/api/v1/billing/costs/org-a/deployments") + kRange;
  ASSERT_EQ(Call("GET", csv, kAliceAuth, {}, {}, "text/csv").status, 200u);
  Request req = Head("GET", csv, kAliceAuth);
  req.accept = "text/csv";
  const Admission admission = AdmitRequest(req, family_services_, kIngestLimit);
  const std::optional<Response> negotiated = ServeHeld(admission, req, family_services_);
  ASSERT_TRUE(negotiated.has_value());
  EXPECT_EQ(Header(*negotiated, "Vary"), "Accept") << "negotiated as the endpoint answers";
}

TEST_F(ServeHeldTest, LeavesEverythingElseToThePool) {
  ASSERT_EQ(Call("GET", target_, kAliceAuth).status, 200u);
  ASSERT_TRUE(Held(family_services_, target_, kAliceAuth).has_value());

  ASSERT_TRUE(admin_.PutUser("bob", "pw-bob", false, {"org-b"}));
  EXPECT_FALSE(Held(family_services_, target_, "Basic Ym9iOnB3LWJvYg==")) << "a 403 is answered on the pool";
  EXPECT_FALSE(Held(family_services_, "/api/v1/billing/costs/org-a/charts", kAliceAuth)) << "to defaults to now";
  EXPECT_FALSE(Held(services_, target_, kAliceAuth)) << "no body cache";

  // An organization this service has not seen yet: authorizing it would ask the store.
  service::CostsService fresh{counting_, clock_};
  const Services fresh_services{fresh, admin_, auth_, unlimited_, failed_logins_, &body_cache_};
  EXPECT_FALSE(Held(fresh_services, target_, kAliceAuth));
  active_ = &fresh_services;
  ASSERT_EQ(Call("GET", target_, kAliceAuth).status, 200u);
  active_ = &family_services_;
  EXPECT_TRUE(Held(fresh_services, target_, kAliceAuth).has_value()) << "seen once, then held";

  // A store whose versions are not held in memory.
  UnheldStore unheld{counting_};
  service::CostsService reading{unheld, clock_};
  const Services reading_services{reading, admin_, auth_, unlimited_, failed_logins_, &body_cache_};
  active_ = &reading_services;
  ASSERT_EQ(Call("GET", target_, kAliceAuth).status, 200u);
  active_ = &family_services_;
  EXPECT_FALSE(Held(reading_services, target_, kAliceAuth));

  // A new data version: the stored body is of an older one.
  ASSERT_EQ(Call("POST", "/api/v1/billing/usage", kRootAuth, kMoreUsage, kNdjson).status, 200u);
  EXPECT_FALSE(Held(family_services_, target_, kAliceAuth));
}

}  // namespace
}  // namespace costs::http
