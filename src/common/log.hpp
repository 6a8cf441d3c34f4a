#pragma once

// Diagnostics of the layers that must not know the application's logger (the stores, the
// rate limiter). src/app fills a LogSink with its logger, so that --log-level and the log
// format apply and each line carries the id of the request being served. Standard library only.

#include <cstdio>
#include <functional>
#include <string_view>

namespace costs {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Receives one line, without a trailing newline. It may be called from any thread.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Writes `message` through `sink`, or to stderr when no sink was given (tools and tests).
inline void Log(const LogSink& sink, LogLevel level, std::string_view message) {
  if (sink) {
    sink(level, message);
    return;
  }
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
}

namespace detail {
inline thread_local std::string_view current_request_id;
}  // namespace detail

// The id of the request this thread is serving, "" outside one. The HTTP layer sets it around
// each handler call (ScopedRequestId); the application's sink reads it.
inline std::string_view CurrentRequestId() { return detail::current_request_id; }

// Sets the current request id for its lifetime. `id` must outlive the object.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string_view id) : previous_(detail::current_request_id) {
    detail::current_request_id = id;
  }
  ~ScopedRequestId() { detail::current_request_id = previous_; }
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string_view previous_;
};

}  // namespace costs
