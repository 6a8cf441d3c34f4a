#pragma once

// Ranges with ragged edges (random seconds) read the same from a store as from the memory store:
// the store's reads (ReadRange's raw edges and hourly and daily rollups) and the answers built on
// them (org and deployment charts, daily and monthly, deployments, the v2 instances and chart),
// on generated usage of several batches: records of a few seconds to 40 days, aligned and not,
// crossing day and month boundaries, trial and serverless, deployments and series that appear
// in later batches (so the series a store keeps per data version change). Shared by the SQLite
// store's test (src/store/sqlite/ragged_ranges_test.cpp) and the PostgreSQL store's
// (src/store/postgres/ragged_ranges_test.cpp): a fixture derives from RaggedRangesTest, opens
// its store and calls Start.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "service/costs_service.hpp"
#include "service/range_pieces.hpp"
#include "service/testing/fakes.hpp"
#include "store/memory/memory_store.hpp"
#include "tests/store_contract/contract_support.hpp"

namespace costs::store_testing::ragged {

using service::CostsService;

inline constexpr const char* kOrgs[] = {"org-r1", "org-r2"};

// A piece of cost as text: its window, series and measures.
inline std::string PieceText(const service::Piece& p) {
  std::ostringstream out;
  out << p.window.from.ns << ".." << p.window.to.ns << " " << p.deployment_id << "/" << domain::DimensionId(p.dimension)
      << "/" << p.sku << "/" << p.kind << " " << p.cost << " " << p.trial_cost << " " << p.quantity_milli << " "
      << p.usage_ns << " " << p.max_instance_count << " " << p.rate_fingerprint_min << " " << p.rate_fingerprint_max;
  return out.str();
}

// Every piece of a read (service::ForEachPiece, ForEachEdgePiece), in order, as text.
inline std::vector<std::string> PiecesOf(const RangeReadPlan& plan, const RangeReadResult& read) {
  std::vector<std::string> out;
  service::ForEachPiece(plan, read, [&](const service::Piece& p) { out.push_back(PieceText(p)); });
  return out;
}
inline std::vector<std::string> PiecesOf(const RangeReadPlan& plan, const service::EdgeRead& read) {
  std::vector<std::string> out;
  service::ForEachEdgePiece(plan, read, [&](const service::Piece& p, std::uint32_t series) {
    EXPECT_LT(series, read.series.size());
    out.push_back(PieceText(p));
  });
  return out;
}

// The pieces of `read` as an EdgeRead of the same plan holds them (Store::ReadEdges): the raw
// pieces sorted (a store gives a window's records in any order); then, sorted, the daily rollup pieces and an hourly
// window's pieces summed per UTC day and series (from the first hour's start to the day's end in the window).
inline std::vector<std::string> SummedPiecesOf(const RangeReadPlan& plan, const RangeReadResult& read) {
  std::size_t raw = 0;
  for (const auto& window : read.raw) raw += window.size();
  std::vector<std::string> out;
  std::vector<std::string> rollups;
  std::map<std::tuple<std::size_t, std::int64_t, std::string>, service::Piece> sums;  // (window, day, series)
  service::ForEachPiece(plan, read, [&](const service::Piece& p) {
    if (out.size() < raw) {
      out.push_back(PieceText(p));
      if (out.size() == raw) std::sort(out.begin(), out.end());  // a store gives a window's records in any order
      return;
    }
    const std::optional<std::size_t> hourly = service::GrainOf(plan, p.window.from) == domain::kNsPerHour
                                                  ? service::HourlyWindowOf(plan, p.window.from)
                                                  : std::nullopt;
    if (!hourly) return rollups.push_back(PieceText(p));
    std::ostringstream series;
    series << p.deployment_id << "/" << domain::DimensionId(p.dimension) << "/" << p.sku << "/" << p.kind;
    const auto key = std::tuple(*hourly, domain::FloorDay(p.window.from).ns, series.str());
    auto [it, added] = sums.emplace(key, p);
    service::Piece& sum = it->second;
    if (added) {
      sum.window = service::EdgeRowWindow(plan, p.window.from);
      return;
    }
    sum.cost += p.cost;  // small values here: no sum leaves int64
    sum.trial_cost += p.trial_cost;
    sum.quantity_milli += p.quantity_milli;
    sum.usage_ns += p.usage_ns;
    sum.max_instance_count = std::max(sum.max_instance_count, p.max_instance_count);
    sum.rate_fingerprint_min = std::min(sum.rate_fingerprint_min, p.rate_fingerprint_min);
    sum.rate_fingerprint_max = std::max(sum.rate_fingerprint_max, p.rate_fingerprint_max);
  });
  for (const auto& [key, p] : sums) rollups.push_back(PieceText(p));
  std::sort(rollups.begin(), rollups.end());
  out.insert(out.end(), rollups.begin(), rollups.end());
  return out;
}

// (window start, series, cost) of each piece of `read`: from ForEachEdgeCost (what charts add
// up), or from ForEachEdgePiece.
inline std::vector<std::string> EdgeCostsOf(const RangeReadPlan& plan, const service::EdgeRead& read, bool pieces) {
  std::vector<std::string> out;
  auto add = [&](Instant from, std::uint32_t series, domain::Nanos cost) {
    out.push_back(std::to_string(from.ns) + " " + std::to_string(series) + " " + std::to_string(cost));
  };
  if (pieces) {
    service::ForEachEdgePiece(plan, read,
                              [&](const service::Piece& p, std::uint32_t s) { add(p.window.from, s, p.cost); });
  } else {
    service::ForEachEdgeCost(plan, read,
                             [&](Instant from, domain::Nanos cost, std::uint32_t s) { add(from, s, cost); });
  }
  return out;
}

// Expects `read`'s series of one deployment id to share one number (EdgeSeries::deployment),
// and different ids to have different numbers, each less than the number of series.
inline void ExpectDeploymentsNumbered(const service::EdgeRead& read) {
  std::map<std::string_view, std::uint32_t> by_id;
  std::map<std::uint32_t, std::string_view> by_number;
  for (const service::EdgeSeries& s : read.series) {
    EXPECT_LT(s.deployment, read.series.size()) << s.deployment_id;
    EXPECT_EQ(by_id.emplace(s.deployment_id, s.deployment).first->second, s.deployment) << s.deployment_id;
    EXPECT_EQ(by_number.emplace(s.deployment, s.deployment_id).first->second, s.deployment_id) << s.deployment;
  }
}

// An EdgeRead's pieces as SummedPiecesOf gives them: the raw ones sorted, then the rollups' sorted.
inline std::vector<std::string> SortedRollupPiecesOf(const RangeReadPlan& plan, const service::EdgeRead& read) {
  std::size_t raw = 0;
  for (const auto& window : read.raw) raw += window.size();
  std::vector<std::string> out = PiecesOf(plan, read);
  const auto rollups = out.begin() + static_cast<std::ptrdiff_t>(std::min(raw, out.size()));
  std::sort(out.begin(), rollups);
  std::sort(rollups, out.end());
  return out;
}
inline const Instant kDataStart = *domain::ParseRfc3339("2026-01-01T00:00:00Z");
inline constexpr std::int64_t kDataDays = 90;

// A generated record: mostly short and hourly capacity, some crossing midnight, some long.
inline UsageRecord Generated(std::mt19937_64& rng, int batch, int n, std::string_view org) {
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::int64_t deployments = batch < 3 ? 3 : 5;  // two deployments appear in batch 3
  const std::string deployment = "dep-" + std::to_string(pick(0, deployments - 1));
  const std::int64_t day = kDataStart.ns + pick(0, kDataDays - 1) * domain::kNsPerDay;
  std::int64_t start = 0, length = 0;
  switch (pick(0, 9)) {
    case 0:
    case 1:
    case 2:  // an aligned hour
      start = day + pick(0, 23) * domain::kNsPerHour, length = domain::kNsPerHour;
      break;
    case 3:
    case 4:
    case 5:  // a few seconds to an hour, anywhere
      start = day + pick(0, 86'399) * 1'000'000'000, length = pick(1, 3'600) * 1'000'000'000;
      break;
    case 6:
    case 7:  // across midnight
      start = day + pick(22 * 3'600, 86'399) * 1'000'000'000, length = pick(3'600, 5 * 3'600) * 1'000'000'000;
      break;
    default:  // a day to 40 days
      start = day + pick(0, 86'399) * 1'000'000'000, length = pick(86'400, 40 * 86'400) * 1'000'000'000;
  }
  const std::vector<std::string_view> quantities = {"1", "2.5", "0.333", "17"}, rates = {"0.0913", "0.25", "1.5"};
  UsageRecord r = Record("b" + std::to_string(batch) + "-" + std::string(org) + "-" + std::to_string(n),
                         std::string(org), deployment, Instant{start}, Instant{start + length},
                         quantities[static_cast<std::size_t>(pick(0, 3))], rates[static_cast<std::size_t>(pick(0, 2))]);
  r.deployment_name = deployment + "-named-in-batch-" + std::to_string(batch);
  if (pick(0, 3) == 0) {  // another dimension: no kind, its own sku
    r.dimension = batch < 3 ? Dimension::kDataOut : Dimension::kStorageBytes;
    r.kind.reset();
    r.sku = batch < 3 ? "aws.data.transfer.out" : "aws.storage.bytes";
  }
  r.trial = pick(0, 9) == 0;
  if (deployment == "dep-4") r.instance_type = domain::InstanceType::kElasticsearch;
  return r;
}

inline std::string Text(const domain::Chart& chart) {
  std::ostringstream out;
  for (const domain::ChartBucket& b : chart.buckets) {
    out << domain::FormatRfc3339(b.start) << ":";
    for (const domain::ChartValue& v : b.values) {
      const domain::ChartSeries& s = chart.SeriesOf(v);
      out << " " << s.id << "/" << s.name << "=" << domain::FormatWideNanos(v.cost);
    }
    out << "\n";
  }
  return out.str();
}

inline std::string Text(const service::InstancesCosts& costs) {
  std::ostringstream out;
  out << "total " << domain::FormatWideNanos(costs.total) << "\n";
  for (const service::InstanceCosts& i : costs.instances) {
    out << i.id << " " << i.name << " " << domain::InstanceTypeId(i.type) << " " << domain::FormatWideNanos(i.total)
        << "\n";
    for (const service::ProductLine& l : i.lines) {
      out << "  " << l.sku << " " << domain::DimensionId(l.dimension) << " " << l.kind << " " << l.name << " "
          << domain::FormatWideNanos(l.cost) << " q" << domain::FormatWideNanos(l.quantity_milli) << " @" << l.rate
          << "\n";
      for (const service::RateSegment& s : l.segments) {
        out << "    " << domain::FormatRfc3339(s.period.from) << ".." << domain::FormatRfc3339(s.period.to) << " "
            << domain::FormatWideNanos(s.cost) << " q" << domain::FormatWideNanos(s.quantity_milli) << " @" << s.rate
            << "\n";
      }
    }
  }
  return out.str();
}

inline std::string Text(const service::DeploymentsCosts& costs) {
  std::ostringstream out;
  out << "total " << domain::FormatWideNanos(costs.total_cost) << "\n";
  for (const service::DeploymentCosts& d : costs.deployments) {
    out << d.id << " " << d.name << " " << domain::FormatWideNanos(d.costs.total) << " hourly "
        << domain::FormatWideNanos(d.hourly_rate) << " " << domain::FormatRfc3339(d.period.from) << ".."
        << domain::FormatRfc3339(d.period.to) << "\n";
  }
  return out.str();
}

template <class T>
std::string TextOf(const Result<T>& r) {
  if (!r) return "error: " + Describe(r.error());
  return Text(*r);
}

class RaggedRangesTest : public ::testing::Test {
 protected:
  // Compares `store` (migrated, empty; outliving the fixture's use) with the memory store.
  void Start(service::Store& store) {
    store_ = &store;
    for (const char* org : kOrgs) {
      ASSERT_TRUE(memory_.CreateOrganization(Organization{org, org}));
      ASSERT_TRUE(store_->CreateOrganization(Organization{org, org}));
    }
    clock_.now = At("2026-04-20T00:00:00Z");
    store_costs_ = std::make_unique<CostsService>(*store_, clock_);
  }

  // Batches [first, end) of generated usage, into both stores.
  void IngestBatches(int first, int end) {
    for (int batch = first; batch < end; ++batch) {
      std::vector<UsageRecord> records;
      for (const char* org : kOrgs) {
        for (int n = 0; n < 400; ++n) records.push_back(Generated(rng_, batch, n, org));
      }
      ASSERT_TRUE(memory_.Ingest(records));
      ASSERT_TRUE(store_->Ingest(records));
    }
  }

  // A random range: both edges random seconds, month-to-date, or short, within or around the data.
  domain::TimeRange RandomRange() {
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    };
    const std::int64_t first = kDataStart.ns - 3 * domain::kNsPerDay;
    const std::int64_t from = first + pick(0, (kDataDays + 6) * 86'400) * 1'000'000'000;
    switch (pick(0, 2)) {
      case 0:  // both edges random seconds, up to 50 days apart
        return {Instant{from}, Instant{from + pick(0, 50 * 86'400) * 1'000'000'000}};
      case 1: {  // from the start of a month to a random second of it
        const Instant month = domain::FloorMonth(Instant{from});
        return {month, Instant{from}};
      }
      default:  // within a few hours
        return {Instant{from}, Instant{from + pick(1, 5 * 3'600) * 1'000'000'000}};
    }
  }

  // Expects the stores to read `range`'s plan alike, and every answer on it to agree.
  void ExpectSameAnswers(const domain::TimeRange& range) {
    const std::string from = domain::FormatRfc3339(range.from), to = domain::FormatRfc3339(range.to);
    SCOPED_TRACE("range " + from + " .. " + to);
    const RangeReadPlan plan = service::PlanRangeRead(range);
    for (const char* org : kOrgs) {
      Result<RangeReadResult> m = memory_.ReadRange(org, plan), s = store_->ReadRange(org, plan);
      ASSERT_TRUE(m && s);
      EXPECT_EQ(s->raw, m->raw) << org;
      EXPECT_EQ(s->rollups, m->rollups) << org;
      Result<service::EdgeRead> edges = store_->ReadEdges(org, plan);  // the same, compactly
      ASSERT_TRUE(edges);
      EXPECT_EQ(edges->version, s->version) << org;
      EXPECT_EQ(SortedRollupPiecesOf(plan, *edges), SummedPiecesOf(plan, *m)) << org;
      EXPECT_EQ(EdgeCostsOf(plan, *edges, false), EdgeCostsOf(plan, *edges, true)) << org;
      ExpectDeploymentsNumbered(*edges);
      Result<service::EdgeRead> memory_edges = memory_.ReadEdges(org, plan);  // Store's, EdgeReadOf
      ASSERT_TRUE(memory_edges);
      EXPECT_EQ(SortedRollupPiecesOf(plan, *memory_edges), SummedPiecesOf(plan, *m)) << org;
      ExpectDeploymentsNumbered(*memory_edges);
      for (const char* strategy : {"daily", "monthly"}) {
        const service::RangeQuery query{from, to, strategy};
        EXPECT_EQ(TextOf(store_costs_->OrganizationCharts(admin_, org, query)),
                  TextOf(memory_costs_.OrganizationCharts(admin_, org, query)))
            << org << " " << strategy;
        for (const char* deployment : {"dep-0", "dep-4"}) {
          EXPECT_EQ(TextOf(store_costs_->DeploymentCharts(admin_, org, deployment, query)),
                    TextOf(memory_costs_.DeploymentCharts(admin_, org, deployment, query)))
              << org << " " << deployment << " " << strategy;
        }
      }
      const service::RangeQuery query{from, to, std::nullopt};
      EXPECT_EQ(TextOf(store_costs_->Deployments(admin_, org, query)),
                TextOf(memory_costs_.Deployments(admin_, org, query)))
          << org;
      const service::V2Query v2{from, to, std::nullopt, std::nullopt, std::nullopt};
      EXPECT_EQ(TextOf(store_costs_->Instances(admin_, org, v2)), TextOf(memory_costs_.Instances(admin_, org, v2)))
          << org;
    }
  }

  // Answers alike on random ranges, before and after batches that add deployments and series
  // (so the series read at the old version are stale).
  void ExpectSameAnswersBeforeAndAfterMoreBatches() {
    IngestBatches(0, 3);
    ASSERT_FALSE(HasFailure());
    for (int i = 0; i < 60 && !HasFailure(); ++i) ExpectSameAnswers(RandomRange());
    IngestBatches(3, 6);
    for (int i = 0; i < 60 && !HasFailure(); ++i) ExpectSameAnswers(RandomRange());
  }

  // Whole-hour and whole-day usage over the data's first kWholeHourDays days, as most usage
  // comes (per organization and hour a record over the hour for each of three deployments, per
  // day a record of data out over the day), then into some of those hours a second record of a
  // series (its cell then holds two; on the last day, of the day's data out), into both stores.
  static constexpr std::int64_t kWholeHourDays = 4;
  static constexpr std::int64_t kDoubledHour = 2 * 24 + 20;  // of IngestWholeHours' data: day 2, 20:00

  void IngestWholeHours() {
    const std::vector<std::string_view> quantities = {"1", "2.5", "0.333", "0"}, rates = {"0.0913", "0.25", "1.5"};
    std::vector<UsageRecord> records;
    for (const char* org : kOrgs) {
      for (std::int64_t hour = 0; hour < kWholeHourDays * 24; ++hour) {
        for (int d = 0; d < 3; ++d) {
          const Instant start{kDataStart.ns + hour * domain::kNsPerHour};
          const auto pick = static_cast<std::size_t>(hour + d);
          UsageRecord r = Record("w-" + std::string(org) + "-" + std::to_string(hour) + "-" + std::to_string(d), org,
                                 "dep-" + std::to_string(d), start, Instant{start.ns + domain::kNsPerHour},
                                 quantities[pick % 4], rates[pick % 3]);
          r.trial = pick % 7 == 0;
          records.push_back(std::move(r));
        }
      }
    }
    for (const char* org : kOrgs) {
      for (std::int64_t day = 0; day < kWholeHourDays; ++day) {
        const Instant start{kDataStart.ns + day * domain::kNsPerDay};
        records.push_back(DataOut("d-" + std::string(org) + "-" + std::to_string(day), org, start,
                                  Instant{start.ns + domain::kNsPerDay}, day % 2 == 0 ? "12.5" : "7"));
      }
    }
    ASSERT_TRUE(memory_.Ingest(records));
    ASSERT_TRUE(store_->Ingest(records));
    records.clear();
    for (const char* org : kOrgs) {
      const Instant last_day{kDataStart.ns + (kWholeHourDays - 1) * domain::kNsPerDay};
      records.push_back(DataOut("e-" + std::string(org), org, Instant{last_day.ns + 10 * domain::kNsPerHour},
                                Instant{last_day.ns + 10 * domain::kNsPerHour + 1'800 * domain::kNsPerSecond}, "3"));
      for (std::int64_t hour = 5; hour < kWholeHourDays * 24; hour += 11) {  // 5, 16, 27, 38, ...
        const Instant start{kDataStart.ns + hour * domain::kNsPerHour + 600 * domain::kNsPerSecond};
        records.push_back(Record("x-" + std::string(org) + "-" + std::to_string(hour), org, "dep-1", start,
                                 Instant{start.ns + 1'200 * domain::kNsPerSecond}, "-1", "0.25"));
      }
      // A second record over a whole hour that one already holds (kDoubledHour).
      const Instant doubled{kDataStart.ns + kDoubledHour * domain::kNsPerHour};
      records.push_back(Record("y-" + std::string(org), org, "dep-2", doubled, Instant{doubled.ns + domain::kNsPerHour},
                               "2", "0.25"));
    }
    ASSERT_TRUE(memory_.Ingest(records));
    ASSERT_TRUE(store_->Ingest(records));
  }

  // A data out record of dep-0.
  static UsageRecord DataOut(std::string id, std::string org, Instant start, Instant end, std::string_view quantity) {
    UsageRecord r = Record(std::move(id), std::move(org), "dep-0", start, end, quantity, "0.09");
    r.dimension = Dimension::kDataOut;
    r.kind.reset();
    r.sku = "aws.data.transfer.out";
    r.unit = "GB";
    return r;
  }

  // A random range whose edges lie in the whole-hour days (IngestWholeHours).
  domain::TimeRange RandomWholeHoursRange() {
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    };
    const std::int64_t seconds = kWholeHourDays * 86'400 - 1;
    const std::int64_t a = pick(0, seconds), b = pick(0, seconds);
    return {Instant{kDataStart.ns + std::min(a, b) * domain::kNsPerSecond},
            Instant{kDataStart.ns + (std::max(a, b) + 1) * domain::kNsPerSecond}};
  }

  // Answers alike on ranges with edges in whole-hour usage, some in hours whose cells hold two
  // records of a series.
  void ExpectSameAnswersOnWholeHours() {
    IngestWholeHours();
    ASSERT_FALSE(HasFailure());
    for (int i = 0; i < 80 && !HasFailure(); ++i) ExpectSameAnswers(RandomWholeHoursRange());
  }

  // The edges in hours of whole-hour cells read no raw usage: after `drop_raw_usage()` deletes
  // the stored records (and nothing else), such edges read the same records, while an edge in an
  // hour whose cell holds two records reads them from the raw usage, now gone.
  template <typename DropRawUsage>
  void ExpectWholeHourEdgesReadNoRawUsage(const DropRawUsage& drop_raw_usage) {
    IngestWholeHours();
    ASSERT_FALSE(HasFailure());
    const Instant day1{kDataStart.ns + domain::kNsPerDay};
    const std::vector<domain::TimeRange> whole = {
        {day1, Instant{day1.ns + 7 * domain::kNsPerHour + 1'234 * domain::kNsPerSecond}},  // month-to-date-like
        {Instant{day1.ns + 2 * domain::kNsPerHour + 59 * domain::kNsPerSecond},
         Instant{day1.ns + 30 * domain::kNsPerHour + 61 * domain::kNsPerSecond}},
        // Raw windows only: of two days, and two of one day.
        {Instant{day1.ns + 23 * domain::kNsPerHour + 600 * domain::kNsPerSecond},
         Instant{day1.ns + 24 * domain::kNsPerHour + 1'800 * domain::kNsPerSecond}},
        {Instant{day1.ns + 10 * domain::kNsPerHour + 1'200 * domain::kNsPerSecond},
         Instant{day1.ns + 11 * domain::kNsPerHour + 2'400 * domain::kNsPerSecond}}};
    // Edges in hours whose cells hold more: a correction, and a second whole-hour record.
    const std::vector<domain::TimeRange> mixed = {
        {kDataStart, Instant{kDataStart.ns + 5 * domain::kNsPerHour + 1'500 * domain::kNsPerSecond}},
        {kDataStart, Instant{kDataStart.ns + kDoubledHour * domain::kNsPerHour + 1'500 * domain::kNsPerSecond}}};
    auto edges_of = [&](const domain::TimeRange& range) {
      const RangeReadPlan plan = service::PlanRangeRead(range);
      Result<service::EdgeRead> read = store_->ReadEdges(kOrgs[0], plan);
      EXPECT_TRUE(read);
      return read ? SortedRollupPiecesOf(plan, *read) : std::vector<std::string>();
    };
    // The store's edges of `range`, checked against the memory store's, whose raw windows hold
    // `records` records each (unless 0).
    auto checked_edges_of = [&](const domain::TimeRange& range, std::size_t records) {
      const RangeReadPlan plan = service::PlanRangeRead(range);
      Result<RangeReadResult> m = memory_.ReadRange(kOrgs[0], plan);
      EXPECT_TRUE(m);
      std::vector<std::string> edges = edges_of(range);
      if (!m) return edges;
      EXPECT_EQ(edges, SummedPiecesOf(plan, *m));
      EXPECT_EQ(m->raw.size(), plan.raw.size());
      for (const auto& window : m->raw) EXPECT_TRUE(records == 0 || window.size() == records);
      return edges;
    };
    std::vector<std::vector<std::string>> before, mixed_before;
    for (const domain::TimeRange& range : whole)
      before.push_back(checked_edges_of(range, 4));  // 3 deployments, data out
    for (const domain::TimeRange& range : mixed) mixed_before.push_back(checked_edges_of(range, 0));
    drop_raw_usage();
    for (std::size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(edges_of(whole[i]), before[i]) << i;
    for (std::size_t i = 0; i < mixed.size(); ++i) EXPECT_NE(edges_of(mixed[i]), mixed_before[i]) << i;
  }

  // Another writer on the same database (`open_other()`, another process) adds series; this
  // store's next read sees them although it read the organization's series before.
  template <typename OpenOther>
  void ExpectSeriesAnotherWriterAddedSeen(const OpenOther& open_other) {
    IngestBatches(0, 3);
    const domain::TimeRange range{At("2026-01-01T00:00:00Z"), At("2026-03-31T12:34:56Z")};
    ExpectSameAnswers(range);
    auto other = open_other();
    ASSERT_NE(other, nullptr);
    std::vector<UsageRecord> records;
    for (int n = 0; n < 400; ++n) records.push_back(Generated(rng_, 3, n, kOrgs[0]));
    ASSERT_TRUE(memory_.Ingest(records));
    ASSERT_TRUE(other->Ingest(records));
    ExpectSameAnswers(range);
  }

  std::mt19937_64 rng_{20260101};
  store::memory::MemoryStore memory_;
  service::Store* store_ = nullptr;
  service::testing::FakeClock clock_;
  service::Principal admin_{"root", true, {}};
  CostsService memory_costs_{memory_, clock_};
  std::unique_ptr<CostsService> store_costs_;
};

}  // namespace costs::store_testing::ragged
