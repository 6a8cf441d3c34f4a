#include "http/connection_limits.hpp"

#include <gtest/gtest.h>

namespace costs::http {
namespace {

using Admit = ConnectionLimits::Admit;

TEST(ConnectionLimitsTest, AddressCapRefusesTheNextConnectionFromThatAddressOnly) {
  ConnectionLimits limits(10, 2, TrustedProxies());
  EXPECT_EQ(limits.Reserve("10.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("10.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("10.0.0.1"), Admit::kAddressFull);
  EXPECT_EQ(limits.Reserve("10.0.0.2"), Admit::kAdmitted);
  EXPECT_EQ(limits.live(), 3);
  limits.Release("10.0.0.1");
  EXPECT_EQ(limits.Reserve("10.0.0.1"), Admit::kAdmitted) << "a released place is free again";
}

TEST(ConnectionLimitsTest, ServerCapRefusesEveryAddress) {
  ConnectionLimits limits(2, 5, TrustedProxies());
  EXPECT_EQ(limits.Reserve("10.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("10.0.0.2"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("10.0.0.3"), Admit::kServerFull);
  limits.Release("10.0.0.2");
  EXPECT_EQ(limits.live(), 1);
  EXPECT_EQ(limits.Reserve("10.0.0.3"), Admit::kAdmitted);
}

TEST(ConnectionLimitsTest, TrustedProxiesAreExemptFromTheAddressCapNotTheServerCap) {
  auto proxies = TrustedProxies::Parse("127.0.0.1");
  ASSERT_TRUE(proxies);
  ConnectionLimits limits(3, 1, *proxies);
  EXPECT_EQ(limits.Reserve("127.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("127.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("127.0.0.1"), Admit::kAdmitted);
  EXPECT_EQ(limits.Reserve("127.0.0.1"), Admit::kServerFull);
}

}  // namespace
}  // namespace costs::http
