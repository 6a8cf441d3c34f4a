#pragma once

// Tests only: writes usage batches into a schema 1, 2 or 3 database with SQL, the way those
// versions' ingest stored them (their code is gone since schema 4), so that upgrade tests start
// from honest rows: one `usage` row per record (text decimals, seq in write order, span class)
// and its `usage_ids` row; the batch's rollups (service::ComputeIngestDelta, as that ingest
// summed them) added to rollup_hour and rollup_day; the item catalog (latest end wins, a tie to
// the later batch), deployments (the batch's last name, and type from schema 2), the rate
// catalog (from schema 2), span classes and data versions. A record whose id this writer wrote
// before is skipped (a duplicate); no conflicts (REQUIRES: such records are equal).

#include <libpq-fe.h>

#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/money.hpp"
#include "domain/usage.hpp"
#include "service/ingest_delta.hpp"
#include "store/common/keys.hpp"

namespace costs::store::postgres::testing {

class Schema3Writer {
 public:
  // `schema`: the version the database is at (1, 2 or 3). Adds a default usage partition (the
  // old builds created monthly ones ahead; any partition holds the rows the same way).
  Schema3Writer(const std::string& url, int schema) : conn_(PQconnectdb(url.c_str())), schema_(schema) {
    error_ = Exec("CREATE TABLE IF NOT EXISTS usage_p_test PARTITION OF usage DEFAULT", {});
  }
  ~Schema3Writer() { PQfinish(conn_); }
  Schema3Writer(const Schema3Writer&) = delete;
  Schema3Writer& operator=(const Schema3Writer&) = delete;

  // "" on success, else the first error.
  std::string Ingest(const std::vector<domain::UsageRecord>& records) {
    if (!error_.empty()) return error_;
    std::vector<domain::UsageRecord> batch;
    for (const domain::UsageRecord& r : records) {
      if (written_.insert(r.id).second) batch.push_back(r);
    }
    std::string error = Exec("BEGIN", {});
    for (const domain::UsageRecord& r : batch) {
      if (error.empty()) error = InsertRecord(r);
    }
    std::vector<std::size_t> all(batch.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    const service::IngestDelta delta = service::ComputeIngestDelta(batch, all);
    if (error.empty()) error = WriteDelta(delta);
    if (error.empty()) error = WriteSpanClassesAndVersions(batch);
    if (!error.empty()) {
      (void)Exec("ROLLBACK", {});
      return error;
    }
    return Exec("COMMIT", {});
  }

 private:
  std::string InsertRecord(const domain::UsageRecord& r) {
    std::string error = Exec("INSERT INTO usage_ids (id, organization_id, start_ns) VALUES ($1, $2, $3)",
                             {r.id, r.organization_id, std::to_string(r.start.ns)});
    if (!error.empty()) return error;
    std::vector<std::optional<std::string>> values = {
        r.id,
        r.organization_id,
        r.deployment_id,
        r.deployment_name,
        std::string(domain::DimensionId(r.dimension)),
        r.kind ? std::optional<std::string>(std::string(domain::ResourceKindId(*r.kind))) : std::nullopt,
        std::to_string(r.instance_count),
        r.sku,
        r.name,
        std::to_string(r.start.ns),
        std::to_string(r.end.ns),
        domain::FormatDecimal(r.quantity),
        r.unit,
        domain::FormatDecimal(r.rate),
        std::to_string(r.cost_nanos),
        std::string(r.trial ? "t" : "f"),
        std::to_string(SpanClass(r.start, r.end))};
    if (schema_ >= 2) values.emplace_back(std::string(domain::InstanceTypeId(r.instance_type)));
    const std::string sql =
        "INSERT INTO usage (id, organization_id, deployment_id, deployment_name, dimension, kind, instance_count, "
        "sku, name, start_ns, end_ns, quantity, unit, rate, cost_nanos, trial, span_class" +
        std::string(schema_ >= 2 ? ", instance_type) " : ") ") + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " +
        "$11, $12, $13, $14, $15, $16, $17" + (schema_ >= 2 ? ", $18)" : ")");
    return Run(sql, values);
  }

  std::string WriteDelta(const service::IngestDelta& delta) {
    for (const auto& [cell, sums] : delta.rollups) {
      const char* table = cell.grain == domain::RollupGrain::kHour ? "rollup_hour" : "rollup_day";
      const std::string error = Exec(
          std::string("INSERT INTO ") + table +
              " AS r (org_id, period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "
              "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max) VALUES "
              "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (org_id, period_start_ns, "
              "deployment_id, dimension, sku, kind) DO UPDATE SET cost_nanos = r.cost_nanos + excluded.cost_nanos, "
              "trial_cost_nanos = r.trial_cost_nanos + excluded.trial_cost_nanos, quantity_milli = r.quantity_milli "
              "+ excluded.quantity_milli, usage_ns = r.usage_ns + excluded.usage_ns, max_instance_count = "
              "greatest(r.max_instance_count, excluded.max_instance_count), rate_fingerprint_min = "
              "least(r.rate_fingerprint_min, excluded.rate_fingerprint_min), rate_fingerprint_max = "
              "greatest(r.rate_fingerprint_max, excluded.rate_fingerprint_max)",
          {std::string(cell.org), std::to_string(cell.period_start_ns), std::string(cell.deployment_id),
           std::string(domain::DimensionId(cell.dimension)), std::string(cell.sku), std::string(cell.kind),
           Wide(sums.cost), Wide(sums.trial_cost), Wide(sums.quantity_milli), Wide(sums.usage_ns),
           std::to_string(sums.max_instance_count), std::to_string(sums.rate_fingerprint_min),
           std::to_string(sums.rate_fingerprint_max)});
      if (!error.empty()) return error;
    }
    for (const auto& [item, r] : delta.latest_item) {
      const std::string error = Exec(
          "INSERT INTO items AS i (org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, deployment_id, dimension, sku, kind) "
          "DO UPDATE SET name = excluded.name, unit = excluded.unit, rate = excluded.rate, "
          "last_end_ns = excluded.last_end_ns WHERE excluded.last_end_ns >= i.last_end_ns",
          {std::string(item.org), std::string(item.deployment_id), std::string(domain::DimensionId(item.dimension)),
           std::string(item.sku), std::string(item.kind), r->name, r->unit, domain::FormatDecimal(r->rate),
           std::to_string(r->end.ns)});
      if (!error.empty()) return error;
    }
    for (const auto& [key, info] : delta.deployments) {
      const std::string error =
          schema_ >= 2 ? Exec(
                             "INSERT INTO deployments (org_id, id, name, type) VALUES ($1, $2, $3, $4) ON CONFLICT "
                             "(org_id, id) DO UPDATE SET name = excluded.name, type = excluded.type",
                             {std::string(key.first), std::string(key.second), std::string(info.name),
                              std::string(domain::InstanceTypeId(info.type))})
                       : Exec(
                             "INSERT INTO deployments (org_id, id, name) VALUES ($1, $2, $3) ON CONFLICT "
                             "(org_id, id) DO UPDATE SET name = excluded.name",
                             {std::string(key.first), std::string(key.second), std::string(info.name)});
      if (!error.empty()) return error;
    }
    if (schema_ < 2) return "";
    for (const auto& [org, rates] : delta.rates) {
      for (const auto& [fingerprint, rate] : rates) {
        const std::string error =
            Exec("INSERT INTO rates (org_id, fingerprint, rate) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                 {std::string(org), std::to_string(fingerprint), domain::FormatDecimal(rate)});
        if (!error.empty()) return error;
      }
    }
    return "";
  }

  std::string WriteSpanClassesAndVersions(const std::vector<domain::UsageRecord>& batch) {
    std::set<std::pair<std::string, int>> classes;
    std::set<std::string> orgs;
    for (const domain::UsageRecord& r : batch) {
      classes.emplace(r.organization_id, SpanClass(r.start, r.end));
      orgs.insert(r.organization_id);
    }
    for (const auto& [org, k] : classes) {
      const std::string error = Exec(
          "INSERT INTO usage_span_classes (org_id, span_class) VALUES ($1, $2) "
          "ON CONFLICT DO NOTHING",
          {org, std::to_string(k)});
      if (!error.empty()) return error;
    }
    for (const std::string& org : orgs) {
      const std::string error = Exec(
          "INSERT INTO org_versions AS v (org_id, version) VALUES ($1, 1) "
          "ON CONFLICT (org_id) DO UPDATE SET version = v.version + 1",
          {org});
      if (!error.empty()) return error;
    }
    return "";
  }

  static std::string Wide(domain::WideNanos v) { return std::to_string(static_cast<std::int64_t>(v)); }

  std::string Exec(const std::string& sql, const std::vector<std::string>& params) {
    return Run(sql, std::vector<std::optional<std::string>>(params.begin(), params.end()));
  }

  std::string Run(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    if (PQstatus(conn_) != CONNECTION_OK) return std::string("connect: ") + PQerrorMessage(conn_);
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* r =
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    std::string error;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      error = sql.substr(0, 40) + ": " + PQresultErrorMessage(r);
    }
    PQclear(r);
    return error;
  }

  PGconn* conn_;
  int schema_;
  std::string error_;
  std::set<std::string> written_;  // ids
};

}  // namespace costs::store::postgres::testing
