#pragma once

// Decorators that report to service::Metrics what the ports do, so that neither the stores nor
// the hasher know the metrics: MeteredStore times every store call (and counts those that fail
// with kStoreFailed), MeteredHasher counts the argon2id verifications.

#include "service/metrics.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"

namespace costs::app {

// Forwards every call to `inner`, timed. HeldDataVersion (in memory, on the I/O threads) is
// forwarded untimed. Thread-safe as `inner` is.
class MeteredStore final : public service::Store {
 public:
  MeteredStore(service::Store& inner, service::Metrics& metrics) : inner_(inner), metrics_(metrics) {}

  Status Migrate() override;
  Status CreateOrganization(const service::Organization& org) override;
  Result<std::optional<service::Organization>> FindOrganization(std::string_view id) override;
  Result<std::vector<service::Organization>> ListOrganizations() override;
  Status PutUser(const service::User& user) override;
  Result<std::optional<service::User>> FindUser(std::string_view name) override;
  Result<service::IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) override;
  Result<std::unique_ptr<service::IngestTransaction>> BeginIngest() override;
  Result<std::vector<service::RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                      domain::Instant from, domain::Instant to) override;
  Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                domain::Instant to) override;
  Result<std::vector<service::Deployment>> ListDeployments(std::string_view org) override;
  Status CreateApiKey(const service::ApiKey& key) override;
  Result<std::optional<service::ApiKey>> FindApiKey(std::string_view id) override;
  Status RevokeApiKey(std::string_view id) override;
  Status AddCredit(const service::Credit& credit) override;
  Status CreateSession(const service::Session& session) override;
  Result<std::optional<service::Session>> FindSession(std::string_view id_digest) override;
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override;
  Status DeleteSession(std::string_view id_digest) override;
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override;
  Result<std::int64_t> DataVersion(std::string_view org) override;
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override { return inner_.HeldDataVersion(org); }
  Result<service::RangeReadResult> ReadRange(std::string_view org, const service::RangeReadPlan& plan) override;
  Result<service::EdgeRead> ReadEdges(std::string_view org, const service::RangeReadPlan& plan) override;
  Result<std::vector<std::string>> VerifyIdIndex() override;

 private:
  template <class Call>
  auto Timed(service::Metrics::StoreOp op, Call call);

  service::Store& inner_;
  service::Metrics& metrics_;
};

// Forwards every call to `inner`; counts each Verify (an argon2id verification).
class MeteredHasher final : public service::PasswordHasher {
 public:
  MeteredHasher(const service::PasswordHasher& inner, service::Metrics& metrics) : inner_(inner), metrics_(metrics) {}

  std::string Hash(std::string_view password) const override { return inner_.Hash(password); }
  bool Verify(std::string_view encoded_hash, std::string_view password) const override {
    metrics_.PasswordVerified();
    return inner_.Verify(encoded_hash, password);
  }
  std::string Fingerprint(std::string_view secret) const override { return inner_.Fingerprint(secret); }
  std::string SecretDigest(std::string_view secret) const override { return inner_.SecretDigest(secret); }
  std::string RandomHex(std::size_t bytes) const override { return inner_.RandomHex(bytes); }

 private:
  const service::PasswordHasher& inner_;
  service::Metrics& metrics_;
};

}  // namespace costs::app
