// ETag and If-None-Match (etag.hpp) on the billing GETs, through HandleRequest and ServeHeld
// over the real services and the in-memory store.

#include "http/etag.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "http/handler.hpp"
#include "http/testing/handler_fixture.hpp"

namespace costs::http {
namespace {

TEST(IfNoneMatch, MatchesListsWeakTagsAndAnyByTheWeakComparison) {
  const std::string tag = "\"1a-2-3\"";
  EXPECT_TRUE(IfNoneMatchHits("\"1a-2-3\"", tag));
  EXPECT_TRUE(IfNoneMatchHits("W/\"1a-2-3\"", tag));
  EXPECT_TRUE(IfNoneMatchHits("\"x\", W/\"y\" ,\"1a-2-3\"", tag));
  EXPECT_TRUE(IfNoneMatchHits(" * ", tag));
  EXPECT_TRUE(IfNoneMatchHits("junk, \"1a-2-3\"", tag)) << "a malformed element is skipped";
  EXPECT_FALSE(IfNoneMatchHits("", tag));
  EXPECT_FALSE(IfNoneMatchHits("\"1a-2-4\"", tag));
  EXPECT_FALSE(IfNoneMatchHits("1a-2-3", tag)) << "unquoted";
  EXPECT_FALSE(IfNoneMatchHits("\"1a-2-3", tag)) << "unterminated";
  EXPECT_FALSE(IfNoneMatchHits("w/\"1a-2-3\"", tag)) << "W/ is case-sensitive";
  EXPECT_FALSE(IfNoneMatchHits("\"x\", *", tag)) << "* alone, not in a list";
}

TEST(EntityTag, NamesEveryPartOfTheKeyAndTheInstant) {
  const BodyKey key{Endpoint::kItemsCosts, "org-a", "", 10, 20, domain::BucketingStrategy::kDaily, Format::kJson, 7, 0};
  std::set<std::string> tags{EntityTagOf(key), EntityTagOf(key, 30)};
  auto with = [&](auto change) {
    BodyKey k = key;
    change(k);
    tags.insert(EntityTagOf(k));
  };
  with([](BodyKey& k) { k.endpoint = Endpoint::kDeploymentItems; });
  with([](BodyKey& k) { k.organization_id = "org-b"; });
  with([](BodyKey& k) { k.deployment_id = "d1"; });
  with([](BodyKey& k) { k.from_ns = 11; });
  with([](BodyKey& k) { k.to_ns = 21; });
  with([](BodyKey& k) { k.strategy = domain::BucketingStrategy::kMonthly; });
  with([](BodyKey& k) { k.format = Format::kCsv; });
  with([](BodyKey& k) { k.version = 8; });
  with([](BodyKey& k) { k.variant = 1; });
  EXPECT_EQ(tags.size(), 11u);
  EXPECT_EQ(EntityTagOf(key), EntityTagOf(key)) << "a function of the key";
  for (const std::string& tag : tags) {
    EXPECT_TRUE(tag.size() > 2 && tag.front() == '"' && tag.back() == '"') << tag;
    EXPECT_EQ(tag.find('"', 1), tag.size() - 1) << tag;
  }
}

class EtagTest : public ApiFamilyTest {
 protected:
  Response Get(std::string_view target, std::string_view if_none_match = {}, std::string_view auth = kAliceAuth,
               std::string_view accept = {}) {
    Request req = Head("GET", target, auth);
    req.if_none_match = if_none_match;
    req.accept = accept;
    return HandleRequest(req, *active_);
  }
  // A 200 with its validators; returns its ETag.
  std::string Tagged(std::string_view target, std::string_view accept = {}) {
    const Response res = Get(target, {}, kAliceAuth, accept);
    EXPECT_EQ(res.status, 200u) << target << ": " << res.BodyView();
    EXPECT_EQ(Header(res, "Cache-Control"), "private, no-cache") << target;
    EXPECT_NE(Header(res, "ETag"), "<absent>") << target;
    return Header(res, "ETag");
  }

  static constexpr const char* kCosts = "/api/v1/billing/costs/org-a";
  static constexpr const char* kV2 = "/api/v2/billing/organizations/org-a";
  static constexpr const char* kV2Range = "?from=2026-11-01T00:00:00Z&to=2026-11-01T12:00:00Z";
};

// Every billing GET, v1 and v2, with both ends of its range or with `to` defaulted.
std::vector<std::string> BillingGets(const char* range) {
  std::vector<std::string> out;
  for (const char* path :
       {"", "/charts", "/deployments", "/deployments/d1/charts", "/items", "/deployments/d1/items"}) {
    out.push_back(std::string("/api/v1/billing/costs/org-a") + path + range);
  }
  return out;
}

TEST_F(EtagTest, ARepeatedRequestWithItsTagGets304WithoutABody) {
  std::vector<std::string> targets = BillingGets(kRange);
  for (const char* path :
       {"/costs/instances", "/costs/instances/d1/items", "/costs/items", "/charts", "/instances/d1/charts"}) {
    targets.push_back(std::string(kV2) + path + kV2Range);
  }
  targets.push_back("/api/v1/billing/organization/org-a/line_items");
  targets.push_back("/api/v1/organizations/org-a");
  for (const std::string& target : targets) {
    const std::string etag = Tagged(target);
    for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
      const Response res = Get(target, inm);
      EXPECT_EQ(res.status, 304u) << target << " If-None-Match: " << inm;
      EXPECT_EQ(res.BodyView(), "") << target;
      EXPECT_EQ(Header(res, "ETag"), etag) << target;
      EXPECT_EQ(Header(res, "Cache-Control"), "private, no-cache") << target;
      EXPECT_EQ(res.principal, "alice") << target;
    }
    EXPECT_EQ(Get(target, "\"other\"").status, 200u) << target;
  }
}

TEST_F(EtagTest, AnIngestAndACreditChangeTheTag) {
  std::vector<std::string> targets = BillingGets(kRange);
  targets.push_back(std::string(kV2) + "/costs/items" + kV2Range);
  targets.push_back("/api/v1/billing/organization/org-a/line_items");
  std::vector<std::string> before;
  for (const std::string& t : targets) before.push_back(Tagged(t));
  const char* more =
      R"({"id":"c9","organization_id":"org-a","deployment_id":"d1","deployment_name":"x","dimension":"capacity",)"
      R"("kind":"elasticsearch","start":"2026-11-02T00:00:00Z","end":"2026-11-02T01:00:00Z","quantity":"1","rate":"1"})"
      "\n";
  ASSERT_EQ(Call("POST", "/api/v1/billing/usage", kRootAuth, more, kNdjson).status, 200u);
  std::vector<std::string> after_ingest;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    after_ingest.push_back(Tagged(targets[i]));
    EXPECT_NE(after_ingest[i], before[i]) << targets[i] << ": after an ingest";
    EXPECT_EQ(Get(targets[i], before[i]).status, 200u) << targets[i] << ": the old tag is stale";
  }
  const char* credit = R"({"id":"c-1","ecu":"100","start":"2026-11-01","end":"2026-12-31"})";
  ASSERT_EQ(Call("POST", "/api/v1/billing/credits/org-a", kRootAuth, credit, "application/json").status, 201u);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    EXPECT_NE(Tagged(targets[i]), after_ingest[i]) << targets[i] << ": after a credit";
  }
}

TEST_F(EtagTest, OtherOrganizationsRangesStrategiesAndFormatsHaveOtherTags) {
  ASSERT_TRUE(admin_.PutUser("alice", "pw-alice", false, {"org-a", "org-b"}));
  std::set<std::string> tags;
  const std::string charts = std::string(kCosts) + "/charts";
  tags.insert(Tagged(charts + kRange));
  tags.insert(Tagged("/api/v1/billing/costs/org-b/charts" + std::string(kRange)));
  tags.insert(Tagged(charts + "?from=2026-11-01T00:00:00Z&to=2026-11-01T13:00:00Z"));
  tags.insert(Tagged(charts + kRange + "&bucketing_strategy=monthly"));
  tags.insert(Tagged(std::string(kCosts) + "/items" + kRange));
  tags.insert(Tagged(std::string(kCosts) + "/items" + kRange, "text/csv"));
  tags.insert(Tagged(std::string(kV2) + "/costs/items" + kV2Range));
  tags.insert(Tagged(std::string(kV2) + "/costs/items" + kV2Range + "&serverless_group_by=product_family"));
  EXPECT_EQ(tags.size(), 8u);
}

TEST_F(EtagTest, ATimeDependentAnswerChangesItsTagWithTheClock) {
  // A `to` defaulted to now, and the overview's balance and the line items at now.
  for (const std::string& target : {std::string(kCosts) + "/charts", std::string(kCosts) + kRange,
                                    std::string("/api/v1/billing/organization/org-a/line_items")}) {
    const std::string first = Tagged(target);
    EXPECT_EQ(Get(target, first).status, 304u) << target << ": the same instant";
    clock_.now.ns += 1;
    EXPECT_NE(Tagged(target), first) << target;
    EXPECT_EQ(Get(target, first).status, 200u) << target;
  }
  const std::string charts = std::string(kCosts) + "/charts" + kRange;
  const std::string fixed = Tagged(charts);
  clock_.now.ns += 1;
  EXPECT_EQ(Tagged(charts), fixed) << "a fixed range does not depend on the clock";
}

TEST_F(EtagTest, ErrorsCarryNoTag) {
  ASSERT_TRUE(admin_.PutUser("bob", "pw-bob", false, {"org-b"}));
  const std::string charts = std::string(kCosts) + "/charts" + kRange;
  const std::string etag = Tagged(charts);
  struct Case {
    std::string target;
    const char* auth;
    unsigned status;
  };
  const Case cases[] = {{charts, "", 401u},
                        {charts, "Basic Ym9iOnB3LWJvYg==", 403u},
                        {"/api/v1/billing/costs/org-nope/charts" + std::string(kRange), kRootAuth, 404u},
                        {"/api/v1/organizations/org-nope", kRootAuth, 404u},
                        {std::string(kCosts) + "/deployments/nope/items" + kRange, kAliceAuth, 404u},
                        {std::string(kCosts) + "/charts?from=2026-11-02&to=2026-11-01", kAliceAuth, 400u}};
  for (const Case& c : cases) {
    const Response res = Get(c.target, etag, c.auth);
    EXPECT_EQ(res.status, c.status) << c.target;
    EXPECT_EQ(Header(res, "ETag"), "<absent>") << c.target;
  }
}

TEST_F(EtagTest, ServeHeldAnswers304FromMemory) {
  const std::string charts = std::string(kCosts) + "/charts" + kRange;
  const std::string etag = Tagged(charts);
  const int reads = counting_.data_reads.load();
  Request req = Head("GET", charts, kAliceAuth);
  req.if_none_match = etag;
  const Admission admission = AdmitRequest(req, *active_, 1 << 20);
  ASSERT_FALSE(admission.refusal.has_value());
  const std::optional<Response> held = ServeHeld(admission, req, *active_);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->status, 304u);
  EXPECT_EQ(Header(*held, "ETag"), etag);
  req.if_none_match = {};
  const std::optional<Response> full = ServeHeld(admission, req, *active_);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->status, 200u);
  EXPECT_EQ(Header(*full, "ETag"), etag) << "the same tag from memory as from the pool";
  EXPECT_EQ(counting_.data_reads.load(), reads);
}

}  // namespace
}  // namespace costs::http
