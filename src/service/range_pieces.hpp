#pragma once

// The pieces of usage a range read holds (CostsService's reads): raw records' parts of the
// edge windows and rollup rows, one shape for every consumer. Internal to service/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
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

// The grain of a rollup row read for `plan`: a day when its period_start lies in one of the
// plan's daily windows, else an hour.
inline std::int64_t GrainOf(const RangeReadPlan& plan, domain::Instant period_start) {
  for (const domain::TimeRange& w : plan.daily) {
    if (w.from <= period_start && period_start < w.to) return domain::kNsPerDay;
  }
  return domain::kNsPerHour;
}

// The index of the plan's hourly window that holds `period_start`, or nullopt.
inline std::optional<std::size_t> HourlyWindowOf(const RangeReadPlan& plan, domain::Instant period_start) {
  for (std::size_t i = 0; i < plan.hourly.size(); ++i) {
    if (plan.hourly[i].from <= period_start && period_start < plan.hourly[i].to) return i;
  }
  return std::nullopt;
}

// The window of an EdgeRead's rollup row: a daily window's day, or an hourly window's hours of
// one day summed (EdgeRead::rollups): from its first hour to the end of that day in the window.
inline domain::TimeRange EdgeRowWindow(const RangeReadPlan& plan, domain::Instant period_start) {
  const std::int64_t grain = GrainOf(plan, period_start);
  const std::optional<std::size_t> hourly =
      grain == domain::kNsPerHour ? HourlyWindowOf(plan, period_start) : std::nullopt;
  if (!hourly) return {period_start, domain::Instant{period_start.ns + grain}};
  const domain::Instant day = domain::FloorDay(period_start);
  const domain::Instant end = plan.hourly[*hourly].to;  // after period_start: no overflow below
  return {period_start, end.ns - day.ns <= domain::kNsPerDay ? end : domain::Instant{day.ns + domain::kNsPerDay}};
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
  for (const RollupRow& row : read.rollups) {
    const domain::TimeRange w{row.period_start, domain::Instant{row.period_start.ns + GrainOf(plan, row.period_start)}};
    each(Piece{w, row.deployment_id, row.dimension, row.sku, row.kind, row.cost, row.trial_cost, row.quantity_milli,
               row.usage_ns, row.max_instance_count, row.rate_fingerprint_min, row.rate_fingerprint_max});
  }
}

// The cost of each piece ForEachEdgePiece gives, in the same order, and nothing else (what a
// chart adds up): each(domain::Instant window_from, domain::Nanos cost, std::uint32_t series).
template <class Each>
void ForEachEdgeCost(const RangeReadPlan& plan, const EdgeRead& read, Each&& each) {
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& w = plan.raw[i];
    for (const EdgeRecord& r : read.raw[i]) {
      each(w.from, domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(w.from, w.to), r.series);
    }
  }
  for (const EdgeRow& row : read.rollups) each(row.period_start, row.cost, row.series);
}

// The pieces of the compact read of the same plan (Store::ReadEdges): the same raw pieces (in
// the order the read holds its records), then the rollups' (a partial day's hours summed per series: EdgeRowWindow).
// each(const Piece&, std::uint32_t series): `series` indexes read.series.
template <class Each>
void ForEachEdgePiece(const RangeReadPlan& plan, const EdgeRead& read, Each&& each) {
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    const domain::TimeRange& w = plan.raw[i];
    for (const EdgeRecord& r : read.raw[i]) {
      const EdgeSeries& s = read.series[r.series];
      const domain::Nanos part = domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(w.from, w.to);
      const domain::Proration quantity{r.start, r.end, r.quantity_milli};
      const std::int64_t overlap = std::max<std::int64_t>(0, std::min(w.to, r.end).ns - std::max(w.from, r.start).ns);
      each(
          Piece{w, s.deployment_id, s.dimension, s.sku, s.kind, part, r.trial ? part : 0, quantity.PartIn(w.from, w.to),
                r.positive_quantity ? overlap : 0, r.instance_count, r.rate_fingerprint, r.rate_fingerprint},
          r.series);
    }
  }
  for (const EdgeRow& row : read.rollups) {
    const EdgeSeries& s = read.series[row.series];
    const domain::TimeRange w = EdgeRowWindow(plan, row.period_start);
    each(Piece{w, s.deployment_id, s.dimension, s.sku, s.kind, row.cost, row.trial_cost, row.quantity_milli,
               row.usage_ns, row.max_instance_count, row.rate_fingerprint_min, row.rate_fingerprint_max},
         row.series);
  }
}

}  // namespace costs::service
