#pragma once

// The fixture of the service tests: a memory store with two organizations, alice (a member of
// org-a) and root (a platform admin), a fake clock at 2026-11-15T12:00:00Z and the services on
// them. Test-only.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/testing/fakes.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::service {

inline domain::Instant At(const char* rfc3339) { return *domain::ParseRfc3339(rfc3339); }

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() {
    clock_.now = At("2026-11-15T12:00:00Z");
    EXPECT_TRUE(admin_.CreateOrganization("org-a", "Org A"));
    EXPECT_TRUE(admin_.CreateOrganization("org-b", "Org B"));
    EXPECT_TRUE(admin_.PutUser("alice", "pw-alice", false, {"org-a"}));
    EXPECT_TRUE(admin_.PutUser("root", "pw-root", true, {}));
  }

  Principal Alice() { return *auth_.AuthenticateBasic("alice", "pw-alice"); }
  Principal Root() { return *auth_.AuthenticateBasic("root", "pw-root"); }

  static std::string Line(const std::string& id, const std::string& org, const std::string& dep,
                          const std::string& start, const std::string& end, const std::string& quantity,
                          const std::string& rate, const std::string& dep_name = "") {
    return R"({"id":")" + id + R"(","organization_id":")" + org + R"(","deployment_id":")" + dep +
           R"(","deployment_name":")" + (dep_name.empty() ? dep : dep_name) +
           R"(","dimension":"capacity","kind":"elasticsearch","start":")" + start + R"(","end":")" + end +
           R"(","quantity":")" + quantity + R"(","rate":)" + rate + "}\n";
  }

  store::memory::MemoryStore store_;
  testing::FakeClock clock_;
  testing::FakeHasher hasher_;
  AdminService admin_{store_, hasher_};
  Authenticator auth_{store_, hasher_, clock_, std::chrono::seconds(30)};
  CostsService costs_{store_, clock_, 1096};
};

}  // namespace costs::service
