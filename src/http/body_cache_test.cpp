// BodyCache: hits, version changes, LRU eviction by bytes and by entries, concurrent use.

#include "http/body_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace costs::http {
namespace {

BodyKey KeyOf(std::string org, std::int64_t version = 1, std::int64_t from_ns = 0) {
  BodyKey key;
  key.endpoint = Endpoint::kOrganizationCharts;
  key.organization_id = std::move(org);
  key.from_ns = from_ns;
  key.to_ns = from_ns + 1000;
  key.version = version;
  return key;
}

std::shared_ptr<const std::string> BodyOf(std::size_t size, char fill = 'x') {
  return std::make_shared<const std::string>(size, fill);
}

TEST(BodyCacheTest, FindsWhatWasInsertedAsTheSameBytes) {
  BodyCache cache;
  EXPECT_EQ(cache.Find(KeyOf("org-a")), nullptr);
  const auto body = BodyOf(100);
  EXPECT_TRUE(cache.Insert(KeyOf("org-a"), body));
  EXPECT_EQ(cache.Find(KeyOf("org-a")).get(), body.get()) << "a hit shares the stored bytes, no copy";

  const BodyCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.bytes, 100 + 5 + BodyCache::kEntryOverhead);
}

TEST(BodyCacheTest, EveryKeyPartSeparatesEntries) {
  BodyCache cache;
  const BodyKey base = KeyOf("org-a");
  ASSERT_TRUE(cache.Insert(base, BodyOf(10)));
  std::vector<BodyKey> others(10, base);
  others[0].endpoint = Endpoint::kDeploymentCharts;
  others[1].organization_id = "org-b";
  others[2].deployment_id = "d1";
  others[3].from_ns += 1;
  others[4].to_ns += 1;
  others[5].strategy = domain::BucketingStrategy::kMonthly;
  others[6].format = Format::kCsv;
  others[7].version += 1;
  others[8].variant = 1;  // another serverless_group_by or instance_type (v2)
  others[9].endpoint = Endpoint::kV2Charts;
  for (std::size_t i = 0; i < others.size(); ++i) {
    EXPECT_EQ(cache.Find(others[i]), nullptr) << "key variant " << i << " must not hit the base entry";
  }
  EXPECT_NE(cache.Find(base), nullptr);
}

TEST(BodyCacheTest, ANewVersionMissesAndOldVersionsAgeOut) {
  BodyCache cache(BodyCache::Limits{.max_bytes = 1 << 20, .max_entries = 2});
  ASSERT_TRUE(cache.Insert(KeyOf("org-a", 1), BodyOf(10, '1')));
  EXPECT_EQ(cache.Find(KeyOf("org-a", 2)), nullptr) << "after an ingest the version moved: a miss";
  ASSERT_TRUE(cache.Insert(KeyOf("org-a", 2), BodyOf(10, '2')));
  ASSERT_TRUE(cache.Insert(KeyOf("org-a", 3), BodyOf(10, '3')));
  EXPECT_EQ(cache.Find(KeyOf("org-a", 1)), nullptr) << "the least recently used (oldest version) went first";
  EXPECT_EQ(*cache.Find(KeyOf("org-a", 3)), std::string(10, '3'));
  EXPECT_EQ(cache.stats().evictions, 1u);
}

// "org-00" .. "org-99": keys of one length, so that entries of one body size cost the same.
std::string OrgName(int i) { return "org-" + std::to_string(i / 10) + std::to_string(i % 10); }

TEST(BodyCacheTest, EvictsLeastRecentlyUsedByBytes) {
  const std::size_t entry = 1000 + 6 + BodyCache::kEntryOverhead;  // a 1000-byte body of "org-NN"
  BodyCache cache(BodyCache::Limits{.max_bytes = 20 * entry + 100, .max_entries = 1000});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(cache.Insert(KeyOf(OrgName(i)), BodyOf(1000)));
  EXPECT_EQ(cache.stats().entries, 20u);
  EXPECT_EQ(cache.stats().bytes, 20 * entry);

  ASSERT_NE(cache.Find(KeyOf(OrgName(0))), nullptr);  // org-00 is now the most recently used
  ASSERT_TRUE(cache.Insert(KeyOf(OrgName(20)), BodyOf(1000)));
  EXPECT_EQ(cache.Find(KeyOf(OrgName(1))), nullptr) << "org-01 was the least recently used";
  EXPECT_NE(cache.Find(KeyOf(OrgName(0))), nullptr);
  EXPECT_NE(cache.Find(KeyOf(OrgName(20))), nullptr);
  EXPECT_EQ(cache.stats().entries, 20u);
  EXPECT_EQ(cache.stats().evictions, 1u);

  // A body charged as two entries makes room for itself by evicting the next two.
  ASSERT_TRUE(cache.Insert(KeyOf(OrgName(21)), BodyOf(entry + 1000)));
  EXPECT_LE(cache.stats().bytes, cache.limits().max_bytes);
  EXPECT_EQ(cache.Find(KeyOf(OrgName(2))), nullptr);
  EXPECT_EQ(cache.Find(KeyOf(OrgName(3))), nullptr);
  EXPECT_NE(cache.Find(KeyOf(OrgName(4))), nullptr);
  EXPECT_NE(cache.Find(KeyOf(OrgName(21))), nullptr);
  EXPECT_EQ(cache.stats().evictions, 3u);
}

TEST(BodyCacheTest, RefusesABodyOverAnEighthOfTheBudget) {
  BodyCache cache(BodyCache::Limits{.max_bytes = 8000, .max_entries = 10});
  ASSERT_TRUE(cache.Insert(KeyOf("org-a"), BodyOf(100)));
  EXPECT_FALSE(cache.Insert(KeyOf("org-b"), BodyOf(1000)));
  EXPECT_EQ(cache.Find(KeyOf("org-b")), nullptr);
  EXPECT_NE(cache.Find(KeyOf("org-a")), nullptr) << "a refused body evicts nothing";
}

TEST(BodyCacheTest, ReplacingAnEntryRechargesItsBytes) {
  BodyCache cache;
  ASSERT_TRUE(cache.Insert(KeyOf("org-a"), BodyOf(100)));
  ASSERT_TRUE(cache.Insert(KeyOf("org-a"), BodyOf(300, 'y')));
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, 300 + 5 + BodyCache::kEntryOverhead);
  EXPECT_EQ(*cache.Find(KeyOf("org-a")), std::string(300, 'y'));
}

TEST(BodyCacheTest, BoundedByEntries) {
  BodyCache cache(BodyCache::Limits{.max_bytes = 1 << 20, .max_entries = 3});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache.Insert(KeyOf("org-a", 1, i), BodyOf(1)));
  EXPECT_EQ(cache.stats().entries, 3u);
  EXPECT_EQ(cache.stats().evictions, 7u);
  for (int i = 7; i < 10; ++i) EXPECT_NE(cache.Find(KeyOf("org-a", 1, i)), nullptr) << i;
}

TEST(BodyCacheTest, BytesOutliveTheirEviction) {
  BodyCache cache(BodyCache::Limits{.max_bytes = 1 << 20, .max_entries = 1});
  ASSERT_TRUE(cache.Insert(KeyOf("org-a"), BodyOf(10, 'a')));
  const auto held = cache.Find(KeyOf("org-a"));  // a response being written holds the bytes
  ASSERT_TRUE(cache.Insert(KeyOf("org-b"), BodyOf(10, 'b')));
  EXPECT_EQ(cache.Find(KeyOf("org-a")), nullptr);
  EXPECT_EQ(*held, std::string(10, 'a'));
}

TEST(BodyCacheTest, ConcurrentFindsAndInsertsKeepTheLimits) {
  BodyCache cache(BodyCache::Limits{.max_bytes = 64 * 1024, .max_entries = 50});
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cache, &wrong, t] {
      for (int i = 0; i < kOps; ++i) {
        const int k = (i * 7 + t) % 200;
        const BodyKey key = KeyOf("org-" + std::to_string(k % 10), k / 10, k);
        if (auto body = cache.Find(key)) {
          if (*body != std::to_string(k)) ++wrong;
        } else {
          cache.Insert(key, std::make_shared<const std::string>(std::to_string(k)));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0) << "a hit returned another key's body";
  const BodyCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, static_cast<std::uint64_t>(kThreads * kOps));
  EXPECT_LE(stats.entries, 50u);
  EXPECT_LE(stats.bytes, 64u * 1024);
}

}  // namespace
}  // namespace costs::http
