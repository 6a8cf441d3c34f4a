#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/money.hpp"
#include "domain/proration.hpp"
#include "domain/range.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"

namespace costs::service {

struct Organization {
  std::string id;
  std::string name;
  friend bool operator==(const Organization&, const Organization&) = default;
};

struct Deployment {
  std::string id;
  std::string name;  // the latest name seen in ingested usage
  // The latest instance_type seen in ingested usage (set like the name: by the latest stored
  // record, in batch order).
  domain::InstanceType type = domain::InstanceType::kDeployment;
  friend bool operator==(const Deployment&, const Deployment&) = default;
};

// The deployment `id` of `deployments` sorted by id (as every store lists them), or null.
inline const Deployment* FindDeployment(const std::vector<Deployment>& deployments, std::string_view id) {
  auto it = std::lower_bound(deployments.begin(), deployments.end(), id,
                             [](const Deployment& d, std::string_view key) { return d.id < key; });
  return it != deployments.end() && it->id == id ? &*it : nullptr;
}

struct User {
  std::string name;
  std::string password_hash;               // PasswordHasher output; never the password
  bool is_admin = false;                   // platform admin: every organization, usage ingest
  std::vector<std::string> organizations;  // member of these, sorted, unique
  friend bool operator==(const User&, const User&) = default;
};

// An API key. The key a client sends is "costs_<id>_<secret>"; only a digest of the secret is
// kept (PasswordHasher::SecretDigest: the secret is 256 random bits, so a fast digest is as
// good as a slow hash and verification costs no argon2id).
struct ApiKey {
  std::string id;             // public, unique: 16 lower-case hex digits
  std::string user;           // the owner; the key acts as this user
  std::string name;           // a label for humans; may be empty
  std::string secret_digest;  // hex SHA-256 of the secret
  domain::Instant created;
  std::optional<domain::Instant> expires;  // none: never
  bool revoked = false;
  friend bool operator==(const ApiKey&, const ApiKey&) = default;
};

// A signed-in browser session (the dashboard's cookie). Only a digest of the session id is
// kept (PasswordHasher::SecretDigest of the cookie value: 256 random bits, so a fast digest is
// as good as a slow hash), never the id. Instants are UTC.
struct Session {
  std::string id_digest;                  // hex SHA-256 of the session id; unique
  std::string user;                       // the session acts as this user
  std::optional<std::string> api_key_id;  // set when signed in with an API key: it ends with the key
  domain::Instant created;                // sign-in
  domain::Instant last_used;              // written at most once a minute (SessionService)
  friend bool operator==(const Session&, const Session&) = default;
};

// What an ingest did: records newly stored, and records that were already stored with the
// same content (skipped).
struct IngestOutcome {
  std::int64_t stored = 0;
  std::int64_t duplicates = 0;
  friend bool operator==(const IngestOutcome&, const IngestOutcome&) = default;
};

// One atomic ingest fed in parts (Store::BeginIngest): the parts in order are one batch, as if
// their concatenation were passed to one Store::Ingest. Nothing of it is stored before Commit
// succeeds; destroyed without a successful Commit (or with the process dying first), nothing of
// it is stored at all. A store may hold its write lock from BeginIngest to Commit or destruction
// (SQLite does: other writers wait meanwhile).
//
// Thread-safety: one thread at a time (not shared).
class IngestTransaction {
 public:
  virtual ~IngestTransaction() = default;

  // Adds the next part (records counted after those of the parts before: the errors' fields
  // name records[i] with i over every part). Fails only when the storage does (kStoreFailed):
  // the transaction is then spent, and Commit returns that error. What the ingest contract
  // refuses (an unknown organization, a conflicting id, a rollup too large) is reported by
  // Commit, once every part is in, exactly as one Ingest of the concatenation reports it.
  virtual Status Add(std::span<const domain::UsageRecord> records) = 0;

  // Whether organization `id` exists, read through this transaction: a store whose connections
  // are all held (a pool of one, which the transaction holds from BeginIngest to Commit) could
  // not look it up otherwise. kStoreFailed as Store::FindOrganization.
  virtual Result<bool> OrganizationExists(std::string_view id) = 0;

  // Stores every part atomically and durably, with the outcome and errors of one
  // Store::Ingest of their concatenation. REQUIRES: called at most once.
  virtual Result<IngestOutcome> Commit() = 0;
};

// A stored rollup: the exact cost of one (deployment, dimension) in one UTC hour or day,
// summed over every usage record, prorated by time (domain::ForEachRollupPart); trial_cost is
// the part of it from records marked trial (prorated the same way).
//
// Rows are kept per item too: (deployment, dimension, sku, kind). The item measures are
// quantity_milli (the records' quantities in thousandths of their unit, prorated the same way,
// so parts always sum to the record's quantity rounded half-even to 0.001), usage_ns (the
// summed overlap with the period of the records with a positive quantity: a correction adjusts
// cost and quantity, not time; service::UsageOverlap), max_instance_count, and the smallest and
// largest domain::DecimalFingerprint of the records' rates (equal when all rates agree).
//
// `Amount` is the type of the five measures: int64 for a stored row (RollupRow: ingest refuses
// what one cannot hold), 128-bit for sums of rows (LatestCapacityRow).
template <typename Amount>
struct BasicRollupRow {
  domain::Instant period_start;
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;   // may be empty
  std::string kind;  // ResourceKindId, or empty
  Amount cost = 0;
  Amount trial_cost = 0;
  Amount quantity_milli = 0;
  Amount usage_ns = 0;
  Amount max_instance_count = 0;
  std::int64_t rate_fingerprint_min = 0;
  std::int64_t rate_fingerprint_max = 0;
  friend bool operator==(const BasicRollupRow&, const BasicRollupRow&) = default;
};
using RollupRow = BasicRollupRow<std::int64_t>;

// One deployment's latest hour with capacity cost (RangeReadPlan::latest_capacity): the
// measures of that hour's capacity rows summed, in 128 bits. Each row fits int64, but the
// items of one hour summed need not (two of 5,000,000,000 ECU), and nothing a store accepted
// may make a read fail. Dimension capacity, sku and kind empty; the rate fingerprints are the
// smallest minimum and the largest maximum of the rows.
using LatestCapacityRow = BasicRollupRow<domain::WideNanos>;

// What the latest record of an item said about it: the record with the latest end (usage
// time; on a tie the later ingested).
struct ItemInfo {
  std::string deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string sku;
  std::string kind;
  std::string name;  // the record's "name"
  std::string unit;
  domain::Decimal rate;
  domain::Instant last_end;  // the end of that record
  friend bool operator==(const ItemInfo&, const ItemInfo&) = default;
};

// Prepaid ECU credits of an organization, valid over [start, end).
struct Credit {
  std::string id;  // unique per organization
  std::string organization_id;
  domain::Nanos ecu = 0;  // > 0
  domain::Instant start;
  domain::Instant end;
  friend bool operator==(const Credit&, const Credit&) = default;
};

// The reads of one range query, planned by the service (CostsService) and executed by the
// store as one consistent snapshot. All windows belong to one organization.
struct RangeReadPlan {
  std::vector<domain::TimeRange> raw;     // usage overlapping each window (windows under 1 hour)
  std::vector<domain::TimeRange> hourly;  // hourly rollup rows with period_start in each window
  std::vector<domain::TimeRange> daily;   // daily rollup rows with period_start in each window
  // When set: per deployment, its latest hourly capacity rollup row with period_start in this
  // window and a non-zero cost (for hourly rates).
  std::optional<domain::TimeRange> latest_capacity;
  bool items = false;    // also read the organization's ItemInfo (sorted by key)
  bool credits = false;  // also read its credits (sorted by start, then id)
  bool usage = false;    // also read every usage record of the organization (for verification)
  bool rates = false;    // also read the organization's rate catalog (RangeReadResult::rates)
};

struct RangeReadResult {
  std::vector<std::vector<domain::UsageRecord>> raw;  // per plan.raw window, same order
  std::vector<RollupRow> rollups;                     // rows of every hourly and daily window
  std::vector<Deployment> deployments;                // ListDeployments
  std::vector<LatestCapacityRow> latest_capacity;     // plan.latest_capacity: at most one row per deployment
  std::vector<ItemInfo> items;                        // plan.items: every item of the organization
  std::vector<Credit> credits;                        // plan.credits: every credit of the organization
  // plan.usage: every stored record of the organization, in ingest order (batch after batch,
  // each in its order), as the store applied them.
  std::vector<domain::UsageRecord> usage;
  // plan.rates: every distinct rate of the organization's stored records (by value: 0.10 and
  // 0.1 are one rate), sorted by domain::DecimalFingerprint, so that a rollup row whose rate
  // fingerprints agree names its rate exactly.
  std::vector<domain::Decimal> rates;
  std::int64_t version = 0;  // DataVersion(org) in the same snapshot
};

// The edges of a range read compactly (Store::ReadEdges): what ReadRange returns in raw,
// rollups and version for the same plan, but each row and record naming its series (an index
// into `series`) instead of holding its strings, a record keeping only what a piece of cost is
// made of, and the hourly rows of each hourly window summed per UTC day and series (a chart
// needs one bucket per day at most: a partial day's hours make one row per series, not one per
// hour). The series' views point into memory `owner` keeps alive.
struct EdgeSeries {
  std::string_view deployment_id;
  domain::Dimension dimension = domain::Dimension::kCapacity;
  std::string_view sku;   // may be empty
  std::string_view kind;  // ResourceKindId, or empty
  // The deployment's number in the read: the same for every series of one deployment_id, and
  // less than the number of series (a reader maps deployments without comparing their ids).
  std::uint32_t deployment = 0;
};

// A RollupRow of series `series`.
struct EdgeRow {
  std::uint32_t series = 0;
  domain::Instant period_start;
  std::int64_t cost = 0;
  std::int64_t trial_cost = 0;
  std::int64_t quantity_milli = 0;
  std::int64_t usage_ns = 0;
  std::int64_t max_instance_count = 0;
  std::int64_t rate_fingerprint_min = 0;
  std::int64_t rate_fingerprint_max = 0;
};

// A UsageRecord of series `series`: its period [start, end) (UTC) and what a piece of it is made
// of (ForEachEdgePiece): its quantity in thousandths (domain::ToScaled(quantity, 3)), whether
// the quantity is positive (its overlap then counts as usage time: UsageOverlap) and its rate's
// domain::DecimalFingerprint.
struct EdgeRecord {
  std::uint32_t series = 0;
  bool trial = false;
  bool positive_quantity = false;
  domain::Instant start;
  domain::Instant end;
  std::int64_t quantity_milli = 0;
  std::int64_t rate_fingerprint = 0;
  domain::Nanos cost_nanos = 0;
  std::int64_t instance_count = 0;
};

struct EdgeRead {
  std::span<const EdgeSeries> series;  // those the rows and records name (and maybe others)
  // Per plan.raw window, the records overlapping it, as RangeReadResult::raw, in any order. A
  // store may give those of an hour's cells that each hold one record over the whole hour
  // (their measures are that record's) instead of reading the raw usage.
  std::vector<std::vector<EdgeRecord>> raw;
  // Per hourly window of the plan, per UTC day in it, per series: one row summing its hours in
  // the window (AddMeasuresInto), with the period_start of the first of them; when a sum would
  // leave int64, the hours are cut into runs of one row each (the next row starting at the hour
  // that did not fit). Then the daily windows' rows, as RangeReadResult::rollups.
  std::vector<EdgeRow> rollups;
  std::int64_t version = 0;           // DataVersion(org) in the same snapshot
  std::shared_ptr<const void> owner;  // keeps `series` and the strings it views alive
};

// ReadRange's answer to `plan` as an EdgeRead (its series in order of first use); kStoreFailed
// when a record's quantity does not fit int64 thousandths (no stored record's may).
Result<EdgeRead> EdgeReadOf(const RangeReadPlan& plan, RangeReadResult read);

// The Store port: everything costs keeps. Implementations: store/memory, store/sqlite (and
// store/postgres later). All must pass tests/store_contract/.
//
// Thread-safety: every method may be called from several threads at once.
// Errors: any failure of the underlying storage is kStoreFailed with a message fit for
// users (no SQL, no paths); details go to the log. Other codes are listed per method.
class Store {
 public:
  virtual ~Store() = default;

  // Creates the schema or brings it to the current version. Idempotent.
  virtual Status Migrate() = 0;

  // Fails with kAlreadyExists if the id is taken.
  virtual Status CreateOrganization(const Organization& org) = 0;
  // nullopt when there is no such organization.
  virtual Result<std::optional<Organization>> FindOrganization(std::string_view id) = 0;
  // Every organization, sorted by id.
  virtual Result<std::vector<Organization>> ListOrganizations() = 0;

  // Creates the user or replaces it (password hash, admin flag and memberships) whole. When the
  // password hash changes, the user's sessions are deleted in the same transaction (a password
  // reset signs the user out everywhere).
  // Fails with kOrganizationNotFound (fields ["organizations"]) if a listed org does not exist.
  virtual Status PutUser(const User& user) = 0;
  virtual Result<std::optional<User>> FindUser(std::string_view name) = 0;

  // Stores a batch atomically and durably (committed to stable storage before returning).
  // For each record: a new id is stored; an id already stored (or earlier in the batch) with
  // equal content is a duplicate and skipped; an id stored with other content fails the
  // whole batch with kConflict, fields naming every such record as "records[i].id" (i = index
  // in `records`). Every record's organization must exist, else kOrganizationNotFound with
  // fields "records[i].organization_id". A deployment is registered by its first record; the
  // latest stored record's deployment_name (in batch order) becomes its name. Hourly and daily
  // rollups of every stored record are updated in the same transaction. On failure nothing
  // of the batch is stored.
  virtual Result<IngestOutcome> Ingest(std::span<const domain::UsageRecord> records) = 0;

  // Begins one atomic ingest fed in parts (IngestTransaction), for a batch too large to hold
  // at once. The default keeps a copy of every part and calls Ingest once at Commit; a store
  // that can keeps one transaction open instead and stores each part as it comes, so that
  // memory is bounded by a part. Fails with kStoreFailed.
  virtual Result<std::unique_ptr<IngestTransaction>> BeginIngest();

  // Rollup rows of `org` with period_start in [from, to), at the given grain, every stored
  // cell (each records usage, even when its cost nets to zero), in no particular order.
  // from/to are aligned to the grain.
  virtual Result<std::vector<RollupRow>> ReadRollups(std::string_view org, domain::RollupGrain grain,
                                                     domain::Instant from, domain::Instant to) = 0;

  // Usage records of `org` whose period overlaps [from, to) (start < to and end > from).
  // Used only for the partial hours at the edges of a range, so [from, to) is under an hour.
  // An empty window (from == to) overlaps nothing.
  virtual Result<std::vector<domain::UsageRecord>> ReadUsageOverlapping(std::string_view org, domain::Instant from,
                                                                        domain::Instant to) = 0;

  // Deployments of `org` that have usage, sorted by id.
  virtual Result<std::vector<Deployment>> ListDeployments(std::string_view org) = 0;

  // API keys. CreateApiKey: kAlreadyExists if the id is taken, kNotFound (fields ["user"]) if
  // the user does not exist. FindApiKey: nullopt when there is none. RevokeApiKey: marks it
  // revoked (idempotent); kNotFound if there is no such key.
  virtual Status CreateApiKey(const ApiKey& key) = 0;
  virtual Result<std::optional<ApiKey>> FindApiKey(std::string_view id) = 0;
  virtual Status RevokeApiKey(std::string_view id) = 0;

  // Prepaid credits. AddCredit: the organization must exist (kOrganizationNotFound); an id
  // already used by the organization is kAlreadyExists (fields ["id"]) unless the credit is
  // identical (then a no-op: re-sending is safe).
  virtual Status AddCredit(const Credit& credit) = 0;

  // Sessions (by id_digest). CreateSession: kAlreadyExists if the digest is taken.
  // FindSession: nullopt when there is none. TouchSession: sets last_used to `last_used` when
  // that is later than the stored one; a missing session is no error; it may fail (kStoreFailed)
  // rather than wait while the store is busy with another write (SessionService skips it).
  // DeleteSession: removes it, idempotent. DeleteExpiredSessions: removes every session with
  // last_used <= idle_cutoff or created <= absolute_cutoff and returns how many. None of them is
  // cached in a process: every replica sharing the store sees a change at once.
  virtual Status CreateSession(const Session& session) = 0;
  virtual Result<std::optional<Session>> FindSession(std::string_view id_digest) = 0;
  virtual Status TouchSession(std::string_view id_digest, domain::Instant last_used) = 0;
  virtual Status DeleteSession(std::string_view id_digest) = 0;
  virtual Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) = 0;

  // A number that changes whenever anything a read of `org` can return changes: it moves on
  // every ingest that stores a record of the org and on every AddCredit that adds one of its
  // credits (in the same transaction), never back. 0 for an org that has neither (or does not
  // exist). Read it BEFORE reading data for a cache key: data read afterwards is at least as
  // new as the version.
  virtual Result<std::int64_t> DataVersion(std::string_view org) = 0;

  // DataVersion as this process holds it in memory, when it does and it is what DataVersion
  // would answer now; nullopt whenever DataVersion would have to ask the database. Never blocks
  // on I/O (it may take a short in-memory lock), so an I/O thread may call it. By default the
  // store holds nothing.
  virtual std::optional<std::int64_t> HeldDataVersion(std::string_view /*org*/) { return std::nullopt; }

  // Everything `plan` asks for, read from ONE snapshot of the data (one read transaction,
  // or one lock): an ingest committing meanwhile is either wholly in the result or not at all.
  // Equivalent to ReadUsageOverlapping per raw window, ReadRollups per rollup window and
  // ListDeployments, but never torn.
  virtual Result<RangeReadResult> ReadRange(std::string_view org, const RangeReadPlan& plan) = 0;

  // ReadRange's raw windows, hourly and daily rollups and version for `plan`, as an EdgeRead:
  // the same records (in any order) and the same rollups (an hourly window's summed per day
  // and series), from one snapshot, without a copy of each one's strings (what a chart's
  // partial edges read on every request). The rest of the plan
  // (deployments, items, credits, ...) is not read. By default ReadRange, converted
  // (EdgeReadOf); a store that can reads its series once instead.
  virtual Result<EdgeRead> ReadEdges(std::string_view org, const RangeReadPlan& plan);

  // For verification: checks the store's index of usage ids (what makes a re-sent record a
  // duplicate) against the stored records, in one snapshot: every stored record must be found
  // by its id, and the index must name nothing else. One line per problem (at most about 100),
  // none when sound. A store whose records are their own index has nothing to check.
  virtual Result<std::vector<std::string>> VerifyIdIndex() = 0;
};

// Whether organization `id` exists in `store` (Store::FindOrganization's answer as a bool).
inline Result<bool> OrganizationExistsIn(Store& store, std::string_view id) {
  auto found = store.FindOrganization(id);
  if (!found) return std::move(found).error();
  return found->has_value();
}

// IngestTransaction as Store::BeginIngest's default: every part copied, one Ingest at Commit.
class BufferedIngestTransaction final : public IngestTransaction {
 public:
  explicit BufferedIngestTransaction(Store& store) : store_(store) {}
  Status Add(std::span<const domain::UsageRecord> records) override {
    records_.insert(records_.end(), records.begin(), records.end());
    return {};
  }
  Result<IngestOutcome> Commit() override { return store_.Ingest(records_); }
  Result<bool> OrganizationExists(std::string_view id) override { return OrganizationExistsIn(store_, id); }

 private:
  Store& store_;
  std::vector<domain::UsageRecord> records_;
};

inline Result<std::unique_ptr<IngestTransaction>> Store::BeginIngest() {
  return std::unique_ptr<IngestTransaction>(std::make_unique<BufferedIngestTransaction>(*this));
}

inline Result<EdgeRead> Store::ReadEdges(std::string_view org, const RangeReadPlan& plan) {
  RangeReadPlan edges;
  edges.raw = plan.raw;
  edges.hourly = plan.hourly;
  edges.daily = plan.daily;
  auto read = ReadRange(org, edges);
  if (!read) return std::move(read).error();
  return EdgeReadOf(plan, std::move(*read));
}

}  // namespace costs::service
