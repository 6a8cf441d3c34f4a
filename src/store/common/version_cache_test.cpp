// VersionCache (a value per organization and data version) and SeriesCache (series maps with
// their series by rank, built on it).
#include "store/common/version_cache.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/common/series_cache.hpp"

namespace costs::store {
namespace {

TEST(VersionCacheTest, ReadsOncePerVersionAndKeepsNothingAReadFailed) {
  VersionCache<int> cache;
  int reads = 0;
  auto read = [&](int value) {
    return [&reads, value]() -> Result<int> {
      ++reads;
      return value;
    };
  };
  EXPECT_EQ(cache.Get("org-a", 1, read(10)).value(), 10);
  EXPECT_EQ(cache.Get("org-a", 1, read(11)).value(), 10);  // held at version 1: not read
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(cache.Get("org-a", 2, read(20)).value(), 20);  // another version: read again
  EXPECT_EQ(cache.Get("org-b", 2, read(30)).value(), 30);  // per organization
  EXPECT_EQ(reads, 3);
  ASSERT_TRUE(cache.Peek("org-a"));
  EXPECT_EQ(cache.Peek("org-a")->version, 2);
  EXPECT_FALSE(cache.Peek("org-c"));

  Result<int> failed = cache.Get("org-a", 3, []() -> Result<int> { return MakeError(ErrorCode::kStoreFailed, "x"); });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kStoreFailed);
  EXPECT_EQ(cache.Peek("org-a")->version, 2);  // the value read at 2 is still held
}

TEST(VersionCacheTest, DropsEveryValueWhenOneMoreOrganizationWouldExceedTheBound) {
  VersionCache<int> cache;
  for (std::size_t i = 0; i < VersionCache<int>::kMaxOrgs; ++i) cache.Put("org-" + std::to_string(i), 1, 1);
  cache.Put("org-0", 2, 2);  // a held organization: replaced, nothing dropped
  EXPECT_TRUE(cache.Peek("org-1"));
  cache.Put("one-more", 1, 3);
  EXPECT_FALSE(cache.Peek("org-1"));
  EXPECT_FALSE(cache.Peek("org-0"));
  EXPECT_EQ(cache.Peek("one-more")->value, 3);
}

struct Info {
  int rank = 0;
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;
  std::string kind;
};
using Map = std::unordered_map<std::int64_t, Info>;

TEST(SeriesCacheTest, HoldsTheSeriesByRankWithTheirDeploymentsNumbered) {
  SeriesCache<Map> cache;
  const SeriesCache<Map>::Held held =
      cache.Put("org-a", 4,
                std::make_shared<const Map>(Map{{70, {2, "d2", domain::Dimension::kCapacity, "", ""}},
                                                {71, {0, "d1", domain::Dimension::kCapacity, "", ""}},
                                                {72, {1, "d1", domain::Dimension::kDataIn, "", ""}},
                                                {73, {3, "d2", domain::Dimension::kDataOut, "sku", "es"}},
                                                {74, {4, "d3", domain::Dimension::kCapacity, "", ""}}}));
  ASSERT_NE(held.by_rank, nullptr);
  std::vector<std::string> got;
  for (const service::EdgeSeries& s : *held.by_rank) {
    got.push_back(std::string(s.deployment_id) + "/" + std::string(domain::DimensionId(s.dimension)) + "/" +
                  std::string(s.sku) + "#" + std::to_string(s.deployment));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"d1/capacity/#0", "d1/data_in/#0", "d2/capacity/#1", "d2/data_out/sku#1",
                                           "d3/capacity/#2"}));
  // Peek and Get give the held series without reading.
  EXPECT_EQ(cache.Peek("org-a").by_rank, held.by_rank);
  Result<SeriesCache<Map>::Held> again =
      cache.GetHeld("org-a", 4, []() -> Result<Map> { return MakeError(ErrorCode::kStoreFailed, "not read"); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->by_rank, held.by_rank);
}

TEST(SeriesCacheTest, AMapWhoseRanksAreNotZeroToSizeHasNoSeriesByRank) {
  SeriesCache<Map> cache;
  Result<SeriesCache<Map>::Held> held = cache.GetHeld("org-a", 1, []() -> Result<Map> {
    return Map{{1, {0, "d1", domain::Dimension::kCapacity, "", ""}},
               {2, {2, "d2", domain::Dimension::kCapacity, "", ""}}};
  });
  ASSERT_TRUE(held);
  EXPECT_NE(held->series, nullptr);
  EXPECT_EQ(held->by_rank, nullptr);
}

}  // namespace
}  // namespace costs::store
