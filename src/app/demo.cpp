#include "app/demo.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace costs::app {
namespace {

struct DemoDeployment {
  const char* org;
  const char* id;
  const char* name;
  const char* kind;
  const char* sku;
  const char* resource;
  const char* rate;  // ECU per instance-hour
  // A serverless project's type (elasticsearch, observability, security); nullptr for a hosted
  // deployment (its records carry no instance_type: the default, deployment).
  const char* instance_type = nullptr;
  // When set: the project's capacity rate in every other 90-day period (RateOn), so that the
  // demo's 90 days hold one rate change of one sku (what v2's rate segments show).
  const char* other_rate = nullptr;
};

constexpr DemoDeployment kDeployments[] = {
    {"acme", "d-acme-search", "search-prod", "elasticsearch", "gcp.es.datahot.n2.68x10x45", "Elasticsearch hot 8 GB",
     "0.0913"},
    {"acme", "d-acme-logs", "logs-staging", "elasticsearch", "gcp.es.datahot.n2.68x10x45", "Elasticsearch hot 4 GB",
     "0.0457"},
    {"acme", "d-acme-kibana", "kibana-prod", "kibana", "gcp.kibana.n2.68x32x45", "Kibana 2 GB", "0.0242"},
    {"acme", "d-acme-apm", "apm-prod", "apm", "gcp.apm.n2.68x32x45", "APM 1 GB", "0.0121"},
    {"globex", "d-globex-observability", "observability", "elasticsearch", "aws.es.datahot.c6gd",
     "Elasticsearch hot 16 GB", "0.1826"},
    {"globex", "d-globex-site-search", "site-search", "enterprise_search", "aws.enterprisesearch.c5d",
     "Enterprise Search 4 GB", "0.0688"},
    {"globex", "d-globex-security", "security-analytics", "elasticsearch", "aws.es.datawarm.d3",
     "Elasticsearch warm 32 GB", "0.1187"},
    {"initech", "d-initech-app", "app-search", "elasticsearch", "azure.es.datahot.edsv4", "Elasticsearch hot 2 GB",
     "0.0229"},
    {"initech", "d-initech-metrics", "metrics", "integrations_server", "azure.integrationsserver.fsv2",
     "Integrations Server 1 GB", "0.0153"},
    {"initech", "d-initech-kibana", "kibana", "kibana", "azure.kibana.fsv2", "Kibana 1 GB", "0.0121"},
    // Serverless projects (appended: the deployments above keep their records and figures).
    {"acme", "p-acme-search", "search-serverless", "elasticsearch", "serverless.es.search.vcu", "Search VCU", "0.09",
     "elasticsearch", "0.105"},
    {"globex", "p-globex-o11y", "o11y-serverless", "elasticsearch", "serverless.obs.ingest.vcu", "Observability VCU",
     "0.05", "observability"},
    {"initech", "p-initech-siem", "siem-serverless", "elasticsearch", "serverless.sec.ingest.vcu", "Security VCU",
     "0.06", "security"},
};

struct DemoOrg {
  const char* id;
  const char* name;
};
constexpr DemoOrg kOrgs[] = {{"acme", "Acme Corp"}, {"globex", "Globex Inc"}, {"initech", "Initech"}};

struct DataDimension {
  const char* dimension;
  const char* unit;
  const char* rate;
  int max_milli_quantity;  // quantity per day up to this many thousandths
};
constexpr DataDimension kDataDimensions[] = {
    {"data_in", "GB", "0.0", 40'000},
    {"data_out", "GB", "0.032", 25'000},
    {"data_internode", "GB", "0.011", 60'000},
    {"storage_bytes", "GB-month", "0.0033", 900'000},
    {"storage_api", "1K requests", "0.0005", 200'000},
};

// When a demo deployment has usage, in days before the demo's end: from `first` days ago to
// `last` days ago (0: up to now). Those not listed run over the whole 90 days. So the stacked
// chart shows a deployment retired and two started within the range, not 90 flat days.
struct Lifespan {
  const char* id;
  int first;
  int last;
};
constexpr Lifespan kLifespans[] = {
    {"d-acme-logs", 91, 24}, {"d-acme-apm", 47, 0}, {"d-globex-site-search", 61, 0}, {"d-initech-metrics", 91, 12}};

bool ActiveAt(const DemoDeployment& d, domain::Instant h, domain::Instant end) {
  const std::int64_t days_ago = (end.ns - h.ns - 1) / domain::kNsPerDay;
  for (const Lifespan& l : kLifespans) {
    if (std::string_view(l.id) == d.id) return days_ago < l.first && days_ago >= l.last;
  }
  return true;
}

// One instance more on working days (Monday to Friday) from 08:00 to 20:00 UTC for every other
// deployment (autoscaling with office hours): the daily bars show the week.
int OfficeHours(std::size_t dep, domain::Instant h) {
  const std::int64_t day = h.ns / domain::kNsPerDay;
  const std::int64_t weekday = (day + 3) % 7;  // 1970-01-01 was a Thursday: 0 = Monday
  const std::int64_t hour = h.ns % domain::kNsPerDay / domain::kNsPerHour;
  return dep % 2 == 0 && weekday < 5 && hour >= 8 && hour < 20 ? 1 : 0;
}

// A value from (seed, a, b, c) alone (splitmix64 finalizer), so that a record's content
// depends only on its identity, and re-running the demo later re-sends identical records.
std::uint64_t Mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = seed;
  for (std::uint64_t v : {a, b, c}) {
    z += 0x9e3779b97f4a7c15ULL + v;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
  }
  return z;
}

std::string Password(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3469";
  std::string p;
  for (int i = 0; i < 14; ++i) p.push_back(kAlphabet[rng() % (sizeof kAlphabet - 1)]);
  return p;
}

std::string Milli(std::int64_t milli) {
  std::string s = std::to_string(milli / 1000) + ".";
  std::string frac = std::to_string(milli % 1000);
  return s + std::string(3 - frac.size(), '0') + frac;
}

// The capacity rate of `d` for an hour starting at `h`: its rate, or its other rate in odd
// 90-day periods since the epoch. It depends on the hour alone (a re-run re-sends identical
// records); the demo's 90 days hold one period boundary, so one change (none on the one day in
// 90 when the boundary is the range's first hour).
const char* RateOn(const DemoDeployment& d, domain::Instant h) {
  const std::int64_t period = h.ns / (90 * domain::kNsPerDay);
  return d.other_rate != nullptr && period % 2 == 1 ? d.other_rate : d.rate;
}

void AppendRecord(std::string& out, const std::string& id, const DemoDeployment& d, const char* dimension,
                  const char* kind, int instances, domain::Instant start, domain::Instant end,
                  const std::string& quantity, const char* unit, const char* rate) {
  out += "{\"id\":\"" + id + "\",\"organization_id\":\"" + d.org + "\",\"deployment_id\":\"" + d.id +
         "\",\"deployment_name\":\"" + d.name + "\",\"dimension\":\"" + dimension + "\"";
  if (kind != nullptr) out += std::string(",\"kind\":\"") + kind + "\"";
  if (instances > 0) out += ",\"instance_count\":" + std::to_string(instances);
  out += std::string(",\"sku\":\"") + d.sku + "\",\"name\":\"" + d.resource + "\",\"start\":\"" +
         domain::FormatRfc3339(start) + "\",\"end\":\"" + domain::FormatRfc3339(end) + "\",\"quantity\":\"" + quantity +
         "\",\"unit\":\"" + unit + "\",\"rate\":\"" + rate + "\",\"trial\":false";
  if (d.instance_type != nullptr) out += std::string(",\"instance_type\":\"") + d.instance_type + "\"";
  out += "}\n";
}

struct DemoUser {
  std::string name;
  bool admin;
  std::vector<std::string> orgs;
  std::string password;
};

// The demo's organizations (those already there are kept).
Status CreateDemoOrganizations(service::AdminService& admin) {
  for (const DemoOrg& org : kOrgs) {
    auto s = admin.CreateOrganization(org.id, org.name);
    if (!s && s.error().code != ErrorCode::kAlreadyExists) return s;
  }
  return {};
}

// The demo's users, each with a new password drawn from `rng`.
Result<std::vector<DemoUser>> CreateDemoUsers(service::AdminService& admin, std::mt19937_64& rng) {
  std::vector<DemoUser> users = {
      {"admin", true, {}, ""}, {"alice", false, {"acme"}, ""}, {"bob", false, {"globex", "initech"}, ""}};
  for (DemoUser& u : users) {
    u.password = Password(rng);
    if (auto s = admin.PutUser(u.name, u.password, u.admin, u.orgs); !s) return std::move(s).error();
  }
  return users;
}

// NDJSON usage of every demo deployment and project over [start, end): hourly capacity, daily
// data transfer and storage. `records` counts them.
std::string DemoUsage(domain::Instant start, domain::Instant end, std::uint64_t seed, std::size_t& records) {
  std::string ndjson;
  for (std::size_t dep = 0; dep < std::size(kDeployments); ++dep) {
    const DemoDeployment& d = kDeployments[dep];
    for (domain::Instant h = start; h < end; h = domain::Instant{h.ns + domain::kNsPerHour}) {
      if (!ActiveAt(d, h, end)) continue;
      // The base instance count changes at most once a week.
      const std::int64_t week = h.ns / (7 * domain::kNsPerDay);
      const int instances =
          1 + static_cast<int>(Mix(seed, dep, static_cast<std::uint64_t>(week), 0) % 3) + OfficeHours(dep, h);
      const std::string id = std::string("demo-") + d.id + "-capacity-" + std::to_string(domain::ToUnixSeconds(h));
      AppendRecord(ndjson, id, d, "capacity", d.kind, instances, h, domain::Instant{h.ns + domain::kNsPerHour},
                   std::to_string(instances), "instance-hour", RateOn(d, h));
      ++records;
    }
    for (domain::Instant day = start; day.ns + domain::kNsPerDay <= end.ns;
         day = domain::Instant{day.ns + domain::kNsPerDay}) {
      if (!ActiveAt(d, day, end)) continue;
      for (std::size_t k = 0; k < std::size(kDataDimensions); ++k) {
        const DataDimension& dim = kDataDimensions[k];
        const std::int64_t milli =
            static_cast<std::int64_t>(Mix(seed, dep, static_cast<std::uint64_t>(day.ns / domain::kNsPerDay), k + 1) %
                                      static_cast<std::uint64_t>(dim.max_milli_quantity));
        const std::string id =
            std::string("demo-") + d.id + "-" + dim.dimension + "-" + std::to_string(domain::ToUnixSeconds(day));
        AppendRecord(ndjson, id, d, dim.dimension, nullptr, 0, day, domain::Instant{day.ns + domain::kNsPerDay},
                     Milli(milli), dim.unit, dim.rate);
        ++records;
      }
    }
  }
  return ndjson;
}

// What the demo made, and curl lines that work against it.
void PrintDemo(domain::Instant start, domain::Instant end, std::size_t records, const service::IngestOutcome& outcome,
               const std::vector<DemoUser>& users, const std::string& api_key) {
  const domain::CivilDate first = domain::CivilFromDays(domain::FloorMonth(start).ns / domain::kNsPerDay);
  char from[16];
  std::snprintf(from, sizeof from, "%04d-%02d-01", first.year, first.month);
  std::size_t projects = 0;
  for (const DemoDeployment& d : kDeployments) projects += d.instance_type != nullptr ? 1 : 0;
  std::printf(
      "demo data: %zu organizations, %zu deployments, %zu serverless projects, %zu usage records (%lld stored, %lld "
      "already there)\n",
      std::size(kOrgs), std::size(kDeployments) - projects, projects, records, static_cast<long long>(outcome.stored),
      static_cast<long long>(outcome.duplicates));
  std::printf("period: %s .. %s\n", domain::FormatRfc3339(start).c_str(), domain::FormatRfc3339(end).c_str());
  std::printf("users (name / password):\n");
  for (const DemoUser& u : users) {
    std::string what = u.admin ? "platform admin" : "member of";
    for (const auto& o : u.orgs) what += " " + o;
    std::printf("  %-6s %s   (%s)\n", u.name.c_str(), u.password.c_str(), what.c_str());
  }
  std::printf("api key of alice: %s\n", api_key.c_str());
  // The address costsd will listen on: its own default unless COSTS_LISTEN says otherwise
  // (make demo sets it from DEMO_LISTEN).
  const char* listen = std::getenv("COSTS_LISTEN");
  const std::string address = listen != nullptr && *listen != '\0' ? listen : "127.0.0.1:8080";
  std::printf("dashboard: open http://%s/ in a browser, sign in as alice / %s (or another user above)\n",
              address.c_str(), users[1].password.c_str());
  std::printf(
      "try:\n  curl -u alice:%s 'http://%s/api/v1/billing/costs/acme/charts?from=%s&bucketing_strategy=monthly'\n",
      users[1].password.c_str(), address.c_str(), from);
  std::printf("  curl -H 'Authorization: ApiKey %s' http://%s/api/v1/billing/costs/acme\n", api_key.c_str(),
              address.c_str());
  // Billing API v2 (docs/v2.md): from and to are required there.
  const domain::CivilDate last = domain::CivilFromDays(end.ns / domain::kNsPerDay);
  char to[16];
  std::snprintf(to, sizeof to, "%04d-%02d-%02d", last.year, last.month, last.day);
  std::printf(
      "  curl -H 'Authorization: ApiKey %s' "
      "'http://%s/api/v2/billing/organizations/acme/costs/instances?from=%s&to=%s'\n",
      api_key.c_str(), address.c_str(), from, to);
}

int Failed(const Error& e) {
  std::fprintf(stderr, "costsctl: %s\n", e.message.c_str());
  return 1;
}

}  // namespace

int RunDemo(service::AdminService& admin, domain::Instant now, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (Status s = CreateDemoOrganizations(admin); !s) return Failed(s.error());
  auto users = CreateDemoUsers(admin, rng);
  if (!users) return Failed(users.error());

  const domain::Instant end = domain::FloorHour(now);
  const domain::Instant start{domain::FloorDay(end).ns - 90 * domain::kNsPerDay};
  std::size_t records = 0;
  auto outcome = admin.IngestNdjson(DemoUsage(start, end, seed, records));
  if (!outcome) return Failed(outcome.error());

  // Prepaid credits for acme, valid from the demo's start for a year (re-adding is a no-op).
  const domain::Instant credit_end{start.ns + 365 * domain::kNsPerDay};
  if (auto s = admin.AddCredit("acme", "demo-prepaid-" + std::to_string(domain::ToUnixSeconds(start)),
                               5000 * domain::kNanosPerEcu, start, credit_end);
      !s && s.error().code != ErrorCode::kAlreadyExists) {
    return Failed(s.error());
  }
  // An API key for alice, the way scripts and agents authenticate.
  auto key = admin.CreateApiKey("alice", "demo", std::nullopt, now);
  if (!key) return Failed(key.error());
  PrintDemo(start, end, records, *outcome, *users, key->key);
  return 0;
}

}  // namespace costs::app
