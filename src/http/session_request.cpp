#include "http/session_request.hpp"

#include <optional>
#include <vector>

#include "domain/usage.hpp"
#include "service/ndjson.hpp"

namespace costs::http {
namespace {

using domain::RawValue;

constexpr std::string_view kForms = "send {\"username\",\"password\"} or {\"api_key\"}";

struct Problems {
  std::vector<std::string> fields;
  std::vector<std::string> messages;
  void Add(std::string field, std::string message) {
    if (messages.size() < 4) messages.push_back(field + " " + message);
    fields.push_back(std::move(field));
  }
};

// The string member `name` when it is given once as a string; otherwise reports why not
// (when `required`, also its absence).
std::optional<std::string> StringMember(const domain::RawUsage& members, std::string_view name, bool required,
                                        Problems& problems) {
  const RawValue* found = nullptr;
  for (const auto& [key, value] : members) {
    if (key != name) continue;
    if (found != nullptr) {
      problems.Add(std::string(name), "is given more than once");
      return std::nullopt;
    }
    found = &value;
  }
  if (found == nullptr) {
    if (required) problems.Add(std::string(name), "is required");
    return std::nullopt;
  }
  if (found->type != RawValue::Type::kString) {
    problems.Add(std::string(name), "must be a string");
    return std::nullopt;
  }
  return found->text;
}

bool Has(const domain::RawUsage& members, std::string_view name) {
  for (const auto& member : members) {
    if (member.first == name) return true;
  }
  return false;
}

}  // namespace

Result<SignInRequest> DecodeSignInRequest(std::string_view body) {
  Result<domain::RawUsage> members = service::DecodeJsonObject(body);
  if (!members) {
    return MakeError(ErrorCode::kInvalidData,
                     "The request body " + members.error().message + "; " + std::string(kForms) + ".");
  }
  Problems problems;
  for (const auto& [name, value] : *members) {
    if (name != "username" && name != "password" && name != "api_key") {
      problems.Add(name, "is not a member of a sign-in (username and password, or api_key)");
    }
  }
  SignInRequest out;
  const bool by_key = Has(*members, "api_key");
  if (by_key && (Has(*members, "username") || Has(*members, "password"))) {
    problems.Add("api_key", "cannot be sent with username or password");
  }
  if (by_key) {
    out.with_api_key = true;
    if (std::optional<std::string> key = StringMember(*members, "api_key", true, problems)) out.api_key = *key;
  } else {
    if (std::optional<std::string> u = StringMember(*members, "username", true, problems)) out.username = *u;
    if (std::optional<std::string> p = StringMember(*members, "password", true, problems)) out.password = *p;
  }
  if (!problems.fields.empty()) {
    std::string message = "The sign-in is invalid: ";
    for (std::size_t i = 0; i < problems.messages.size(); ++i) {
      if (i != 0) message += "; ";
      message += problems.messages[i];
    }
    message += " (" + std::string(kForms) + ").";
    return MakeError(ErrorCode::kInvalidData, std::move(message), std::move(problems.fields));
  }
  return out;
}

}  // namespace costs::http
