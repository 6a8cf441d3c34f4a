#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "service/store.hpp"

namespace costs::service {

EdgeRead EdgeReadOf(RangeReadResult read) {
  auto owned = std::make_shared<const RangeReadResult>(std::move(read));
  EdgeRead out;
  out.version = owned->version;
  // Series by key, numbered in order of first use: views into *owned, which `out` keeps.
  using Key = std::tuple<std::string_view, domain::Dimension, std::string_view, std::string_view>;
  std::map<Key, std::uint32_t> index;
  auto series_of = [&](std::string_view deployment_id, domain::Dimension dimension, std::string_view sku,
                       std::string_view kind) {
    const auto [it, added] =
        index.emplace(Key{deployment_id, dimension, sku, kind}, static_cast<std::uint32_t>(out.series.size()));
    if (added) out.series.push_back(EdgeSeries{deployment_id, dimension, sku, kind});
    return it->second;
  };
  out.raw.reserve(owned->raw.size());
  for (const std::vector<domain::UsageRecord>& window : owned->raw) {
    std::vector<EdgeRecord>& records = out.raw.emplace_back();
    records.reserve(window.size());
    for (const domain::UsageRecord& r : window) {
      const std::uint32_t s =
          series_of(r.deployment_id, r.dimension, r.sku, r.kind ? domain::ResourceKindId(*r.kind) : std::string_view());
      records.push_back(EdgeRecord{s, r.trial, r.start, r.end, r.quantity, r.rate, r.cost_nanos, r.instance_count});
    }
  }
  out.rollups.reserve(owned->rollups.size());
  for (const RollupRow& row : owned->rollups) {
    out.rollups.push_back(EdgeRow{series_of(row.deployment_id, row.dimension, row.sku, row.kind), row.period_start,
                                  row.cost, row.trial_cost, row.quantity_milli, row.usage_ns, row.max_instance_count,
                                  row.rate_fingerprint_min, row.rate_fingerprint_max});
  }
  out.owner = std::move(owned);
  return out;
}

}  // namespace costs::service
