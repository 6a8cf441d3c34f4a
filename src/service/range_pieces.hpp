#pragma once

// The pieces of usage a range read holds (CostsService's reads): raw records' parts of the
// edge windows and rollup rows, one shape for every consumer. Internal to service/.
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/proration.hpp"
#include "service/ingest_delta.hpp"
#include "service/store.hpp"

namespace costs::service {

// One exact piece of usage: a raw record's part of an edge window, or a rollup row over its
// hour or day. Views point into the read.
struct Piece {
  domain::TimeRange window;
  std::string_view deployment_id;
  domain::Dimension dimension;
  std::string_view sku;
  std::string_view kind;
  domain::Nanos cost;
  domain::Nanos trial_cost;
  std::int64_t quantity_milli;
  std::int64_t usage_ns;
  std::int64_t max_instance_count;
  std::int64_t rate_fingerprint_min;
  std::int64_t rate_fingerprint_max;
};

// The name and unit an item shows: those of its catalog entry (its latest record), the name
// falling back to the dimension's display name.
inline void ItemLabels(const ItemInfo* info, domain::Dimension dimension, std::string& name, std::string& unit) {
  if (info != nullptr) {
    name = info->name;
    unit = info->unit;
  }
  if (name.empty()) name = domain::DimensionDisplayName(dimension);
}

// Calls each(const Piece&) for every piece the read holds.
template <class Each>
void ForEachPiece(const RangeReadPlan& plan, const RangeReadResult& read, Each&& each) {
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& w = plan.raw[i];
    for (const domain::UsageRecord& r : read.raw[i]) {
      const domain::Nanos part = domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(w.from, w.to);
      const domain::Proration quantity{r.start, r.end, domain::ToScaled(r.quantity, 3).value()};
      const std::int64_t rate_fingerprint = domain::DecimalFingerprint(r.rate);
      each(Piece{w, r.deployment_id, r.dimension, r.sku, r.kind ? domain::ResourceKindId(*r.kind) : std::string_view(),
                 part, r.trial ? part : 0, quantity.PartIn(w.from, w.to), UsageOverlap(r, w.from, w.to),
                 r.instance_count, rate_fingerprint, rate_fingerprint});
    }
  }
  // Rows come from hourly windows and daily windows; which grain a row has follows from
  // the window holding its period_start.
  auto grain_of = [&](domain::Instant t) {
    for (const domain::TimeRange& w : plan.daily) {
      if (w.from <= t && t < w.to) return domain::kNsPerDay;
    }
    return domain::kNsPerHour;
  };
  for (const RollupRow& row : read.rollups) {
    const domain::TimeRange w{row.period_start, domain::Instant{row.period_start.ns + grain_of(row.period_start)}};
    each(Piece{w, row.deployment_id, row.dimension, row.sku, row.kind, row.cost, row.trial_cost, row.quantity_milli,
               row.usage_ns, row.max_instance_count, row.rate_fingerprint_min, row.rate_fingerprint_max});
  }
}

}  // namespace costs::service
