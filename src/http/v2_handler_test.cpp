// The Billing API v2 through HandleRequest over the real services and the in-memory store:
// each operation answers, errors are v1's, and the body cache keeps every parameter that
// changes a body apart (and never keeps line_items).

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "domain/time.hpp"
#include "http/body_cache.hpp"
#include "http/testing/handler_fixture.hpp"

namespace costs::http {
namespace {

// A serverless project of org-a (observability), one hour of ingest on 2026-11-01.
constexpr const char* kProjectUsage =
    R"({"id":"p1-in","organization_id":"org-a","deployment_id":"p1","deployment_name":"o11y","dimension":"data_in",)"
    R"("sku":"ingest","name":"Ingest","unit":"GB","start":"2026-11-01T03:00:00Z","end":"2026-11-01T04:00:00Z",)"
    R"("quantity":"2","rate":"0.25","instance_type":"observability"})"
    "\n";

constexpr const char* kV2 = "/api/v2/billing/organizations/org-a";
constexpr const char* kV2Range = "?from=2026-11-01T00:00:00Z&to=2026-11-01T12:00:00Z";

class V2HandlerTest : public ApiFamilyTest {
 protected:
  V2HandlerTest() {
    const Response res = Call("POST", "/api/v1/billing/usage", kRootAuth, kProjectUsage, kNdjson);
    EXPECT_EQ(res.status, 200u) << res.BodyView();
  }

  static std::string V2(std::string_view path, std::string_view extra = {}) {
    return std::string(kV2) + std::string(path) + kV2Range + std::string(extra);
  }

  // GETs `target` as alice and expects a 200.
  Response Ok(const std::string& target) {
    Response res = Call("GET", target, kAliceAuth);
    EXPECT_EQ(res.status, 200u) << target << ": " << res.BodyView();
    return res;
  }
};

constexpr const char* kOperations[] = {"/costs/instances", "/costs/instances/d1/items", "/costs/items", "/charts",
                                       "/instances/d1/charts"};

TEST_F(V2HandlerTest, EveryOperationAnswersJsonAndASecondRequestIsShared) {
  const Services uncached{costs_, admin_, auth_, unlimited_, failed_logins_};
  for (const char* path : kOperations) {
    const std::string target = V2(path);
    const int before = counting_.data_reads.load();
    const Response first = Ok(target);
    EXPECT_EQ(first.content_type, "application/json") << target;
    EXPECT_EQ(Header(first, "Vary"), "<absent>") << target << ": JSON only";
    EXPECT_GT(counting_.data_reads.load(), before) << target << ": the first request computes its body";
    const int computed = counting_.data_reads.load();

    const Response second = Ok(target);
    EXPECT_EQ(counting_.data_reads.load(), computed) << target << ": the second reads no usage data";
    ASSERT_NE(second.shared_body, nullptr) << target;
    EXPECT_EQ(second.shared_body.get(), first.shared_body.get()) << target << ": the same bytes";

    active_ = &uncached;
    const Response fresh = Ok(target);
    active_ = &family_services_;
    EXPECT_EQ(fresh.BodyView(), second.BodyView()) << target << ": a shared body is what rendering gives";
  }
  EXPECT_EQ(body_cache_.stats().entries, std::size(kOperations));
  EXPECT_EQ(body_cache_.stats().hits, std::size(kOperations));
}

TEST_F(V2HandlerTest, TheBodiesAreTheV2Shapes) {
  EXPECT_EQ(Ok(V2("/costs/instances")).BodyView().find(R"({"total_ecu":1.3152,"instances":[{"id":"d1",)"), 0u)
      << Ok(V2("/costs/instances")).BodyView();
  EXPECT_NE(Ok(V2("/costs/instances")).BodyView().find(R"({"id":"p1","name":"o11y","type":"observability",)"),
            std::string_view::npos);
  EXPECT_EQ(Ok(V2("/costs/items")).BodyView().find(R"({"total_ecu":1.3152,"products":[{"type":"deployment",)"), 0u)
      << Ok(V2("/costs/items")).BodyView();
  EXPECT_NE(Ok(V2("/charts")).BodyView().find(R"({"id":"p1","name":"o11y","type":"observability","value":0.5})"),
            std::string_view::npos)
      << Ok(V2("/charts")).BodyView();
  // An instance's chart: one value per dimension, each of the instance's type.
  EXPECT_NE(Ok(V2("/instances/p1/charts")).BodyView().find(R"("type":"observability","value":0.5})"),
            std::string_view::npos)
      << Ok(V2("/instances/p1/charts")).BodyView();
}

TEST_F(V2HandlerTest, EveryParameterThatChangesABodyIsItsOwnEntry) {
  struct Group {
    std::vector<std::string> same;  // one body
  };
  const std::vector<Group> groups = {
      {{V2("/costs/items"), V2("/costs/items", "&serverless_group_by=product"),
        V2("/costs/items", "&serverless_group_by=Product&include_names=true")}},
      {{V2("/costs/items", "&serverless_group_by=product_family"),
        V2("/costs/items", "&serverless_group_by=PRODUCT_FAMILY")}},
      {{V2("/instances/p1/charts"), V2("/instances/p1/charts", "&instance_type=all"),
        V2("/instances/p1/charts", "&instance_type=ALL")}},
      {{V2("/instances/p1/charts", "&instance_type=projects"), V2("/instances/p1/charts", "&instance_type=Projects")}},
      {{V2("/instances/p1/charts", "&instance_type=deployments")}},
      {{V2("/instances/d1/charts", "&instance_type=deployments")}},
      {{V2("/instances/p1/charts", "&bucketing_strategy=monthly")}},
      {{V2("/costs/instances/d1/items"), V2("/costs/instances/d1/items", "&serverless_group_by=product_family")}},
      {{V2("/costs/instances/d2/items")}},
      {{V2("/charts"), V2("/charts", "&bucketing_strategy=Daily&instance_type=projects")}},
      {{V2("/charts", "&bucketing_strategy=monthly")}},
  };
  std::vector<const std::string*> firsts;
  for (const Group& g : groups) {
    const Response first = Ok(g.same.front());
    for (const std::string& other : g.same) {
      EXPECT_EQ(Ok(other).shared_body.get(), first.shared_body.get()) << other << " and " << g.same.front();
    }
    firsts.push_back(first.shared_body.get());
  }
  EXPECT_EQ(body_cache_.stats().entries, groups.size()) << "one entry per group";
  for (std::size_t i = 0; i < firsts.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      EXPECT_NE(firsts[i], firsts[j]) << groups[i].same.front() << " and " << groups[j].same.front();
    }
  }
  // What the parameters mean, read back through the cache.
  EXPECT_NE(Ok(V2("/costs/items", "&serverless_group_by=Product_Family")).BodyView().find(R"("type":"serverless")"),
            std::string_view::npos);
  EXPECT_NE(Ok(V2("/costs/items")).BodyView().find(R"("type":"observability")"), std::string_view::npos);
  EXPECT_EQ(Ok(V2("/instances/p1/charts", "&instance_type=deployments")).BodyView().find(R"("value")"),
            std::string_view::npos)
      << "a project's chart for deployments has no values";
  EXPECT_NE(Ok(V2("/instances/p1/charts", "&instance_type=projects")).BodyView().find(R"("value")"),
            std::string_view::npos);
}

TEST_F(V2HandlerTest, LineItemsAreNeverCachedTheyDependOnNow) {
  ASSERT_TRUE(admin_.AddCredit("org-a", "c-1", 5 * domain::kNanosPerEcu, *domain::ParseRfc3339("2026-11-01T00:00:00Z"),
                               *domain::ParseRfc3339("2026-11-20T00:00:00Z")));
  const std::string target = "/api/v1/billing/organization/org-a/line_items";
  Response res = Ok(target);
  EXPECT_EQ(res.shared_body, nullptr);
  EXPECT_NE(res.BodyView().find(R"("active":true,"type":"prepaid_consumption"})"), std::string_view::npos)
      << res.BodyView();
  clock_.now = *domain::ParseRfc3339("2026-11-25T00:00:00Z");  // the credit has expired meanwhile
  res = Ok(target);
  EXPECT_EQ(res.shared_body, nullptr);
  EXPECT_NE(res.BodyView().find(R"("active":false,"type":"prepaid_consumption"})"), std::string_view::npos)
      << res.BodyView();
  EXPECT_EQ(body_cache_.stats().insertions, 0u);
  EXPECT_EQ(body_cache_.stats().hits + body_cache_.stats().misses, 0u) << "not even looked up";
}

TEST_F(V2HandlerTest, ErrorsAreV1sAndNeverStored) {
  struct Case {
    std::string target;
    unsigned status;
    const char* code;
    const char* fields;  // in the body
  };
  const Case cases[] = {
      {V2("/costs/instances/nope/items"), 404, "root.not_found", R"("fields":["instance_id"])"},
      {V2("/instances/nope/charts"), 404, "root.not_found", R"("fields":["instance_id"])"},
      {std::string(kV2) + "/costs/instances?to=2026-11-02", 400, "costs.invalid_date_range", R"("fields":["from"])"},
      {std::string(kV2) + "/charts?from=2026-11-01", 400, "costs.invalid_date_range", R"("fields":["to"])"},
      {V2("/charts", "&bucketing_strategy=weekly"), 400, "root.invalid_data", R"("fields":["bucketing_strategy"])"},
      {V2("/instances/d1/charts", "&instance_type=x"), 400, "root.invalid_data", R"("fields":["instance_type"])"},
      {V2("/costs/items", "&serverless_group_by=x"), 400, "root.invalid_data", R"("fields":["serverless_group_by"])"},
      {"/api/v2/billing/organizations/org-nope/costs/items" + std::string(kV2Range), 404, "organization.not_found", ""},
      {"/api/v1/billing/organization/org-nope/line_items", 404, "organization.not_found", ""},
  };
  for (int round = 0; round < 2; ++round) {
    for (const Case& c : cases) {
      const Response res = Call("GET", c.target, kRootAuth);
      EXPECT_EQ(res.status, c.status) << c.target << ": " << res.BodyView();
      EXPECT_EQ(Code(res), c.code) << c.target;
      EXPECT_NE(res.BodyView().find(std::string(R"({"errors":[{"code":")") + c.code), std::string_view::npos)
          << c.target << ": " << res.BodyView();
      EXPECT_NE(res.BodyView().find(c.fields), std::string_view::npos) << c.target << ": " << res.BodyView();
    }
  }
  EXPECT_EQ(body_cache_.stats().entries, 0u);

  ASSERT_TRUE(admin_.PutUser("bob", "pw-bob", false, {"org-b"}));
  const char* bob = "Basic Ym9iOnB3LWJvYg==";  // bob:pw-bob
  for (const char* path : kOperations) {
    const Response cached = Ok(V2(path));
    const Response res = Call("GET", V2(path), bob);
    EXPECT_EQ(res.status, 403u) << path << ": bob is no member of org-a, whatever is cached";
    EXPECT_EQ(Code(res), "organization.invalid_access") << path;
  }
  const Response res = Call("GET", "/api/v1/billing/organization/org-a/line_items", bob);
  EXPECT_EQ(res.status, 403u);
}

}  // namespace
}  // namespace costs::http
