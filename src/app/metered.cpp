#include "app/metered.hpp"

#include <chrono>

namespace costs::app {

using Op = service::Metrics::StoreOp;

template <class Call>
auto MeteredStore::Timed(Op op, Call call) {
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  const bool failed = !result && result.error().code == ErrorCode::kStoreFailed;
  metrics_.StoreCall(op, failed, std::chrono::steady_clock::now() - start);
  return result;
}

Status MeteredStore::Migrate() {
  return Timed(Op::kWrite, [&] { return inner_.Migrate(); });
}
Status MeteredStore::CreateOrganization(const service::Organization& org) {
  return Timed(Op::kWrite, [&] { return inner_.CreateOrganization(org); });
}
Result<std::optional<service::Organization>> MeteredStore::FindOrganization(std::string_view id) {
  return Timed(Op::kRead, [&] { return inner_.FindOrganization(id); });
}
Result<std::vector<service::Organization>> MeteredStore::ListOrganizations() {
  return Timed(Op::kRead, [&] { return inner_.ListOrganizations(); });
}
Status MeteredStore::PutUser(const service::User& user) {
  return Timed(Op::kWrite, [&] { return inner_.PutUser(user); });
}
Result<std::optional<service::User>> MeteredStore::FindUser(std::string_view name) {
  return Timed(Op::kAuth, [&] { return inner_.FindUser(name); });
}
Result<service::IngestOutcome> MeteredStore::Ingest(std::span<const domain::UsageRecord> records) {
  return Timed(Op::kWrite, [&] { return inner_.Ingest(records); });
}
Result<std::unique_ptr<service::IngestTransaction>> MeteredStore::BeginIngest() {
  return Timed(Op::kWrite, [&] { return inner_.BeginIngest(); });
}
Result<std::vector<service::RollupRow>> MeteredStore::ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                                  domain::Instant from, domain::Instant to) {
  return Timed(Op::kRead, [&] { return inner_.ReadRollups(org, grain, from, to); });
}
Result<std::vector<domain::UsageRecord>> MeteredStore::ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                            domain::Instant to) {
  return Timed(Op::kRead, [&] { return inner_.ReadUsageOverlapping(org, from, to); });
}
Result<std::vector<service::Deployment>> MeteredStore::ListDeployments(std::string_view org) {
  return Timed(Op::kRead, [&] { return inner_.ListDeployments(org); });
}
Status MeteredStore::CreateApiKey(const service::ApiKey& key) {
  return Timed(Op::kWrite, [&] { return inner_.CreateApiKey(key); });
}
Result<std::optional<service::ApiKey>> MeteredStore::FindApiKey(std::string_view id) {
  return Timed(Op::kAuth, [&] { return inner_.FindApiKey(id); });
}
Status MeteredStore::RevokeApiKey(std::string_view id) {
  return Timed(Op::kWrite, [&] { return inner_.RevokeApiKey(id); });
}
Status MeteredStore::AddCredit(const service::Credit& credit) {
  return Timed(Op::kWrite, [&] { return inner_.AddCredit(credit); });
}
Status MeteredStore::CreateSession(const service::Session& session) {
  return Timed(Op::kAuth, [&] { return inner_.CreateSession(session); });
}
Result<std::optional<service::Session>> MeteredStore::FindSession(std::string_view id_digest) {
  return Timed(Op::kAuth, [&] { return inner_.FindSession(id_digest); });
}
Status MeteredStore::TouchSession(std::string_view id_digest, domain::Instant last_used) {
  return Timed(Op::kAuth, [&] { return inner_.TouchSession(id_digest, last_used); });
}
Status MeteredStore::DeleteSession(std::string_view id_digest) {
  return Timed(Op::kAuth, [&] { return inner_.DeleteSession(id_digest); });
}
Result<std::int64_t> MeteredStore::DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) {
  return Timed(Op::kAuth, [&] { return inner_.DeleteExpiredSessions(idle_cutoff, absolute_cutoff); });
}
Result<std::int64_t> MeteredStore::DataVersion(std::string_view org) {
  return Timed(Op::kRead, [&] { return inner_.DataVersion(org); });
}
Result<service::RangeReadResult> MeteredStore::ReadRange(std::string_view org, const service::RangeReadPlan& plan) {
  return Timed(Op::kRead, [&] { return inner_.ReadRange(org, plan); });
}
// Forwarded, not left to the port's default: the inner store's own edge read (no strings copied).
Result<service::EdgeRead> MeteredStore::ReadEdges(std::string_view org, const service::RangeReadPlan& plan) {
  return Timed(Op::kRead, [&] { return inner_.ReadEdges(org, plan); });
}
Result<std::vector<std::string>> MeteredStore::VerifyIdIndex() {
  return Timed(Op::kRead, [&] { return inner_.VerifyIdIndex(); });
}

}  // namespace costs::app
