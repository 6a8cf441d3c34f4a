#pragma once

// The process's logger (spdlog's default logger, on stderr) and the LogSink through which the
// stores and other adapters write into it, so that --log-level applies to their lines and a
// line logged while a request is served names the request.

#include <string_view>

#include "common/log.hpp"
#include "common/result.hpp"

namespace costs::app {

// costsd: the default logger writes lines to stderr from `level` up (trace, debug, info, warn,
// error, off), in `format`: "text", "2026-11-01T00:00:00.000000Z LEVEL message", or "json", one
// JSON object per line (json_log.hpp). kInvalidData (a message for humans) for another level
// or format; the logger is left as it was then.
Status SetUpServerLogging(std::string_view level, std::string_view format = "text");

// costsctl: the default logger writes "costsctl: message" lines to stderr from info up (its
// standard output is the command's answer).
void SetUpToolLogging();

// A sink writing each line through spdlog's default logger at the line's level. A line logged
// while this thread serves a request (CurrentRequestId() not empty) reads
// "request ID: message", as the HTTP layer's own lines about a request do.
LogSink SpdlogSink();

}  // namespace costs::app
