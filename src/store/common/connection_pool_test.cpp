#include "store/common/connection_pool.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

namespace costs::store {
namespace {

struct FakeConnection {
  explicit FakeConnection(int* open) : open(open) { ++*open; }
  ~FakeConnection() { --*open; }
  bool broken() const { return is_broken; }
  int* open;
  bool is_broken = false;
};

using Pool = ConnectionPool<FakeConnection>;

struct Fixture {
  int alive = 0;  // FakeConnections in existence
  int opened = 0;
  bool fail_open = false;
  std::vector<std::pair<LogLevel, std::string>> logged;
  Pool pool;
  explicit Fixture(int max, bool close_idle_on_broken = false)
      : pool(Pool::Options{max, std::chrono::milliseconds(0), close_idle_on_broken, "fake", "busy",
                           [this](LogLevel level, std::string_view line) { logged.emplace_back(level, line); }},
             [this]() -> Result<std::unique_ptr<FakeConnection>> {
               if (fail_open) return MakeError(ErrorCode::kStoreFailed, "cannot open");
               ++opened;
               return std::make_unique<FakeConnection>(&alive);
             }) {}
};

TEST(ConnectionPoolTest, ReusesAReturnedConnection) {
  Fixture f(2);
  {
    Result<Pool::Lease> a = f.pool.Acquire();
    ASSERT_TRUE(a);
  }
  {
    Result<Pool::Lease> b = f.pool.Acquire();
    ASSERT_TRUE(b);
  }
  EXPECT_EQ(f.opened, 1);
  EXPECT_EQ(f.pool.open_connections(), 1);
}

TEST(ConnectionPoolTest, AFullPoolIsBusyAfterTheWaitAndLogsWhy) {
  Fixture f(1);
  Result<Pool::Lease> held = f.pool.Acquire();
  ASSERT_TRUE(held);
  Result<Pool::Lease> more = f.pool.Acquire();
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ErrorCode::kStoreFailed);
  EXPECT_EQ(more.error().message, "busy");
  ASSERT_EQ(f.logged.size(), 1u);
  EXPECT_EQ(f.logged[0].second, "fake: no pooled connection became free within 0 ms");
}

TEST(ConnectionPoolTest, AWaiterGetsTheConnectionReturned) {
  int alive = 0;
  Pool pool(Pool::Options{1, std::chrono::hours(1), false, "fake", "busy", {}},
            [&]() -> Result<std::unique_ptr<FakeConnection>> { return std::make_unique<FakeConnection>(&alive); });
  std::optional<Result<Pool::Lease>> held(pool.Acquire());
  ASSERT_TRUE(*held);
  FakeConnection* lent = &***held;
  FakeConnection* got = nullptr;
  std::thread waiter([&] {
    Result<Pool::Lease> lease = pool.Acquire();
    if (lease) got = &**lease;
  });
  held.reset();  // the waiter wakes on this return, however long it has waited
  waiter.join();
  EXPECT_EQ(got, lent);
}

TEST(ConnectionPoolTest, AFailedOpenFreesItsPlace) {
  Fixture f(1);
  f.fail_open = true;
  EXPECT_FALSE(f.pool.Acquire());
  f.fail_open = false;
  EXPECT_TRUE(f.pool.Acquire());
}

TEST(ConnectionPoolTest, ABrokenConnectionIsClosedAndTheIdleOnesStayUnlessAsked) {
  for (const bool close_idle : {false, true}) {
    Fixture f(3, close_idle);
    std::optional<Result<Pool::Lease>> a(f.pool.Acquire());
    std::optional<Result<Pool::Lease>> b(f.pool.Acquire());
    ASSERT_TRUE(*a && *b);
    a.reset();  // idle now
    EXPECT_EQ(f.alive, 2);
    (**b)->is_broken = true;
    b.reset();
    EXPECT_EQ(f.alive, close_idle ? 0 : 1) << close_idle;
    EXPECT_EQ(f.pool.open_connections(), f.alive);
    EXPECT_TRUE(f.pool.Acquire());
  }
}

TEST(ConnectionPoolTest, AnAdoptedConnectionIsLentFirst) {
  Fixture f(1);
  f.pool.Adopt(std::make_unique<FakeConnection>(&f.alive));
  EXPECT_TRUE(f.pool.Acquire());
  EXPECT_EQ(f.opened, 0);
}

}  // namespace
}  // namespace costs::store
