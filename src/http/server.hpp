#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/ports.hpp"

namespace costs::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = an ephemeral port
  int threads = 0;            // io threads; 0 = one per core
  std::size_t max_body_bytes = 64u << 20;  // request bodies (usage ingest) above -> 413
};

// What the handlers call. All references outlive the server.
struct Services {
  service::CostsService& costs;
  service::AdminService& admin;
  service::Authenticator& auth;
  service::RateLimiter& per_principal;    // --rate-limit/--rate-burst, keyed by principal
  service::RateLimiter& failed_logins;    // keyed by client address
};

// Serves the API until SIGINT/SIGTERM (or a fatal listener error), then stops accepting,
// finishes requests in flight and returns 0 (non-zero when it could not listen).
// Once listening it calls on_listening(bound_port) (costsd prints the address).
int RunServer(const ServerOptions& options, Services services,
              const std::function<void(std::uint16_t port)>& on_listening);

}  // namespace costs::http
