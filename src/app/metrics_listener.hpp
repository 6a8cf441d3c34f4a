#pragma once

// costsd --metrics-listen HOST:PORT: a second HTTP server, on its own listener and threads
// (one I/O thread, one worker), that answers GET /metrics and the probes only (every other
// path 404, before any credentials are read). It stops on the same SIGTERM/SIGINT as the API's
// server.

#include <thread>

#include "http/server.hpp"

namespace costs::app {

class MetricsListener {
 public:
  MetricsListener() = default;
  // Stops it (Stop) when it still runs, and waits for it.
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Starts serving `services` (as metrics_only) on options.host:options.port; returns once it
  // listens (true) or could not (false; the server logged why).
  bool Start(http::ServerOptions options, http::Services services);

  // Asks it to stop as a signal would (the API's server did not start, say): raises SIGTERM,
  // which the running servers catch.
  void Stop();

 private:
  std::thread thread_;
};

}  // namespace costs::app
