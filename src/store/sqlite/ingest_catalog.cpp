// Ingest step 5: the item catalog, the deployments, the rate catalog, the span classes and the
// data versions (ingest.hpp).

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "domain/money.hpp"
#include "store/common/keys.hpp"
#include "store/sqlite/ingest.hpp"
#include "store/sqlite/read_path.hpp"
#include "store/sqlite/series.hpp"

namespace costs::store::sqlite::detail {

namespace {

// Writes the row only when a text changed.
constexpr const char* kUpdateItem =
    "UPDATE series SET name = ?2, unit = ?3, rate = ?4 WHERE id = ?1 AND (name != ?2 OR unit != ?3 OR rate != ?4)";
constexpr const char* kUpsertSeriesEnds =
    "INSERT INTO series_ends (org_id, ends) VALUES (?1, ?2) ON CONFLICT (org_id) DO UPDATE SET ends = excluded.ends";
constexpr const char* kUpsertDeployment =
    "INSERT INTO deployments (org_id, id, name, type) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, type = excluded.type "
    "WHERE name != excluded.name OR type != excluded.type";
constexpr const char* kInsertRate =
    "INSERT INTO rates (org_id, fingerprint, rate) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
constexpr const char* kInsertSpanClass =
    "INSERT INTO usage_span_classes (org_id, span_class) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr const char* kBumpOrgVersion =
    "INSERT INTO org_versions (org_id, version) VALUES (?1, 1) "
    "ON CONFLICT (org_id) DO UPDATE SET version = version + 1";

// An organization with many deployments in the batch has their stored names read at once,
// and only new deployments and new names are written.
constexpr std::size_t kDeploymentsReadWhole = 8;

using LatestItem = std::pair<std::int64_t, const domain::UsageRecord*>;  // (series id, its latest new record)

// Per series the new record with the latest end (the later in batch order on a tie), sorted by
// (organization, series id).
std::vector<LatestItem> LatestItems(const IngestBatch& batch) {
  std::unordered_map<std::int64_t, const domain::UsageRecord*> latest_item;
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord*& latest = latest_item[*batch.series_of[i]];
    if (latest == nullptr || latest->end <= batch.records[i].end) latest = &batch.records[i];
  }
  std::vector<LatestItem> items(latest_item.begin(), latest_item.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->organization_id, a.first) < std::tie(b.second->organization_id, b.first);
  });
  return items;
}

// Writes the texts of `record` to series `series_id` unless they are stored already.
Status UpdateItemTexts(Connection& c, const IngestBatch& batch, std::int64_t series_id,
                       const domain::UsageRecord& record) {
  const std::string rate = domain::FormatDecimal(record.rate);
  if (batch.texts.Same(series_id, record.name, record.unit, rate)) return {};
  return c.Run(kUpdateItem, "update items", series_id, record.name, record.unit, rate);
}

// One organization's items `items`: the record with the latest end replaces the stored info
// unless that ends later; the org's series ends are merged into its one row.
Status UpdateOrgItems(Connection& c, const IngestBatch& batch, std::string_view org,
                      std::span<const LatestItem> items) {
  Result<std::vector<SeriesEnd>> stored = SelectSeriesEnds(c, org);
  if (!stored) return std::move(stored).error();
  std::vector<SeriesEnd> ends;
  auto kept = stored->begin();
  for (const auto& [series_id, record] : items) {
    for (; kept != stored->end() && kept->series_id < series_id; ++kept) ends.push_back(*kept);
    if (kept != stored->end() && kept->series_id == series_id) {
      const SeriesEnd before = *kept++;
      if (before.end_ns > record->end.ns) {  // the stored item ends later
        ends.push_back(before);
        continue;
      }
    }
    ends.push_back(SeriesEnd{series_id, record->end.ns});
    if (Status s = UpdateItemTexts(c, batch, series_id, *record); !s) return s;
  }
  ends.insert(ends.end(), kept, stored->end());
  if (ends == *stored) return {};
  const std::string packed = PackSeriesEnds(ends);
  return c.Run(kUpsertSeriesEnds, "update items", org, AsBlob{packed});
}

Status UpdateItems(Connection& c, const IngestBatch& batch) {
  const std::vector<LatestItem> items = LatestItems(batch);
  for (auto first = items.begin(), last = first; first != items.end(); first = last) {
    const std::string_view org = first->second->organization_id;
    for (last = first; last != items.end() && last->second->organization_id == org;) ++last;
    if (Status s = UpdateOrgItems(c, batch, org, std::span(first, last)); !s) return s;
  }
  return {};
}

using DeploymentKey = std::pair<std::string_view, std::string_view>;  // (org, deployment)

// Per deployment the index of the record whose name and type it takes: its last new record in
// batch order (the last new record of each series, the last of those per deployment).
std::map<DeploymentKey, std::size_t> DeploymentNames(const IngestBatch& batch) {
  std::unordered_map<std::int64_t, std::size_t> last_of_series;  // -> index of its last new record
  for (std::size_t i : batch.fresh) last_of_series[*batch.series_of[i]] = i;
  std::map<DeploymentKey, std::size_t> out;
  for (const auto& [series_id, i] : last_of_series) {
    std::size_t& last = out[{batch.records[i].organization_id, batch.records[i].deployment_id}];
    last = std::max(last, i);
  }
  return out;
}

Status UpdateDeployments(Connection& c, const IngestBatch& batch) {
  const std::map<DeploymentKey, std::size_t> names = DeploymentNames(batch);
  std::vector<service::Deployment> known;                                   // of the organization at hand
  std::unordered_map<std::string_view, const service::Deployment*> stored;  // into `known`
  for (auto first = names.begin(), last = first; first != names.end(); first = last) {
    std::size_t count = 0;
    for (last = first; last != names.end() && last->first.first == first->first.first; ++last) ++count;
    stored.clear();
    if (count >= kDeploymentsReadWhole) {
      Result<std::vector<service::Deployment>> read = SelectDeployments(c, first->first.first);
      if (!read) return std::move(read).error();
      known = std::move(*read);
      for (const service::Deployment& d : known) stored.emplace(d.id, &d);
    }
    for (auto it = first; it != last; ++it) {
      const auto& [org, deployment] = it->first;
      const domain::UsageRecord& r = batch.records[it->second];
      if (auto was = stored.find(deployment);
          was != stored.end() && was->second->name == r.deployment_name && was->second->type == r.instance_type) {
        continue;
      }
      if (Status s = c.Run(kUpsertDeployment, "update deployments", org, deployment, r.deployment_name,
                           domain::InstanceTypeId(r.instance_type));
          !s) {
        return s;
      }
    }
  }
  return {};
}

// The rate catalog: each distinct (organization, rate) of the new records inserted unless there.
Status UpdateRates(Connection& c, const IngestBatch& batch) {
  for (const auto& [org, rates] : service::DistinctRates(batch.records, batch.fresh)) {
    for (const auto& [fingerprint, rate] : rates) {
      if (Status s = c.Run(kInsertRate, "update the rate catalog", org, fingerprint, domain::FormatDecimal(rate)); !s) {
        return s;
      }
    }
  }
  return {};
}

// The span classes of the new records, and the data version of every organization with one.
Status UpdateSpanClassesAndVersions(Connection& c, const IngestBatch& batch) {
  std::set<std::pair<std::string_view, int>> span_classes;
  std::set<std::string_view> changed_orgs;
  std::optional<std::pair<std::string_view, int>> previous;  // of the new record before
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord& r = batch.records[i];
    const std::pair<std::string_view, int> span_class(r.organization_id, SpanClass(r.start, r.end));
    if (span_class != previous) {
      span_classes.insert(span_class);
      changed_orgs.insert(r.organization_id);
      previous = span_class;
    }
  }
  for (const auto& [org, span_class] : span_classes) {
    if (Status s = c.Run(kInsertSpanClass, "update usage span classes", org, std::int64_t{span_class}); !s) return s;
  }
  for (std::string_view org : changed_orgs) {
    if (Status s = BumpOrgVersion(c, org); !s) return s;
  }
  return {};
}

}  // namespace

Status BumpOrgVersion(Connection& c, std::string_view org) {
  return c.Run(kBumpOrgVersion, "bump the data version", org);
}

Status UpdateCatalog(Connection& c, const IngestBatch& batch) {
  if (Status s = UpdateItems(c, batch); !s) return s;
  if (Status s = UpdateDeployments(c, batch); !s) return s;
  if (Status s = UpdateRates(c, batch); !s) return s;
  return UpdateSpanClassesAndVersions(c, batch);
}

}  // namespace costs::store::sqlite::detail
