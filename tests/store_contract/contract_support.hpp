#pragma once

// Helpers shared by the typed Store contract suite (store_contract_test.cpp) and the adapter-only
// tests beside each adapter (src/store/sqlite/sqlite_store_test.cpp): temp dirs, records, expected
// rollups computed independently of any store, snapshot and mid-ingest checks, verification.
// Test-only; header-only (every function inline).

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "domain/money.hpp"
#include "domain/proration.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "service/ingest_delta.hpp"
#include "service/store.hpp"
#include "service/store_verify.hpp"

namespace costs::service {

// Readable failures for the port's values.
inline void PrintTo(const RollupRow& r, std::ostream* os) {
  *os << "{" << domain::FormatRfc3339(r.period_start) << " " << r.deployment_id << " "
      << domain::DimensionId(r.dimension) << " sku=\"" << r.sku << "\" kind=\"" << r.kind << "\" cost=" << r.cost
      << " trial=" << r.trial_cost << " qty_milli=" << r.quantity_milli << " usage_ns=" << r.usage_ns
      << " max_instances=" << r.max_instance_count << " rate_fp=[" << r.rate_fingerprint_min << ", "
      << r.rate_fingerprint_max << "]}";
}

inline void PrintTo(const LatestCapacityRow& r, std::ostream* os) {
  auto text = [](domain::WideNanos v) {
    char buf[40];
    return std::string(buf, domain::FormatWideInt(v, buf));
  };
  *os << "{" << domain::FormatRfc3339(r.period_start) << " " << r.deployment_id << " cost=" << text(r.cost)
      << " trial=" << text(r.trial_cost) << " qty_milli=" << text(r.quantity_milli) << " usage_ns=" << text(r.usage_ns)
      << " max_instances=" << text(r.max_instance_count) << " rate_fp=[" << r.rate_fingerprint_min << ", "
      << r.rate_fingerprint_max << "]}";
}

inline void PrintTo(const ItemInfo& i, std::ostream* os) {
  *os << "{" << i.deployment_id << " " << domain::DimensionId(i.dimension) << " sku=\"" << i.sku << "\" kind=\""
      << i.kind << "\" name=\"" << i.name << "\" unit=\"" << i.unit << "\" rate=" << domain::FormatDecimal(i.rate)
      << " last_end=" << domain::FormatRfc3339(i.last_end) << "}";
}

inline void PrintTo(const Credit& c, std::ostream* os) {
  *os << "{" << c.organization_id << "/" << c.id << " ecu_nanos=" << c.ecu << " " << domain::FormatRfc3339(c.start)
      << ".." << domain::FormatRfc3339(c.end) << "}";
}

inline void PrintTo(const Session& s, std::ostream* os) {
  *os << "{" << s.id_digest << " user=\"" << s.user << "\" key=" << s.api_key_id.value_or("-")
      << " created=" << domain::FormatRfc3339(s.created) << " last_used=" << domain::FormatRfc3339(s.last_used) << "}";
}

}  // namespace costs::service

namespace costs::store_testing {

namespace fs = std::filesystem;

using domain::Dimension;
using domain::Instant;
using domain::Nanos;
using domain::RollupGrain;
using domain::TimeRange;
using domain::UsageRecord;
using domain::WideNanos;
using service::ApiKey;
using service::Credit;
using service::Deployment;
using service::IngestOutcome;
using service::IngestTransaction;
using service::ItemInfo;
using service::LatestCapacityRow;
using service::Organization;
using service::RangeReadPlan;
using service::RangeReadResult;
using service::RollupRow;
using service::Session;
using service::Store;
using service::User;

// ---- Helpers ----------------------------------------------------------------------------------

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "costs-store-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline Instant At(std::string_view rfc3339) {
  Result<Instant> t = domain::ParseRfc3339(rfc3339);
  if (!t) {
    ADD_FAILURE() << "bad instant in test: " << rfc3339;
    return Instant{};
  }
  return *t;
}

inline domain::Decimal Dec(std::string_view text) {
  Result<domain::Decimal> d = domain::ParseDecimal(text);
  if (!d) {
    ADD_FAILURE() << "bad decimal in test: " << text;
    return {};
  }
  return *d;
}

// A capacity record of `org`/`deployment` over [start, end) costing quantity × rate.
inline UsageRecord Record(std::string id, std::string org, std::string deployment, Instant start, Instant end,
                          std::string_view quantity = "2", std::string_view rate = "0.0913") {
  UsageRecord r;
  r.id = std::move(id);
  r.organization_id = std::move(org);
  r.deployment_id = deployment;
  r.deployment_name = deployment + "-name";
  r.dimension = Dimension::kCapacity;
  r.kind = domain::ResourceKind::kElasticsearch;
  r.instance_count = 2;
  r.sku = "gcp.es.datahot.n2.68x10x45";
  r.name = "Elasticsearch hot 8 GB";
  r.start = start;
  r.end = end;
  r.quantity = Dec(quantity);
  r.unit = "instance-hour";
  r.rate = Dec(rate);
  Result<Nanos> cost = domain::MultiplyToNanos(r.quantity, r.rate);
  if (!cost) ADD_FAILURE() << "cost does not fit: " << quantity << " x " << rate;
  r.cost_nanos = cost ? *cost : 0;
  return r;
}

inline std::string Describe(const Error& e) {
  std::string out = "code " + std::to_string(static_cast<int>(e.code)) + " \"" + e.message + "\" fields [";
  for (const std::string& f : e.fields) out += f + " ";
  return out + "]";
}

// Expects `status` to have failed with `code` (and, when given, exactly `fields`).
template <class R>
inline void ExpectError(const R& result, ErrorCode code, const std::vector<std::string>* fields = nullptr) {
  ASSERT_FALSE(result.has_value()) << "expected an error, got success";
  EXPECT_EQ(result.error().code, code) << Describe(result.error());
  if (fields != nullptr) {
    EXPECT_EQ(result.error().fields, *fields) << Describe(result.error());
  }
  EXPECT_FALSE(result.error().message.empty());
}

inline std::vector<RollupRow> Sorted(std::vector<RollupRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const RollupRow& a, const RollupRow& b) {
    return std::tie(a.period_start, a.deployment_id, a.dimension, a.sku, a.kind) <
           std::tie(b.period_start, b.deployment_id, b.dimension, b.sku, b.kind);
  });
  return rows;
}

// The money of a rollup row, for tests about costs only.
struct CostCell {
  Instant period_start;
  std::string deployment_id;
  Dimension dimension = Dimension::kCapacity;
  Nanos cost = 0;
  Nanos trial_cost = 0;
  friend bool operator==(const CostCell&, const CostCell&) = default;
  friend void PrintTo(const CostCell& c, std::ostream* os) {
    *os << "{" << domain::FormatRfc3339(c.period_start) << " " << c.deployment_id << " "
        << domain::DimensionId(c.dimension) << " cost=" << c.cost << " trial=" << c.trial_cost << "}";
  }
};

// REQUIRES: the costs fit int64 (LatestCapacityRow's are 128-bit).
template <typename Row>
inline std::vector<CostCell> Costs(const std::vector<Row>& rows) {
  std::vector<CostCell> out;
  for (const Row& r : rows) {
    out.push_back(CostCell{r.period_start, r.deployment_id, r.dimension, static_cast<Nanos>(r.cost),
                           static_cast<Nanos>(r.trial_cost)});
  }
  return out;
}

inline std::vector<UsageRecord> SortedById(std::vector<UsageRecord> records) {
  std::sort(records.begin(), records.end(), [](const UsageRecord& a, const UsageRecord& b) { return a.id < b.id; });
  return records;
}

inline std::vector<std::string> Ids(const std::vector<UsageRecord>& records) {
  std::vector<std::string> ids;
  for (const UsageRecord& r : records) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

inline std::string KindId(const UsageRecord& r) { return r.kind ? std::string(domain::ResourceKindId(*r.kind)) : ""; }

// The smallest and largest domain::DecimalFingerprint of `rates`.
inline std::pair<std::int64_t, std::int64_t> FingerprintRange(std::initializer_list<std::string_view> rates) {
  std::pair<std::int64_t, std::int64_t> out{std::numeric_limits<std::int64_t>::max(),
                                            std::numeric_limits<std::int64_t>::min()};
  for (std::string_view rate : rates) {
    out.first = std::min(out.first, domain::DecimalFingerprint(Dec(rate)));
    out.second = std::max(out.second, domain::DecimalFingerprint(Dec(rate)));
  }
  return out;
}

// The rollups of `records` computed independently of the store (sorted as Sorted() sorts):
// one row per period of `grain` in [from, to) and item (deployment, dimension, sku, kind) that
// some record overlaps, holding the sums over those records of Proration::PartIn of the cost
// (cost), of the cost of trial records only (trial_cost), of the quantity in thousandths
// rounded half-even (quantity_milli) and of the overlap in ns, negative for negative quantities
// (usage_ns, service::UsageOverlap), the largest instance_count and the smallest and largest
// domain::DecimalFingerprint of the rates. Cells whose measures net to zero are kept: they
// record usage.
inline std::vector<RollupRow> ExpectedRollups(const std::vector<UsageRecord>& records, RollupGrain grain, Instant from,
                                              Instant to) {
  const std::int64_t step = grain == RollupGrain::kHour ? domain::kNsPerHour : domain::kNsPerDay;
  struct Sums {
    WideNanos cost = 0, trial_cost = 0, quantity_milli = 0, usage_ns = 0;
    std::int64_t max_instance_count = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
  };
  std::map<std::tuple<std::int64_t, std::string, Dimension, std::string, std::string>, Sums> sums;
  for (const UsageRecord& r : records) {
    const domain::Proration cost{r.start, r.end, r.cost_nanos};
    Result<std::int64_t> milli = domain::ToScaled(r.quantity, 3);
    if (!milli) ADD_FAILURE() << "quantity does not fit in thousandths: " << r.id;
    const domain::Proration quantity{r.start, r.end, milli ? *milli : 0};
    for (std::int64_t t = from.ns; t < to.ns; t += step) {
      const std::int64_t overlap = std::min(r.end.ns, t + step) - std::max(r.start.ns, t);
      if (overlap <= 0) continue;
      Sums& cell = sums[{t, r.deployment_id, r.dimension, r.sku, KindId(r)}];
      const Nanos part = cost.PartIn(Instant{t}, Instant{t + step});
      cell.cost += part;
      if (r.trial) cell.trial_cost += part;
      cell.quantity_milli += quantity.PartIn(Instant{t}, Instant{t + step});
      cell.usage_ns += service::UsageOverlap(r, Instant{t}, Instant{t + step});
      cell.max_instance_count = std::max(cell.max_instance_count, r.instance_count);
      cell.rate_fingerprint_min = std::min(cell.rate_fingerprint_min, domain::DecimalFingerprint(r.rate));
      cell.rate_fingerprint_max = std::max(cell.rate_fingerprint_max, domain::DecimalFingerprint(r.rate));
    }
  }
  std::vector<RollupRow> rows;
  for (const auto& [key, sum] : sums) {
    const auto& [period, deployment, dimension, sku, kind] = key;
    rows.push_back(RollupRow{Instant{period}, deployment, dimension, sku, kind, static_cast<Nanos>(sum.cost),
                             static_cast<Nanos>(sum.trial_cost), static_cast<std::int64_t>(sum.quantity_milli),
                             static_cast<std::int64_t>(sum.usage_ns), sum.max_instance_count, sum.rate_fingerprint_min,
                             sum.rate_fingerprint_max});
  }
  return rows;
}

// The answer to RangeReadPlan::latest_capacity computed from hourly rollup rows (e.g. every
// ReadRollups row of the window): per deployment, the greatest period start of its capacity
// rows with a non-zero cost, and those rows of that hour summed into one (sku and kind empty,
// every measure summed but the rate fingerprints: the smallest minimum and the largest
// maximum), sorted by deployment id.
inline std::vector<LatestCapacityRow> ExpectedLatestCapacity(const std::vector<RollupRow>& hourly) {
  std::map<std::string, LatestCapacityRow> latest;
  for (const RollupRow& row : hourly) {
    if (row.dimension != Dimension::kCapacity || row.cost == 0) continue;
    const LatestCapacityRow empty{row.period_start,
                                  row.deployment_id,
                                  Dimension::kCapacity,
                                  "",
                                  "",
                                  0,
                                  0,
                                  0,
                                  0,
                                  0,
                                  std::numeric_limits<std::int64_t>::max(),
                                  std::numeric_limits<std::int64_t>::min()};
    auto [it, inserted] = latest.emplace(row.deployment_id, empty);
    LatestCapacityRow& sum = it->second;
    if (sum.period_start < row.period_start) sum = empty;
    if (sum.period_start != row.period_start) continue;
    sum.cost += row.cost;
    sum.trial_cost += row.trial_cost;
    sum.quantity_milli += row.quantity_milli;
    sum.usage_ns += row.usage_ns;
    sum.max_instance_count += row.max_instance_count;
    sum.rate_fingerprint_min = std::min(sum.rate_fingerprint_min, row.rate_fingerprint_min);
    sum.rate_fingerprint_max = std::max(sum.rate_fingerprint_max, row.rate_fingerprint_max);
  }
  std::vector<LatestCapacityRow> rows;
  for (auto& [id, row] : latest) rows.push_back(row);
  return rows;
}

template <typename Row>
inline std::vector<std::string> DeploymentIds(const std::vector<Row>& rows) {
  std::vector<std::string> ids;
  for (const Row& row : rows) ids.push_back(row.deployment_id);
  return ids;
}

// The ids of `org`'s records in `records` that overlap [from, to), sorted: the brute-force
// answer to ReadUsageOverlapping. An empty window overlaps nothing.
inline std::vector<std::string> ExpectedOverlappingIds(const std::vector<UsageRecord>& records, std::string_view org,
                                                       Instant from, Instant to) {
  std::vector<std::string> ids;
  if (from >= to) return ids;
  for (const UsageRecord& r : records) {
    if (r.organization_id == org && r.start < to && r.end > from) ids.push_back(r.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

inline bool OrderedByStart(const std::vector<UsageRecord>& records) {
  return std::is_sorted(records.begin(), records.end(),
                        [](const UsageRecord& a, const UsageRecord& b) { return a.start < b.start; });
}

// Ingests batch after batch into org-a while ReadRange runs on `reader` (the same store or
// another handle on the same data), and checks that every result is one snapshot: batch b
// holds kPerBatch records of a new deployment "b<b>", each over [t, t + 1 hour) costing
// 0.001 ECU, so a result that saw n batches has kPerBatch * n records in each raw window,
// kPerBatch * n * 0.001 ECU in the hour and in the day, and n deployments.
class SnapshotBatches {
 public:
  static constexpr int kPerBatch = 3;
  static constexpr Nanos kCost = 1'000'000;

  explicit SnapshotBatches(Instant day) : t_{day.ns + 10 * domain::kNsPerHour}, t_end_{t_.ns + domain::kNsPerHour} {
    plan_.raw = {TimeRange{Instant{t_.ns + domain::kNsPerHour / 4}, Instant{t_.ns + 3 * domain::kNsPerHour / 4}},
                 TimeRange{Instant{t_end_.ns - 1}, t_end_}};
    plan_.hourly = {TimeRange{t_, t_end_}};
    plan_.daily = {TimeRange{day, Instant{day.ns + domain::kNsPerDay}}};
    plan_.latest_capacity = TimeRange{day, Instant{day.ns + domain::kNsPerDay}};
    plan_.items = true;  // one item per batch (its deployment)
  }

  const RangeReadPlan& plan() const { return plan_; }

  std::vector<UsageRecord> Batch(int b) const {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < kPerBatch; ++i) {
      batch.push_back(Record("s" + std::to_string(b) + "-" + std::to_string(i), "org-a", "b" + std::to_string(b), t_,
                             t_end_, "1", "0.001"));
    }
    return batch;
  }

  // The number of batches a result saw, or -1 (with a test failure) if it is torn.
  std::int64_t Seen(const RangeReadResult& r) const {
    if (r.raw.size() != 2) {
      ADD_FAILURE() << "one raw result per raw window, got " << r.raw.size();
      return -1;
    }
    const std::size_t records = r.raw[0].size();
    WideNanos hour = 0;
    WideNanos whole_day = 0;
    for (const RollupRow& row : r.rollups) (row.period_start == t_ ? hour : whole_day) += row.cost;
    const std::int64_t n = static_cast<std::int64_t>(r.deployments.size());
    const bool consistent = records == static_cast<std::size_t>(kPerBatch * n) && r.raw[1].size() == records &&
                            hour == WideNanos{kPerBatch * n * kCost} && whole_day == hour &&
                            r.latest_capacity.size() == static_cast<std::size_t>(n) &&
                            r.items.size() == static_cast<std::size_t>(n);
    if (!consistent) {
      ADD_FAILURE() << "torn ReadRange: " << n << " deployments, raw windows " << records << " and " << r.raw[1].size()
                    << " records, hour " << static_cast<std::int64_t>(hour) << " day "
                    << static_cast<std::int64_t>(whole_day) << " nano-ECU, " << r.latest_capacity.size()
                    << " latest capacity rows, " << r.items.size() << " items";
      return -1;
    }
    return n;
  }

  // Seen() of a ReadRange on `reader`, or -1 (with a test failure).
  std::int64_t Read(Store& reader) const {
    Result<RangeReadResult> r = reader.ReadRange("org-a", plan_);
    if (!r) {
      ADD_FAILURE() << "ReadRange failed: " << Describe(r.error());
      return -1;
    }
    return Seen(*r);
  }

 private:
  Instant t_;
  Instant t_end_;
  RangeReadPlan plan_;
};

inline void ExpectReadRangeIsOneSnapshotWhileIngesting(Store& writer, Store& reader, Instant day) {
  constexpr int kBatches = 60;
  const SnapshotBatches batches(day);
  std::atomic<bool> writer_done{false};
  std::atomic<bool> ingest_failed{false};
  std::thread writer_thread([&] {
    for (int b = 0; b < kBatches; ++b) {
      Result<IngestOutcome> outcome = writer.Ingest(batches.Batch(b));
      if (!outcome || *outcome != IngestOutcome{SnapshotBatches::kPerBatch, 0}) ingest_failed = true;
    }
    writer_done = true;
  });

  std::int64_t last_seen = 0;
  for (bool last = false; !last;) {
    last = writer_done.load();  // one more read after the writer is done
    const std::int64_t n = batches.Read(reader);
    if (n < 0) break;
    EXPECT_GE(n, last_seen) << "a later snapshot never has fewer batches";
    last_seen = n;
  }
  writer_thread.join();
  EXPECT_FALSE(ingest_failed.load());
  EXPECT_EQ(last_seen, kBatches) << "the read after the last ingest sees every batch";
}

// Holds a store's next Ingest after it has written and before it commits, until released: how a
// test makes a read land in the middle of an ingest for certain.
class IngestHold {
 public:
  virtual ~IngestHold() = default;
  virtual void Arm() = 0;
  // Until the armed Ingest is held: true, or false after a guard (30 s).
  virtual bool WaitUntilHeld() = 0;
  virtual void Release() = 0;
};

// Batch after batch, each held mid-ingest while `reader` reads: a read in the middle sees exactly
// the batches committed before (one snapshot, nothing of the batch in flight), and once the
// batch is released the next read sees it.
inline void ExpectReadsMidIngestSeeOnlyWhatWasCommitted(Store& writer, Store& reader, IngestHold& hold, Instant day) {
  constexpr int kBatches = 3;
  const SnapshotBatches batches(day);
  for (int b = 0; b < kBatches; ++b) {
    hold.Arm();
    Result<IngestOutcome> outcome = MakeError(ErrorCode::kInternal, "not called");
    std::thread writer_thread([&] { outcome = writer.Ingest(batches.Batch(b)); });
    const bool held = hold.WaitUntilHeld();
    EXPECT_TRUE(held) << "batch " << b << " was never held mid-ingest";
    if (held) {
      EXPECT_EQ(batches.Read(reader), b) << "a read while batch " << b << " is in flight";
    }
    hold.Release();
    writer_thread.join();
    ASSERT_TRUE(outcome.has_value()) << Describe(outcome.error());
    EXPECT_EQ(*outcome, (IngestOutcome{SnapshotBatches::kPerBatch, 0}));
    EXPECT_EQ(batches.Read(reader), b + 1) << "the read after batch " << b << " was acknowledged";
  }
}

// A trial copy of Record(...).
inline UsageRecord TrialRecord(std::string id, std::string org, std::string deployment, Instant start, Instant end,
                               std::string_view quantity = "2", std::string_view rate = "0.0913") {
  UsageRecord r = Record(std::move(id), std::move(org), std::move(deployment), start, end, quantity, rate);
  r.trial = true;
  return r;
}

inline const Instant kDay1 = At("2026-11-01T00:00:00Z");

// ---- Verification (service::VerifyStore over each adapter) ------------------------------------

// Two batches over two organizations that touch what a store derives from usage: hours and
// days, a long record, trial and negative records, two items of a deployment, a deployment
// renamed, a serverless project (a type and a rate of its own), a duplicate, and a second record of an item ending when
// its latest did (a tie: the later ingested gives the item its name).
inline std::vector<std::vector<UsageRecord>> VerifyBatches() {
  UsageRecord renamed = Record("b2-rename", "org-a", "d1", At("2026-11-02T05:00:00Z"), At("2026-11-02T06:00:00Z"));
  renamed.deployment_name = "d1-renamed";
  UsageRecord tie = Record("b2-tie", "org-a", "d2", At("2026-11-03T10:00:00Z"), At("2026-11-03T12:00:00Z"), "1", "0.5");
  tie.name = "Renamed item";
  UsageRecord data_out =
      Record("b1-out", "org-a", "d1", At("2026-11-01T03:00:00Z"), At("2026-11-01T04:00:00Z"), "12.5", "0.032");
  data_out.dimension = Dimension::kDataOut;
  data_out.kind.reset();
  data_out.sku = "gcp.data.out";
  UsageRecord project =
      Record("b2-project", "org-a", "p1", At("2026-11-02T00:00:00Z"), At("2026-11-02T01:00:00Z"), "4", "0.0125");
  project.instance_type = domain::InstanceType::kSecurity;
  return {
      {Record("b1-a", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"), "7", "0.333333333"),
       TrialRecord("b1-trial", "org-a", "d1", At("2026-11-01T23:10:00Z"), At("2026-11-02T01:20:00Z"), "3",
                   "1.000000007"),
       Record("b1-long", "org-a", "d2", At("2026-10-29T13:17:11Z"), At("2026-11-03T12:00:00Z"), "120", "0.0913"),
       Record("b1-neg", "org-a", "d2", At("2026-11-01T05:00:00Z"), At("2026-11-01T06:00:00Z"), "-1", "0.5"), data_out,
       Record("b1-b", "org-b", "d9", At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z"))},
      {Record("b1-a", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"), "7", "0.333333333"),
       renamed, tie, project, Record("b2-b", "org-b", "d9", At("2026-11-01T01:00:00Z"), At("2026-11-01T02:00:00Z"))},
  };
}

// Verifies the store; the report, with a failure listing its differences if `clean` differs.
inline service::VerifyReport MustVerify(Store& store, bool clean) {
  Result<service::VerifyReport> report = service::VerifyStore(store);
  EXPECT_TRUE(report.has_value()) << (report ? "" : Describe(report.error()));
  if (!report) return {};
  std::string lines;
  for (const std::string& d : report->differences) lines += "\n  " + d;
  EXPECT_EQ(report->clean(), clean) << "differences:" << lines;
  return *report;
}

// For the adapters' verification tests of the rate catalog and deployment types: org-a's
// project p1 (observability, rate 0.5) and deployment d1 (rate 0.25).
inline std::vector<UsageRecord> ProjectAndDeploymentRecords() {
  UsageRecord project = Record("u1", "org-a", "p1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z"), "2", "0.5");
  project.instance_type = domain::InstanceType::kObservability;
  return {project, Record("u2", "org-a", "d1", At("2026-11-01T04:00:00Z"), At("2026-11-01T05:00:00Z"), "1", "0.25")};
}

// Whether some difference contains every one of `parts`.
inline bool HasDifference(const service::VerifyReport& report, std::initializer_list<std::string_view> parts) {
  return std::any_of(report.differences.begin(), report.differences.end(), [&](const std::string& d) {
    return std::all_of(parts.begin(), parts.end(), [&](std::string_view p) { return d.find(p) != d.npos; });
  });
}

// What verification says of ProjectAndDeploymentRecords() once the store lost rate 0.25 from its
// catalog and p1's type became security.
inline void ExpectLostRateAndChangedType(const service::VerifyReport& report) {
  EXPECT_TRUE(HasDifference(report, {"org-a: rate catalog: 0.25: missing (a stored record has it)"}));
  EXPECT_TRUE(HasDifference(report, {"org-a: deployment p1: type stored security, expected observability"}));
}

// `call` on a thread of its own; whether it returned within `guard`. If not, `release` runs
// (it must make the call return) before the thread is joined.
template <class F>
inline bool ReturnsWithin(std::chrono::seconds guard, F call, const std::function<void()>& release) {
  std::future<void> done = std::async(std::launch::async, std::move(call));
  if (done.wait_for(guard) == std::future_status::ready) return true;
  release();
  done.wait();
  return false;
}

}  // namespace costs::store_testing
