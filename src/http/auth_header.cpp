#include "http/auth_header.hpp"

#include <cstdint>

#include "http/text.hpp"

namespace costs::http {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Error Unauthenticated(std::string message) { return MakeError(ErrorCode::kUnauthenticated, std::move(message)); }

}  // namespace

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 == 0 && !text.empty()) {
    // Padded form: at most two '=' and only at the end.
    std::size_t pad = 0;
    while (pad < 2 && !text.empty() && text.back() == '=') {
      text.remove_suffix(1);
      ++pad;
    }
  }
  if (text.size() % 4 == 1) return std::nullopt;  // no group of one character
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;  // includes a stray or misplaced '='
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

Result<Credentials> ParseAuthorization(std::string_view value) {
  value = TrimOws(value);
  Credentials creds;
  if (value.empty()) return creds;

  const std::size_t space = value.find(' ');
  const std::string_view scheme = value.substr(0, space);
  const std::string_view param = space == std::string_view::npos ? std::string_view() : TrimOws(value.substr(space));

  if (EqualsIgnoreCase(scheme, "Basic")) {
    const std::optional<std::string> decoded = DecodeBase64(param);
    if (!decoded) return Unauthenticated("The Basic credentials are not valid base64.");
    const std::size_t colon = decoded->find(':');
    if (colon == std::string::npos)
      return Unauthenticated("The Basic credentials lack a ':' between user and password.");
    if (colon == 0) return Unauthenticated("The Basic credentials have an empty user name.");
    creds.scheme = AuthScheme::kBasic;
    creds.user = decoded->substr(0, colon);
    creds.password = decoded->substr(colon + 1);
    return creds;
  }
  if (EqualsIgnoreCase(scheme, "ApiKey")) {
    if (param.empty()) return Unauthenticated("The ApiKey credentials are empty.");
    creds.scheme = AuthScheme::kApiKey;
    creds.api_key = std::string(param);
    return creds;
  }
  return Unauthenticated("Unsupported authorization scheme; use Basic or ApiKey.");
}

}  // namespace costs::http
