#include "http/cookie.hpp"

#include "service/sessions.hpp"

namespace costs::http {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string WithAttributes(std::string value, std::int64_t max_age, bool secure) {
  value += "; Path=/; HttpOnly; SameSite=Strict; Max-Age=";
  value += std::to_string(max_age);
  if (secure) value += "; Secure";
  return value;
}

}  // namespace

// The value of the next cookie named `name` in `rest`, which then holds what follows it.
std::optional<std::string_view> NextCookie(std::string_view& rest, std::string_view name) {
  while (!rest.empty()) {
    const std::size_t end = rest.find(';');
    const std::string_view pair = TrimSpaces(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || TrimSpaces(pair.substr(0, eq)) != name) continue;
    std::string_view value = TrimSpaces(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name) {
  if (header.size() > kMaxCookieHeader) return std::nullopt;
  return NextCookie(header, name);
}

std::size_t CountCookies(std::string_view header, std::string_view name) {
  if (header.size() > kMaxCookieHeader) return 0;
  std::size_t count = 0;
  while (NextCookie(header, name)) ++count;
  return count;
}

std::string SessionCookie(std::string_view id, bool secure) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(service::SessionService::kAbsoluteLifetime);
  return WithAttributes(std::string(kSessionCookie) + "=" + std::string(id), seconds.count(), secure);
}

std::string ClearedSessionCookie(bool secure) { return WithAttributes(std::string(kSessionCookie) + "=", 0, secure); }

}  // namespace costs::http
