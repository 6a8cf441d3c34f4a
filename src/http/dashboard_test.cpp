// The dashboard's static files (dashboard.hpp): paths, caching, security headers, gzip
// negotiation, shared bytes; and that AdmitRequest answers them before routing and auth.

#include "http/dashboard.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "http/accept.hpp"
#include "http/handler.hpp"
#include "http/testing/handler_fixture.hpp"

namespace costs::http {
namespace {

constexpr std::array<WebAsset, 3> kAssets = {{
    {"index.html", "text/html; charset=utf-8", "<!doctype html>index", "GZ-index"},
    {"assets/main.ABC123.js", "text/javascript; charset=utf-8", "console.log(1)", "GZ-js"},
    {"assets/style.DEF456.css", "text/css; charset=utf-8", "body{}", "GZ-css"},
}};

Request Get(std::string_view target, std::string_view accept_encoding = {}, std::string_view method = "GET") {
  Request req;
  req.method = method;
  req.target = target;
  req.accept_encoding = accept_encoding;
  return req;
}

std::string HeaderOf(const Response& res, std::string_view name) {
  const std::string* v = res.FindHeader(name);
  return v ? *v : std::string("<absent>");
}

void ExpectSecurityHeaders(const Response& res) {
  EXPECT_EQ(HeaderOf(res, "Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  EXPECT_EQ(HeaderOf(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(res, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(HeaderOf(res, "Vary"), "Accept-Encoding");
}

TEST(AcceptsGzipTest, ReadsCodingsAndQValues) {
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZip"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br, zstd"));
  EXPECT_TRUE(AcceptsGzip("deflate;q=1, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("gzip ; q=1.000"));
  EXPECT_TRUE(AcceptsGzip("gzip;q=.2"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip; Q=0.000"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("br, *;q=0.1"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));  // gzip named: its own q wins over *
  EXPECT_TRUE(AcceptsGzip("*;q=0, gzip"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=2"));  // malformed q: the element is skipped
  EXPECT_FALSE(AcceptsGzip("gzip;q=abc"));
  EXPECT_FALSE(AcceptsGzip(" , ;q=1"));
}

TEST(DashboardTest, ServesIndexAtRootWithAnyQueryNotCached) {
  const Dashboard dashboard(kAssets);
  for (const std::string_view target : {"/", "/?org=acme&from=2026-11-01&to=2026-11-30&bucketing=daily"}) {
    const std::optional<Response> res = dashboard.Serve(Get(target));
    ASSERT_TRUE(res.has_value()) << target;
    EXPECT_EQ(res->status, 200u);
    EXPECT_EQ(res->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(res->BodyView(), "<!doctype html>index");
    EXPECT_EQ(HeaderOf(*res, "Cache-Control"), "no-cache");
    EXPECT_EQ(HeaderOf(*res, "Content-Encoding"), "<absent>");
    ExpectSecurityHeaders(*res);
  }
}

TEST(DashboardTest, ServesHashedAssetsImmutable) {
  const Dashboard dashboard(kAssets);
  const std::optional<Response> res = dashboard.Serve(Get("/assets/main.ABC123.js"));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(res->BodyView(), "console.log(1)");
  EXPECT_EQ(HeaderOf(*res, "Cache-Control"), "public, max-age=31536000, immutable");
  ExpectSecurityHeaders(*res);
  EXPECT_EQ(dashboard.Serve(Get("/assets/style.DEF456.css"))->content_type, "text/css; charset=utf-8");
}

TEST(DashboardTest, SendsGzipOnlyWhenAccepted) {
  const Dashboard dashboard(kAssets);
  const std::optional<Response> gz = dashboard.Serve(Get("/assets/main.ABC123.js", "gzip, deflate, br"));
  EXPECT_EQ(gz->BodyView(), "GZ-js");
  EXPECT_EQ(HeaderOf(*gz, "Content-Encoding"), "gzip");
  const std::optional<Response> refused = dashboard.Serve(Get("/", "gzip;q=0, br"));
  EXPECT_EQ(refused->BodyView(), "<!doctype html>index");
  EXPECT_EQ(HeaderOf(*refused, "Content-Encoding"), "<absent>");
  EXPECT_EQ(HeaderOf(*refused, "Vary"), "Accept-Encoding");
}

TEST(DashboardTest, SharesTheBytesAcrossResponses) {
  const Dashboard dashboard(kAssets);
  const std::optional<Response> a = dashboard.Serve(Get("/assets/main.ABC123.js", "gzip"));
  const std::optional<Response> b = dashboard.Serve(Get("/assets/main.ABC123.js", "gzip"));
  ASSERT_NE(a->shared_body, nullptr);
  EXPECT_EQ(a->shared_body.get(), b->shared_body.get());
  EXPECT_TRUE(a->body.empty());
}

TEST(DashboardTest, HeadIsAnsweredLikeGet) {
  const Dashboard dashboard(kAssets);
  const std::optional<Response> res = dashboard.Serve(Get("/", "gzip", "HEAD"));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(HeaderOf(*res, "Content-Encoding"), "gzip");  // the session drops the body of a HEAD
}

TEST(DashboardTest, UnknownAssetsAreNotFoundWithTheSecurityHeaders) {
  const Dashboard dashboard(kAssets);
  for (const std::string_view target : {"/assets/main.OLD999.js", "/assets/", "/assets/index.html",
                                        "/assets/../index.html", "/assets/main.ABC123.js/x"}) {
    const std::optional<Response> res = dashboard.Serve(Get(target));
    ASSERT_TRUE(res.has_value()) << target;
    EXPECT_EQ(res->status, 404u) << target;
    EXPECT_EQ(HeaderOf(*res, "x-cloud-error-codes"), "root.not_found");
    EXPECT_EQ(res->content_type, "application/json");
    ExpectSecurityHeaders(*res);
  }
}

TEST(DashboardTest, OtherMethodsAreNotAllowed) {
  const Dashboard dashboard(kAssets);
  const std::optional<Response> res = dashboard.Serve(Get("/", "", "POST"));
  EXPECT_EQ(res->status, 405u);
  EXPECT_EQ(HeaderOf(*res, "Allow"), "GET, HEAD");
}

TEST(DashboardTest, LeavesOtherPathsToTheApi) {
  const Dashboard dashboard(kAssets);
  for (const std::string_view target : {"/api/v1/organizations", "/healthz", "/index.html", "/assetsx", "//"}) {
    EXPECT_FALSE(dashboard.Serve(Get(target)).has_value()) << target;
  }
}

class DashboardHandlerTest : public HandlerTest {
 protected:
  DashboardHandlerTest() { with_dashboard_.dashboard = &dashboard_; }
  Dashboard dashboard_{kAssets};
  Services with_dashboard_{costs_, admin_, auth_, per_principal_, failed_logins_};
};

TEST_F(DashboardHandlerTest, AnsweredWithoutCredentialsOrRateLimit) {
  active_ = &with_dashboard_;
  for (int i = 0; i < 20; ++i) {  // the per-principal limit is 5 in a burst
    const Response res = Call("GET", "/", "");
    ASSERT_EQ(res.status, 200u) << "request " << i;
  }
  EXPECT_EQ(Call("GET", "/", kWrongAuth).status, 200u);
  EXPECT_EQ(hasher_.verifications.load(), 0);
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", "").status, 401u);  // the API is unchanged
}

TEST_F(DashboardHandlerTest, WithoutADashboardTheRootIsAnUnknownPath) {
  const Response res = Call("GET", "/", "");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(Code(res), "root.not_found");
}

}  // namespace
}  // namespace costs::http
