#pragma once

// The metrics port: what the service and HTTP layers count for the operator (GET /metrics).
// src/metrics/prometheus implements it on prometheus-cpp; only src/app names that adapter, so
// no other layer sees it. NullMetrics counts nothing (tools, tests). Every call is thread-safe
// and cheap: no allocation and no map lookup by label (an adapter resolves its series up front).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace costs::service {

class Metrics {
 public:
  // The rate limiters whose refusals are counted: per principal (--rate-limit), per client
  // address after failed logins, and the queue of password verifications (hash_queue).
  enum class Limiter : std::uint8_t { kPerPrincipal, kFailedLogins, kHashQueue };
  // How a usage ingest ended (one batch each).
  enum class IngestOutcome : std::uint8_t { kStored, kInvalid, kConflict, kFailed };
  // The kinds of store calls timed (StoreCall): reads of usage and rollups, writes (ingest,
  // credits, organizations, users, keys), and the lookups of credentials and sessions.
  enum class StoreOp : std::uint8_t { kRead, kWrite, kAuth };

  virtual ~Metrics() = default;

  // One answered HTTP request. `route` indexes the route templates the adapter was built with
  // (http::RouteTemplates(), never a path a client chose); `method` as sent (any other than
  // the usual ones is counted as "other"); `status` 100..599; `body_bytes` sent.
  virtual void RequestServed(std::size_t route, std::string_view method, unsigned status, std::size_t body_bytes,
                             std::chrono::microseconds duration) = 0;
  virtual void ConnectionOpened() = 0;
  virtual void ConnectionClosed() = 0;
  // A lookup in the rendered-body cache.
  virtual void BodyCacheLookup(bool hit) = 0;
  // Credentials (Basic or API key) served from the verification cache.
  virtual void AuthCacheHit() = 0;
  // One argon2id verification of a password.
  virtual void PasswordVerified() = 0;
  // A login refused for wrong credentials (Basic, API key or the dashboard's sign-in).
  virtual void LoginFailed() = 0;
  virtual void RateLimited(Limiter limiter) = 0;
  // One usage batch over HTTP: its outcome, the records stored and the duplicates (kStored),
  // the problems found in its records (kInvalid), and how long it took.
  virtual void Ingested(IngestOutcome outcome, std::int64_t stored, std::int64_t duplicates,
                        std::size_t record_problems, std::chrono::nanoseconds duration) = 0;
  // One call of the store: how long it took and whether it failed (an error other than a
  // refusal of the request, i.e. kStoreFailed).
  virtual void StoreCall(StoreOp op, bool failed, std::chrono::nanoseconds duration) = 0;
};

// Counts nothing.
class NullMetrics final : public Metrics {
 public:
  void RequestServed(std::size_t, std::string_view, unsigned, std::size_t, std::chrono::microseconds) override {}
  void ConnectionOpened() override {}
  void ConnectionClosed() override {}
  void BodyCacheLookup(bool) override {}
  void AuthCacheHit() override {}
  void PasswordVerified() override {}
  void LoginFailed() override {}
  void RateLimited(Limiter) override {}
  void Ingested(IngestOutcome, std::int64_t, std::int64_t, std::size_t, std::chrono::nanoseconds) override {}
  void StoreCall(StoreOp, bool, std::chrono::nanoseconds) override {}

  // One instance for every caller that was given none.
  static NullMetrics& Instance() {
    static NullMetrics none;
    return none;
  }
};

}  // namespace costs::service
