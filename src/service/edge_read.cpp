#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "service/edge_record.hpp"
#include "service/measure_sums.hpp"
#include "service/range_pieces.hpp"
#include "service/store.hpp"

namespace costs::service {

Result<EdgeRead> EdgeReadOf(const RangeReadPlan& plan, RangeReadResult read) {
  // The read and the series its views name, kept alive by the result.
  struct Owned {
    RangeReadResult read;
    std::vector<EdgeSeries> series;
  };
  auto owner = std::make_shared<Owned>(Owned{std::move(read), {}});
  const RangeReadResult* owned = &owner->read;
  std::vector<EdgeSeries>& series = owner->series;
  EdgeRead out;
  out.version = owned->version;
  // Series by key, numbered in order of first use: views into *owned, which `out` keeps.
  using Key = std::tuple<std::string_view, domain::Dimension, std::string_view, std::string_view>;
  std::map<Key, std::uint32_t> index;
  std::map<std::string_view, std::uint32_t> deployments;  // numbered in order of first use
  auto series_of = [&](std::string_view deployment_id, domain::Dimension dimension, std::string_view sku,
                       std::string_view kind) {
    const auto [it, added] =
        index.emplace(Key{deployment_id, dimension, sku, kind}, static_cast<std::uint32_t>(series.size()));
    if (added) {
      const auto deployment = deployments.emplace(deployment_id, static_cast<std::uint32_t>(deployments.size())).first;
      series.push_back(EdgeSeries{deployment_id, dimension, sku, kind, deployment->second});
    }
    return it->second;
  };
  RateFingerprints rates;
  out.raw.reserve(owned->raw.size());
  for (const std::vector<domain::UsageRecord>& window : owned->raw) {
    std::vector<EdgeRecord>& records = out.raw.emplace_back();
    records.reserve(window.size());
    for (const domain::UsageRecord& r : window) {
      const std::uint32_t s =
          series_of(r.deployment_id, r.dimension, r.sku, r.kind ? domain::ResourceKindId(*r.kind) : std::string_view());
      std::optional<EdgeRecord> record =
          EdgeRecordOf(s, r.trial, r.start, r.end, r.quantity, rates.Of(r.rate), r.cost_nanos, r.instance_count);
      if (!record)
        return MakeError(ErrorCode::kStoreFailed, "a stored usage record's quantity leaves int64 thousandths");
      records.push_back(*record);
    }
  }
  // An hourly window's rows summed per (window, UTC day, series) into the row of its first hour
  // (a new one when a sum would leave int64); a daily window's as they are.
  std::map<std::tuple<std::size_t, std::int64_t, std::uint32_t>, std::size_t> summing;  // -> index in out.rollups
  for (const RollupRow& row : owned->rollups) {
    const EdgeRow edge{series_of(row.deployment_id, row.dimension, row.sku, row.kind),
                       row.period_start,
                       row.cost,
                       row.trial_cost,
                       row.quantity_milli,
                       row.usage_ns,
                       row.max_instance_count,
                       row.rate_fingerprint_min,
                       row.rate_fingerprint_max};
    const std::optional<std::size_t> window =
        GrainOf(plan, row.period_start) == domain::kNsPerHour ? HourlyWindowOf(plan, row.period_start) : std::nullopt;
    if (window) {
      const auto key = std::tuple(*window, domain::FloorDay(row.period_start).ns, edge.series);
      const auto it = summing.find(key);
      if (it != summing.end() && AddMeasuresInto(out.rollups[it->second], edge)) continue;
      summing.insert_or_assign(key, out.rollups.size());
    }
    out.rollups.push_back(edge);
  }
  out.series = series;
  out.owner = std::move(owner);
  return out;
}

}  // namespace costs::service
