#include "metrics/prometheus/prometheus_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <utility>

namespace costs::metrics::prometheus {
namespace {

namespace pm = ::prometheus;

// Seconds: 100 µs (a cached chart) to 10 s (a large ingest or a slow store).
const pm::Histogram::BucketBoundaries kLatencyBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

std::size_t MethodIndex(std::string_view method) {
  for (std::size_t i = 0; i + 1 < PrometheusMetrics::kMethods.size(); ++i) {
    if (method == PrometheusMetrics::kMethods[i]) return i;
  }
  return PrometheusMetrics::kMethods.size() - 1;
}

pm::Family<pm::Counter>& CounterFamily(pm::Registry& registry, const char* name, const char* help) {
  return pm::BuildCounter().Name(name).Help(help).Register(registry);
}

pm::Family<pm::Histogram>& HistogramFamily(pm::Registry& registry, const char* name, const char* help) {
  return pm::BuildHistogram().Name(name).Help(help).Register(registry);
}

}  // namespace

PrometheusMetrics::PrometheusMetrics(std::vector<std::string> routes, const BuildInfo& build)
    : registry_(std::make_unique<pm::Registry>()),
      routes_(std::move(routes)),
      route_series_(std::make_unique<RouteSeries[]>(routes_.size())) {
  pm::Registry& r = *registry_;
  requests_ =
      &CounterFamily(r, "costs_http_requests_total", "HTTP requests answered, by route template, method and status.");
  auto& durations = HistogramFamily(r, "costs_http_request_duration_seconds",
                                    "Time from a request's first byte to its answer being queued, by route template.");
  auto& bytes =
      CounterFamily(r, "costs_http_response_body_bytes_total", "Response body bytes sent, by route template.");
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    route_series_[i].duration = &durations.Add({{"route", routes_[i]}}, kLatencyBuckets);
    route_series_[i].bytes = &bytes.Add({{"route", routes_[i]}});
  }
  connections_ = &pm::BuildGauge()
                      .Name("costs_http_open_connections")
                      .Help("Open client connections of the API's listeners (plain and TLS).")
                      .Register(r)
                      .Add({});
  auto& cache = CounterFamily(r, "costs_body_cache_lookups_total", "Lookups in the rendered-body cache, by result.");
  cache_hits_ = &cache.Add({{"result", "hit"}});
  cache_misses_ = &cache.Add({{"result", "miss"}});
  auth_cache_hits_ =
      &CounterFamily(r, "costs_auth_cache_hits_total", "Credentials served from the verification cache.").Add({});
  password_verifications_ =
      &CounterFamily(r, "costs_password_verifications_total", "argon2id password verifications.").Add({});
  failed_logins_ = &CounterFamily(r, "costs_failed_logins_total", "Logins refused for wrong credentials.").Add({});
  auto& limited = CounterFamily(r, "costs_rate_limited_total", "Requests refused by a rate limiter, by limiter.");
  rate_limited_ = {&limited.Add({{"limiter", "principal"}}), &limited.Add({{"limiter", "failed_logins"}}),
                   &limited.Add({{"limiter", "hash_queue"}})};
  auto& batches = CounterFamily(r, "costs_ingest_batches_total", "Usage batches received over HTTP, by outcome.");
  ingest_batches_ = {&batches.Add({{"outcome", "stored"}}), &batches.Add({{"outcome", "invalid"}}),
                     &batches.Add({{"outcome", "conflict"}}), &batches.Add({{"outcome", "failed"}})};
  records_stored_ = &CounterFamily(r, "costs_ingest_records_stored_total", "Usage records stored.").Add({});
  duplicates_ = &CounterFamily(r, "costs_ingest_duplicates_total", "Usage records already stored (no-ops).").Add({});
  record_problems_ = &CounterFamily(r, "costs_ingest_record_problems_total",
                                    "Problems found in the records of refused (invalid) batches.")
                          .Add({});
  ingest_seconds_ =
      &HistogramFamily(r, "costs_ingest_duration_seconds", "Time to parse, validate and store one usage batch.")
           .Add({}, kLatencyBuckets);
  auto& store = HistogramFamily(r, "costs_store_duration_seconds", "Store calls' duration, by kind.");
  auto& store_errors = CounterFamily(r, "costs_store_errors_total", "Store calls that failed, by kind.");
  const char* ops[] = {"read", "write", "auth"};
  for (std::size_t i = 0; i < 3; ++i) {
    store_seconds_[i] = &store.Add({{"op", ops[i]}}, kLatencyBuckets);
    store_errors_[i] = &store_errors.Add({{"op", ops[i]}});
  }
  pm::BuildGauge()
      .Name("costs_build_info")
      .Help("This costsd: version, commit and store kind (always 1).")
      .Register(r)
      .Add({{"version", build.version}, {"commit", build.commit}, {"store", build.store}})
      .Set(1);
}

PrometheusMetrics::~PrometheusMetrics() = default;

std::string PrometheusMetrics::Serialize() const { return pm::TextSerializer().Serialize(registry_->Collect()); }

pm::Counter& PrometheusMetrics::RequestCounter(std::size_t route, std::size_t method, unsigned status) {
  std::atomic<pm::Counter*>& slot = route_series_[route].requests[method].by_status[status - kFirstStatus];
  pm::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the same series for the same labels, so a race only looks it up twice.
    counter = &requests_->Add(
        {{"route", routes_[route]}, {"method", std::string(kMethods[method])}, {"code", std::to_string(status)}});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

void PrometheusMetrics::RequestServed(std::size_t route, std::string_view method, unsigned status,
                                      std::size_t body_bytes, std::chrono::microseconds duration) {
  if (route >= routes_.size()) route = routes_.size() - 1;
  if (status < kFirstStatus || status >= kFirstStatus + kStatusCount) status = 599;
  RequestCounter(route, MethodIndex(method), status).Increment();
  route_series_[route].duration->Observe(Seconds(duration));
  route_series_[route].bytes->Increment(static_cast<double>(body_bytes));
}

void PrometheusMetrics::ConnectionOpened() { connections_->Increment(); }
void PrometheusMetrics::ConnectionClosed() { connections_->Decrement(); }
void PrometheusMetrics::BodyCacheLookup(bool hit) { (hit ? cache_hits_ : cache_misses_)->Increment(); }
void PrometheusMetrics::AuthCacheHit() { auth_cache_hits_->Increment(); }
void PrometheusMetrics::PasswordVerified() { password_verifications_->Increment(); }
void PrometheusMetrics::LoginFailed() { failed_logins_->Increment(); }
void PrometheusMetrics::RateLimited(Limiter limiter) { rate_limited_[static_cast<std::size_t>(limiter)]->Increment(); }

void PrometheusMetrics::Ingested(IngestOutcome outcome, std::int64_t stored, std::int64_t duplicates,
                                 std::size_t record_problems, std::chrono::nanoseconds duration) {
  ingest_batches_[static_cast<std::size_t>(outcome)]->Increment();
  records_stored_->Increment(static_cast<double>(stored));
  duplicates_->Increment(static_cast<double>(duplicates));
  record_problems_->Increment(static_cast<double>(record_problems));
  ingest_seconds_->Observe(Seconds(duration));
}

void PrometheusMetrics::StoreCall(StoreOp op, bool failed, std::chrono::nanoseconds duration) {
  const auto i = static_cast<std::size_t>(op);
  store_seconds_[i]->Observe(Seconds(duration));
  if (failed) store_errors_[i]->Increment();
}

}  // namespace costs::metrics::prometheus
