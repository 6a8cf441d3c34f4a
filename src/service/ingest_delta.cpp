#include "service/ingest_delta.hpp"

#include <algorithm>

namespace costs::service {

IngestDelta ComputeIngestDelta(std::span<const domain::UsageRecord> records, std::span<const std::size_t> fresh) {
  IngestDelta delta;
  for (std::size_t i : fresh) {
    const domain::UsageRecord& r = records[i];
    const domain::Proration p{r.start, r.end, r.cost_nanos};
    for (domain::RollupGrain grain : {domain::RollupGrain::kHour, domain::RollupGrain::kDay}) {
      domain::ForEachRollupPart(p, grain, [&](domain::Instant period_start, domain::Nanos part) {
        if (part == 0) return;
        IngestDelta::Sums& sums = delta.rollups[RollupCell{r.organization_id, grain, period_start.ns, r.deployment_id, r.dimension}];
        sums.cost += part;
        if (r.trial) sums.trial_cost += part;
      });
    }
    delta.deployment_names.insert_or_assign(std::pair<std::string_view, std::string_view>(r.organization_id, r.deployment_id),
                                            std::string_view(r.deployment_name));
    std::int64_t& longest = delta.max_duration_ns[r.organization_id];
    longest = std::max(longest, r.end.ns - r.start.ns);
  }
  std::erase_if(delta.rollups, [](const auto& cell) { return cell.second.cost == 0 && cell.second.trial_cost == 0; });
  return delta;
}

}  // namespace costs::service
