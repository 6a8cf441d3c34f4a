#include "app/connections.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>

namespace costs::app {
namespace {

TEST(RaiseOpenFileLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max == RLIM_INFINITY || before.rlim_max < 128) GTEST_SKIP() << "no finite hard limit to raise to";
  rlimit lowered = before;
  lowered.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(RaiseOpenFileLimit(), static_cast<std::uint64_t>(before.rlim_max));
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

TEST(RaiseOpenFileLimitTest, ReportsTheSoftLimitWhenItCannotBeRaised) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max == RLIM_INFINITY || before.rlim_max < 128) GTEST_SKIP() << "no finite hard limit";
  // A soft limit already at the hard limit: nothing to raise, the limit is reported as it is.
  rlimit at_hard = before;
  at_hard.rlim_cur = before.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &at_hard), 0);
  EXPECT_EQ(RaiseOpenFileLimit(), static_cast<std::uint64_t>(before.rlim_max));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

TEST(ConnectionOptionsTest, TheDefaultLeavesRoomForTheStoreAndAReserve) {
  Flags flags;
  http::ServerOptions options;
  ASSERT_TRUE(ConnectionOptionsFromFlags(flags, 1024, 8, options));
  EXPECT_EQ(options.max_connections, 1024u - 2 * 8 - 64);
  EXPECT_EQ(options.max_connections_per_address, 256u);
  ASSERT_TRUE(ConnectionOptionsFromFlags(flags, 50, 8, options));
  EXPECT_EQ(options.max_connections, 16u) << "never fewer than 16";
}

}  // namespace
}  // namespace costs::app
