#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace costs::http {

// The credentials an `Authorization` header carries.
enum class AuthScheme {
  kNone,    // no header (or an empty one)
  kBasic,   // "Basic base64(user:password)", RFC 7617
  kApiKey,  // "ApiKey <key>" (Elastic Cloud style)
};

struct Credentials {
  AuthScheme scheme = AuthScheme::kNone;
  std::string user;      // kBasic: non-empty, without ':'
  std::string password;  // kBasic: everything after the first ':', may be empty or hold ':'
  std::string api_key;   // kApiKey: non-empty
};

// Parses an Authorization header value. The scheme is case-insensitive and followed by one
// or more spaces; surrounding whitespace is ignored. Fails with kUnauthenticated (a message
// saying what is wrong, never echoing the credentials) for an unknown scheme, bad base64,
// a decoded value without ':' or with an empty user name, or an empty key.
Result<Credentials> ParseAuthorization(std::string_view value);

// Decodes standard base64 (RFC 4648 section 4, '+' and '/'). Padding may be present (then it
// must be correct) or left out; no whitespace, no other characters; non-zero trailing bits
// are rejected. nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace costs::http
