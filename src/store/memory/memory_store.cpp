#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "domain/money.hpp"
#include "service/ingest_delta.hpp"
#include "store/common/ingest_contract.hpp"

namespace costs::store::memory {

using store::Classified;
using store::StoredId;

namespace {

using domain::Instant;
using domain::Nanos;
using domain::WideNanos;

}  // namespace

MemoryStore::RollupKey MemoryStore::KeyOf(const service::RollupCell& cell) {
  return RollupKey{cell.period_start_ns, std::string(cell.deployment_id), cell.dimension, std::string(cell.sku),
                   std::string(cell.kind)};
}

Status MemoryStore::CheckAvailable() const {
  if (unavailable_.load()) return MakeError(ErrorCode::kStoreFailed, "the cost store is unavailable");
  return {};
}

Status MemoryStore::Migrate() { return CheckAvailable(); }

Status MemoryStore::CreateOrganization(const service::Organization& org) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  if (orgs_.contains(org.id)) {
    return MakeError(ErrorCode::kAlreadyExists, "an organization with this id already exists", {"id"});
  }
  orgs_[org.id].org = org;
  return {};
}

Result<std::optional<service::Organization>> MemoryStore::FindOrganization(std::string_view id) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = orgs_.find(id);
  if (it == orgs_.end()) return std::optional<service::Organization>();
  return std::optional<service::Organization>(it->second.org);
}

Result<std::vector<service::Organization>> MemoryStore::ListOrganizations() {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  std::vector<service::Organization> out;
  out.reserve(orgs_.size());
  for (const auto& [id, data] : orgs_) out.push_back(data.org);
  return out;
}

Status MemoryStore::PutUser(const service::User& user) {
  if (auto s = CheckAvailable(); !s) return s;
  service::User stored = user;
  std::sort(stored.organizations.begin(), stored.organizations.end());
  stored.organizations.erase(std::unique(stored.organizations.begin(), stored.organizations.end()),
                             stored.organizations.end());
  std::unique_lock lock(mu_);
  for (const std::string& org : stored.organizations) {
    if (!orgs_.contains(org)) {
      return MakeError(ErrorCode::kOrganizationNotFound, "a listed organization does not exist", {"organizations"});
    }
  }
  if (auto old = users_.find(stored.name); old != users_.end() && old->second.password_hash != stored.password_hash) {
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user == stored.name; });
  }
  users_[stored.name] = std::move(stored);
  return {};
}

Result<std::optional<service::User>> MemoryStore::FindUser(std::string_view name) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = users_.find(name);
  if (it == users_.end()) return std::optional<service::User>();
  return std::optional<service::User>(it->second);
}

Result<service::IngestOutcome> MemoryStore::Ingest(std::span<const domain::UsageRecord> records) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::unique_lock lock(mu_);

  // 1. and 2. The ingest contract (store/common): every record's organization must exist; each
  // record is new, a duplicate or a conflict.
  if (Status s = CheckOrganizations(records, [&](const std::string& org) { return orgs_.contains(org); }); !s) {
    return std::move(s).error();
  }
  Result<Classified> classified = ClassifyBatch(records, FirstOccurrences(records), [&](std::size_t i, std::size_t) {
    auto it = usage_.find(records[i].id);
    if (it == usage_.end()) return StoredId::kAbsent;
    return it->second == records[i] ? StoredId::kEqual : StoredId::kDifferent;
  });
  if (!classified) return std::move(classified).error();
  service::IngestOutcome outcome;
  outcome.duplicates = classified->duplicates;
  const std::vector<std::size_t>& fresh = classified->fresh;

  // 3. Sum the rollup parts of the new records per cell, then check every cell still fits.
  const service::IngestDelta delta = service::ComputeIngestDelta(records, fresh);
  std::vector<std::pair<RollupSums*, RollupSums>> existing_updates;  // cells already present
  std::vector<std::pair<const service::RollupCell*, RollupSums>> new_cells;
  for (const auto& [cell, sums] : delta.rollups) {
    OrgData& data = orgs_.find(cell.org)->second;
    Rollups& rollups = cell.grain == domain::RollupGrain::kHour ? data.hourly : data.daily;
    auto it = rollups.find(KeyOf(cell));
    const RollupSums stored = it == rollups.end() ? RollupSums{} : it->second;
    Result<Nanos> cost = domain::NarrowNanos(sums.cost + stored.cost);
    Result<Nanos> trial_cost = domain::NarrowNanos(sums.trial_cost + stored.trial_cost);
    Result<Nanos> quantity_milli = domain::NarrowNanos(sums.quantity_milli + stored.quantity_milli);
    Result<Nanos> usage_ns = domain::NarrowNanos(sums.usage_ns + stored.usage_ns);
    if (!cost || !trial_cost || !quantity_milli || !usage_ns) {
      return RollupTooLarge();
    }
    const RollupSums updated{*cost,
                             *trial_cost,
                             *quantity_milli,
                             *usage_ns,
                             std::max(stored.max_instance_count, sums.max_instance_count),
                             std::min(stored.rate_fingerprint_min, sums.rate_fingerprint_min),
                             std::max(stored.rate_fingerprint_max, sums.rate_fingerprint_max)};
    if (it != rollups.end()) {
      existing_updates.emplace_back(&it->second, updated);
    } else {
      new_cells.emplace_back(&cell, updated);
    }
  }

  // 4. Apply; nothing below can fail.
  for (auto [sums, value] : existing_updates) *sums = value;
  for (auto [cell, value] : new_cells) {
    OrgData& data = orgs_.find(cell->org)->second;
    Rollups& rollups = cell->grain == domain::RollupGrain::kHour ? data.hourly : data.daily;
    rollups.emplace(KeyOf(*cell), value);
  }
  for (std::size_t i : fresh) {
    const domain::UsageRecord& r = records[i];
    auto [it, inserted] = usage_.emplace(r.id, r);
    OrgData& data = orgs_.find(r.organization_id)->second;
    data.usage_by_start.emplace(r.start.ns, &it->second);
    data.usage_in_order.push_back(&it->second);
  }
  for (const auto& [key, info] : delta.deployments) {
    orgs_.find(key.first)->second.deployments.insert_or_assign(
        std::string(key.second), service::Deployment{std::string(key.second), std::string(info.name), info.type});
  }
  for (const auto& [org, rates] : delta.rates) orgs_.find(org)->second.rates.insert(rates.begin(), rates.end());
  // Per item the new record with the latest end replaces the stored info unless that ends later.
  for (const auto& [item, record] : delta.latest_item) {
    auto& items = orgs_.find(item.org)->second.items;
    ItemKey key{std::string(item.deployment_id), item.dimension, std::string(item.sku), std::string(item.kind)};
    if (auto it = items.find(key); it != items.end() && record->end < it->second.last_end) continue;
    items.insert_or_assign(std::move(key), service::ItemInfo{std::string(item.deployment_id), item.dimension,
                                                             std::string(item.sku), std::string(item.kind),
                                                             record->name, record->unit, record->rate, record->end});
  }
  for (const auto& [org, longest] : delta.max_duration_ns) {
    OrgData& data = orgs_.find(org)->second;
    data.max_duration_ns = std::max(data.max_duration_ns, longest);
  }
  std::set<std::string_view> changed_orgs;
  for (std::size_t i : fresh) changed_orgs.insert(records[i].organization_id);
  for (std::string_view org : changed_orgs) ++orgs_.find(org)->second.data_version;
  outcome.stored = static_cast<std::int64_t>(fresh.size());
  return outcome;
}

void MemoryStore::AppendRollups(const OrgData& data, domain::RollupGrain grain, Instant from, Instant to,
                                std::vector<service::RollupRow>& out) {
  if (from >= to) return;
  const Rollups& rollups = grain == domain::RollupGrain::kHour ? data.hourly : data.daily;
  auto first = rollups.lower_bound(RollupKey{from.ns, {}, domain::Dimension{}, {}, {}});
  auto last = rollups.lower_bound(RollupKey{to.ns, {}, domain::Dimension{}, {}, {}});
  for (auto it = first; it != last; ++it) out.push_back(RowOf(it->first, it->second));
}

service::RollupRow MemoryStore::RowOf(const RollupKey& key, const RollupSums& sums) {
  const auto& [period, deployment, dimension, sku, kind] = key;
  return service::RollupRow{Instant{period},
                            deployment,
                            dimension,
                            sku,
                            kind,
                            sums.cost,
                            sums.trial_cost,
                            sums.quantity_milli,
                            sums.usage_ns,
                            sums.max_instance_count,
                            sums.rate_fingerprint_min,
                            sums.rate_fingerprint_max};
}

Result<std::vector<service::LatestCapacityRow>> MemoryStore::LatestCapacity(const OrgData& data,
                                                                            const domain::TimeRange& window) {
  std::vector<service::LatestCapacityRow> out;
  if (window.from >= window.to) return out;
  auto first = data.hourly.lower_bound(RollupKey{window.from.ns, {}, domain::Dimension{}, {}, {}});
  auto last = data.hourly.lower_bound(RollupKey{window.to.ns, {}, domain::Dimension{}, {}, {}});
  // Deployment -> (its latest hour, the sums of that hour's rows). Rows come by period start,
  // descending, so every row of a deployment's latest hour comes before any earlier row.
  struct Latest {
    std::int64_t period;
    WideNanos cost = 0, trial_cost = 0, quantity_milli = 0, usage_ns = 0, max_instance_count = 0;
    std::int64_t rate_fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t rate_fingerprint_max = std::numeric_limits<std::int64_t>::min();
  };
  std::map<std::string_view, Latest> found;
  std::int64_t last_found_period = 0;
  for (auto it = last; it != first;) {
    --it;
    const auto& [period, deployment, dimension, sku, kind] = it->first;
    if (found.size() == data.deployments.size() && period < last_found_period) break;
    const RollupSums& sums = it->second;
    if (dimension != domain::Dimension::kCapacity || sums.cost == 0) continue;
    auto [latest, inserted] = found.try_emplace(deployment, Latest{period});
    if (inserted) last_found_period = period;
    if (latest->second.period != period) continue;  // an earlier hour
    latest->second.cost += sums.cost;
    latest->second.trial_cost += sums.trial_cost;
    latest->second.quantity_milli += sums.quantity_milli;
    latest->second.usage_ns += sums.usage_ns;
    latest->second.max_instance_count += sums.max_instance_count;
    latest->second.rate_fingerprint_min = std::min(latest->second.rate_fingerprint_min, sums.rate_fingerprint_min);
    latest->second.rate_fingerprint_max = std::max(latest->second.rate_fingerprint_max, sums.rate_fingerprint_max);
  }
  for (const auto& [deployment, latest] : found) {
    out.push_back(service::LatestCapacityRow{Instant{latest.period}, std::string(deployment),
                                             domain::Dimension::kCapacity, "", "", latest.cost, latest.trial_cost,
                                             latest.quantity_milli, latest.usage_ns, latest.max_instance_count,
                                             latest.rate_fingerprint_min, latest.rate_fingerprint_max});
  }
  return out;
}

std::vector<service::Credit> MemoryStore::Credits(const OrgData& data) {
  std::vector<service::Credit> out;
  for (const auto& [id, credit] : data.credits) out.push_back(credit);
  std::sort(out.begin(), out.end(), [](const service::Credit& a, const service::Credit& b) {
    return std::tie(a.start, a.id) < std::tie(b.start, b.id);
  });
  return out;
}

std::vector<domain::UsageRecord> MemoryStore::UsageOverlapping(const OrgData& data, Instant from, Instant to) {
  std::vector<domain::UsageRecord> out;
  if (from >= to) return out;
  // A record starting before from - max_duration ends before from.
  const std::int64_t lowest_start =
      from.ns < INT64_MIN + data.max_duration_ns ? INT64_MIN : from.ns - data.max_duration_ns;
  auto first = data.usage_by_start.lower_bound(lowest_start);
  auto last = data.usage_by_start.lower_bound(to.ns);
  for (auto it = first; it != last; ++it) {
    if (it->second->end > from) out.push_back(*it->second);
  }
  return out;
}

std::vector<service::Deployment> MemoryStore::Deployments(const OrgData& data) {
  std::vector<service::Deployment> out;
  for (const auto& [id, deployment] : data.deployments) out.push_back(deployment);
  return out;
}

Result<std::vector<service::RollupRow>> MemoryStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                 Instant from, Instant to) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  std::vector<service::RollupRow> rows;
  if (auto it = orgs_.find(org); it != orgs_.end()) AppendRollups(it->second, grain, from, to, rows);
  return rows;
}

Result<std::vector<domain::UsageRecord>> MemoryStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                           Instant to) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = orgs_.find(org);
  if (it == orgs_.end()) return std::vector<domain::UsageRecord>();
  return UsageOverlapping(it->second, from, to);
}

Result<std::vector<service::Deployment>> MemoryStore::ListDeployments(std::string_view org) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = orgs_.find(org);
  if (it == orgs_.end()) return std::vector<service::Deployment>();
  return Deployments(it->second);
}

Result<service::RangeReadResult> MemoryStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  service::RangeReadResult result;
  auto it = orgs_.find(org);
  if (it == orgs_.end()) {
    result.raw.resize(plan.raw.size());
    return result;
  }
  const OrgData& data = it->second;
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) result.raw.push_back(UsageOverlapping(data, window.from, window.to));
  for (const domain::TimeRange& window : plan.hourly) {
    AppendRollups(data, domain::RollupGrain::kHour, window.from, window.to, result.rollups);
  }
  for (const domain::TimeRange& window : plan.daily) {
    AppendRollups(data, domain::RollupGrain::kDay, window.from, window.to, result.rollups);
  }
  result.deployments = Deployments(data);
  if (plan.latest_capacity) {
    Result<std::vector<service::LatestCapacityRow>> latest = LatestCapacity(data, *plan.latest_capacity);
    if (!latest) return std::move(latest).error();
    result.latest_capacity = std::move(*latest);
  }
  if (plan.items) {
    for (const auto& [key, item] : data.items) result.items.push_back(item);
  }
  if (plan.credits) result.credits = Credits(data);
  if (plan.usage) {
    result.usage.reserve(data.usage_in_order.size());
    for (const domain::UsageRecord* r : data.usage_in_order) result.usage.push_back(*r);
  }
  if (plan.rates) {
    result.rates.reserve(data.rates.size());
    for (const auto& [fingerprint, rate] : data.rates) result.rates.push_back(rate);
  }
  result.version = data.data_version;
  return result;
}

Result<std::vector<std::string>> MemoryStore::VerifyIdIndex() {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  return std::vector<std::string>();
}

Status MemoryStore::CreateApiKey(const service::ApiKey& key) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  if (api_keys_.contains(key.id)) {
    return MakeError(ErrorCode::kAlreadyExists, "an API key with this id already exists", {"id"});
  }
  if (!users_.contains(key.user)) return MakeError(ErrorCode::kNotFound, "the user does not exist", {"user"});
  api_keys_.emplace(key.id, key);
  return {};
}

Result<std::optional<service::ApiKey>> MemoryStore::FindApiKey(std::string_view id) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = api_keys_.find(id);
  if (it == api_keys_.end()) return std::optional<service::ApiKey>();
  return std::optional<service::ApiKey>(it->second);
}

Status MemoryStore::RevokeApiKey(std::string_view id) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  auto it = api_keys_.find(id);
  if (it == api_keys_.end()) return MakeError(ErrorCode::kNotFound, "there is no such API key");
  it->second.revoked = true;
  return {};
}

Status MemoryStore::CreateSession(const service::Session& session) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  if (!sessions_.emplace(session.id_digest, session).second) {
    return MakeError(ErrorCode::kAlreadyExists, "a session with this id already exists");
  }
  return {};
}

Result<std::optional<service::Session>> MemoryStore::FindSession(std::string_view id_digest) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id_digest);
  if (it == sessions_.end()) return std::optional<service::Session>();
  return std::optional<service::Session>(it->second);
}

Status MemoryStore::TouchSession(std::string_view id_digest, domain::Instant last_used) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  auto it = sessions_.find(id_digest);
  if (it != sessions_.end() && it->second.last_used < last_used) it->second.last_used = last_used;
  return {};
}

Status MemoryStore::DeleteSession(std::string_view id_digest) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  if (auto it = sessions_.find(id_digest); it != sessions_.end()) sessions_.erase(it);
  return {};
}

Result<std::int64_t> MemoryStore::DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::unique_lock lock(mu_);
  return static_cast<std::int64_t>(std::erase_if(sessions_, [&](const auto& kv) {
    return kv.second.last_used <= idle_cutoff || kv.second.created <= absolute_cutoff;
  }));
}

Status MemoryStore::AddCredit(const service::Credit& credit) {
  if (auto s = CheckAvailable(); !s) return s;
  std::unique_lock lock(mu_);
  auto org = orgs_.find(credit.organization_id);
  if (org == orgs_.end()) return MakeError(ErrorCode::kOrganizationNotFound, "the organization does not exist");
  auto [it, inserted] = org->second.credits.try_emplace(credit.id, credit);
  if (!inserted && it->second != credit) {
    return MakeError(ErrorCode::kAlreadyExists, "a different credit with this id already exists", {"id"});
  }
  if (inserted) ++org->second.data_version;
  return {};
}

Result<std::int64_t> MemoryStore::DataVersion(std::string_view org) {
  if (auto s = CheckAvailable(); !s) return std::move(s).error();
  std::shared_lock lock(mu_);
  auto it = orgs_.find(org);
  return it == orgs_.end() ? std::int64_t{0} : it->second.data_version;
}

std::optional<std::int64_t> MemoryStore::HeldDataVersion(std::string_view org) {
  Result<std::int64_t> version = DataVersion(org);
  return version ? std::optional<std::int64_t>(*version) : std::nullopt;
}

}  // namespace costs::store::memory
