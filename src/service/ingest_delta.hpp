#pragma once

#include <cstdint>
#include <functional>
#include <limits>
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
  std::string_view sku;
  std::string_view kind;  // ResourceKindId or empty
  friend auto operator<=>(const RollupCell&, const RollupCell&) = default;
};

// One item of an organization: what ItemInfo describes.
struct ItemKey {
  std::string_view org;
  std::string_view deployment_id;
  domain::Dimension dimension;
  std::string_view sku;
  std::string_view kind;
  friend auto operator<=>(const ItemKey&, const ItemKey&) = default;
};

// What storing a set of new usage records changes besides the records themselves; every Store
// adapter applies it in the ingest's transaction. Views point into the records passed in.
struct IngestDelta {
  // Summed prorated parts per cell (domain::ForEachRollupPart, both grains): the cost, the
  // part of it from trial records, the quantity in thousandths and the overlap; the largest
  // instance_count. Cells whose measures are all zero are kept (they record usage). Sums are
  // exact: the caller narrows each (stored + delta) to int64.
  struct Sums {
    domain::WideNanos cost = 0;
    domain::WideNanos trial_cost = 0;
    domain::WideNanos quantity_milli = 0;
    domain::WideNanos usage_ns = 0;
    std::int64_t max_instance_count = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
    // Which records an hourly cell holds. kOneWholeHour: exactly one, whose period is the cell's
    // UTC hour; kOneWholeDay: exactly one, whose period is the cell's UTC day. That record's
    // part of any window is then exact from the cell (and, for a day, its day's other cells)
    // alone: an edge read needs no raw usage for it (Store::ReadEdges).
    enum class Records : std::uint8_t { kNone, kOneWholeHour, kOneWholeDay, kOther };
    Records records = Records::kNone;

    // Folds `part` in: sums add, the instance count and fingerprints keep their extremes, and
    // a cell holding records from both is kOther.
    void Add(const Sums& part);
  };
  std::map<RollupCell, Sums> rollups;
  // What the last of a deployment's records (in order) says about it: its name and type.
  struct DeploymentInfo {
    std::string_view name;
    domain::InstanceType type = domain::InstanceType::kDeployment;
    friend bool operator==(const DeploymentInfo&, const DeploymentInfo&) = default;
  };
  // (organization, deployment) -> its last record's deployment_name and instance_type.
  std::map<std::pair<std::string_view, std::string_view>, DeploymentInfo> deployments;
  // organization -> the distinct rates of its records, by domain::DecimalFingerprint (the rate
  // catalog, RangeReadResult::rates; a Decimal is normalized, so 0.10 and 0.1 are one entry).
  using RatesByOrg = std::map<std::string_view, std::map<std::int64_t, domain::Decimal>>;
  RatesByOrg rates;
  // item -> its record with the latest end, the later in order on a tie (for ItemInfo).
  std::map<ItemKey, const domain::UsageRecord*> latest_item;
  // organization -> the longest record duration (end - start, ns) among the records.
  std::map<std::string_view, std::int64_t> max_duration_ns;
};

// The usage time of `r` inside [from, to): its overlap when its quantity is positive, zero
// otherwise (a correction adjusts cost and quantity, not the time something ran).
std::int64_t UsageOverlap(const domain::UsageRecord& r, domain::Instant from, domain::Instant to);

// Calls emit(grain, period_start, part) for every UTC hour, then every UTC day, that `r`
// overlaps, in ascending order, with that period's share of each measure of IngestDelta::Sums
// (what ComputeIngestDelta adds up per cell). REQUIRES: r is valid (domain::ValidateUsage).
void ForEachRollupContribution(const domain::UsageRecord& r,
                               const std::function<void(domain::RollupGrain grain, domain::Instant period_start,
                                                        const IngestDelta::Sums& part)>& emit);

// The distinct rates of records[i] for every i in `indices`, per organization, by fingerprint
// (IngestDelta::rates). Views point into the records.
IngestDelta::RatesByOrg DistinctRates(std::span<const domain::UsageRecord> records,
                                      std::span<const std::size_t> indices);

// The delta of storing records[i] for every i in `fresh` (ascending), e.g. the records of a
// batch that were not stored before.
IngestDelta ComputeIngestDelta(std::span<const domain::UsageRecord> records, std::span<const std::size_t> fresh);

}  // namespace costs::service
