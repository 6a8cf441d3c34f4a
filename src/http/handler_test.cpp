// HandleRequest over the real services and the in-memory store: the order of checks (route,
// then auth and limits, then the handler), and decode -> service -> encode per endpoint.
// AdmitRequest: what is decided from a request's header alone, before any body is read.

#include <atomic>
#include <cstdint>
#include <optional>
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

  Request Head(std::string_view method, std::string_view target, std::string_view authorization,
               std::optional<std::uint64_t> content_length = std::nullopt,
               std::string_view content_type = {}) {
    Request req;
    req.method = method;
    req.target = target;
    req.authorization = authorization;
    req.content_type = content_type;
    req.content_length = content_length;
    req.client_address = "192.0.2.1";
    return req;
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

constexpr std::size_t kIngestLimit = 1 << 20;
constexpr std::uint64_t kThirtyMegabytes = 30u << 20;
constexpr const char* kNdjson = "application/x-ndjson";

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

  a = AdmitRequest(Head("GET", "http://example.com/api/v1/organizations/org-a", kAliceAuth), services_,
                   kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 400u) << "a target that is not origin-form";
  EXPECT_EQ(hasher_.verifications.load(), 0) << "no credentials are verified for an unroutable request";
}

TEST_F(HandlerTest, AdmitGivesOnlyTheAdminIngestTheLargeBodyLimit) {
  Admission a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, kIngestLimit, kNdjson), services_,
                             kIngestLimit);
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
  Admission a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kAliceAuth, 100, "application/json"), services_,
                             kIngestLimit);
  ASSERT_TRUE(a.refusal.has_value());
  EXPECT_EQ(a.refusal->status, 403u) << "a non-admin is refused whatever it sends";
  EXPECT_EQ(Code(*a.refusal), "root.forbidden");
  EXPECT_EQ(a.refusal->principal, "alice");

  a = AdmitRequest(Head("POST", "/api/v1/billing/usage", kRootAuth, 100, "application/json"), services_,
                   kIngestLimit);
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
  const Admission limited = AdmitRequest(Head("GET", "/api/v1/organizations/org-a", kAliceAuth), services_,
                                         kIngestLimit);
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

}  // namespace
}  // namespace costs::http
