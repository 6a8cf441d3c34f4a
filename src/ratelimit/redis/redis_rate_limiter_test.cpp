#include "ratelimit/redis/redis_rate_limiter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/redis/testing/redis_server.hpp"
#include "service/testing/fakes.hpp"

namespace costs::ratelimit::redis {
namespace {

using service::testing::FakeClock;
using testing::RedisServer;

// --- URLs -----------------------------------------------------------------------------------

TEST(ParseRedisUrlTest, HostPortAndDatabase) {
  auto e = ParseRedisUrl("redis://127.0.0.1:6380/3");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3);
  EXPECT_EQ(e->password, "");
  EXPECT_EQ(e->Describe(), "redis://127.0.0.1:6380/3");
}

TEST(ParseRedisUrlTest, DefaultsArePort6379AndDatabase0) {
  for (const char* url : {"redis://cache.internal", "redis://cache.internal/", "redis://cache.internal:6379/0"}) {
    auto e = ParseRedisUrl(url);
    ASSERT_TRUE(e) << url << ": " << e.error().message;
    EXPECT_EQ(e->host, "cache.internal") << url;
    EXPECT_EQ(e->port, 6379) << url;
    EXPECT_EQ(e->db, 0) << url;
  }
}

TEST(ParseRedisUrlTest, PasswordAndAclUserArePercentDecodedAndNeverDescribed) {
  auto e = ParseRedisUrl("redis://:s%40cret@[::1]:7000");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "s@cret");
  EXPECT_EQ(e->Describe(), "redis://:***@[::1]:7000/0");
  auto acl = ParseRedisUrl("redis://costs:pw@localhost:6379/1");
  ASSERT_TRUE(acl) << acl.error().message;
  EXPECT_EQ(acl->user, "costs");
  EXPECT_EQ(acl->password, "pw");
}

TEST(ParseRedisUrlTest, MalformedUrlsAreInvalidDataWithoutEchoingThePassword) {
  for (const char* url : {"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://", "redis://:6379",
                          "redis://localhost:0", "redis://localhost:65536", "redis://localhost:port",
                          "redis://localhost/db", "redis://localhost/1/2", "redis://localhost?db=1",
                          "redis://user@localhost", "redis://:topsecret@localhost:99999"}) {
    auto e = ParseRedisUrl(url);
    ASSERT_FALSE(e) << "accepted '" << url << "'";
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidData) << url;
    EXPECT_NE(e.error().message.find("redis://[:PASSWORD@]HOST[:PORT][/DB]"), std::string::npos)
        << "the message should show the expected form: " << e.error().message;
    EXPECT_EQ(e.error().message.find("topsecret"), std::string::npos) << e.error().message;
  }
}

// --- Against a real redis-server ------------------------------------------------------------

// A plain hiredis connection for looking at what the limiter wrote.
class Inspector {
 public:
  explicit Inspector(int port, int db = 0, const char* password = nullptr) {
    c_ = redisConnect("127.0.0.1", port);
    if (password != nullptr) Run("AUTH", password);
    if (db != 0) Run("SELECT", std::to_string(db).c_str());
  }
  ~Inspector() { redisFree(c_); }
  // The integer reply, or -100 for anything else.
  long long Integer(const char* command, const char* arg = nullptr) {
    auto* r =
        static_cast<redisReply*>(arg == nullptr ? redisCommand(c_, command) : redisCommand(c_, "%s %s", command, arg));
    const long long v = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
    if (r != nullptr) freeReplyObject(r);
    return v;
  }
  void Run(const char* command, const char* arg = nullptr, const char* arg2 = nullptr) {
    auto* r = static_cast<redisReply*>(arg == nullptr    ? redisCommand(c_, command)
                                       : arg2 == nullptr ? redisCommand(c_, "%s %s", command, arg)
                                                         : redisCommand(c_, "%s %s %s", command, arg, arg2));
    if (r != nullptr) freeReplyObject(r);
  }

 private:
  redisContext* c_;
};

// Acquires until refused (at most `guard` calls): the waits in order and the seconds from
// before the first call to after the last (steady clock).
struct TimedRun {
  std::vector<int> waits;
  double seconds = 0;
};

TimedRun AcquireUntilRefused(service::RateLimiter& limiter, std::string_view key, int guard = 100000) {
  TimedRun run;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < guard && (run.waits.empty() || run.waits.back() == 0); ++i)
    run.waits.push_back(limiter.Acquire(key));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

// What a bucket of `burst` tokens refilled at `rate`/s, full before the run, must show however
// slow the run was: its first `burst` calls admitted, at most burst + rate × seconds admitted in
// all, and a refusal at the end. A slow call adds a token to the bound; it never fails the check.
void ExpectBucket(const TimedRun& run, int burst, double rate) {
  const auto admitted = std::count(run.waits.begin(), run.waits.end(), 0);
  ASSERT_FALSE(run.waits.empty());
  EXPECT_NE(run.waits.back(), 0) << "never refused";
  EXPECT_GE(admitted, burst) << "the burst of " << burst << " is admitted";
  EXPECT_EQ(std::count(run.waits.begin(), run.waits.begin() + std::min<std::ptrdiff_t>(burst, run.waits.size()), 0),
            std::min<std::ptrdiff_t>(burst, run.waits.size()))
      << "the first " << burst << " calls are admitted";
  EXPECT_LE(admitted, burst + static_cast<std::int64_t>(rate * run.seconds))
      << "admitted in " << run.seconds << " s at " << rate << "/s with a burst of " << burst;
}

// Accepts every connection waiting in the queue of the listening socket `fd` and closes them;
// how many there were.
int AcceptAll(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int n = 0;
  for (;;) {
    const int c = ::accept(fd, nullptr, nullptr);
    if (c < 0) return n;
    ::close(c);
    ++n;
  }
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new RedisServer();
    start_error_ = server_->Start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, "") << "these tests need a real redis-server";
    Inspector(server_->port()).Run("FLUSHALL");
  }

  // One "replica": its own connections to the shared Redis.
  std::shared_ptr<RedisBuckets> Replica(std::string url = "") {
    auto endpoint = ParseRedisUrl(url.empty() ? server_->url() : url);
    EXPECT_TRUE(endpoint);
    RedisOptions options;
    options.endpoint = *endpoint;
    return std::make_shared<RedisBuckets>(clock_, options);
  }

  static RedisServer* server_;
  static std::string start_error_;
  FakeClock clock_;  // the fallback's and the retry interval's clock; buckets in Redis use Redis TIME
};

RedisServer* RedisRateLimiterTest::server_ = nullptr;
std::string RedisRateLimiterTest::start_error_;

TEST_F(RedisRateLimiterTest, BurstThenRetryAfterLikeTheLocalLimiter) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 2.0, 3.0);
  const TimedRun run = AcquireUntilRefused(limiter, "p");
  ExpectBucket(run, 3, 2.0);
  EXPECT_EQ(run.waits.back(), 1) << "burst of 3 used up; at 2/s one token comes back within a second";
  EXPECT_EQ(limiter.Acquire("q"), 0) << "keys are independent";
  EXPECT_EQ(Inspector(server_->port()).Integer("EXISTS", "costs:rl:principal:p"), 1)
      << "buckets are namespaced costs:rl:<limiter>:<key>";
}

TEST_F(RedisRateLimiterTest, TokensComeBackAtTheRateOnRedisTime) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 10.0, 2.0);  // one token per 100 ms
  const TimedRun first = AcquireUntilRefused(limiter, "p");
  ExpectBucket(first, 2, 10.0);
  EXPECT_EQ(first.waits.back(), 1);
  // Tokens come back on Redis's clock (the FakeClock never moves): after 250 ms at least 2.5,
  // capped at the burst of 2. Waiting longer only adds tokens, so the checks hold however slow.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(limiter.Peek("p"), 0);
  ExpectBucket(AcquireUntilRefused(limiter, "p"), 2, 10.0);  // full again, but never above the burst
}

TEST_F(RedisRateLimiterTest, PeekTakesNothingAndWritesNothing) {
  RedisRateLimiter limiter(Replica(), clock_, "login", 0.5, 1.0);
  EXPECT_EQ(limiter.Peek("10.0.0.1"), 0);
  EXPECT_EQ(limiter.Peek("10.0.0.1"), 0);
  EXPECT_EQ(Inspector(server_->port()).Integer("EXISTS", "costs:rl:login:10.0.0.1"), 0)
      << "a full bucket is a missing one: looking must not create it";
  EXPECT_EQ(limiter.Acquire("10.0.0.1"), 0);
  EXPECT_EQ(limiter.Peek("10.0.0.1"), 2) << "at 0.5/s the next token is 2 s away";
  EXPECT_EQ(limiter.Acquire("10.0.0.1"), 2);
}

TEST_F(RedisRateLimiterTest, RetryAfterOfATinyRateIsClampedToADay) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 1e-12, 1);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 86400);
}

TEST_F(RedisRateLimiterTest, ZeroRateDisablesWithoutTouchingRedis) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 0, 0);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(Inspector(server_->port()).Integer("DBSIZE"), 0);
}

TEST_F(RedisRateLimiterTest, IdleBucketsExpireOnceTheyWouldBeFull) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 10.0, 3.0);
  ASSERT_EQ(limiter.Acquire("p"), 0);
  const long long ttl = Inspector(server_->port()).Integer("PTTL", "costs:rl:principal:p");
  // One token short of 3 at 10/s: full after 100 ms; one second of slack.
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 1100);
  RedisRateLimiter slow(Replica(), clock_, "principal", 1e-9, 3.0);
  ASSERT_EQ(slow.Acquire("slow"), 0);
  EXPECT_LE(Inspector(server_->port()).Integer("PTTL", "costs:rl:principal:slow"), 86'400'000)
      << "no bucket lives longer than a day";
}

TEST_F(RedisRateLimiterTest, ReplicasShareOneBucketPerKeyAndLimitersDoNot) {
  // A rate so low that no token comes back during the test, however slow (Retry-After: a day).
  RedisRateLimiter a(Replica(), clock_, "principal", 1e-9, 3.0);
  RedisRateLimiter b(Replica(), clock_, "principal", 1e-9, 3.0);
  RedisRateLimiter other(Replica(), clock_, "login", 1e-9, 3.0);
  std::vector<int> waits;
  for (int i = 0; i < 6; ++i) waits.push_back((i % 2 == 0 ? a : b).Acquire("alice"));
  EXPECT_EQ(waits, (std::vector<int>{0, 0, 0, 86400, 86400, 86400})) << "alternating replicas share the burst of 3";
  EXPECT_EQ(other.Acquire("alice"), 0) << "another limiter's bucket of the same key is its own";
}

TEST_F(RedisRateLimiterTest, ConcurrentCallersNeverGetMoreThanTheBurst) {
  auto redis = Replica();
  RedisRateLimiter limiter(redis, clock_, "principal", 1e-9, 20);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) admitted += limiter.Acquire("hot") == 0 ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 20) << "the script is atomic: 100 concurrent requests, burst of 20";
}

TEST_F(RedisRateLimiterTest, LostScriptCacheIsLoadedAgain) {
  RedisRateLimiter limiter(Replica(), clock_, "principal", 1e-9, 2.0);
  ASSERT_EQ(limiter.Acquire("p"), 0);
  Inspector(server_->port()).Run("SCRIPT", "FLUSH");
  EXPECT_EQ(limiter.Acquire("p"), 0) << "NOSCRIPT: EVAL, still the same bucket";
  EXPECT_EQ(limiter.Acquire("p"), 86400) << "the bucket in Redis was used, not a local one";
}

TEST_F(RedisRateLimiterTest, ErrorReplyFallsBackToTheLocalBucketForThatRequest) {
  Inspector(server_->port()).Run("SET", "costs:rl:principal:p", "not-a-hash");
  auto redis = Replica();
  RedisRateLimiter limiter(redis, clock_, "principal", 1e-9, 2.0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 86400) << "the local bucket of burst 2 limits while Redis errs";
  EXPECT_FALSE(redis->Step("costs:rl:principal:q", 1, 1, true)) << "within the retry interval Redis is not tried";
  clock_.mono += 2'000'000'000;
  EXPECT_EQ(limiter.Acquire("q"), 0) << "after the retry interval Redis is used again";
  EXPECT_EQ(Inspector(server_->port()).Integer("EXISTS", "costs:rl:principal:q"), 1);
}

TEST_F(RedisRateLimiterTest, PasswordAndDatabaseFromTheUrl) {
  RedisServer secured({"--requirepass", "s3cret"});
  ASSERT_EQ(secured.Start(), "");
  RedisRateLimiter limiter(Replica(secured.url(":s3cret", 2)), clock_, "principal", 1e-9, 1.0);
  ASSERT_EQ(limiter.Acquire("p"), 0);
  EXPECT_EQ(limiter.Acquire("p"), 86400);
  EXPECT_EQ(Inspector(secured.port(), 2, "s3cret").Integer("EXISTS", "costs:rl:principal:p"), 1)
      << "the bucket is in database 2";
  auto wrong = Replica(secured.url(":wrong", 2));
  EXPECT_FALSE(wrong->Ping()) << "a wrong password is a failure (and limits fall back)";
}

// --- Outages --------------------------------------------------------------------------------

TEST(RedisOutageTest, NoRedisMeansLocalLimitsAtOnce) {
  FakeClock clock;
  RedisOptions options;
  options.endpoint = *ParseRedisUrl("redis://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()));
  auto redis = std::make_shared<RedisBuckets>(clock, options);
  RedisRateLimiter limiter(redis, clock, "principal", 1e-9, 3.0);
  std::vector<int> waits;
  for (int i = 0; i < 5; ++i) waits.push_back(limiter.Acquire("p"));
  EXPECT_EQ(waits, (std::vector<int>{0, 0, 0, 86400, 86400})) << "the local bucket has the same rate and burst";
  EXPECT_EQ(limiter.Peek("p"), 86400);
  // That requests are not slowed down by trying Redis each time is counted, not timed, in
  // UnresponsiveRedisIsTriedOncePerRetryInterval.
}

TEST(RedisOutageTest, UnresponsiveRedisIsTriedOncePerRetryInterval) {
  // A listening socket that never answers: connecting works, the command times out.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  FakeClock clock;
  RedisOptions options;
  options.endpoint = *ParseRedisUrl("redis://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  options.timeout = std::chrono::milliseconds(50);
  auto redis = std::make_shared<RedisBuckets>(clock, options);
  RedisRateLimiter limiter(redis, clock, "principal", 1e-9, 1.0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(limiter.Acquire("p"), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40))
      << "the first request waited for the command timeout";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.Acquire("p"), 86400) << "the local bucket limits meanwhile";
  }
  // Each attempt is one connection in the listener's queue (nobody accepts): counted, not timed.
  EXPECT_EQ(AcceptAll(fd), 1) << "Redis is tried once, not once per request, within the retry interval";
  clock.mono += 2'000'000'000;
  EXPECT_EQ(limiter.Acquire("p"), 86400);
  EXPECT_EQ(limiter.Acquire("p"), 86400);
  EXPECT_EQ(AcceptAll(fd), 1) << "once the interval has passed, one request tries again";
  ::close(fd);
}

TEST(RedisOutageTest, RedisStoppedThenBackIsGlobalAgain) {
  RedisServer server;
  ASSERT_EQ(server.Start(), "");
  FakeClock clock;
  RedisOptions options;
  options.endpoint = *ParseRedisUrl(server.url());
  auto replica_a = std::make_shared<RedisBuckets>(clock, options);
  auto replica_b = std::make_shared<RedisBuckets>(clock, options);
  RedisRateLimiter a(replica_a, clock, "principal", 1e-9, 2.0);
  RedisRateLimiter b(replica_b, clock, "principal", 1e-9, 2.0);
  EXPECT_EQ(a.Acquire("p"), 0);
  EXPECT_EQ(b.Acquire("p"), 0);
  EXPECT_EQ(a.Acquire("p"), 86400) << "global: the two replicas shared the burst of 2";

  server.Stop();
  EXPECT_EQ(a.Acquire("p"), 0) << "Redis down: replica a's own bucket";
  EXPECT_EQ(b.Acquire("p"), 0) << "Redis down: replica b's own bucket";
  EXPECT_EQ(a.Acquire("p"), 0);
  EXPECT_EQ(a.Acquire("p"), 86400) << "the local bucket is limited too";

  ASSERT_EQ(server.Start(), "");  // same port, empty data
  EXPECT_EQ(a.Acquire("p"), 86400) << "within the retry interval replica a still limits locally";
  clock.mono += 2'000'000'000;
  EXPECT_EQ(a.Acquire("p"), 0) << "back in Redis: a fresh global bucket";
  EXPECT_EQ(b.Acquire("p"), 0);
  EXPECT_EQ(a.Acquire("p"), 86400) << "global again";
  EXPECT_EQ(b.Acquire("p"), 86400);
}

TEST(RedisOutageTest, StaleConnectionsAfterARestartAreReplacedWithoutFallingBack) {
  RedisServer server;
  ASSERT_EQ(server.Start(), "");
  FakeClock clock;
  RedisOptions options;
  options.endpoint = *ParseRedisUrl(server.url());
  auto redis = std::make_shared<RedisBuckets>(clock, options);
  ASSERT_TRUE(redis->Step("costs:rl:t:p", 1e-9, 5, true));  // leaves a pooled connection
  server.Stop();
  ASSERT_EQ(server.Start(), "");
  auto step = redis->Step("costs:rl:t:p", 1e-9, 5, true);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ(*step, 0);
  EXPECT_EQ(Inspector(server.port()).Integer("EXISTS", "costs:rl:t:p"), 1) << "answered by the restarted Redis";
}

}  // namespace
}  // namespace costs::ratelimit::redis
