#pragma once

// Diagnostics of the layers that must not know the application's logger (the stores, the
// rate limiter). src/app fills a LogSink with its logger, so that --log-level and the log
// format apply and each line carries the id of the request being served. Standard library only.

#include <atomic>
#include <cstddef>
#include <cstdint>
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

// The fields of an access-log line (one answered HTTP request), for a structured log format:
// the HTTP layer sets it around the line it logs (ScopedAccessRecord); the application's
// formatter reads it. Views valid while it is set.
struct AccessRecord {
  std::string_view request_id;
  std::string_view remote;     // the client's address (behind trusted proxies: the client's)
  std::string_view principal;  // empty when nobody signed in
  std::string_view method;     // as sent
  std::string_view route;      // the route template (http/route_label.hpp), never a raw path
  std::string_view target;     // as sent (cut when nobody signed in)
  unsigned status = 0;
  std::size_t bytes = 0;  // body bytes
  std::int64_t duration_us = 0;
  std::string_view error_code;  // the wire code of an error answer, else empty
};

namespace detail {
inline thread_local const AccessRecord* current_access = nullptr;
}  // namespace detail

// The access record of the line this thread is logging, or nullptr.
inline const AccessRecord* CurrentAccessRecord() { return detail::current_access; }

// Sets the current access record for its lifetime. `record` must outlive the object.
class ScopedAccessRecord {
 public:
  explicit ScopedAccessRecord(const AccessRecord& record) : previous_(detail::current_access) {
    detail::current_access = &record;
  }
  ~ScopedAccessRecord() { detail::current_access = previous_; }
  ScopedAccessRecord(const ScopedAccessRecord&) = delete;
  ScopedAccessRecord& operator=(const ScopedAccessRecord&) = delete;

 private:
  const AccessRecord* previous_;
};

namespace detail {
inline std::atomic<bool> access_lines_structured{false};
}  // namespace detail

// Whether the application's formatter writes an access line from its AccessRecord alone (as
// --log-format json does): the HTTP layer then formats no text for it. Set once at start-up.
inline bool AccessLinesStructured() { return detail::access_lines_structured.load(std::memory_order_relaxed); }
inline void SetAccessLinesStructured(bool structured) {
  detail::access_lines_structured.store(structured, std::memory_order_relaxed);
}

}  // namespace costs
