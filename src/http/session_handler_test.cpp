// The session paths and the session cookie as a credential, through HandleRequest and
// AdmitRequest over the real services and the in-memory store; the cookie parser and the
// sign-in body decoder.

#include "http/session_handler.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <string>

#include "http/cookie.hpp"
#include "http/header_fields.hpp"
#include "http/session_request.hpp"
#include "http/testing/handler_fixture.hpp"

namespace costs::http {
namespace {

// ---- Cookie header ----------------------------------------------------------------------------

TEST(CookieTest, FindsTheFirstPairWithTheExactName) {
  EXPECT_EQ(FindCookie("costs_session=abc", kSessionCookie), "abc");
  EXPECT_EQ(FindCookie("a=1; costs_session=abc; b=2", kSessionCookie), "abc");
  EXPECT_EQ(FindCookie("a=1;costs_session = abc ;b=2", kSessionCookie), "abc") << "spaces around are ignored";
  EXPECT_EQ(FindCookie("costs_session=\"abc\"", kSessionCookie), "abc") << "a quoted value";
  EXPECT_EQ(FindCookie("costs_session=first; costs_session=second", kSessionCookie), "first");
  EXPECT_EQ(FindCookie("costs_session=", kSessionCookie), "");
  EXPECT_EQ(FindCookie("xcosts_session=abc; costs_sessionx=d; Costs_Session=e", kSessionCookie), std::nullopt);
  EXPECT_EQ(FindCookie("costs_session; a=b", kSessionCookie), std::nullopt) << "a pair without '='";
  EXPECT_EQ(FindCookie("", kSessionCookie), std::nullopt);
  const std::string huge = "costs_session=abc; pad=" + std::string(kMaxCookieHeader, 'x');
  EXPECT_EQ(FindCookie(huge, kSessionCookie), std::nullopt) << "headers over the bound are not searched";
}

TEST(CookieTest, SetCookieValuesCarryEveryAttribute) {
  EXPECT_EQ(SessionCookie("abc", false), "costs_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
  EXPECT_EQ(SessionCookie("abc", true), "costs_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure");
  EXPECT_EQ(ClearedSessionCookie(false), "costs_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(OriginTest, MatchesOnlyTheRequestsOwnHost) {
  EXPECT_TRUE(OriginMatches("", "h:1")) << "not sent";
  EXPECT_TRUE(OriginMatches("http://h:1", "h:1"));
  EXPECT_TRUE(OriginMatches("HTTPS://H:1", "h:1"));
  EXPECT_FALSE(OriginMatches("http://h:2", "h:1"));
  EXPECT_FALSE(OriginMatches("http://h:1/", "h:1"));
  EXPECT_FALSE(OriginMatches("null", "h:1"));
  EXPECT_FALSE(OriginMatches("ftp://h:1", "h:1"));
  EXPECT_FALSE(OriginMatches("http://", ""));
}

// Behind nginx with `proxy_set_header Host $http_host`, Host keeps the port the browser wrote
// (or none for a default one) while Origin never writes a default port: both are normalised.
TEST(OriginTest, DefaultPortsAndCaseAreNormalisedOnBothSides) {
  struct Case {
    std::string_view origin;
    std::string_view host;
    bool matches;
  };
  const Case cases[] = {
      {"https://x", "x:443", true},       {"https://x:443", "x", true},
      {"http://x", "x:80", true},         {"HTTP://X:80", "x", true},
      {"http://x:8080", "x:8080", true},  {"https://Costs.Example", "costs.EXAMPLE", true},
      {"http://x:8081", "x:8080", false}, {"https://x:8443", "x:443", false},
      {"https://x", "x:8443", false},     {"https://x", "x:80", false},
      {"https://y", "x:443", false},      {"null", "x", false},
      {"null", "x:443", false},           {"https://x:", "x", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(OriginMatches(c.origin, c.host), c.matches) << "Origin " << c.origin << ", Host " << c.host;
  }
}

// A proxy appends its hop to X-Forwarded-Proto: only the last element is the trusted hop's word.
TEST(ForwardedHttpsTest, TheLastElementIsTheTrustedHops) {
  const auto says_https = [](std::string_view value) {
    boost::beast::http::fields fields;
    fields.set("X-Forwarded-Proto", value);
    return ForwardedHttps(fields);
  };
  EXPECT_TRUE(says_https("https"));
  EXPECT_TRUE(says_https("HTTPS"));
  EXPECT_TRUE(says_https("http, https"));
  EXPECT_TRUE(says_https("http,https "));
  EXPECT_FALSE(says_https("https, http")) << "a client's claim before the proxy's own";
  EXPECT_FALSE(says_https("http"));
  EXPECT_FALSE(says_https(""));
}

// ---- Sign-in body ------------------------------------------------------------------------------

TEST(SignInRequestTest, ReadsEitherForm) {
  Result<SignInRequest> password = DecodeSignInRequest(R"({"username":"al\u0069ce","password":"p\"w"})");
  ASSERT_TRUE(password.has_value());
  EXPECT_FALSE(password->with_api_key);
  EXPECT_EQ(password->username, "alice");
  EXPECT_EQ(password->password, "p\"w");
  Result<SignInRequest> key = DecodeSignInRequest(R"({"api_key":"costs_x"})");
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(key->with_api_key);
  EXPECT_EQ(key->api_key, "costs_x");
}

TEST(SignInRequestTest, NamesEveryProblemAndNeverQuotesASecret) {
  struct Case {
    const char* body;
    std::vector<std::string> fields;
  };
  const Case cases[] = {
      {"{}", {"username", "password"}},
      {R"({"username":"a"})", {"password"}},
      {R"({"username":"a","password":"secret-1","api_key":"secret-2"})", {"api_key"}},
      {R"({"username":"a","password":7})", {"password"}},
      {R"({"username":"a","password":"secret-1","x":1})", {"x"}},
      {R"({"api_key":"secret-2","api_key":"secret-3"})", {"api_key"}},
      {"[]", {}},
      {"", {}},
      {R"({"username":"a","password":"secret-1"}{})", {}},
  };
  for (const Case& c : cases) {
    Result<SignInRequest> r = DecodeSignInRequest(c.body);
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidData) << c.body;
    EXPECT_EQ(r.error().fields, c.fields) << c.body;
    EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << r.error().message;
  }
}

// ---- Through the handler -----------------------------------------------------------------------

class SessionHandlerTest : public HandlerTest {
 protected:
  // A request from client_ to host costs.example:8080 with a JSON body.
  Request Make(std::string_view method, std::string_view target, std::string_view cookie = {}) const {
    Request req;
    req.method = method;
    req.target = target;
    req.content_type = "application/json";
    req.client_address = client_;
    req.cookie = cookie;
    req.host = "costs.example:8080";
    req.https = https_;
    return req;
  }
  Response Send(std::string_view method, std::string_view target, std::string_view cookie = {},
                std::string_view body = {}, std::string_view requested_with = {}, std::string_view origin = {}) {
    Request req = Make(method, target, cookie);
    req.body = body;
    req.requested_with = requested_with;
    req.origin = origin;
    return HandleRequest(req, *active_);
  }
  // Signs alice in; the cookie header that carries her session.
  std::string AliceCookie() {
    const Response res = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
    EXPECT_EQ(res.status, 201u) << res.BodyView();
    const std::string set = Header(res, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }
  bool https_ = false;
};

TEST_F(SessionHandlerTest, SignInSetsTheCookieAndTheSessionAuthenticates) {
  const Response res = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
  ASSERT_EQ(res.status, 201u) << res.BodyView();
  EXPECT_EQ(res.BodyView(), R"({"username":"alice","is_admin":false,"expires":"2026-11-16T00:00:00Z"})");
  const std::string set = Header(res, "Set-Cookie");
  EXPECT_EQ(set.substr(set.find(';')), "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
  EXPECT_EQ(Header(res, "Cache-Control"), "no-store");
  EXPECT_EQ(res.principal, "alice");
  const std::string cookie = "x=1; " + set.substr(0, set.find(';'));
  EXPECT_EQ(Send("GET", "/api/v1/organizations/org-a", cookie).status, 200u);
  EXPECT_EQ(Send("GET", "/api/v1/organizations/org-b", cookie).status, 403u);
  const Response who = Send("GET", "/api/v1/session", cookie);
  EXPECT_EQ(who.BodyView(), res.BodyView());
  EXPECT_EQ(Send("GET", "/api/v1/organizations", cookie).BodyView(),
            R"({"organizations":[{"id":"org-a","name":"Org A"}]})");
}

TEST_F(SessionHandlerTest, TheCookieIsSecureOnlyOverHttps) {
  https_ = true;
  const Response res = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
  EXPECT_TRUE(Header(res, "Set-Cookie").ends_with("; Max-Age=43200; Secure")) << Header(res, "Set-Cookie");
}

TEST_F(SessionHandlerTest, AuthorizationWinsOverTheCookie) {
  Request req = Make("GET", "/api/v1/session", AliceCookie());
  req.authorization = kRootAuth;
  const Response res = HandleRequest(req, *active_);
  EXPECT_EQ(res.BodyView(), R"({"username":"root","is_admin":true})");
}

TEST_F(SessionHandlerTest, AStaleCookieIs401WithASessionChallengeAndNoFailedLogin) {
  for (int i = 0; i < 10; ++i) {
    const Response res = Send("GET", "/api/v1/organizations/org-a", "costs_session=" + std::string(43, 'A'));
    ASSERT_EQ(res.status, 401u);
    EXPECT_EQ(Header(res, "WWW-Authenticate"), "Session realm=\"costs\"");
    EXPECT_NE(res.BodyView().find("sign in again"), std::string_view::npos) << res.BodyView();
  }
  EXPECT_EQ(failed_logins_.Peek("192.0.2.1"), 0) << "a stale cookie is not a password guess";
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", "").status, 401u);
  EXPECT_EQ(Header(Call("GET", "/api/v1/organizations/org-a", ""), "WWW-Authenticate"), "Basic realm=\"costs\"");
  EXPECT_EQ(Header(Send("GET", "/api/v1/session", {}, {}, "costs"), "WWW-Authenticate"), "Session realm=\"costs\"");
}

TEST_F(SessionHandlerTest, WrongCredentialsCountAsFailedLoginsUntilLockout) {
  for (int i = 0; i < 3; ++i) {
    const Response res = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"wrong"})", "costs");
    ASSERT_EQ(res.status, 401u) << i;
    EXPECT_EQ(res.FindHeader("Set-Cookie"), nullptr);
    EXPECT_EQ(Header(res, "WWW-Authenticate"), "Session realm=\"costs\"");
  }
  const int verified = hasher_.verifications;
  const Response locked = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
  EXPECT_EQ(locked.status, 429u);
  EXPECT_EQ(hasher_.verifications, verified) << "no hash while locked out";
}

TEST_F(SessionHandlerTest, CookieRequestsThatChangeStateNeedTheHeaderAndAMatchingOrigin) {
  ASSERT_TRUE(admin_.PutUser("alice", "pw-alice", true, {"org-a"}));  // may ingest
  const std::string cookie = AliceCookie();
  Request req = Make("POST", "/api/v1/billing/usage", cookie);
  req.content_type = kNdjson;
  req.body = kUsage;
  Response res = HandleRequest(req, *active_);
  EXPECT_EQ(res.status, 403u);
  EXPECT_NE(res.BodyView().find("X-Requested-With: costs"), std::string_view::npos) << res.BodyView();
  req.requested_with = "costs";
  req.origin = "https://evil.example";
  res = HandleRequest(req, *active_);
  EXPECT_EQ(res.status, 403u);
  EXPECT_NE(res.BodyView().find("Origin"), std::string_view::npos) << res.BodyView();
  req.origin = "http://costs.example:8080";
  res = HandleRequest(req, *active_);
  EXPECT_EQ(res.status, 200u) << res.BodyView();
  req.origin = {};
  EXPECT_EQ(HandleRequest(req, *active_).status, 200u) << "no Origin sent";
}

TEST_F(SessionHandlerTest, SignInFromAForeignOriginIsRefused) {
  const Response res =
      Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})", {}, "http://evil.example");
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(res.FindHeader("Set-Cookie"), nullptr);
}

TEST_F(SessionHandlerTest, SignOutNeedsTheHeaderEndsTheSessionAndIsIdempotent) {
  const std::string cookie = AliceCookie();
  EXPECT_EQ(Send("DELETE", "/api/v1/session", cookie).status, 403u);
  EXPECT_EQ(Send("GET", "/api/v1/session", cookie).status, 200u) << "the refused sign-out changed nothing";
  const Response out = Send("DELETE", "/api/v1/session", cookie, {}, "costs");
  EXPECT_EQ(out.status, 204u);
  EXPECT_EQ(out.content_type, "");
  EXPECT_EQ(Header(out, "Set-Cookie"), "costs_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(Send("GET", "/api/v1/session", cookie).status, 401u);
  EXPECT_EQ(Send("DELETE", "/api/v1/session", cookie, {}, "costs").status, 204u);
  EXPECT_EQ(Send("DELETE", "/api/v1/session", {}, {}, "costs").status, 204u);
}

TEST_F(SessionHandlerTest, TheCookieIsLookedUpOffTheIoThreads) {
  const std::string cookie = AliceCookie();
  Request req = Make("GET", "/api/v1/organizations/org-a", cookie);
  EXPECT_EQ(AdmitRequest(req, *active_, kDefaultMaxBodyBytes, /*may_block=*/false).deferred, Deferral::kLookUpSession);
  req.cookie = "costs_session=malformed";
  const Admission malformed = AdmitRequest(req, *active_, kDefaultMaxBodyBytes, /*may_block=*/false);
  EXPECT_EQ(malformed.deferred, Deferral::kNone) << "a malformed id needs no store read";
  ASSERT_TRUE(malformed.refusal.has_value());
  EXPECT_EQ(malformed.refusal->status, 401u);
}

TEST_F(SessionHandlerTest, SeveralSessionCookiesAreRefusedAndCleared) {
  const std::string cookie = AliceCookie();
  const std::string other = "costs_session=" + std::string(43, 'A');
  for (const std::string& both : {cookie + "; " + other, other + "; x=1; " + cookie}) {
    const Response res = Send("GET", "/api/v1/organizations/org-a", both);
    EXPECT_EQ(res.status, 401u) << both;
    EXPECT_NE(res.BodyView().find("more than one costs_session cookie"), std::string_view::npos) << res.BodyView();
    EXPECT_EQ(Header(res, "Set-Cookie"), "costs_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    EXPECT_EQ(Header(res, "WWW-Authenticate"), "Session realm=\"costs\"");
  }
  EXPECT_EQ(Send("GET", "/api/v1/organizations/org-a", cookie).status, 200u) << "one cookie is fine";
}

TEST_F(SessionHandlerTest, CookieResponsesAndTheCallerPathsArePrivate) {
  const std::string cookie = AliceCookie();
  EXPECT_EQ(Header(Send("GET", "/api/v1/organizations/org-a", cookie), "Cache-Control"), "private, no-cache");
  const Response refused = Send("GET", "/api/v1/organizations/org-b", cookie);
  EXPECT_EQ(refused.status, 403u);
  EXPECT_EQ(Header(refused, "Cache-Control"), "private, no-cache") << "a refusal of a cookie request too";
  // root's own rate limit from here (alice's holds 5 tokens: 3 are taken above).
  EXPECT_EQ(Header(Call("GET", "/api/v1/session", kRootAuth), "Cache-Control"), "private, no-cache");
  EXPECT_EQ(Header(Call("GET", "/api/v1/organizations", kRootAuth), "Cache-Control"), "private, no-cache");
  const Response basic = Call("GET", "/api/v1/organizations/org-a", kRootAuth);
  EXPECT_EQ(basic.status, 200u);
  EXPECT_EQ(Header(basic, "Cache-Control"), "private, no-cache") << "a billing GET's, with its ETag (etag.hpp)";
  const Response basic_refused = Call("GET", "/api/v1/organizations/org-nope", kRootAuth);
  EXPECT_EQ(basic_refused.status, 404u);
  EXPECT_EQ(basic_refused.FindHeader("Cache-Control"), nullptr) << "other Basic responses are unchanged";
  const Response in = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
  EXPECT_EQ(Header(in, "Cache-Control"), "no-store") << "a response's own Cache-Control stays";
}

TEST_F(SessionHandlerTest, ARefusedCookieRequestDoesNotExtendTheSession) {
  ASSERT_TRUE(admin_.PutUser("alice", "pw-alice", true, {"org-a"}));  // may ingest
  const std::string cookie = AliceCookie();
  const std::string digest = hasher_.SecretDigest(cookie.substr(cookie.find('=') + 1));
  const domain::Instant signed_in = clock_.now;
  clock_.now.ns += std::chrono::nanoseconds(std::chrono::minutes(2)).count();
  Request req = Make("POST", "/api/v1/billing/usage", cookie);
  req.content_type = kNdjson;
  req.body = kUsage;
  ASSERT_EQ(HandleRequest(req, *active_).status, 403u) << "no X-Requested-With";
  EXPECT_EQ((*store_.FindSession(digest))->last_used, signed_in) << "the CSRF refusal came before the touch";
  EXPECT_EQ(Send("GET", "/api/v1/session", cookie).status, 200u);
  EXPECT_EQ((*store_.FindSession(digest))->last_used, clock_.now);
}

TEST_F(SessionHandlerTest, ASuccessfulSignInTakesATokenOfTheUsersRateLimit) {
  // per_principal_ holds 5 tokens and the clock stands still: none refills during the test.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})").status, 201u) << i;
  }
  const Response res = Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})");
  EXPECT_EQ(res.status, 429u) << res.BodyView();
  EXPECT_EQ(Header(res, "Retry-After"), "1");
  EXPECT_EQ(res.FindHeader("Set-Cookie"), nullptr);
  EXPECT_EQ(Call("GET", "/api/v1/organizations/org-a", kRootAuth).status, 200u) << "another user is not limited";
}

TEST_F(SessionHandlerTest, WithoutSessionsTheCookieIsIgnoredAndThePathsAreNotFound) {
  const Services without{costs_, admin_, auth_, per_principal_, failed_logins_};
  active_ = &without;
  EXPECT_EQ(Send("POST", "/api/v1/session", {}, R"({"username":"alice","password":"pw-alice"})").status, 404u);
  const Response res = Send("GET", "/api/v1/organizations/org-a", "costs_session=" + std::string(43, 'A'));
  EXPECT_EQ(res.status, 401u);
  EXPECT_NE(res.BodyView().find("Basic or ApiKey"), std::string_view::npos) << res.BodyView();
}

}  // namespace
}  // namespace costs::http
