#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace costs::http {

// The name of the session cookie (service::SessionService ids).
inline constexpr std::string_view kSessionCookie = "costs_session";

// Headers longer than this are not searched (the session's header limit is smaller anyway).
inline constexpr std::size_t kMaxCookieHeader = 16 * 1024;

// The value of the first cookie named `name` (exact, case-sensitive) in a Cookie header
// ("a=1; costs_session=abc"; RFC 6265 section 5.4: pairs separated by ';', spaces around them
// ignored, a value in double quotes unquoted), or nullopt when there is none, or the header is
// longer than kMaxCookieHeader. A pair without '=' is skipped. Linear in the header's length;
// the view points into `header`.
std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name);

// How many cookies named `name` the header carries (pairs as FindCookie reads them; 0 for a
// header longer than kMaxCookieHeader).
std::size_t CountCookies(std::string_view header, std::string_view name);

// The Set-Cookie value that gives the browser session `id` for SessionService::kAbsoluteLifetime:
// "costs_session=<id>; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200", plus "; Secure" when
// `secure` (the request came over HTTPS).
std::string SessionCookie(std::string_view id, bool secure);

// The Set-Cookie value that makes the browser forget the session ("costs_session=; ...;
// Max-Age=0").
std::string ClearedSessionCookie(bool secure);

}  // namespace costs::http
