#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace costs::http {

// The body of POST /api/v1/session (sign-in), decoded: either a user name and password or an
// API key.
struct SignInRequest {
  bool with_api_key = false;
  std::string username;  // !with_api_key
  std::string password;  // !with_api_key
  std::string api_key;   // with_api_key
};

// Decodes {"username":"..","password":".."} or {"api_key":".."}: one JSON object, exactly one
// of the two forms, every member a string given once, no other member. Fails with kInvalidData
// naming every problem in `fields` ("username", "password", "api_key", or the name of a member
// that is not a sign-in's; none when the body is not a JSON object). Secrets are never quoted
// in the message.
Result<SignInRequest> DecodeSignInRequest(std::string_view body);

}  // namespace costs::http
