#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <utility>

#include "domain/money.hpp"
#include "domain/proration.hpp"
#include "domain/usage.hpp"

namespace costs::service {

// One rollup cell: the cost of a (deployment, dimension) in one UTC hour or day.
struct RollupCell {
  std::string_view org;
  domain::RollupGrain grain;
  std::int64_t period_start_ns;
  std::string_view deployment_id;
  domain::Dimension dimension;
  friend auto operator<=>(const RollupCell&, const RollupCell&) = default;
};

// What storing a set of new usage records changes besides the records themselves; every Store
// adapter applies it in the ingest's transaction. Views point into the records passed in.
struct IngestDelta {
  // Summed prorated parts per cell (domain::ForEachRollupPart, both grains): the cost, and
  // the part of it from trial records. Cells whose sums are both zero are left out. Sums are
  // exact: the caller narrows each (stored + delta) to int64.
  struct Sums {
    domain::WideNanos cost = 0;
    domain::WideNanos trial_cost = 0;
  };
  std::map<RollupCell, Sums> rollups;
  // (organization, deployment) -> the deployment_name of the last of its records, in order.
  std::map<std::pair<std::string_view, std::string_view>, std::string_view> deployment_names;
  // organization -> the longest record duration (end - start, ns) among the records.
  std::map<std::string_view, std::int64_t> max_duration_ns;
};

// The delta of storing records[i] for every i in `fresh` (ascending), e.g. the records of a
// batch that were not stored before.
IngestDelta ComputeIngestDelta(std::span<const domain::UsageRecord> records, std::span<const std::size_t> fresh);

}  // namespace costs::service
