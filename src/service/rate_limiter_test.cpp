#include "service/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "service/limited_hasher.hpp"
#include "service/testing/fakes.hpp"

namespace costs::service {
namespace {

using testing::FakeClock;
using testing::FakeHasher;

TEST(LocalRateLimiterTest, BurstThenRefillAtRate) {
  FakeClock clock;
  LocalRateLimiter limiter(clock, 2.0, 3.0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 1) << "burst of 3 used up; one token comes back within a second";
  EXPECT_EQ(limiter.Acquire("q"), 0) << "keys are independent";
  clock.mono += 500'000'000;  // half a second at 2/s = one token
  EXPECT_EQ(limiter.Peek("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 1);
}

TEST(LocalRateLimiterTest, RetryAfterOfATinyRateIsClampedToADay) {
  FakeClock clock;
  LocalRateLimiter limiter(clock, 1e-12, 1);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 86400);
}

TEST(LocalRateLimiterTest, InsertsStayCheapWhenNoBucketCanBeForgotten) {
  // Keys made up by clients (failed logins from ever new addresses) whose buckets never refill
  // in this test: each insert past 100,000 scanned them all under the mutex before.
  FakeClock clock;
  LocalRateLimiter limiter(clock, 1e-9, 1);
  constexpr std::uint64_t kInserts = 102000;
  for (std::uint64_t i = 0; i < kInserts; ++i) ASSERT_EQ(limiter.Acquire("k" + std::to_string(i)), 0);
  EXPECT_EQ(limiter.size(), kInserts);
  EXPECT_LE(limiter.swept(), 2 * kInserts) << "sweeps must cost O(1) per insert, amortized";
}

TEST(LocalRateLimiterTest, PeekingAnUnknownKeyKeepsNothing) {
  FakeClock clock;
  LocalRateLimiter limiter(clock, 1, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.Peek("k" + std::to_string(i)), 0);
  EXPECT_EQ(limiter.size(), 0u);
  EXPECT_EQ(limiter.Acquire("k1"), 0);
  EXPECT_GT(limiter.Peek("k1"), 0) << "Peek sees a bucket Acquire emptied";
}

TEST(LimitedHasherTest, AtMostTheLimitHashAtOnceAndAllGetTheirAnswer) {
  FakeHasher inner;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  int most = 0;
  bool open = false;
  inner.before_verify = [&] {
    std::unique_lock lock(mu);
    most = std::max(most, ++inside);
    cv.notify_all();
    // Held until the test opens, or until more callers than the limit are inside (only
    // without a limit): either way the test sees how many got in at once.
    cv.wait(lock, [&] { return open || inside > 2; });
    --inside;
  };
  LimitedHasher limited(inner, 2);
  std::vector<std::thread> callers;
  std::atomic<int> right{0};
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&, i] { right += limited.Verify("h:pw" + std::to_string(i % 2), "pw0") ? 1 : 0; });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return inside >= 2; }));
    open = true;
  }
  cv.notify_all();
  for (std::thread& t : callers) t.join();
  EXPECT_LE(most, 2);
  EXPECT_EQ(right.load(), 3);
  EXPECT_EQ(inner.verifications.load(), 6);
}

TEST(LocalRateLimiterTest, ZeroRateDisables) {
  FakeClock clock;
  LocalRateLimiter limiter(clock, 0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Acquire("p"), 0);
}

}  // namespace
}  // namespace costs::service
