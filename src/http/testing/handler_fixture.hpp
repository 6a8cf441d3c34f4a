#pragma once

// The fixtures of the handler tests (handler_test.cpp, v2_handler_test.cpp): HandleRequest over
// the real services and the in-memory store, with a store that counts its data reads.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/body_cache.hpp"
#include "http/handler.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/store.hpp"
#include "service/testing/fakes.hpp"
#include "service/testing/forwarding_store.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::http {

using service::testing::FakeClock;
using service::testing::FakeHasher;

inline constexpr const char* kNdjson = "application/x-ndjson";

// A Store that forwards to another and counts the reads of usage data (rollups, raw usage,
// deployments), so that tests can see when a response was computed rather than shared.
class CountingStore final : public service::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Result<std::vector<service::RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                      domain::Instant from, domain::Instant to) override {
    ++data_reads;
    return ForwardingStore::ReadRollups(org, grain, from, to);
  }
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override {
    ++data_reads;
    return ForwardingStore::ReadUsageOverlapping(org, from, to);
  }
  Result<std::vector<service::Deployment>> ListDeployments(std::string_view org) override {
    ++data_reads;
    return ForwardingStore::ListDeployments(org);
  }
  Result<service::RangeReadResult> ReadRange(std::string_view org, const service::RangeReadPlan& plan) override {
    ++data_reads;
    return ForwardingStore::ReadRange(org, plan);
  }

  std::atomic<int> data_reads{0};
};

inline constexpr const char* kAliceAuth = "Basic YWxpY2U6cHctYWxpY2U=";  // alice:pw-alice
inline constexpr const char* kRootAuth = "Basic cm9vdDpwdy1yb290";       // root:pw-root
inline constexpr const char* kWrongAuth = "Basic YWxpY2U6d3Jvbmc=";      // alice:wrong

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
                std::string_view body = {}, std::string_view content_type = {}, std::string_view accept = {}) {
    Request req;
    req.method = method;
    req.target = target;
    req.authorization = authorization;
    req.content_type = content_type;
    req.accept = accept;
    req.body = body;
    req.client_address = client_;
    return HandleRequest(req, *active_);
  }

  Request Head(std::string_view method, std::string_view target, std::string_view authorization,
               std::optional<std::uint64_t> content_length = std::nullopt, std::string_view content_type = {}) {
    Request req;
    req.method = method;
    req.target = target;
    req.authorization = authorization;
    req.content_type = content_type;
    req.content_length = content_length;
    req.client_address = client_;
    return req;
  }

  static std::string Header(const Response& res, std::string_view name) {
    const std::string* v = res.FindHeader(name);
    return v ? *v : std::string("<absent>");
  }

  static std::string Code(const Response& res) { return Header(res, "x-cloud-error-codes"); }

  std::string client_ = "192.0.2.1";  // the client address of Call and Head
  FakeClock clock_;
  FakeHasher hasher_;
  store::memory::MemoryStore store_;
  CountingStore counting_{store_};
  service::CostsService costs_{counting_, clock_};
  service::AdminService admin_{store_, hasher_};
  service::Authenticator auth_{store_, hasher_, clock_};
  service::LocalRateLimiter per_principal_{clock_, 1, 5};
  service::LocalRateLimiter failed_logins_{clock_, 1, 3};
  service::SessionService sessions_{store_, auth_, hasher_, clock_};
  Services services_{costs_, admin_, auth_, per_principal_, failed_logins_, nullptr, nullptr, nullptr, &sessions_};
  const Services* active_ = &services_;  // what Call uses
};

// Two deployments of org-a: d1 with capacity over two hours and a data-out record, d2 with one
// hour of capacity marked trial.
inline constexpr const char* kUsage =
    R"({"id":"c1","organization_id":"org-a","deployment_id":"d1","deployment_name":"search, \"prod\"",)"
    R"("dimension":"capacity","kind":"elasticsearch","instance_count":2,"sku":"hot","name":"Hot 8 GB",)"
    R"("start":"2026-11-01T00:00:00Z","end":"2026-11-01T02:00:00Z","quantity":"4","rate":"0.0913"})"
    "\n"
    R"({"id":"o1","organization_id":"org-a","deployment_id":"d1","deployment_name":"search, \"prod\"",)"
    R"("dimension":"data_out","sku":"out",)"
    R"("name":"Data out","unit":"GiB","start":"2026-11-01T00:00:00Z","end":"2026-11-01T01:00:00Z",)"
    R"("quantity":"1.5","rate":"0.1"})"
    "\n"
    R"({"id":"c2","organization_id":"org-a","deployment_id":"d2","deployment_name":"logs","dimension":"capacity",)"
    R"("kind":"kibana","instance_count":1,"sku":"kb","name":"Kibana","start":"2026-11-01T01:00:00Z",)"
    R"("end":"2026-11-01T02:00:00Z","quantity":"1","rate":"0.3","trial":true})"
    "\n";

class ApiFamilyTest : public HandlerTest {
 protected:
  ApiFamilyTest() {
    active_ = &family_services_;
    const Response res = Call("POST", "/api/v1/billing/usage", kRootAuth, kUsage, kNdjson);
    EXPECT_EQ(res.status, 200u) << res.BodyView();
  }
  // Whole hours: rollups by the hour, so periods are to the hour.
  static constexpr const char* kRange = "?from=2026-11-01T00:00:00Z&to=2026-11-01T12:00:00Z&granularity=day";

  service::LocalRateLimiter unlimited_{clock_, 0, 0};
  BodyCache body_cache_;
  Services family_services_{costs_, admin_, auth_, unlimited_, failed_logins_, &body_cache_};
};

}  // namespace costs::http
