// bench/gen: the deterministic data generator of the benchmark suite (bench/README.md).
//
// A data set is `orgs` organizations × 10 deployments × `days` UTC days from `start`, each
// deployment with one `capacity` record per hour and one `data_in`, `data_out`,
// `data_internode` and `storage_bytes` record per day: 280 records per deployment-day.
// Records are in the order a metering pipeline emits them: day by day, within a day the 24
// hours of capacity (hour, then organization, then deployment) and then the day's daily
// records. Record i's content depends only on (i, orgs, days, start), so any batch can be
// written alone, and every run writes byte-identical files.
//
//   gen [OPTIONS] records --format ndjson|csv --out DIR [--first-batch K] [--batches N]
//       writes batch files DIR/usage-KKKKKK.{ndjson,csv} of --batch records each (the last
//       one may be shorter). NDJSON is the usage record format of README.md; CSV has the
//       columns of bench/pg_schema.sql (cost included) for PostgreSQL's COPY.
//   gen [OPTIONS] setup FILE
//       writes a bash script that creates every organization and the bench users with
//       costsctl ($COSTSCTL, database $COSTS_DB).
//   gen [OPTIONS] manifest
//       prints the data set's shape as JSON (records, batches, period, the organization and
//       deployment the charts read, the users and their passwords).
// OPTIONS: --orgs N (default 200) --days N (default 90) --start YYYY-MM-DD (default
// 2026-01-01) --batch N (default 50000).

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.hpp"

namespace {

using costs::domain::CivilDate;
using costs::domain::Instant;

constexpr int kDeploymentsPerOrg = 10;
constexpr int kDailyDimensions = 4;
constexpr int kRecordsPerDeploymentDay = 24 + kDailyDimensions;

struct DeploymentShape {
  const char* name;
  const char* kind;
  const char* sku;
  const char* resource;
  std::int64_t rate_e4;  // ECU per instance-hour, in 1e-4
};

constexpr DeploymentShape kShapes[kDeploymentsPerOrg] = {
    {"search-prod", "elasticsearch", "gcp.es.datahot.n2.68x10x45", "Elasticsearch hot 8 GB", 913},
    {"logs-staging", "elasticsearch", "gcp.es.datahot.n2.68x10x45", "Elasticsearch hot 4 GB", 457},
    {"kibana-prod", "kibana", "gcp.kibana.n2.68x32x45", "Kibana 2 GB", 242},
    {"apm-prod", "apm", "gcp.apm.n2.68x32x45", "APM 1 GB", 121},
    {"observability", "elasticsearch", "aws.es.datahot.c6gd", "Elasticsearch hot 16 GB", 1826},
    {"site-search", "enterprise_search", "aws.enterprisesearch.c5d", "Enterprise Search 4 GB", 688},
    {"security-analytics", "elasticsearch", "aws.es.datawarm.d3", "Elasticsearch warm 32 GB", 1187},
    {"app-search", "appsearch", "azure.appsearch.fsv2", "App Search 2 GB", 229},
    {"metrics", "integrations_server", "azure.integrationsserver.fsv2", "Integrations Server 1 GB", 153},
    {"kibana-ops", "kibana", "azure.kibana.fsv2", "Kibana 1 GB", 121},
};

struct DailyDimension {
  const char* dimension;
  const char* sku;
  const char* unit;
  std::int64_t rate_e4;              // ECU per unit, in 1e-4
  std::uint64_t max_milli_quantity;  // a day's quantity is below this many thousandths
};

constexpr DailyDimension kDaily[kDailyDimensions] = {
    {"data_in", "gcp.data.in", "GB", 0, 40'000},
    {"data_out", "gcp.data.out", "GB", 320, 25'000},
    {"data_internode", "gcp.data.internode", "GB", 110, 60'000},
    {"storage_bytes", "gcp.storage.bytes", "GB-month", 33, 900'000},
};

constexpr const char* kAdminUser = "bench-admin";
constexpr const char* kAdminPassword = "bench-admin-password";
constexpr const char* kReaderUser = "bench-reader";
constexpr const char* kReaderPassword = "bench-reader-password";

// splitmix64 over (a, b, c): a record's values depend only on its identity.
std::uint64_t Mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = 0x5eed'b0a7'c057'5eedULL;
  for (std::uint64_t v : {a, b, c}) {
    z += 0x9e3779b97f4a7c15ULL + v;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
  }
  return z;
}

struct Shape {
  int orgs = 200;
  int days = 90;
  CivilDate start{2026, 1, 1};
  std::int64_t batch = 50'000;

  std::int64_t PerDay() const { return std::int64_t{orgs} * kDeploymentsPerOrg * kRecordsPerDeploymentDay; }
  std::int64_t Records() const { return PerDay() * days; }
  std::int64_t Batches() const { return (Records() + batch - 1) / batch; }
  Instant Start() const { return Instant{costs::domain::DaysFromCivil(start) * costs::domain::kNsPerDay}; }
  Instant End() const { return Instant{Start().ns + std::int64_t{days} * costs::domain::kNsPerDay}; }
  // The organization the charts read: the middle one.
  int ChartOrg() const { return orgs / 2; }
};

std::string OrgId(int org) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "org-%04d", org + 1);
  return buf;
}

// 32 hex digits, like Elastic Cloud's deployment ids.
std::string DeploymentId(int org, int dep) {
  char buf[48];
  std::snprintf(
      buf, sizeof buf, "%016llx%016llx",
      static_cast<unsigned long long>(Mix(static_cast<std::uint64_t>(org), static_cast<std::uint64_t>(dep), 1)),
      static_cast<unsigned long long>(Mix(static_cast<std::uint64_t>(org), static_cast<std::uint64_t>(dep), 2)));
  return buf;
}

// The prefix of a deployment's record ids: "org-0001-d03".
std::string RecordIdPrefix(int org, int dep) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "org-%04d-d%02d", org + 1, dep);
  return buf;
}

// A decimal with `scale` fractional digits, trailing zeros dropped ("12.5", "0", "3").
void AppendScaled(std::string& out, std::int64_t value, int scale) {
  char buf[64];
  std::int64_t pow = 1;
  for (int i = 0; i < scale; ++i) pow *= 10;
  const std::int64_t whole = value / pow;
  std::int64_t frac = value % pow;
  int n = std::snprintf(buf, sizeof buf, "%" PRId64, whole);
  if (frac != 0) {
    int digits = scale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    n += std::snprintf(buf + n, sizeof buf - n, ".%0*" PRId64, digits, frac);
  }
  out.append(buf, static_cast<std::size_t>(n));
}

// Record i of the data set, decoded.
struct Record {
  int org = 0;
  int dep = 0;
  int daily = -1;         // index into kDaily, or -1 for capacity
  std::int64_t hour = 0;  // hours since the data set's start
  std::int64_t hours = 1;
  std::int64_t quantity_milli = 0;
  std::int64_t rate_e4 = 0;
  int instances = 0;
};

Record Decode(const Shape& s, std::int64_t i) {
  Record r;
  const std::int64_t day = i / s.PerDay();
  std::int64_t rest = i % s.PerDay();
  const std::int64_t per_hour = std::int64_t{s.orgs} * kDeploymentsPerOrg;
  if (rest < 24 * per_hour) {
    r.hour = day * 24 + rest / per_hour;
    const std::int64_t q = rest % per_hour;
    r.org = static_cast<int>(q / kDeploymentsPerOrg);
    r.dep = static_cast<int>(q % kDeploymentsPerOrg);
    // The instance count changes at most once a week.
    r.instances = 1 + static_cast<int>(Mix(static_cast<std::uint64_t>(r.org), static_cast<std::uint64_t>(r.dep),
                                           static_cast<std::uint64_t>(r.hour / (24 * 7))) %
                                       3);
    r.quantity_milli = std::int64_t{r.instances} * 1000;
    r.rate_e4 = kShapes[r.dep].rate_e4;
  } else {
    rest -= 24 * per_hour;
    r.org = static_cast<int>(rest / (kDeploymentsPerOrg * kDailyDimensions));
    r.dep = static_cast<int>(rest / kDailyDimensions % kDeploymentsPerOrg);
    r.daily = static_cast<int>(rest % kDailyDimensions);
    r.hour = day * 24;
    r.hours = 24;
    const DailyDimension& d = kDaily[r.daily];
    r.quantity_milli =
        static_cast<std::int64_t>(Mix(static_cast<std::uint64_t>(r.org) << 8 | static_cast<std::uint64_t>(r.dep),
                                      static_cast<std::uint64_t>(day), static_cast<std::uint64_t>(r.daily + 1)) %
                                  d.max_milli_quantity);
    r.rate_e4 = d.rate_e4;
  }
  return r;
}

class Writer {
 public:
  explicit Writer(const Shape& s) {
    // RFC 3339 text of every hour of the data set (and its end), and compact id suffixes.
    const std::int64_t hours = std::int64_t{s.days} * 24 + 24;
    for (std::int64_t h = 0; h <= hours; ++h) {
      const Instant t{s.Start().ns + h * costs::domain::kNsPerHour};
      stamps_.push_back(costs::domain::FormatRfc3339(t));
      std::string suffix = stamps_.back().substr(0, 13);  // 2026-01-01T00
      suffixes_.push_back(suffix);
    }
    for (int o = 0; o < s.orgs; ++o) orgs_.push_back(OrgId(o));
    for (int o = 0; o < s.orgs; ++o) {
      for (int d = 0; d < kDeploymentsPerOrg; ++d) {
        deployments_.push_back(DeploymentId(o, d));
        prefixes_.push_back(RecordIdPrefix(o, d));
      }
    }
  }

  void AppendNdjson(std::string& out, const Record& r) const {
    const DeploymentShape& shape = kShapes[r.dep];
    const char* dimension = r.daily < 0 ? "capacity" : kDaily[r.daily].dimension;
    const std::string& dep_id = deployments_[static_cast<std::size_t>(r.org * kDeploymentsPerOrg + r.dep)];
    out += "{\"id\":\"";
    out += prefixes_[static_cast<std::size_t>(r.org * kDeploymentsPerOrg + r.dep)];
    out += '-';
    out += dimension;
    out += '-';
    out += suffixes_[static_cast<std::size_t>(r.hour)];
    out += "\",\"organization_id\":\"";
    out += orgs_[static_cast<std::size_t>(r.org)];
    out += "\",\"deployment_id\":\"";
    out += dep_id;
    out += "\",\"deployment_name\":\"";
    out += shape.name;
    out += "\",\"dimension\":\"";
    out += dimension;
    out += '"';
    if (r.daily < 0) {
      out += ",\"kind\":\"";
      out += shape.kind;
      out += "\",\"instance_count\":";
      out += std::to_string(r.instances);
      out += ",\"sku\":\"";
      out += shape.sku;
      out += "\",\"name\":\"";
      out += shape.resource;
      out += '"';
    } else {
      out += ",\"sku\":\"";
      out += kDaily[r.daily].sku;
      out += '"';
    }
    out += ",\"start\":\"";
    out += stamps_[static_cast<std::size_t>(r.hour)];
    out += "\",\"end\":\"";
    out += stamps_[static_cast<std::size_t>(r.hour + r.hours)];
    out += "\",\"quantity\":\"";
    AppendScaled(out, r.quantity_milli, 3);
    out += "\",\"unit\":\"";
    out += r.daily < 0 ? "instance-hour" : kDaily[r.daily].unit;
    out += "\",\"rate\":\"";
    AppendScaled(out, r.rate_e4, 4);
    out += "\",\"trial\":false}\n";
  }

  // Columns of bench/pg_schema.sql: id, organization_id, deployment_id, deployment_name,
  // dimension, kind, instance_count, sku, name, start_at, end_at, quantity, unit, rate, cost,
  // trial. No value needs quoting.
  void AppendCsv(std::string& out, const Record& r) const {
    const DeploymentShape& shape = kShapes[r.dep];
    const char* dimension = r.daily < 0 ? "capacity" : kDaily[r.daily].dimension;
    const std::string& dep_id = deployments_[static_cast<std::size_t>(r.org * kDeploymentsPerOrg + r.dep)];
    out += prefixes_[static_cast<std::size_t>(r.org * kDeploymentsPerOrg + r.dep)];
    out += '-';
    out += dimension;
    out += '-';
    out += suffixes_[static_cast<std::size_t>(r.hour)];
    out += ',';
    out += orgs_[static_cast<std::size_t>(r.org)];
    out += ',';
    out += dep_id;
    out += ',';
    out += shape.name;
    out += ',';
    out += dimension;
    out += ',';
    if (r.daily < 0) {
      out += shape.kind;
      out += ',';
      out += std::to_string(r.instances);
      out += ',';
      out += shape.sku;
      out += ',';
      out += shape.resource;
    } else {
      out += ",,";
      out += kDaily[r.daily].sku;
      out += ',';
    }
    out += ',';
    out += stamps_[static_cast<std::size_t>(r.hour)];
    out += ',';
    out += stamps_[static_cast<std::size_t>(r.hour + r.hours)];
    out += ',';
    AppendScaled(out, r.quantity_milli, 3);
    out += ',';
    out += r.daily < 0 ? "instance-hour" : kDaily[r.daily].unit;
    out += ',';
    AppendScaled(out, r.rate_e4, 4);
    out += ',';
    AppendScaled(out, r.quantity_milli * r.rate_e4, 7);  // exact: quantity × rate
    out += ",f\n";
  }

 private:
  std::vector<std::string> stamps_;
  std::vector<std::string> suffixes_;
  std::vector<std::string> orgs_;
  std::vector<std::string> deployments_;
  std::vector<std::string> prefixes_;  // of record ids, per deployment
};

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "gen: %s\n"
               "usage: gen [--orgs N] [--days N] [--start YYYY-MM-DD] [--batch N] COMMAND\n"
               "  records --format ndjson|csv --out DIR [--first-batch K] [--batches N]\n"
               "  setup FILE\n"
               "  manifest\n",
               problem);
  std::exit(2);
}

std::int64_t ParseInt(const char* text, std::int64_t min, std::int64_t max, const char* flag) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) {
    std::fprintf(stderr, "gen: %s must be an integer in [%lld, %lld]\n", flag, static_cast<long long>(min),
                 static_cast<long long>(max));
    std::exit(2);
  }
  return v;
}

int WriteRecords(const Shape& s, bool csv, const std::string& dir, std::int64_t first, std::int64_t count) {
  const Writer writer(s);
  const std::int64_t last = std::min(s.Batches(), first + count);
  std::string out;
  out.reserve(static_cast<std::size_t>(s.batch) * 400);
  for (std::int64_t b = first; b < last; ++b) {
    out.clear();
    const std::int64_t end = std::min(s.Records(), (b + 1) * s.batch);
    for (std::int64_t i = b * s.batch; i < end; ++i) {
      const Record r = Decode(s, i);
      if (csv) {
        writer.AppendCsv(out, r);
      } else {
        writer.AppendNdjson(out, r);
      }
    }
    char name[64];
    std::snprintf(name, sizeof name, "/usage-%06lld.%s", static_cast<long long>(b), csv ? "csv" : "ndjson");
    const std::string path = dir + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "gen: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
  }
  return 0;
}

// Single-quoted for bash.
std::string Quote(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

int WriteSetup(const Shape& s, const std::string& path) {
  std::string out =
      "#!/usr/bin/env bash\n"
      "# Written by bench/gen: the organizations and users of the data set.\n"
      "set -euo pipefail\n"
      ": \"${COSTSCTL:?path of costsctl}\" \"${COSTS_DB:?costsctl --db URL}\"\n"
      "c() { \"$COSTSCTL\" --db \"$COSTS_DB\" \"$@\" >/dev/null; }\n"
      "c init\n";
  for (int o = 0; o < s.orgs; ++o) {
    char name[64];
    std::snprintf(name, sizeof name, "Bench Org %04d", o + 1);
    out += "c org create " + OrgId(o) + " --name " + Quote(name) + "\n";
  }
  out += std::string("printf '%s\\n' ") + Quote(kAdminPassword) + " | c user create " + kAdminUser +
         " --admin --password-stdin\n";
  out += std::string("printf '%s\\n' ") + Quote(kReaderPassword) + " | c user create " + kReaderUser + " --org " +
         OrgId(s.ChartOrg()) + " --password-stdin\n";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "gen: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}

int PrintManifest(const Shape& s) {
  const CivilDate first = s.start;
  const CivilDate last = costs::domain::CivilFromDays(s.End().ns / costs::domain::kNsPerDay - 1);
  std::printf(
      "{\"orgs\":%d,\"deployments_per_org\":%d,\"days\":%d,\"records\":%lld,\"batch\":%lld,\"batches\":%lld,"
      "\"start\":\"%s\",\"end\":\"%s\",\"first_day\":\"%04d-%02d-%02d\",\"last_day\":\"%04d-%02d-%02d\","
      "\"chart_org\":\"%s\",\"chart_deployment\":\"%s\","
      "\"admin\":{\"name\":\"%s\",\"password\":\"%s\"},\"reader\":{\"name\":\"%s\",\"password\":\"%s\"}}\n",
      s.orgs, kDeploymentsPerOrg, s.days, static_cast<long long>(s.Records()), static_cast<long long>(s.batch),
      static_cast<long long>(s.Batches()), costs::domain::FormatRfc3339(s.Start()).c_str(),
      costs::domain::FormatRfc3339(s.End()).c_str(), first.year, first.month, first.day, last.year, last.month,
      last.day, OrgId(s.ChartOrg()).c_str(), DeploymentId(s.ChartOrg(), 0).c_str(), kAdminUser, kAdminPassword,
      kReaderUser, kReaderPassword);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Shape s;
  std::vector<std::string> positionals;
  std::string format;
  std::string out_dir;
  std::int64_t first = 0;
  std::int64_t count = INT64_MAX / 2;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage("a flag needs a value");
      return argv[++i];
    };
    if (a == "--orgs") {
      s.orgs = static_cast<int>(ParseInt(value(), 1, 9999, "--orgs"));
    } else if (a == "--days") {
      s.days = static_cast<int>(ParseInt(value(), 1, 366, "--days"));
    } else if (a == "--batch") {
      s.batch = ParseInt(value(), 1, 100'000'000, "--batch");
    } else if (a == "--start") {
      const char* v = value();
      if (std::sscanf(v, "%4d-%2d-%2d", &s.start.year, &s.start.month, &s.start.day) != 3 || s.start.month < 1 ||
          s.start.month > 12 || s.start.day < 1 ||
          s.start.day > costs::domain::DaysInMonth(s.start.year, s.start.month)) {
        Usage("--start must be a date YYYY-MM-DD");
      }
    } else if (a == "--format") {
      format = value();
    } else if (a == "--out") {
      out_dir = value();
    } else if (a == "--first-batch") {
      first = ParseInt(value(), 0, INT64_MAX / 2, "--first-batch");
    } else if (a == "--batches") {
      count = ParseInt(value(), 0, INT64_MAX / 2, "--batches");
    } else if (a.starts_with("--")) {
      Usage("unknown flag");
    } else {
      positionals.emplace_back(a);
    }
  }
  if (positionals.empty()) Usage("no command given");
  const std::string& command = positionals[0];
  if (command == "records" && positionals.size() == 1) {
    if (format != "ndjson" && format != "csv") Usage("records needs --format ndjson|csv");
    if (out_dir.empty()) Usage("records needs --out DIR");
    return WriteRecords(s, format == "csv", out_dir, first, count);
  }
  if (command == "setup" && positionals.size() == 2) return WriteSetup(s, positionals[1]);
  if (command == "manifest" && positionals.size() == 1) return PrintManifest(s);
  Usage("unknown command");
}
