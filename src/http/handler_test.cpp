// HandleRequest over the real services and the in-memory store: the order of checks (route,
// then auth and limits, then the handler), and decode -> service -> encode per endpoint.

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "http/handler.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/testing/fakes.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::http {
namespace {

using service::testing::FakeClock;
using service::testing::FakeHasher;

constexpr const char* kAliceAuth = "Basic YWxpY2U6cHctYWxpY2U=";  // alice:pw-alice
constexpr const char* kRootAuth = "Basic cm9vdDpwdy1yb290";       // root:pw-root
constexpr const char* kWrongAuth = "Basic YWxpY2U6d3Jvbmc=";      // alice:wrong

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest() {
    clock_.now = *domain::ParseRfc3339("2026-11-15T12:00:00Z");
    EXPECT_TRUE(admin_.CreateOrganization("org-a", "Org A"));
    EXPECT_TRUE(admin_.CreateOrganization("org-b", "Org B"));
    EXPECT_TRUE(admin_.PutUser("alice", "pw-alice", false, {"org-a"}));
    EXPECT_TRUE(admin_.PutUser("root", "pw-root", true, {}));
  }

  Response Call(std::string_view method, std::string_view target, std::string_view authorization,
                std::string_view body = {}, std::string_view content_type = {}) {
    Request req;
    req.method = method;
    req.target = target;
    req.authorization = authorization;
    req.content_type = content_type;
    req.body = body;
    req.client_address = "192.0.2.1";
    return HandleRequest(req, services_);
  }

  static std::string Header(const Response& res, std::string_view name) {
    const std::string* v = res.FindHeader(name);
    return v ? *v : std::string("<absent>");
  }

  static std::string Code(const Response& res) { return Header(res, "x-cloud-error-codes"); }

  FakeClock clock_;
  FakeHasher hasher_;
  store::memory::MemoryStore store_;
  service::CostsService costs_{store_, clock_};
  service::AdminService admin_{store_, hasher_};
  service::Authenticator auth_{store_, hasher_, clock_};
  service::RateLimiter per_principal_{clock_, 1, 5};
  service::RateLimiter failed_logins_{clock_, 1, 3};
  Services services_{costs_, admin_, auth_, per_principal_, failed_logins_};
};

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
  for (const char* auth : {"", "Basic !!", "Bearer x", "ApiKey abc"}) {
    const Response res = Call("GET", "/api/v1/organizations/org-a", auth);
    EXPECT_EQ(res.status, 401u) << auth;
    EXPECT_EQ(Code(res), "root.unauthenticated") << auth;
    EXPECT_EQ(Header(res, "WWW-Authenticate"), "Basic realm=\"costs\"") << auth;
    EXPECT_EQ(res.principal, "") << auth;
  }
  EXPECT_EQ(failed_logins_.Peek("192.0.2.1"), 0) << "nothing was verified, nothing counted";
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
  const Response res = Call("GET", "/api/v1/organizations/org-a", kAliceAuth);
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(Code(res), "billing_service.failed_request");
  ASSERT_TRUE(res.error.has_value());
  EXPECT_EQ(res.error->code, ErrorCode::kStoreFailed);
  store_.SetUnavailable(false);
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kAliceAuth).status, 200u);
}

}  // namespace
}  // namespace costs::http
