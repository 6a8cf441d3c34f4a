#include "http/client_address.hpp"

#include <gtest/gtest.h>

namespace costs::http {
namespace {

TrustedProxies MustParse(std::string_view list) {
  auto parsed = TrustedProxies::Parse(list);
  EXPECT_TRUE(parsed) << list << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : TrustedProxies();
}

TEST(TrustedProxiesTest, ParsesAddressesAndNetworks) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse(" , ").empty());
  const TrustedProxies p = MustParse("127.0.0.1, 10.0.0.0/8,192.168.1.128/25 ,::1,fd00::/8");
  EXPECT_TRUE(p.Contains("127.0.0.1"));
  EXPECT_FALSE(p.Contains("127.0.0.2"));
  EXPECT_TRUE(p.Contains("10.255.1.2"));
  EXPECT_FALSE(p.Contains("11.0.0.1"));
  EXPECT_TRUE(p.Contains("192.168.1.200"));
  EXPECT_FALSE(p.Contains("192.168.1.127")) << "outside the /25";
  EXPECT_TRUE(p.Contains("::1"));
  EXPECT_TRUE(p.Contains("fd12:3456::1"));
  EXPECT_FALSE(p.Contains("fe80::1"));
  EXPECT_TRUE(p.Contains("::ffff:10.1.2.3")) << "an IPv4-mapped address is its IPv4 address";
  EXPECT_FALSE(p.Contains("not-an-address"));
  EXPECT_TRUE(MustParse("0.0.0.0/0").Contains("8.8.8.8"));
}

TEST(TrustedProxiesTest, RefusesMalformedEntriesNamingThem) {
  for (const char* bad : {"10.0.0.0/33", "::1/129", "10.0.0.1/", "10.0.0.0/8x", "localhost", "10.0.0.256",
                          "10.0.0.0/-1", "1.2.3.4,,nope"}) {
    auto parsed = TrustedProxies::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidData) << bad;
    EXPECT_NE(parsed.error().message.find("--trusted-proxies"), std::string::npos) << parsed.error().message;
  }
}

TEST(TrustedProxiesTest, TheClientIsTheRightmostHopThatIsNoTrustedProxy) {
  const TrustedProxies p = MustParse("127.0.0.1,10.0.0.0/8");
  EXPECT_EQ(p.ClientAddress("127.0.0.1", "203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(p.ClientAddress("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.1.1"), "203.0.113.7")
      << "the hop left of the last trusted proxy; what the client itself claimed further left is ignored";
  EXPECT_EQ(p.ClientAddress("127.0.0.1", "10.0.0.5, 10.0.0.6"), "10.0.0.5") << "all trusted: the leftmost";
  EXPECT_EQ(p.ClientAddress("127.0.0.1", ""), "127.0.0.1") << "no header: the proxy itself";
  EXPECT_EQ(p.ClientAddress("127.0.0.1", "garbage, 10.0.0.9"), "10.0.0.9") << "a malformed hop stops the walk";
  EXPECT_EQ(p.ClientAddress("127.0.0.1", "2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(p.ClientAddress("192.0.2.1", "203.0.113.7"), "192.0.2.1") << "an untrusted peer's header is ignored";
  EXPECT_EQ(TrustedProxies().ClientAddress("127.0.0.1", "203.0.113.7"), "127.0.0.1") << "no proxy trusted";
}

}  // namespace
TEST(LoginLimitKeyTest, IPv6AddressesOfOneSlash64ShareAKey) {
  EXPECT_EQ(LoginLimitKey("2001:db8:0:1::1"), "2001:db8:0:1::/64");
  EXPECT_EQ(LoginLimitKey("2001:db8:0:1:ffff:1:2:3"), "2001:db8:0:1::/64");
  EXPECT_NE(LoginLimitKey("2001:db8:0:2::1"), LoginLimitKey("2001:db8:0:1::1"));
}

TEST(LoginLimitKeyTest, IPv4AddressesAreTheirOwnKey) {
  EXPECT_EQ(LoginLimitKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(LoginLimitKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_NE(LoginLimitKey("192.0.2.8"), LoginLimitKey("192.0.2.7"));
  EXPECT_EQ(LoginLimitKey("-"), "-");
}

}  // namespace costs::http
