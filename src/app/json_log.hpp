#pragma once

// --log-format json: spdlog lines as one JSON object each, for Filebeat/Elastic Agent and Loki.
//   {"time":"2026-11-01T00:00:00.000Z","level":"info","request_id":"…","message":"…"}
// "time" is RFC 3339 UTC with milliseconds; "request_id" only while a request is served
// (CurrentRequestId). An access line (one with a CurrentAccessRecord) carries instead of
// "message": "event":"access", "remote", "principal" (absent when nobody signed in),
// "method", "route" (the route template), "target", "status", "bytes", "duration_us" and
// "error_code" (error answers only). Strings are escaped so that every line is valid JSON
// whatever bytes it holds: control characters as \uXXXX, ill-formed UTF-8 as U+FFFD.

#include <spdlog/formatter.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace costs::app {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Appends `time` as RFC 3339 UTC with milliseconds, "2026-11-01T00:00:00.000Z", to `out`.
void AppendRfc3339Millis(std::chrono::system_clock::time_point time, std::string& out);

// Appends `text` as a JSON string (quotes included) to `out`, escaped as above.
void AppendJsonString(std::string_view text, std::string& out);

}  // namespace costs::app
