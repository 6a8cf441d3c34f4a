#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "http/client_address.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/metrics.hpp"
#include "service/ports.hpp"
#include "service/rate_limiter.hpp"
#include "service/sessions.hpp"

namespace costs::http {

class BodyCache;
class Dashboard;

// The default limit on a usage ingest body (bytes).
inline constexpr std::size_t kDefaultMaxBodyBytes = 64u << 20;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = an ephemeral port
  int threads = 0;            // io threads; 0 = one per core
  // Usage ingest bodies (POST /api/v1/billing/usage by a platform admin) above -> 413. Every
  // other request's body is limited to kSmallBodyLimit (handler.hpp).
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  // Open connections; a connection accepted above it is closed at once (costsd sizes it from
  // its open-file limit, --max-connections).
  std::size_t max_connections = 10000;
  // Open connections from one peer address; trusted proxies are exempt. Above it a new
  // connection from that address is closed at once (--max-connections-per-address).
  std::size_t max_connections_per_address = 256;
  // How long a connection may wait, between requests or before its first, for the first byte
  // of a request (--keep-alive-timeout); then it is closed. Once a request has begun, its
  // header has 60 s.
  std::chrono::milliseconds keep_alive_timeout{5000};
  // Requests answered on one connection; the last of them says Connection: close.
  std::size_t max_requests_per_connection = 1000;
  // The I/O threads never call the store nor hash a password. Store calls (serving a request,
  // looking up an API key) run on `worker_threads` threads (0 = 16); password verifications
  // (a store lookup, then the hash) on `hash_threads` (0 = 8; costsd bounds the hashes running
  // at once to half the cores, service::LimitedHasher), with at most `hash_queue` more distinct
  // credentials waiting (requests with the same credentials share a place: the first verifies,
  // the others then find it cached): a login beyond that is answered 429 at once
  // (Retry-After: 1), never queued.
  int worker_threads = 0;
  int hash_threads = 0;
  std::size_t hash_queue = 64;
  // GET /readyz answers 503 when the store has not answered within this (costsd: 2 s, or
  // --db-timeout-ms when shorter).
  std::chrono::milliseconds readiness_timeout{2000};
  // The rendered-body cache RunServer creates when Services::body_cache is null (body_cache.hpp):
  // total bytes and entries; 0 bytes = serve without one.
  std::size_t body_cache_bytes = 64u << 20;
  std::size_t body_cache_entries = 16384;
  // Reverse proxies whose X-Forwarded-For names the client (--trusted-proxies).
  TrustedProxies trusted_proxies;
  // Serve plain HTTP on host:port (--listen); false when only TLS is served (--listen-tls
  // without --listen).
  bool listen_plain = true;
  // Serve HTTPS on tls_host:tls_port (--listen-tls) when tls_cert is set: the PEM certificate
  // chain (--tls-cert) and its PEM private key (--tls-key), TLS 1.2 and 1.3 only, read again on
  // SIGHUP for new connections (tls.hpp). Requests over it count as HTTPS (a Secure session
  // cookie). A client that has not finished its handshake within tls_handshake_timeout is
  // dropped.
  std::string tls_host = "127.0.0.1";
  std::uint16_t tls_port = 8443;  // 0 = an ephemeral port
  std::string tls_cert;
  std::string tls_key;
  std::chrono::milliseconds tls_handshake_timeout{10000};
};

// What the handlers call. All references outlive the server.
struct Services {
  service::CostsService& costs;
  service::AdminService& admin;
  service::Authenticator& auth;
  service::RateLimiter& per_principal;  // --rate-limit/--rate-burst, keyed by principal (local or global)
  service::RateLimiter& failed_logins;  // keyed by client address
  // Rendered bodies of the range endpoints, shared across requests (handler.hpp says which);
  // nullptr = render every response. RunServer installs its own (ServerOptions) when null.
  BodyCache* body_cache = nullptr;
  // GET /readyz (probes.hpp): whether this replica can serve, i.e. its store answers; called
  // per probe, from the I/O threads. Empty: always ready.
  std::function<Status()> readiness = nullptr;
  // The web dashboard at `/` and `/assets/` (dashboard.hpp), answered before routing, without
  // credentials. nullptr: those paths are unknown (404).
  const Dashboard* dashboard = nullptr;
  // The browser sessions (the costs_session cookie and /api/v1/session); nullptr = none: the
  // cookie is ignored and the session paths answer 404.
  service::SessionService* sessions = nullptr;
  // What the server counts (requests by route template, connections, caches, logins, rate
  // limits); never null.
  service::Metrics* metrics = &service::NullMetrics::Instance();
  // GET /metrics (metrics_page.hpp): the Prometheus text of `metrics`, called per scrape on an
  // I/O thread; empty = no such path (404). With `metrics_token` non-empty the scrape must
  // send Authorization: Bearer <metrics_token>.
  std::function<std::string()> metrics_text = nullptr;
  std::string metrics_token{};
  // A listener for the metrics alone (costsd --metrics-listen): every path but /metrics and the
  // probes answers 404, before any credentials are read.
  bool metrics_only = false;
};

// RunServer's exit code when the TLS certificate or key does not load at start.
inline constexpr int kTlsSetupFailed = 3;

// Serves the API until SIGINT/SIGTERM (or a fatal listener error), then stops accepting,
// finishes requests in flight and returns 0 (1 when it could not listen, kTlsSetupFailed when
// the TLS certificate or key did not load). Once listening it calls on_listening(bound_port)
// for the plain listener, then on_listening_tls(bound_port) for the TLS one (costsd prints the
// addresses).
int RunServer(const ServerOptions& options, Services services,
              const std::function<void(std::uint16_t port)>& on_listening,
              const std::function<void(std::uint16_t port)>& on_listening_tls = nullptr);

}  // namespace costs::http
