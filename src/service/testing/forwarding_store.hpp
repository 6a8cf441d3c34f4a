#pragma once

// A Store that forwards every call to another: test doubles derive from it and override only
// the calls they watch or hold back. Tests only.

#include "service/store.hpp"

namespace costs::service::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  Status Migrate() override { return inner_.Migrate(); }
  Status CreateOrganization(const Organization& org) override { return inner_.CreateOrganization(org); }
  Result<std::optional<Organization>> FindOrganization(std::string_view id) override {
    return inner_.FindOrganization(id);
  }
  Result<std::vector<Organization>> ListOrganizations() override { return inner_.ListOrganizations(); }
  Status PutUser(const User& user) override { return inner_.PutUser(user); }
  Result<std::optional<User>> FindUser(std::string_view name) override { return inner_.FindUser(name); }
  Result<IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) override { return inner_.Ingest(records); }
  Result<std::vector<RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain, domain::Instant from,
                                             domain::Instant to) override {
    return inner_.ReadRollups(org, grain, from, to);
  }
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override {
    return inner_.ReadUsageOverlapping(org, from, to);
  }
  Result<std::vector<Deployment>> ListDeployments(std::string_view org) override { return inner_.ListDeployments(org); }
  Status CreateApiKey(const ApiKey& key) override { return inner_.CreateApiKey(key); }
  Result<std::optional<ApiKey>> FindApiKey(std::string_view id) override { return inner_.FindApiKey(id); }
  Status RevokeApiKey(std::string_view id) override { return inner_.RevokeApiKey(id); }
  Status CreateSession(const Session& session) override { return inner_.CreateSession(session); }
  Result<std::optional<Session>> FindSession(std::string_view id_digest) override {
    return inner_.FindSession(id_digest);
  }
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override {
    return inner_.TouchSession(id_digest, last_used);
  }
  Status DeleteSession(std::string_view id_digest) override { return inner_.DeleteSession(id_digest); }
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override {
    return inner_.DeleteExpiredSessions(idle_cutoff, absolute_cutoff);
  }
  Status AddCredit(const Credit& credit) override { return inner_.AddCredit(credit); }
  Result<std::int64_t> DataVersion(std::string_view org) override { return inner_.DataVersion(org); }
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override { return inner_.HeldDataVersion(org); }
  Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) override {
    return inner_.ReadRange(org, plan);
  }
  Result<std::vector<std::string>> VerifyIdIndex() override { return inner_.VerifyIdIndex(); }

 private:
  Store& inner_;
};

}  // namespace costs::service::testing
