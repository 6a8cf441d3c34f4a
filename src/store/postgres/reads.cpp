#include "store/postgres/reads.hpp"

#include <algorithm>
#include <limits>

#include "store/postgres/connection.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres {

using domain::Instant;
using domain::WideNanos;

namespace detail {

Error Corrupt(const Connection& c, const char* what) { return c.Fail(std::string("a stored ") + what + " is invalid"); }

// Reads row `i` of rows selecting the usage columns in COSTS_USAGE_COLUMNS order.
Result<domain::UsageRecord> ReadUsageRow(const Connection& c, const Rows& rows, int i) {
  domain::UsageRecord r;
  r.id = rows.Text(i, 0);
  r.organization_id = rows.Text(i, 1);
  r.deployment_id = rows.Text(i, 2);
  r.deployment_name = rows.Text(i, 3);
  std::optional<domain::Dimension> dimension = domain::ParseDimension(rows.Text(i, 4));
  if (!dimension) return Corrupt(c, "usage dimension");
  r.dimension = *dimension;
  if (!rows.IsNull(i, 5)) {
    r.kind = domain::ParseResourceKind(rows.Text(i, 5));
    if (!r.kind) return Corrupt(c, "usage kind");
  }
  r.instance_count = rows.Int(i, 6);
  r.sku = rows.Text(i, 7);
  r.name = rows.Text(i, 8);
  r.start = Instant{rows.Int(i, 9)};
  r.end = Instant{rows.Int(i, 10)};
  Result<domain::Decimal> quantity = domain::ParseDecimal(rows.Text(i, 11));
  if (!quantity) return Corrupt(c, "usage quantity");
  r.quantity = *quantity;
  r.unit = rows.Text(i, 12);
  Result<domain::Decimal> rate = domain::ParseDecimal(rows.Text(i, 13));
  if (!rate) return Corrupt(c, "usage rate");
  r.rate = *rate;
  r.cost_nanos = rows.Int(i, 14);
  r.trial = rows.Bool(i, 15);
  std::optional<domain::InstanceType> type = domain::ParseInstanceType(rows.Text(i, 16));
  if (!type) return Corrupt(c, "usage instance type");
  r.instance_type = *type;
  return r;
}

Result<std::int64_t> SelectOrgVersion(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectOrgVersion, Params().Text(org));
  if (!rows) return std::move(rows).error();
  return rows->size() > 0 ? rows->Int(0, 0) : std::int64_t{0};
}

namespace {

// The records of a query of the usage columns (kSelectUsageOverlapping's), in its order.
Result<std::vector<domain::UsageRecord>> ReadUsageRows(const Connection& c, Result<Rows> rows) {
  if (!rows) return std::move(rows).error();
  std::vector<domain::UsageRecord> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::UsageRecord> record = ReadUsageRow(c, *rows, i);
    if (!record) return std::move(record).error();
    out.push_back(std::move(*record));
  }
  return out;
}

Result<std::vector<domain::UsageRecord>> SelectUsageOverlapping(Connection& c, std::string_view org, Instant from,
                                                                Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  return ReadUsageRows(c, c.Exec(kSelectUsageOverlapping, Params().Text(org).Int(from.ns).Int(to.ns)));
}

Result<std::vector<domain::UsageRecord>> SelectAllUsage(Connection& c, std::string_view org) {
  return ReadUsageRows(c, c.Exec(kSelectAllUsage, Params().Text(org)));
}

Status SelectRollups(Connection& c, std::string_view org, domain::RollupGrain grain, Instant from, Instant to,
                     std::vector<service::RollupRow>& out) {
  Result<Rows> rows = c.Exec(grain == domain::RollupGrain::kHour ? kSelectRollupHour : kSelectRollupDay,
                             Params().Text(org).Int(from.ns).Int(to.ns));
  if (!rows) return std::move(rows).error();
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::Dimension> dimension = domain::ParseDimension(rows->Text(i, 2));
    if (!dimension) return Corrupt(c, "rollup dimension");
    out.push_back(service::RollupRow{Instant{rows->Int(i, 0)}, std::string(rows->Text(i, 1)), *dimension,
                                     std::string(rows->Text(i, 3)), std::string(rows->Text(i, 4)), rows->Int(i, 5),
                                     rows->Int(i, 6), rows->Int(i, 7), rows->Int(i, 8), rows->Int(i, 9),
                                     rows->Int(i, 10), rows->Int(i, 11)});
  }
  return {};
}

// Per deployment (sorted by id): its latest hour in `window` with non-zero capacity cost, the
// rows of that hour summed into one (sku and kind empty; the smallest minimum and largest
// maximum rate fingerprint), summed in 128 bits.
Result<std::vector<service::LatestCapacityRow>> SelectLatestCapacity(Connection& c, std::string_view org,
                                                                     const domain::TimeRange& window) {
  std::vector<service::LatestCapacityRow> out;
  if (window.from >= window.to) return out;
  Result<Rows> rows = c.Exec(kSelectLatestCapacity, Params().Text(org).Int(window.from.ns).Int(window.to.ns));
  if (!rows) return std::move(rows).error();
  int i = 0;
  while (i < rows->size()) {
    const std::string_view deployment = rows->Text(i, 0);
    const std::int64_t period = rows->Int(i, 1);
    WideNanos sums[5] = {};  // cost, trial cost, quantity_milli, usage_ns, max_instance_count
    std::int64_t fingerprint_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t fingerprint_max = std::numeric_limits<std::int64_t>::min();
    for (; i < rows->size() && rows->Text(i, 0) == deployment; ++i) {
      for (int k = 0; k < 5; ++k) sums[k] += rows->Int(i, 2 + k);
      fingerprint_min = std::min(fingerprint_min, rows->Int(i, 7));
      fingerprint_max = std::max(fingerprint_max, rows->Int(i, 8));
    }
    out.push_back(service::LatestCapacityRow{Instant{period}, std::string(deployment), domain::Dimension::kCapacity, "",
                                             "", sums[0], sums[1], sums[2], sums[3], sums[4], fingerprint_min,
                                             fingerprint_max});
  }
  return out;
}

Result<std::vector<service::ItemInfo>> SelectItems(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectItems, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::ItemInfo> out;
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::Dimension> dimension = domain::ParseDimension(rows->Text(i, 1));
    Result<domain::Decimal> rate = domain::ParseDecimal(rows->Text(i, 6));
    if (!dimension || !rate) return Corrupt(c, "item");
    out.push_back(service::ItemInfo{std::string(rows->Text(i, 0)), *dimension, std::string(rows->Text(i, 2)),
                                    std::string(rows->Text(i, 3)), std::string(rows->Text(i, 4)),
                                    std::string(rows->Text(i, 5)), *rate, Instant{rows->Int(i, 7)}});
  }
  return out;
}

Result<std::vector<service::Credit>> SelectCredits(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectCredits, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Credit> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(service::Credit{std::string(rows->Text(i, 0)), std::string(org), rows->Int(i, 1),
                                  Instant{rows->Int(i, 2)}, Instant{rows->Int(i, 3)}});
  }
  return out;
}

Result<std::vector<service::Deployment>> SelectDeployments(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectDeployments, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<service::Deployment> out;
  for (int i = 0; i < rows->size(); ++i) {
    std::optional<domain::InstanceType> type = domain::ParseInstanceType(rows->Text(i, 2));
    if (!type) return Corrupt(c, "deployment type");
    out.push_back(service::Deployment{std::string(rows->Text(i, 0)), std::string(rows->Text(i, 1)), *type});
  }
  return out;
}

// The organization's rate catalog, sorted by fingerprint.
Result<std::vector<domain::Decimal>> SelectRates(Connection& c, std::string_view org) {
  Result<Rows> rows = c.Exec(kSelectRates, Params().Text(org));
  if (!rows) return std::move(rows).error();
  std::vector<domain::Decimal> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    Result<domain::Decimal> rate = domain::ParseDecimal(rows->Text(i, 0));
    if (!rate) return Corrupt(c, "rate of the rate catalog");
    out.push_back(*rate);
  }
  return out;
}

}  // namespace

}  // namespace detail

using namespace detail;

Result<std::vector<service::RollupRow>> PostgresStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                   Instant from, Instant to) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  std::vector<service::RollupRow> rows;
  if (Status s = SelectRollups(**lease, org, grain, from, to, rows); !s) return std::move(s).error();
  return rows;
}

Result<std::vector<domain::UsageRecord>> PostgresStore::ReadUsageOverlapping(std::string_view org, Instant from,
                                                                             Instant to) {
  if (from >= to) return std::vector<domain::UsageRecord>();
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectUsageOverlapping(**lease, org, from, to);  // one statement: one snapshot
}

Result<std::vector<service::Deployment>> PostgresStore::ListDeployments(std::string_view org) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  return SelectDeployments(**lease, org);
}

Result<service::RangeReadResult> PostgresStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<Transaction> txn = Transaction::Begin(c, Transaction::kSnapshot);
  if (!txn) return std::move(txn).error();

  service::RangeReadResult result;
  result.raw.reserve(plan.raw.size());
  for (const domain::TimeRange& window : plan.raw) {
    Result<std::vector<domain::UsageRecord>> records = SelectUsageOverlapping(c, org, window.from, window.to);
    if (!records) return std::move(records).error();
    result.raw.push_back(std::move(*records));
  }
  for (const domain::TimeRange& window : plan.hourly) {
    if (Status s = SelectRollups(c, org, domain::RollupGrain::kHour, window.from, window.to, result.rollups); !s) {
      return std::move(s).error();
    }
  }
  for (const domain::TimeRange& window : plan.daily) {
    if (Status s = SelectRollups(c, org, domain::RollupGrain::kDay, window.from, window.to, result.rollups); !s) {
      return std::move(s).error();
    }
  }
  Result<std::vector<service::Deployment>> deployments = SelectDeployments(c, org);
  if (!deployments) return std::move(deployments).error();
  result.deployments = std::move(*deployments);
  if (plan.latest_capacity) {
    Result<std::vector<service::LatestCapacityRow>> latest = SelectLatestCapacity(c, org, *plan.latest_capacity);
    if (!latest) return std::move(latest).error();
    result.latest_capacity = std::move(*latest);
  }
  if (plan.items) {
    Result<std::vector<service::ItemInfo>> items = SelectItems(c, org);
    if (!items) return std::move(items).error();
    result.items = std::move(*items);
  }
  if (plan.credits) {
    Result<std::vector<service::Credit>> credits = SelectCredits(c, org);
    if (!credits) return std::move(credits).error();
    result.credits = std::move(*credits);
  }
  if (plan.usage) {
    Result<std::vector<domain::UsageRecord>> usage = SelectAllUsage(c, org);
    if (!usage) return std::move(usage).error();
    result.usage = std::move(*usage);
  }
  if (plan.rates) {
    Result<std::vector<domain::Decimal>> rates = SelectRates(c, org);
    if (!rates) return std::move(rates).error();
    result.rates = std::move(*rates);
  }
  Result<std::int64_t> version = SelectOrgVersion(c, org);
  if (!version) return std::move(version).error();
  result.version = *version;
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return result;
}

}  // namespace costs::store::postgres
