#include "app/json_log.hpp"

#include <charconv>
#include <chrono>
#include <ctime>

#include "common/log.hpp"
#include "domain/utf8.hpp"

namespace costs::app {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Printable ASCII but '"' and '\\': written into a JSON string as it is.
bool StandsForItself(char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

void AppendEscapedByte(unsigned char c, std::string& out) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (c < 0x20 || c == 0x7f) {
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
    return;
  }
  out += static_cast<char>(c);
}

}  // namespace

void AppendRfc3339Millis(std::chrono::system_clock::time_point time, std::string& out) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000 - (millis % 1000 < 0 ? 1 : 0));
  const int ms = static_cast<int>((millis % 1000 + 1000) % 1000);
  // Every line of a second shares its "YYYY-MM-DDTHH:MM:SS": formatted once a second per thread.
  thread_local std::time_t cached_second = 0;
  thread_local char cached[32] = {};
  thread_local std::size_t cached_size = 0;
  if (cached_size == 0 || seconds != cached_second) {
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    cached_size = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = seconds;
  }
  const char fraction[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                           static_cast<char>('0' + ms % 10), 'Z'};
  out.append(cached, cached_size).append(fraction, sizeof fraction);
}

namespace {

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(value, out);
}

void AppendNumber(std::string& out, std::string_view name, std::int64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

void AppendAccess(const AccessRecord& access, std::string& out) {
  out += R"(,"event":"access")";
  AppendField(out, "remote", access.remote);
  if (!access.principal.empty()) AppendField(out, "principal", access.principal);
  AppendField(out, "method", access.method);
  AppendField(out, "route", access.route);
  AppendField(out, "target", access.target);
  AppendNumber(out, "status", access.status);
  AppendNumber(out, "bytes", static_cast<std::int64_t>(access.bytes));
  AppendNumber(out, "duration_us", access.duration_us);
  if (!access.error_code.empty()) AppendField(out, "error_code", access.error_code);
}

}  // namespace

void AppendJsonString(std::string_view text, std::string& out) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    std::size_t run = i;  // a run of bytes that stand for themselves, appended at once
    while (run < text.size() && StandsForItself(text[run])) ++run;
    if (run != i) {
      out.append(text.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      AppendEscapedByte(c, out);
      ++i;
      continue;
    }
    const std::size_t n = domain::Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  out += '"';
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  thread_local std::string line;  // kept: no allocation per line once it has grown
  line.clear();
  line += "{\"time\":\"";
  AppendRfc3339Millis(msg.time, line);
  line += '"';
  const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
  AppendField(line, "level", std::string_view(level.data(), level.size()));
  if (const std::string_view id = CurrentRequestId(); !id.empty()) AppendField(line, "request_id", id);
  if (const AccessRecord* access = CurrentAccessRecord()) {
    AppendAccess(*access, line);
  } else {
    AppendField(line, "message", std::string_view(msg.payload.data(), msg.payload.size()));
  }
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const { return std::make_unique<JsonLogFormatter>(); }

}  // namespace costs::app
