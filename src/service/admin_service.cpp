#include <algorithm>
#include <chrono>

#include "service/costs_service.hpp"
#include "service/usage_batch.hpp"
#include "service/usage_import.hpp"

namespace costs::service {
namespace {

// Ids of organizations and user names: what can travel in a URL path segment and a Basic
// auth user name without surprises.
bool IsValidName(std::string_view s, std::size_t max_length) {
  if (s.empty() || s.size() > max_length) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '@';
  });
}

// How an ingest ended, for the metrics.
Metrics::IngestOutcome OutcomeOf(const Result<IngestOutcome>& outcome) {
  if (outcome) return Metrics::IngestOutcome::kStored;
  switch (outcome.error().code) {
    case ErrorCode::kInvalidRecord:
    case ErrorCode::kInvalidData:
      return Metrics::IngestOutcome::kInvalid;
    case ErrorCode::kConflict:
      return Metrics::IngestOutcome::kConflict;
    default:
      return Metrics::IngestOutcome::kFailed;
  }
}

}  // namespace

AdminService::AdminService(Store& store, const PasswordHasher& hasher, Metrics& metrics)
    : store_(store), hasher_(hasher), metrics_(metrics) {}

Result<IngestOutcome> AdminService::IngestNdjson(const Principal& who, std::string_view body) {
  if (!who.is_admin) return MakeError(ErrorCode::kForbidden, "only platform admins may ingest usage");
  return IngestNdjson(body);
}

Result<IngestOutcome> AdminService::IngestNdjson(std::string_view body) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t problems = 0;
  Result<IngestOutcome> outcome = ParseAndIngest(body, problems);
  metrics_.Ingested(OutcomeOf(outcome), outcome ? outcome->stored : 0, outcome ? outcome->duplicates : 0, problems,
                    std::chrono::steady_clock::now() - start);
  return outcome;
}

Result<IngestOutcome> AdminService::ParseAndIngest(std::string_view body, std::size_t& problems) {
  auto batch = ParseUsageBatch(body, [this](std::string_view id) -> Result<bool> {
    auto found = store_.FindOrganization(id);
    if (!found) return std::move(found).error();
    return found->has_value();
  });
  if (!batch) return std::move(batch).error();
  problems = batch->problem_count;
  if (batch->problem_count > 0) return UsageProblemsError(*batch);
  if (batch->records.empty()) return MakeError(ErrorCode::kInvalidData, "the usage batch holds no records");
  auto outcome = store_.Ingest(batch->records);
  if (!outcome) return AsInvalidRecord(std::move(outcome).error());
  return outcome;
}

Result<IngestOutcome> AdminService::ImportNdjson(const NdjsonReader& read, std::size_t part_bytes) {
  return service::ImportNdjson(store_, read, part_bytes);
}

Status AdminService::CreateOrganization(std::string_view id, std::string_view name) {
  if (!IsValidName(id, domain::kMaxIdLength)) {
    return MakeError(ErrorCode::kInvalidData, "an organization id is 1 to 256 letters, digits, '-', '_', '.' or '@'",
                     {"id"});
  }
  if (name.size() > domain::kMaxTextLength) {
    return MakeError(ErrorCode::kInvalidData, "the organization name is too long", {"name"});
  }
  return store_.CreateOrganization(Organization{std::string(id), name.empty() ? std::string(id) : std::string(name)});
}

Status AdminService::PutUser(std::string_view name, std::string_view password, bool is_admin,
                             std::vector<std::string> organizations) {
  if (!IsValidName(name, 128)) {
    return MakeError(ErrorCode::kInvalidData, "a user name is 1 to 128 letters, digits, '-', '_', '.' or '@'",
                     {"name"});
  }
  if (password.empty()) return MakeError(ErrorCode::kInvalidData, "the password must not be empty", {"password"});
  std::sort(organizations.begin(), organizations.end());
  organizations.erase(std::unique(organizations.begin(), organizations.end()), organizations.end());
  std::string hash = hasher_.Hash(password);
  if (hash.empty()) return MakeError(ErrorCode::kInternal, "could not hash the password");
  return store_.PutUser(User{std::string(name), std::move(hash), is_admin, std::move(organizations)});
}

Result<AdminService::CreatedApiKey> AdminService::CreateApiKey(std::string_view user, std::string_view name,
                                                               std::optional<domain::Instant> expires,
                                                               domain::Instant now) {
  if (name.size() > domain::kMaxTextLength) {
    return MakeError(ErrorCode::kInvalidData, "the API key name is too long", {"name"});
  }
  if (expires && *expires <= now) {
    return MakeError(ErrorCode::kInvalidData, "the expiry must lie in the future", {"expires"});
  }
  const std::string id = hasher_.RandomHex(8);
  const std::string secret = hasher_.RandomHex(32);
  ApiKey key{id, std::string(user), std::string(name), hasher_.SecretDigest(secret), now, expires, false};
  if (auto s = store_.CreateApiKey(key); !s) return std::move(s).error();
  return CreatedApiKey{id, "costs_" + id + "_" + secret};
}

Status AdminService::RevokeApiKey(std::string_view id) { return store_.RevokeApiKey(id); }

Status AdminService::AddCredit(std::string_view org_id, std::string_view id, domain::Nanos ecu, domain::Instant start,
                               domain::Instant end) {
  std::string message;
  std::vector<std::string> fields;
  auto problem = [&](std::string what, std::initializer_list<const char*> names) {
    message += (message.empty() ? "" : "; ") + what;
    fields.insert(fields.end(), names.begin(), names.end());
  };
  if (!IsValidName(id, domain::kMaxIdLength))
    problem("a credit id is 1 to 256 letters, digits, '-', '_', '.' or '@'", {"id"});
  if (ecu <= 0 || ecu > kMaxCreditNanos)
    problem("the credit amount must be positive and at most 1000000000 ECU", {"ecu"});
  if (!(start < end)) problem("the credit must start before it ends", {"start", "end"});
  if (!fields.empty()) return MakeError(ErrorCode::kInvalidData, std::move(message), std::move(fields));
  return store_.AddCredit(Credit{std::string(id), std::string(org_id), ecu, start, end});
}

}  // namespace costs::service
