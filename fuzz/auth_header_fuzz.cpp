// Fuzz target: `Authorization` parsing (src/http/auth_header.hpp).
// Properties: DecodeBase64 accepts exactly the canonical base64 of some bytes (RFC 4648
// section 4, with its padding or without) and returns those bytes; ParseAuthorization reads
// the value as documented (whitespace trimmed, a case-insensitive scheme, one or more spaces,
// then the credentials): Basic gives the user before the first ':' (non-empty) and the password
// after it, ApiKey the key; everything else is kUnauthenticated, and no message echoes the
// credentials.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/auth_header.hpp"

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Encode(std::string_view bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? static_cast<std::uint8_t>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kAlphabet[group >> (18 - 6 * k) & 63] : '=');
  }
  return out;
}

// Whether `text` is Encode(bytes), with or without its padding.
bool IsBase64Of(std::string_view text, std::string_view bytes) {
  std::string padded = Encode(bytes);
  if (text == padded) return true;
  while (!padded.empty() && padded.back() == '=') padded.pop_back();
  return text == padded;
}

// Decodes leniently (ignoring everything outside the alphabet and leftover bits); the result
// is right exactly when IsBase64Of it holds.
std::string Lenient(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) continue;
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xFF));
    }
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void CheckBase64(std::string_view text) {
  const std::optional<std::string> decoded = costs::http::DecodeBase64(text);
  const std::string lenient = Lenient(text);
  const bool valid = IsBase64Of(text, lenient);
  FUZZ_CHECK(decoded.has_value() == valid,
             std::string(valid ? "refused" : "accepted") + " base64: " + std::string(text));
  if (decoded) FUZZ_CHECK(*decoded == lenient, "other bytes from base64: " + std::string(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  CheckBase64(value);

  const auto parsed = costs::http::ParseAuthorization(value);
  const std::string_view trimmed = Trim(value);
  const std::size_t space = trimmed.find(' ');
  const std::string_view scheme = trimmed.substr(0, space);
  const std::string_view param = space == std::string_view::npos ? std::string_view() : Trim(trimmed.substr(space));
  if (space != std::string_view::npos) CheckBase64(param);

  if (trimmed.empty()) {
    FUZZ_CHECK(parsed.has_value() && parsed->scheme == costs::http::AuthScheme::kNone,
               "an empty header is no credentials");
    return 0;
  }
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code == costs::ErrorCode::kUnauthenticated, "refusals are kUnauthenticated");
    // The messages do not depend on the credentials: each is one of those of these fixed values.
    static const std::set<std::string> kMessages = [] {
      std::set<std::string> out;
      for (const char* value : {"Basic !", "Basic eA==", "Basic Ong=", "Bearer x", "ApiKey "}) {
        out.insert(costs::http::ParseAuthorization(value).error().message);
      }
      return out;
    }();
    FUZZ_CHECK(kMessages.count(parsed.error().message) == 1, "a message that depends on the credentials");
  }
  if (IEquals(scheme, "Basic")) {
    const std::optional<std::string> decoded = costs::http::DecodeBase64(param);
    const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    const bool ok = decoded && colon != std::string::npos && colon != 0;
    FUZZ_CHECK(parsed.has_value() == ok, "Basic credentials misjudged");
    if (ok) {
      FUZZ_CHECK(parsed->scheme == costs::http::AuthScheme::kBasic && parsed->user == decoded->substr(0, colon) &&
                     parsed->password == decoded->substr(colon + 1),
                 "Basic credentials misread");
    }
  } else if (IEquals(scheme, "ApiKey")) {
    FUZZ_CHECK(parsed.has_value() == !param.empty(), "ApiKey credentials misjudged");
    if (parsed)
      FUZZ_CHECK(parsed->scheme == costs::http::AuthScheme::kApiKey && parsed->api_key == param, "ApiKey misread");
  } else {
    FUZZ_CHECK(!parsed.has_value(), "accepted an unknown scheme");
  }
  return 0;
}
