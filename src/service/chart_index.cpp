#include "service/chart_index.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace costs::service {

std::size_t ChartIndex::OrgDays::Bytes() const {
  std::size_t bytes = sizeof(OrgDays) + cells.capacity() * sizeof(Cell) + day_starts.capacity() * sizeof(std::int64_t) +
                      offsets.capacity() * sizeof(std::uint32_t);
  for (const Deployment& d : deployments) bytes += sizeof(Deployment) + d.id.capacity() + d.name.capacity();
  return bytes;
}

ChartIndex::ChartIndex(Store& store, std::size_t max_bytes) : store_(store), max_bytes_(max_bytes) {}

std::size_t ChartIndex::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

Result<std::shared_ptr<const ChartIndex::OrgDays>> ChartIndex::Get(std::string_view org, std::int64_t version) {
  {
    std::lock_guard lock(mu_);
    auto it = orgs_.find(org);
    if (it != orgs_.end() && it->second.days->version == version) {
      it->second.last_use = ++tick_;
      return it->second.days->indexed ? it->second.days : std::shared_ptr<const OrgDays>();
    }
  }
  // Loaded outside the lock: other organizations are served meanwhile. Two threads may load
  // the same organization at once; the newer snapshot is kept.
  auto loaded = Load(org);
  if (!loaded) return std::move(loaded).error();
  std::shared_ptr<const OrgDays> days = std::move(*loaded);
  {
    std::lock_guard lock(mu_);
    auto it = orgs_.find(org);
    if (it == orgs_.end() || it->second.days->version < days->version) Keep(org, days);
  }
  if (days->version != version || !days->indexed) return std::shared_ptr<const OrgDays>();
  return days;
}

void ChartIndex::Keep(std::string_view org, std::shared_ptr<const OrgDays> days) {
  auto it = orgs_.find(org);
  if (it == orgs_.end()) {
    it = orgs_.emplace(std::string(org), Slot{}).first;
  } else {
    bytes_ -= it->second.days->Bytes();
  }
  bytes_ += days->Bytes();
  it->second = Slot{std::move(days), ++tick_};
  while (bytes_ > max_bytes_ && orgs_.size() > 1) {
    auto oldest = orgs_.end();
    for (auto o = orgs_.begin(); o != orgs_.end(); ++o) {
      if (o != it && (oldest == orgs_.end() || o->second.last_use < oldest->second.last_use)) oldest = o;
    }
    bytes_ -= oldest->second.days->Bytes();
    orgs_.erase(oldest);
  }
}

Result<std::shared_ptr<const ChartIndex::OrgDays>> ChartIndex::Load(std::string_view org) {
  RangeReadPlan plan;
  plan.daily.push_back({domain::kMinInstant, domain::FloorDay(domain::MaxInstant())});
  auto read = store_.ReadRange(org, plan);
  if (!read) return std::move(read).error();

  auto days = std::make_shared<OrgDays>();
  days->version = read->version;
  days->deployments = std::move(read->deployments);
  auto deployment_index = [&](std::string_view id) -> std::optional<std::uint32_t> {
    auto it = std::lower_bound(days->deployments.begin(), days->deployments.end(), id,
                               [](const Deployment& d, std::string_view x) { return d.id < x; });
    if (it == days->deployments.end() || it->id != id) return std::nullopt;
    return static_cast<std::uint32_t>(it - days->deployments.begin());
  };

  // Item rows → (day, deployment, dimension) sums.
  struct Part {
    std::int64_t day;
    std::uint32_t deployment;
    domain::Dimension dimension;
    domain::Nanos cost;
  };
  std::vector<Part> parts;
  parts.reserve(read->rollups.size());
  for (const RollupRow& row : read->rollups) {
    if (row.cost == 0) continue;
    const auto deployment = deployment_index(row.deployment_id);
    if (!deployment) {
      // Rollups and deployments come from one snapshot and every rollup's deployment is
      // registered with it; anything else is a store bug. Do not index what cannot be shown.
      days->indexed = false;
      return std::shared_ptr<const OrgDays>(std::move(days));
    }
    parts.push_back(Part{row.period_start.ns, *deployment, row.dimension, row.cost});
  }
  std::sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) {
    return std::tie(a.day, a.deployment, a.dimension) < std::tie(b.day, b.deployment, b.dimension);
  });
  for (std::size_t i = 0; i < parts.size();) {
    const Part& first = parts[i];
    domain::WideNanos sum = 0;
    for (; i < parts.size() && parts[i].day == first.day && parts[i].deployment == first.deployment &&
           parts[i].dimension == first.dimension;
         ++i) {
      sum += parts[i].cost;
    }
    if (sum == 0) continue;
    const auto cost = domain::NarrowNanos(sum);
    if (!cost) {
      days->indexed = false;
      return std::shared_ptr<const OrgDays>(std::move(days));
    }
    if (days->day_starts.empty() || days->day_starts.back() != first.day) {
      days->day_starts.push_back(first.day);
      days->offsets.push_back(static_cast<std::uint32_t>(days->cells.size()));
    }
    days->cells.push_back(Cell{first.deployment, first.dimension, *cost});
  }
  days->offsets.push_back(static_cast<std::uint32_t>(days->cells.size()));
  days->cells.shrink_to_fit();
  days->day_starts.shrink_to_fit();
  days->offsets.shrink_to_fit();
  return std::shared_ptr<const OrgDays>(std::move(days));
}

}  // namespace costs::service
