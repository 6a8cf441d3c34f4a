#include "service/store_verify.hpp"

#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "domain/money.hpp"
#include "domain/time.hpp"
#include "service/ingest_delta.hpp"

namespace costs::service {
namespace {

using RowKey = std::tuple<std::int64_t, std::string, domain::Dimension, std::string, std::string>;
using ItemKeyOf = std::tuple<std::string, domain::Dimension, std::string, std::string>;

// Collects differences, keeping the first kMaxDifferences.
class Differences {
 public:
  explicit Differences(VerifyReport& report) : report_(report) {}
  void Add(std::string line) {
    if (report_.differences.size() < kMaxDifferences) {
      report_.differences.push_back(std::move(line));
    } else {
      ++report_.more_differences;
    }
  }

 private:
  VerifyReport& report_;
};

std::string Describe(std::string_view org, domain::RollupGrain grain, const RowKey& key) {
  const auto& [period, deployment, dimension, sku, kind] = key;
  std::string out(org);
  out += grain == domain::RollupGrain::kHour ? ": hourly rollup " : ": daily rollup ";
  out += domain::FormatRfc3339(domain::Instant{period});
  out += " deployment=" + deployment + " dimension=" + std::string(domain::DimensionId(dimension)) + " sku=" + sku +
         " kind=" + kind;
  return out;
}

std::string DescribeItem(std::string_view org, const ItemKeyOf& key) {
  const auto& [deployment, dimension, sku, kind] = key;
  return std::string(org) + ": item deployment=" + deployment +
         " dimension=" + std::string(domain::DimensionId(dimension)) + " sku=" + sku + " kind=" + kind;
}

// The measures of a row by name, for comparison field by field.
std::vector<std::pair<const char*, std::int64_t>> Measures(const RollupRow& r) {
  return {{"cost_nanos", r.cost},
          {"trial_cost_nanos", r.trial_cost},
          {"quantity_milli", r.quantity_milli},
          {"usage_ns", r.usage_ns},
          {"max_instance_count", r.max_instance_count},
          {"rate_fingerprint_min", r.rate_fingerprint_min},
          {"rate_fingerprint_max", r.rate_fingerprint_max}};
}

// The row the sums of a cell make, or nullopt when a sum does not fit int64.
std::optional<RollupRow> RowOf(const RowKey& key, const IngestDelta::Sums& sums) {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  for (domain::WideNanos v : {sums.cost, sums.trial_cost, sums.quantity_milli, sums.usage_ns}) {
    if (v < kMin || v > kMax) return std::nullopt;
  }
  const auto& [period, deployment, dimension, sku, kind] = key;
  return RollupRow{domain::Instant{period},
                   deployment,
                   dimension,
                   sku,
                   kind,
                   static_cast<std::int64_t>(sums.cost),
                   static_cast<std::int64_t>(sums.trial_cost),
                   static_cast<std::int64_t>(sums.quantity_milli),
                   static_cast<std::int64_t>(sums.usage_ns),
                   sums.max_instance_count,
                   sums.rate_fingerprint_min,
                   sums.rate_fingerprint_max};
}

// Compares the stored rows of one grain with those the delta expects.
void CompareRollups(std::string_view org, domain::RollupGrain grain, const IngestDelta& delta,
                    const std::vector<RollupRow>& stored, Differences& out) {
  std::map<RowKey, RollupRow> expected;
  for (const auto& [cell, sums] : delta.rollups) {
    if (cell.grain != grain) continue;
    RowKey key{cell.period_start_ns, std::string(cell.deployment_id), cell.dimension, std::string(cell.sku),
               std::string(cell.kind)};
    std::optional<RollupRow> row = RowOf(key, sums);
    if (!row) {
      out.Add(Describe(org, grain, key) + ": its usage sums beyond int64");
      continue;
    }
    expected.emplace(std::move(key), std::move(*row));
  }
  std::map<RowKey, const RollupRow*> seen;
  for (const RollupRow& row : stored) {
    RowKey key{row.period_start.ns, row.deployment_id, row.dimension, row.sku, row.kind};
    if (!seen.emplace(key, &row).second) out.Add(Describe(org, grain, key) + ": stored twice");
  }
  for (const auto& [key, row] : seen) {
    auto it = expected.find(key);
    if (it == expected.end()) {
      out.Add(Describe(org, grain, key) + ": stored, but no usage record covers it");
      continue;
    }
    const auto want = Measures(it->second);
    const auto have = Measures(*row);
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (want[i].second != have[i].second) {
        out.Add(Describe(org, grain, key) + ": " + want[i].first + " stored " + std::to_string(have[i].second) +
                ", expected " + std::to_string(want[i].second));
      }
    }
  }
  for (const auto& [key, row] : expected) {
    if (!seen.contains(key)) out.Add(Describe(org, grain, key) + ": missing (its usage records are stored)");
  }
}

void CompareItems(std::string_view org, const IngestDelta& delta, const std::vector<ItemInfo>& stored,
                  Differences& out) {
  std::map<ItemKeyOf, const domain::UsageRecord*> expected;
  for (const auto& [key, record] : delta.latest_item) {
    expected.emplace(
        ItemKeyOf{std::string(key.deployment_id), key.dimension, std::string(key.sku), std::string(key.kind)}, record);
  }
  std::map<ItemKeyOf, const ItemInfo*> seen;
  for (const ItemInfo& item : stored) {
    ItemKeyOf key{item.deployment_id, item.dimension, item.sku, item.kind};
    if (!seen.emplace(key, &item).second) out.Add(DescribeItem(org, key) + ": stored twice");
  }
  for (const auto& [key, item] : seen) {
    auto it = expected.find(key);
    if (it == expected.end()) {
      out.Add(DescribeItem(org, key) + ": stored, but no usage record has it");
      continue;
    }
    const domain::UsageRecord& r = *it->second;
    if (item->last_end != r.end) {
      out.Add(DescribeItem(org, key) + ": series end stored " + domain::FormatRfc3339(item->last_end) + ", expected " +
              domain::FormatRfc3339(r.end));
    }
    if (item->name != r.name || item->unit != r.unit || !(item->rate == r.rate)) {
      out.Add(DescribeItem(org, key) + ": name, unit, rate stored '" + item->name + "', '" + item->unit + "', " +
              domain::FormatDecimal(item->rate) + ", expected those of record " + r.id + ": '" + r.name + "', '" +
              r.unit + "', " + domain::FormatDecimal(r.rate));
    }
  }
  for (const auto& [key, record] : expected) {
    if (!seen.contains(key)) out.Add(DescribeItem(org, key) + ": missing (record " + record->id + " has it)");
  }
}

void CompareDeployments(std::string_view org, const IngestDelta& delta, const std::vector<Deployment>& stored,
                        Differences& out) {
  std::map<std::string, IngestDelta::DeploymentInfo> expected;
  for (const auto& [key, info] : delta.deployments) expected.emplace(std::string(key.second), info);
  std::map<std::string, const Deployment*> seen;
  for (const Deployment& d : stored) {
    if (!seen.emplace(d.id, &d).second) out.Add(std::string(org) + ": deployment " + d.id + ": stored twice");
  }
  for (const auto& [id, d] : seen) {
    const std::string what = std::string(org) + ": deployment " + id;
    auto it = expected.find(id);
    if (it == expected.end()) {
      out.Add(what + ": stored, but no usage record has it");
      continue;
    }
    if (it->second.name != d->name) {
      out.Add(what + ": name stored '" + d->name + "', expected '" + std::string(it->second.name) +
              "' (its last record's)");
    }
    if (it->second.type != d->type) {
      out.Add(what + ": type stored " + std::string(domain::InstanceTypeId(d->type)) + ", expected " +
              std::string(domain::InstanceTypeId(it->second.type)) + " (its last record's)");
    }
  }
  for (const auto& [id, info] : expected) {
    if (!seen.contains(id)) out.Add(std::string(org) + ": deployment " + id + ": missing");
  }
}

// The rate catalog against the records' rates: every rate of a record is in it once, it holds
// no other, and it is sorted by fingerprint.
void CompareRates(std::string_view org, const IngestDelta& delta, const std::vector<domain::Decimal>& stored,
                  Differences& out) {
  const auto org_rates = delta.rates.find(org);
  const std::map<std::int64_t, domain::Decimal> none;
  const std::map<std::int64_t, domain::Decimal>& expected = org_rates == delta.rates.end() ? none : org_rates->second;
  std::map<std::int64_t, domain::Decimal> seen;
  std::optional<std::int64_t> previous;
  for (const domain::Decimal& rate : stored) {
    const std::int64_t fingerprint = domain::DecimalFingerprint(rate);
    const std::string what = std::string(org) + ": rate catalog: " + domain::FormatDecimal(rate);
    if (!seen.emplace(fingerprint, rate).second) out.Add(what + ": stored twice");
    if (previous && *previous > fingerprint) out.Add(what + ": out of fingerprint order");
    previous = fingerprint;
    if (!expected.contains(fingerprint)) out.Add(what + ": stored, but no usage record has it");
  }
  for (const auto& [fingerprint, rate] : expected) {
    if (!seen.contains(fingerprint)) {
      out.Add(std::string(org) + ": rate catalog: " + domain::FormatDecimal(rate) +
              ": missing (a stored record has it)");
    }
  }
}

// The indices of the records the rollups can be recomputed from; the others are differences.
std::vector<std::size_t> CheckRecords(std::string_view org, const std::vector<domain::UsageRecord>& usage,
                                      std::unordered_set<std::string>& ids, Differences& out) {
  std::vector<std::size_t> usable;
  usable.reserve(usage.size());
  for (std::size_t i = 0; i < usage.size(); ++i) {
    const domain::UsageRecord& r = usage[i];
    const std::string what = std::string(org) + ": usage record " + r.id;
    if (!ids.insert(r.id).second) out.Add(what + ": its id is stored more than once");
    if (r.organization_id != org) out.Add(what + ": read as of organization " + r.organization_id);
    if (!(r.start < r.end)) {
      out.Add(what + ": does not end after its start");
      continue;
    }
    if (!domain::ToScaled(r.quantity, 3)) {
      out.Add(what + ": its quantity does not fit int64 thousandths");
      continue;
    }
    Result<domain::Nanos> cost = domain::MultiplyToNanos(r.quantity, r.rate);
    if (!cost || *cost != r.cost_nanos) {
      out.Add(what + ": cost_nanos " + std::to_string(r.cost_nanos) + " is not quantity x rate");
    }
    usable.push_back(i);
  }
  return usable;
}

// Reads one organization: hourly rollups, items and usage, then its daily rollups, at one data
// version. nullopt (a difference added) when that cannot be had.
std::optional<std::pair<RangeReadResult, std::vector<RollupRow>>> ReadOrganization(Store& store, std::string_view org,
                                                                                   Differences& out) {
  const domain::TimeRange all{domain::kMinInstant, domain::Instant{std::numeric_limits<std::int64_t>::max()}};
  RangeReadPlan first;
  first.hourly = {all};
  first.items = true;
  first.usage = true;
  first.rates = true;
  RangeReadPlan second;
  second.daily = {all};
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<RangeReadResult> a = store.ReadRange(org, first);
    Result<RangeReadResult> b = a ? store.ReadRange(org, second) : Result<RangeReadResult>(a.error());
    if (!b) {
      out.Add(std::string(org) + ": cannot be read: " + b.error().message);
      return std::nullopt;
    }
    if (a->version == b->version) return std::pair(std::move(*a), std::move(b->rollups));
  }
  out.Add(std::string(org) + ": its data changed under every read (ingests running?)");
  return std::nullopt;
}

}  // namespace

Result<VerifyReport> VerifyStore(Store& store) {
  Result<std::vector<Organization>> orgs = store.ListOrganizations();
  if (!orgs) return std::move(orgs).error();
  VerifyReport report;
  Differences out(report);
  std::unordered_set<std::string> ids;
  for (const Organization& org : *orgs) {
    ++report.organizations;
    auto read = ReadOrganization(store, org.id, out);
    if (!read) continue;
    const RangeReadResult& data = read->first;
    const std::vector<RollupRow>& daily = read->second;
    report.records += static_cast<std::int64_t>(data.usage.size());
    report.rollup_rows += static_cast<std::int64_t>(data.rollups.size() + daily.size());
    report.items += static_cast<std::int64_t>(data.items.size());
    const std::vector<std::size_t> usable = CheckRecords(org.id, data.usage, ids, out);
    const IngestDelta delta = ComputeIngestDelta(data.usage, usable);
    CompareRollups(org.id, domain::RollupGrain::kHour, delta, data.rollups, out);
    CompareRollups(org.id, domain::RollupGrain::kDay, delta, daily, out);
    CompareItems(org.id, delta, data.items, out);
    CompareDeployments(org.id, delta, data.deployments, out);
    CompareRates(org.id, delta, data.rates, out);
  }
  Result<std::vector<std::string>> id_index = store.VerifyIdIndex();
  if (!id_index) {
    out.Add("the id index cannot be checked: " + id_index.error().message);
  } else {
    for (std::string& line : *id_index) out.Add("id index: " + std::move(line));
  }
  return report;
}

}  // namespace costs::service
