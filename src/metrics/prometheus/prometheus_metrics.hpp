#pragma once

// service::Metrics on prometheus-cpp (Debian's prometheus-cpp-dev: its registry and text
// serializer; its own HTTP exposer is not used: costsd serves GET /metrics itself). Every
// series a request can touch is resolved when it is first needed and then kept by pointer, so
// counting a request costs a few atomic operations and one histogram observation. Label values
// come only from the route templates given at construction, a fixed set of methods and the
// status code: no client can grow the set of series. Thread-safe.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "service/metrics.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace costs::metrics::prometheus {

// What costs_build_info says about this process.
struct BuildInfo {
  std::string version;
  std::string commit;
  std::string store;  // "sqlite" or "postgresql"
};

class PrometheusMetrics final : public service::Metrics {
 public:
  // `routes`: the route templates (index = RequestServed's `route`), e.g. "/healthz",
  // "/api/v1/billing/costs/{organization_id}/charts", "unmatched".
  PrometheusMetrics(std::vector<std::string> routes, const BuildInfo& build);
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // Every series in the Prometheus text exposition format (version 0.0.4).
  std::string Serialize() const;

  void RequestServed(std::size_t route, std::string_view method, unsigned status, std::size_t body_bytes,
                     std::chrono::microseconds duration) override;
  void ConnectionOpened() override;
  void ConnectionClosed() override;
  void BodyCacheLookup(bool hit) override;
  void AuthCacheHit() override;
  void PasswordVerified() override;
  void LoginFailed() override;
  void RateLimited(Limiter limiter) override;
  void Ingested(IngestOutcome outcome, std::int64_t stored, std::int64_t duplicates, std::size_t record_problems,
                std::chrono::nanoseconds duration) override;
  void StoreCall(StoreOp op, bool failed, std::chrono::nanoseconds duration) override;

  // The methods counted by name; any other is "other".
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",    "HEAD",    "POST", "PUT",
                                                               "DELETE", "OPTIONS", "other"};

 private:
  static constexpr unsigned kFirstStatus = 100;
  static constexpr unsigned kStatusCount = 500;  // 100..599
  // The request counters of one (route, method), by status, created on first use.
  struct StatusCounters {
    std::array<std::atomic<::prometheus::Counter*>, kStatusCount> by_status{};
  };
  struct RouteSeries {
    ::prometheus::Histogram* duration = nullptr;
    ::prometheus::Counter* bytes = nullptr;
    std::array<StatusCounters, kMethods.size()> requests;
  };

  ::prometheus::Counter& RequestCounter(std::size_t route, std::size_t method, unsigned status);

  std::unique_ptr<::prometheus::Registry> registry_;
  std::vector<std::string> routes_;
  ::prometheus::Family<::prometheus::Counter>* requests_ = nullptr;
  std::unique_ptr<RouteSeries[]> route_series_;
  ::prometheus::Gauge* connections_ = nullptr;
  ::prometheus::Counter* cache_hits_ = nullptr;
  ::prometheus::Counter* cache_misses_ = nullptr;
  ::prometheus::Counter* auth_cache_hits_ = nullptr;
  ::prometheus::Counter* password_verifications_ = nullptr;
  ::prometheus::Counter* failed_logins_ = nullptr;
  std::array<::prometheus::Counter*, 3> rate_limited_{};
  std::array<::prometheus::Counter*, 4> ingest_batches_{};
  ::prometheus::Counter* records_stored_ = nullptr;
  ::prometheus::Counter* duplicates_ = nullptr;
  ::prometheus::Counter* record_problems_ = nullptr;
  ::prometheus::Histogram* ingest_seconds_ = nullptr;
  std::array<::prometheus::Histogram*, 3> store_seconds_{};
  std::array<::prometheus::Counter*, 3> store_errors_{};
};

}  // namespace costs::metrics::prometheus
