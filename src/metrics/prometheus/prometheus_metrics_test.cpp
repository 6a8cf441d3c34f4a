#include "metrics/prometheus/prometheus_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace costs::metrics::prometheus {
namespace {

using namespace std::chrono_literals;

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(PrometheusMetricsTest, CountsRequestsByRouteMethodAndStatus) {
  PrometheusMetrics metrics({"/charts", "unmatched"}, {"1.2.3", "abc", "sqlite"});
  metrics.RequestServed(0, "GET", 200, 100, 50us);
  metrics.RequestServed(0, "GET", 200, 100, 50us);
  metrics.RequestServed(1, "BREW", 404, 7, 10us);
  metrics.RequestServed(9, "GET", 404, 0, 10us);  // an index beyond the routes counts as the last
  const std::string text = metrics.Serialize();
  EXPECT_TRUE(Has(text, R"(costs_http_requests_total{code="200",method="GET",route="/charts"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_http_requests_total{code="404",method="other",route="unmatched"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_http_requests_total{code="404",method="GET",route="unmatched"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_http_response_body_bytes_total{route="/charts"} 200)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_http_request_duration_seconds_count{route="/charts"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_build_info{commit="abc",store="sqlite",version="1.2.3"} 1)")) << text;
}

TEST(PrometheusMetricsTest, CountsServiceEvents) {
  PrometheusMetrics metrics({"unmatched"}, {});
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();
  metrics.BodyCacheLookup(true);
  metrics.BodyCacheLookup(false);
  metrics.BodyCacheLookup(false);
  metrics.RateLimited(service::Metrics::Limiter::kFailedLogins);
  metrics.Ingested(service::Metrics::IngestOutcome::kStored, 5, 2, 0, 1ms);
  metrics.Ingested(service::Metrics::IngestOutcome::kInvalid, 0, 0, 3, 1ms);
  metrics.StoreCall(service::Metrics::StoreOp::kWrite, true, 1ms);
  const std::string text = metrics.Serialize();
  EXPECT_TRUE(Has(text, "costs_http_open_connections 1")) << text;
  EXPECT_TRUE(Has(text, R"(costs_body_cache_lookups_total{result="miss"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_rate_limited_total{limiter="failed_logins"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_rate_limited_total{limiter="principal"} 0)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_ingest_batches_total{outcome="stored"} 1)")) << text;
  EXPECT_TRUE(Has(text, "costs_ingest_records_stored_total 5")) << text;
  EXPECT_TRUE(Has(text, "costs_ingest_duplicates_total 2")) << text;
  EXPECT_TRUE(Has(text, "costs_ingest_record_problems_total 3")) << text;
  EXPECT_TRUE(Has(text, R"(costs_store_errors_total{op="write"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(costs_store_duration_seconds_count{op="write"} 1)")) << text;
}

}  // namespace
}  // namespace costs::metrics::prometheus
