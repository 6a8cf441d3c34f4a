#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "app/json_log.hpp"

namespace costs::app {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::err;
}

}  // namespace

Status SetUpServerLogging(std::string_view level, std::string_view format) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return MakeError(ErrorCode::kInvalidData, "--log-level must be trace, debug, info, warn, error or off");
  }
  if (format != "text" && format != "json") {
    return MakeError(ErrorCode::kInvalidData, "--log-format must be text or json");
  }
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("costsd", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  spdlog::set_level(parsed);
  SetAccessLinesStructured(format == "json");
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  return {};
}

void SetUpToolLogging() {
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("costsctl", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  spdlog::set_level(spdlog::level::info);
  spdlog::set_pattern("costsctl: %v");
}

LogSink SpdlogSink() {
  return [](LogLevel level, std::string_view message) {
    const std::string_view request_id = CurrentRequestId();
    if (request_id.empty()) {
      spdlog::log(ToSpdlog(level), "{}", message);
    } else {
      spdlog::log(ToSpdlog(level), "request {}: {}", request_id, message);
    }
  };
}

}  // namespace costs::app
