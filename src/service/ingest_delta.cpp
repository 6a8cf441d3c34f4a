#include "service/ingest_delta.hpp"

#include <algorithm>
#include <functional>
#include <unordered_set>

namespace costs::service {

std::int64_t UsageOverlap(const domain::UsageRecord& r, domain::Instant from, domain::Instant to) {
  const std::int64_t overlap = std::max<std::int64_t>(0, std::min(to, r.end).ns - std::max(from, r.start).ns);
  return r.quantity.mantissa > 0 ? overlap : 0;
}

void IngestDelta::Sums::Add(const Sums& part) {
  cost += part.cost;
  trial_cost += part.trial_cost;
  quantity_milli += part.quantity_milli;
  usage_ns += part.usage_ns;
  max_instance_count = std::max(max_instance_count, part.max_instance_count);
  rate_fingerprint_min = std::min(rate_fingerprint_min, part.rate_fingerprint_min);
  rate_fingerprint_max = std::max(rate_fingerprint_max, part.rate_fingerprint_max);
  if (records == Records::kNone) {
    records = part.records;
  } else if (part.records != Records::kNone) {
    records = Records::kOther;
  }
}

namespace {

// What `r` makes of the cell of `grain` over [period_start, period_end) it is part of (alone).
IngestDelta::Sums::Records RecordsOf(const domain::UsageRecord& r, domain::RollupGrain grain,
                                     domain::Instant period_start, domain::Instant period_end) {
  using Records = IngestDelta::Sums::Records;
  if (grain != domain::RollupGrain::kHour) return Records::kOther;
  if (r.start == period_start && r.end == period_end) return Records::kOneWholeHour;
  const domain::Instant day = domain::FloorDay(period_start);
  if (r.start == day && r.end.ns - day.ns == domain::kNsPerDay) return Records::kOneWholeDay;
  return Records::kOther;
}

}  // namespace

void ForEachRollupContribution(const domain::UsageRecord& r,
                               const std::function<void(domain::RollupGrain grain, domain::Instant period_start,
                                                        const IngestDelta::Sums& part)>& emit) {
  // ValidateUsage guarantees the quantity fits in int64 thousandths.
  const domain::Proration cost{r.start, r.end, r.cost_nanos};
  const domain::Proration quantity{r.start, r.end, domain::ToScaled(r.quantity, 3).value()};
  const std::int64_t rate_fingerprint = domain::DecimalFingerprint(r.rate);
  IngestDelta::Sums part;
  part.max_instance_count = r.instance_count;
  part.rate_fingerprint_min = rate_fingerprint;
  part.rate_fingerprint_max = rate_fingerprint;
  for (domain::RollupGrain grain : {domain::RollupGrain::kHour, domain::RollupGrain::kDay}) {
    const std::int64_t step = grain == domain::RollupGrain::kHour ? domain::kNsPerHour : domain::kNsPerDay;
    domain::ForEachRollupPart(cost, grain, [&](domain::Instant period_start, domain::Nanos cost_part) {
      const domain::Instant period_end{period_start.ns + step};
      part.cost = cost_part;
      part.trial_cost = r.trial ? cost_part : 0;
      part.quantity_milli = quantity.PartIn(period_start, period_end);
      part.usage_ns = UsageOverlap(r, period_start, period_end);
      part.records = RecordsOf(r, grain, period_start, period_end);
      emit(grain, period_start, part);
    });
  }
}

IngestDelta::RatesByOrg DistinctRates(std::span<const domain::UsageRecord> records,
                                      std::span<const std::size_t> indices) {
  // (organization, rate) pairs seen, by value (a Decimal is normalized): a fingerprint (which
  // formats the rate) is computed once per distinct pair, not once per record.
  struct Seen {
    std::string_view org;
    domain::Decimal rate;
    bool operator==(const Seen&) const = default;
  };
  struct SeenHash {
    std::size_t operator()(const Seen& s) const {
      return std::hash<std::string_view>()(s.org) ^
             (std::hash<std::int64_t>()(s.rate.mantissa) * 31 + static_cast<std::size_t>(s.rate.scale));
    }
  };
  std::unordered_set<Seen, SeenHash> seen;
  IngestDelta::RatesByOrg rates;
  for (std::size_t i : indices) {
    const domain::UsageRecord& r = records[i];
    if (!seen.insert(Seen{r.organization_id, r.rate}).second) continue;
    rates[r.organization_id].try_emplace(domain::DecimalFingerprint(r.rate), r.rate);
  }
  return rates;
}

IngestDelta ComputeIngestDelta(std::span<const domain::UsageRecord> records, std::span<const std::size_t> fresh) {
  IngestDelta delta;
  for (std::size_t i : fresh) {
    const domain::UsageRecord& r = records[i];
    const std::string_view kind = r.kind ? domain::ResourceKindId(*r.kind) : std::string_view();
    ForEachRollupContribution(r, [&](domain::RollupGrain grain, domain::Instant period_start,
                                     const IngestDelta::Sums& part) {
      delta.rollups[RollupCell{r.organization_id, grain, period_start.ns, r.deployment_id, r.dimension, r.sku, kind}]
          .Add(part);
    });
    delta.deployments.insert_or_assign(
        std::pair<std::string_view, std::string_view>(r.organization_id, r.deployment_id),
        IngestDelta::DeploymentInfo{r.deployment_name, r.instance_type});
    const domain::UsageRecord*& latest =
        delta.latest_item[ItemKey{r.organization_id, r.deployment_id, r.dimension, r.sku, kind}];
    if (latest == nullptr || latest->end <= r.end) latest = &r;
    std::int64_t& longest = delta.max_duration_ns[r.organization_id];
    longest = std::max(longest, r.end.ns - r.start.ns);
  }
  delta.rates = DistinctRates(records, fresh);
  return delta;
}

}  // namespace costs::service
