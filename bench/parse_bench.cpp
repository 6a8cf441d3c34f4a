// In-process parse and validation of one NDJSON usage batch (bench/README.md):
// service::ParseUsageBatch, the part of `costsctl usage import` and POST /api/v1/billing/usage
// before the store's Ingest, on a batch file of bench/gen, with the organizations in a
// MemoryStore (organization lookups included, the store's Ingest not).
//
//   parse_bench --file=PATH [--orgs=N] [Google Benchmark flags]
// --file (or BENCH_NDJSON) is a `gen records --format ndjson` batch; --orgs (or BENCH_ORGS,
// default 200) is the data set's organization count: org-0001 .. org-NNNN are created.
//
// Benchmarks: parse_usage_batch, wall time of one ParseUsageBatch over the whole file (two
// threads on a machine with two cores or more); parse_usage_batch_1_thread, the same on the
// calling thread only.
// Counters: records (records parsed), MB/s (of NDJSON).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "service/usage_batch.hpp"
#include "settings.hpp"
#include "store/memory/memory_store.hpp"

namespace {

using costs::bench::Setting;

struct Fixture {
  std::string body;
  costs::store::memory::MemoryStore store;
};

void ParseBatch(benchmark::State& state, Fixture& f, bool one_thread) {
  const costs::service::OrganizationExists exists = [&f](std::string_view id) -> costs::Result<bool> {
    auto found = f.store.FindOrganization(id);
    if (!found) return std::move(found).error();
    return found->has_value();
  };
  std::size_t records = 0;
  for (auto _ : state) {
    auto batch = one_thread ? costs::service::ParseUsageBatch(f.body, exists, {})
                            : costs::service::ParseUsageBatch(f.body, exists);
    if (!batch) {
      state.SkipWithError(batch.error().message.c_str());
      return;
    }
    if (!batch->problems.empty()) {
      const std::string what = batch->problems.front().field + ": " + batch->problems.front().message;
      state.SkipWithError(what.c_str());
      return;
    }
    records = batch->records.size();
    benchmark::DoNotOptimize(batch);
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["MB/s"] =
      benchmark::Counter(static_cast<double>(f.body.size()) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  static Fixture f;
  const auto file = Setting(argc, argv, "file", "BENCH_NDJSON");
  const auto orgs = Setting(argc, argv, "orgs", "BENCH_ORGS");
  if (!file) {
    std::fprintf(stderr, "parse_bench: needs --file=PATH (or BENCH_NDJSON): a `gen records --format ndjson` batch\n");
    return 2;
  }
  std::ifstream in(*file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "parse_bench: cannot read %s\n", file->c_str());
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  f.body = std::move(text).str();
  const int org_count = orgs ? std::atoi(orgs->c_str()) : 200;
  for (int i = 1; i <= org_count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "org-%04d", i);
    if (auto s = f.store.CreateOrganization({id, id}); !s) {
      std::fprintf(stderr, "parse_bench: cannot create %s: %s\n", id, s.error().message.c_str());
      return 1;
    }
  }
  benchmark::RegisterBenchmark("parse_usage_batch", [](benchmark::State& state) { ParseBatch(state, f, false); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("parse_usage_batch_1_thread",
                               [](benchmark::State& state) { ParseBatch(state, f, true); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
