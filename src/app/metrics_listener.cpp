#include "app/metrics_listener.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <future>
#include <memory>

namespace costs::app {

bool MetricsListener::Start(http::ServerOptions options, http::Services services) {
  services.metrics_only = true;
  services.dashboard = nullptr;
  services.sessions = nullptr;
  options.threads = 1;
  options.worker_threads = 1;
  options.hash_threads = 1;
  options.body_cache_bytes = 0;
  auto listening = std::make_shared<std::promise<bool>>();
  std::future<bool> listens = listening->get_future();
  thread_ = std::thread([options, services, listening] {
    bool told = false;
    http::RunServer(options, services, [&](std::uint16_t port) {
      spdlog::info("metrics listening on {}:{}", options.host, port);
      told = true;
      listening->set_value(true);
    });
    if (!told) listening->set_value(false);
  });
  return listens.get();
}

void MetricsListener::Stop() { std::raise(SIGTERM); }

MetricsListener::~MetricsListener() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace costs::app
