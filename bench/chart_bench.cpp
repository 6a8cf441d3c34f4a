// In-process chart latency (bench/README.md): CostsService on the store a bench run built by
// ingesting a bench/gen data set: a SqliteStore on a file, or a PostgresStore on a database.
// No HTTP, no JSON rendering: the use case and the store only.
//
//   chart_bench --db=PATH|postgresql://... --org=ORG --deployment=DEP --first-day=YYYY-MM-DD --last-day=YYYY-MM-DD
//               [Google Benchmark flags]
// --db is a PostgreSQL connection URI when it starts with postgresql:// or postgres://, else the
// path of an SQLite database file. Each flag also reads an environment variable (BENCH_DB, BENCH_ORG, BENCH_DEPLOYMENT,
// BENCH_FIRST_DAY, BENCH_LAST_DAY); first/last day are the data set's first and last UTC day.
//
// Benchmarks (ranges end on the data's last day, bare dates as a client sends them):
//   org_daily_30d        the org chart, daily, the last 30 days
//   org_daily_365d       the org chart, daily, the last 365 days (the data covers fewer)
//   org_monthly_36m      the org chart, monthly, 36 months capped at the data's extent
//   deployment_daily_30d the deployment chart, daily, the last 30 days
// Counters: buckets and values (deployment × bucket cells) of one chart.
// And the Billing API v2 instances call beside the v1 deployments call it replaces, over the
// last day and the last 30 days (RFC 3339 UTC day boundaries, as ess_billing sends them):
//   v1_deployments_1d, v1_deployments_30d, v2_instances_1d, v2_instances_30d
// Counters: values = deployments (v1) or product line items (v2) of one answer.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.hpp"
#include "service/costs_service.hpp"
#include "settings.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using costs::domain::CivilDate;
using costs::domain::Instant;

// "Now" is the end of the data: no range default depends on the wall clock.
class FixedClock final : public costs::service::Clock {
 public:
  explicit FixedClock(Instant now) : now_(now) {}
  Instant Now() const override { return now_; }
  std::int64_t MonotonicNs() const override { return 0; }

 private:
  Instant now_;
};

struct Config {
  std::string db;
  std::string org;
  std::string deployment;
  std::string first_day;
  std::string last_day;
};

using costs::bench::Setting;

std::optional<std::int64_t> DayNumber(const std::string& date) {
  CivilDate d;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d", &d.year, &d.month, &d.day) != 3) return std::nullopt;
  return costs::domain::DaysFromCivil(d);
}

std::string DateText(std::int64_t day) {
  const CivilDate d = costs::domain::CivilFromDays(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

// The start of a UTC day in RFC 3339, as ess_billing sends `from` and `to`.
std::string DayStart(std::int64_t day) { return DateText(day) + "T00:00:00Z"; }

enum class Call { kOrgChart, kDeploymentChart, kDeployments, kInstances };

struct ChartCase {
  std::string name;
  Call call = Call::kOrgChart;
  std::string from;  // bare dates: from its day's start, to its day's end
  std::string to;
  std::string strategy;
};

// Lives for the whole process: the benchmarks capture references to it.
struct Fixture {
  std::unique_ptr<costs::service::Store> store;
  std::unique_ptr<FixedClock> clock;
  std::unique_ptr<costs::service::CostsService> costs;
  costs::service::Principal who{"bench", true, {}};
  Config config;
};

// The store --db names, opened with its default options (as costsd without --db-pool and
// --db-timeout-ms) and migrated.
costs::Result<std::unique_ptr<costs::service::Store>> OpenStore(const std::string& db) {
  std::unique_ptr<costs::service::Store> store;
  if (db.starts_with("postgresql://") || db.starts_with("postgres://")) {
    auto pg = costs::store::postgres::PostgresStore::Open(db);
    if (!pg) return std::move(pg).error();
    store = std::move(*pg);
  } else {
    auto sqlite = costs::store::sqlite::SqliteStore::Open(db);
    if (!sqlite) return std::move(sqlite).error();
    store = std::move(*sqlite);
  }
  if (auto migrated = store->Migrate(); !migrated) return std::move(migrated).error();
  return store;
}

// The v1 deployments call or the v2 instances call over the case's range.
void RunCosts(benchmark::State& state, Fixture& f, const ChartCase& c) {
  costs::service::V2Query v2;
  v2.from = c.from;
  v2.to = c.to;
  const costs::service::RangeQuery v1{c.from, c.to, std::nullopt};
  std::size_t values = 0;
  for (auto _ : state) {
    if (c.call == Call::kDeployments) {
      auto answer = f.costs->Deployments(f.who, f.config.org, v1);
      if (!answer) return state.SkipWithError(answer.error().message.c_str());
      values = answer->deployments.size();
      benchmark::DoNotOptimize(answer);
    } else {
      auto answer = f.costs->Instances(f.who, f.config.org, v2);
      if (!answer) return state.SkipWithError(answer.error().message.c_str());
      values = 0;
      for (const auto& instance : answer->instances) values += instance.lines.size();
      benchmark::DoNotOptimize(answer);
    }
  }
  state.counters["buckets"] = 0;
  state.counters["values"] = static_cast<double>(values);
}

void RunChart(benchmark::State& state, Fixture& f, const ChartCase& c) {
  if (c.call == Call::kDeployments || c.call == Call::kInstances) return RunCosts(state, f, c);
  const costs::service::RangeQuery query{c.from, c.to, c.strategy};
  std::size_t buckets = 0;
  std::size_t values = 0;
  for (auto _ : state) {
    auto chart = c.call == Call::kDeploymentChart
                     ? f.costs->DeploymentCharts(f.who, f.config.org, f.config.deployment, query)
                     : f.costs->OrganizationCharts(f.who, f.config.org, query);
    if (!chart) {
      state.SkipWithError(chart.error().message.c_str());
      return;
    }
    buckets = chart->buckets.size();
    values = 0;
    for (const auto& b : chart->buckets) values += b.values.size();
    benchmark::DoNotOptimize(chart);
  }
  state.counters["buckets"] = static_cast<double>(buckets);
  state.counters["values"] = static_cast<double>(values);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  static Fixture f;
  const auto db = Setting(argc, argv, "db", "BENCH_DB");
  const auto org = Setting(argc, argv, "org", "BENCH_ORG");
  const auto deployment = Setting(argc, argv, "deployment", "BENCH_DEPLOYMENT");
  const auto first_day = Setting(argc, argv, "first-day", "BENCH_FIRST_DAY");
  const auto last_day = Setting(argc, argv, "last-day", "BENCH_LAST_DAY");
  if (!db || !org || !deployment || !first_day || !last_day) {
    std::fprintf(stderr,
                 "chart_bench: needs --db=PATH|URL --org=ORG --deployment=DEP --first-day=DATE --last-day=DATE "
                 "(or BENCH_DB, BENCH_ORG, BENCH_DEPLOYMENT, BENCH_FIRST_DAY, BENCH_LAST_DAY)\n");
    return 2;
  }
  f.config = Config{*db, *org, *deployment, *first_day, *last_day};
  const auto first = DayNumber(*first_day);
  const auto last = DayNumber(*last_day);
  if (!first || !last || *first > *last) {
    std::fprintf(stderr, "chart_bench: --first-day and --last-day must be dates YYYY-MM-DD, first <= last\n");
    return 2;
  }

  auto store = OpenStore(*db);
  if (!store) {
    std::fprintf(stderr, "chart_bench: cannot open %s: %s\n", db->c_str(), store.error().message.c_str());
    return 1;
  }
  f.store = std::move(*store);
  f.clock = std::make_unique<FixedClock>(Instant{(*last + 1) * costs::domain::kNsPerDay});
  f.costs = std::make_unique<costs::service::CostsService>(*f.store, *f.clock);

  // 36 months ending with the last day's month, but not before the data's first month.
  const CivilDate last_date = costs::domain::CivilFromDays(*last);
  int months_back_year = last_date.year - 3;
  int months_back_month = last_date.month + 1;
  if (months_back_month > 12) {
    months_back_month -= 12;
    ++months_back_year;
  }
  std::int64_t monthly_from = costs::domain::DaysFromCivil(CivilDate{months_back_year, months_back_month, 1});
  const CivilDate first_date = costs::domain::CivilFromDays(*first);
  monthly_from = std::max(monthly_from, costs::domain::DaysFromCivil(CivilDate{first_date.year, first_date.month, 1}));

  static const std::vector<ChartCase> cases = {
      {"org_daily_30d", Call::kOrgChart, DateText(*last - 29), DateText(*last), "daily"},
      {"org_daily_365d", Call::kOrgChart, DateText(*last - 364), DateText(*last), "daily"},
      {"org_monthly_36m", Call::kOrgChart, DateText(monthly_from), DateText(*last), "monthly"},
      {"deployment_daily_30d", Call::kDeploymentChart, DateText(*last - 29), DateText(*last), "daily"},
      {"v1_deployments_1d", Call::kDeployments, DayStart(*last), DayStart(*last + 1), ""},
      {"v1_deployments_30d", Call::kDeployments, DayStart(*last - 29), DayStart(*last + 1), ""},
      {"v2_instances_1d", Call::kInstances, DayStart(*last), DayStart(*last + 1), ""},
      {"v2_instances_30d", Call::kInstances, DayStart(*last - 29), DayStart(*last + 1), ""},
  };
  for (const ChartCase& c : cases) {
    benchmark::RegisterBenchmark(c.name.c_str(), [&c](benchmark::State& state) {
      RunChart(state, f, c);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
