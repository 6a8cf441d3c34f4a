// Ingest step 6: the item texts and series ends, the deployments, the rate catalog, the span
// classes and the data versions (ingest.hpp), each in one statement.

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "domain/money.hpp"
#include "store/common/keys.hpp"
#include "store/postgres/ingest.hpp"
#include "store/postgres/series.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

// Runs `statement` with one parameter per column.
Status ExecColumns(Connection& c, const Statement& statement, std::span<BinaryArray> columns) {
  Params params;
  for (BinaryArray& column : columns) params.Array(std::move(column));
  if (Result<Rows> r = c.Exec(statement, params); !r) return std::move(r).error();
  return {};
}

// Per organization, per series: the new record with the latest end (the later in batch order
// on a tie).
using LatestItems = std::map<std::string_view, std::map<std::int64_t, const domain::UsageRecord*>>;
LatestItems Latest(const IngestBatch& batch) {
  LatestItems out;
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord& r = batch.records[i];
    const domain::UsageRecord*& latest = out[r.organization_id][batch.series_of[i]];
    if (latest == nullptr || latest->end <= r.end) latest = &r;
  }
  return out;
}

// The item catalog: per series the latest new record replaces the stored texts and end unless
// the stored one ends later. Series ends are merged into each organization's one row; texts
// are written only where they changed (a new series was inserted with its latest texts).
Status UpdateItems(Connection& c, const IngestBatch& batch) {
  const LatestItems latest = Latest(batch);
  std::vector<std::string_view> orgs;
  for (const auto& [org, items] : latest) orgs.push_back(org);
  Result<SeriesEndsByOrg> stored = SelectSeriesEnds(c, orgs);
  if (!stored) return std::move(stored).error();
  BinaryArray end_orgs, end_rows(BinaryArray::kBytea);
  BinaryArray texts[5] = {BinaryArray(), BinaryArray(BinaryArray::kInt8), BinaryArray(), BinaryArray(), BinaryArray()};
  for (const auto& [org, items] : latest) {
    auto found = stored->find(org);
    const std::vector<SeriesEnd> none;
    const std::vector<SeriesEnd>& before = found != stored->end() ? found->second : none;
    std::vector<SeriesEnd> ends;
    auto kept = before.begin();
    for (const auto& [series_id, record] : items) {
      for (; kept != before.end() && kept->series_id < series_id; ++kept) ends.push_back(*kept);
      if (kept != before.end() && kept->series_id == series_id && (kept++)->end_ns > record->end.ns) {
        ends.push_back(*std::prev(kept));  // the stored item ends later
        continue;
      }
      ends.push_back(SeriesEnd{series_id, record->end.ns});
      auto was = batch.stored_texts.find(series_id);
      const std::string rate = domain::FormatDecimal(record->rate);
      if (was == batch.stored_texts.end() ||
          (was->second.name == record->name && was->second.unit == record->unit && was->second.rate == rate)) {
        continue;
      }
      texts[0].Bytes(org);
      texts[1].Int(series_id);
      texts[2].Bytes(record->name);
      texts[3].Bytes(record->unit);
      texts[4].Bytes(rate);
    }
    ends.insert(ends.end(), kept, before.end());
    if (ends == before) continue;
    end_orgs.Bytes(org);
    end_rows.Bytes(PackSeriesEnds(ends));
  }
  if (texts[0].size() > 0) {
    if (Status s = ExecColumns(c, kUpdateSeriesTexts, std::span(texts)); !s) return s;
  }
  if (end_orgs.size() == 0) return {};
  BinaryArray ends[2] = {std::move(end_orgs), std::move(end_rows)};
  return ExecColumns(c, kUpsertSeriesEnds, std::span(ends));
}

// Deployments: the name and type of each one's last new record in batch order.
Status UpdateDeployments(Connection& c, const IngestBatch& batch) {
  std::map<std::pair<std::string_view, std::string_view>, const domain::UsageRecord*> last;
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord& r = batch.records[i];
    last[{r.organization_id, r.deployment_id}] = &r;
  }
  BinaryArray columns[4];
  for (const auto& [key, r] : last) {
    columns[0].Bytes(key.first);
    columns[1].Bytes(key.second);
    columns[2].Bytes(r->deployment_name);
    columns[3].Bytes(domain::InstanceTypeId(r->instance_type));
  }
  return ExecColumns(c, kUpsertDeployments, std::span(columns));
}

// The rate catalog: the batch's distinct rates per organization.
Status UpdateRates(Connection& c, const IngestBatch& batch) {
  BinaryArray columns[3] = {BinaryArray(), BinaryArray(BinaryArray::kInt8), BinaryArray()};
  for (const auto& [org, rates] : service::DistinctRates(batch.records, batch.fresh)) {
    for (const auto& [fingerprint, rate] : rates) {
      columns[0].Bytes(org);
      columns[1].Int(fingerprint);
      columns[2].Bytes(domain::FormatDecimal(rate));
    }
  }
  return ExecColumns(c, kInsertRates, std::span(columns));
}

// The span classes of the new records; bumps the data version of every organization with one.
Result<std::vector<std::string>> UpdateSpanClassesAndVersions(Connection& c, const IngestBatch& batch) {
  std::set<std::pair<std::string_view, int>> span_classes;
  for (std::size_t i : batch.fresh) {
    const domain::UsageRecord& r = batch.records[i];
    span_classes.emplace(r.organization_id, SpanClass(r.start, r.end));
  }
  std::vector<std::string> changed;
  BinaryArray classes[2] = {BinaryArray(), BinaryArray(BinaryArray::kInt8)};
  BinaryArray orgs;
  for (const auto& [org, k] : span_classes) {
    classes[0].Bytes(org);
    classes[1].Int(k);
    if (changed.empty() || changed.back() != org) {
      changed.emplace_back(org);
      orgs.Bytes(org);
    }
  }
  if (Status s = ExecColumns(c, kInsertSpanClasses, std::span(classes)); !s) return std::move(s).error();
  if (Result<Rows> r = c.Exec(kBumpOrgVersions, Params().Array(std::move(orgs))); !r) return std::move(r).error();
  return changed;
}

}  // namespace

Result<std::vector<std::string>> UpdateCatalog(Connection& c, const IngestBatch& batch) {
  if (batch.fresh.empty()) return std::vector<std::string>();
  if (Status s = UpdateItems(c, batch); !s) return std::move(s).error();
  if (Status s = UpdateDeployments(c, batch); !s) return std::move(s).error();
  if (Status s = UpdateRates(c, batch); !s) return std::move(s).error();
  return UpdateSpanClassesAndVersions(c, batch);
}

}  // namespace costs::store::postgres::detail
