// The contract every service::Store must meet (service/store.hpp), run as one typed suite
// against each adapter. The tests of one adapter alone sit beside it (src/store/*/).

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "contract_support.hpp"
#include "domain/money.hpp"
#include "domain/proration.hpp"
#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "pg_environment.hpp"
#include "service/ingest_delta.hpp"
#include "service/store.hpp"
#include "service/store_verify.hpp"
#include "store/memory/memory_store.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs {
namespace {

using store::memory::MemoryStore;
using store::postgres::PostgresStore;
using store::sqlite::SqliteStore;

using namespace store_testing;  // NOLINT(google-build-using-namespace): test helpers

// ---- The typed contract suite --------------------------------------------------------------

template <class S>
struct StoreFactory;

template <>
struct StoreFactory<MemoryStore> {
  static std::unique_ptr<Store> Make(const fs::path&) { return std::make_unique<MemoryStore>(); }
};

template <>
struct StoreFactory<SqliteStore> {
  static std::unique_ptr<Store> Make(const fs::path& dir) {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open((dir / "costs.db").string());
    if (!opened) {
      ADD_FAILURE() << "SqliteStore::Open: " << Describe(opened.error());
      return nullptr;
    }
    return std::move(*opened);
  }
};

// Registered before main() runs the tests, so that its TearDown stops the cluster.
[[maybe_unused]] PgEnvironment& kPgEnvironment = PgEnvironment::Get();

template <>
struct StoreFactory<PostgresStore> {
  static std::unique_ptr<Store> Make(const fs::path&) {
    Result<std::string> url = PgEnvironment::Get().FreshSchemaUrl();
    if (!url) {
      ADD_FAILURE() << Describe(url.error());
      return nullptr;
    }
    // A statement timeout: a test that hangs on a lock fails instead.
    Result<std::unique_ptr<PostgresStore>> opened =
        PostgresStore::Open(*url, {.pool_size = 8, .statement_timeout_ms = 20000});
    if (!opened) {
      ADD_FAILURE() << "PostgresStore::Open: " << Describe(opened.error());
      return nullptr;
    }
    return std::move(*opened);
  }
};

template <class S>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = StoreFactory<S>::Make(dir_.path());
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->Migrate());
    ASSERT_TRUE(store_->CreateOrganization(Organization{"org-a", "Org A"}));
    ASSERT_TRUE(store_->CreateOrganization(Organization{"org-b", "Org B"}));
  }

  Store& store() { return *store_; }

  IngestOutcome MustIngest(const std::vector<UsageRecord>& records) {
    Result<IngestOutcome> outcome = store_->Ingest(records);
    EXPECT_TRUE(outcome.has_value()) << (outcome ? "" : Describe(outcome.error()));
    return outcome ? *outcome : IngestOutcome{-1, -1};
  }

  std::vector<RollupRow> MustReadRollups(std::string_view org, RollupGrain grain, Instant from, Instant to) {
    Result<std::vector<RollupRow>> rows = store_->ReadRollups(org, grain, from, to);
    EXPECT_TRUE(rows.has_value()) << (rows ? "" : Describe(rows.error()));
    return rows ? Sorted(*rows) : std::vector<RollupRow>{};
  }

  std::vector<UsageRecord> MustReadUsage(std::string_view org, Instant from, Instant to) {
    Result<std::vector<UsageRecord>> records = store_->ReadUsageOverlapping(org, from, to);
    EXPECT_TRUE(records.has_value()) << (records ? "" : Describe(records.error()));
    return records ? SortedById(*records) : std::vector<UsageRecord>{};
  }

  std::vector<Deployment> MustListDeployments(std::string_view org) {
    Result<std::vector<Deployment>> deployments = store_->ListDeployments(org);
    EXPECT_TRUE(deployments.has_value()) << (deployments ? "" : Describe(deployments.error()));
    return deployments ? *deployments : std::vector<Deployment>{};
  }

  RangeReadResult MustReadRange(std::string_view org, const RangeReadPlan& plan) {
    Result<RangeReadResult> result = store_->ReadRange(org, plan);
    EXPECT_TRUE(result.has_value()) << (result ? "" : Describe(result.error()));
    return result ? *result : RangeReadResult{};
  }

  // Expects ReadRange(org, plan) to equal the single reads the plan stands for: per raw window
  // ReadUsageOverlapping (same order), the rollups of every window (as a multiset) and
  // ListDeployments.
  void ExpectReadRangeEqualsSingleReads(std::string_view org, const RangeReadPlan& plan) {
    const RangeReadResult got = MustReadRange(org, plan);
    ASSERT_EQ(got.raw.size(), plan.raw.size()) << "one result per raw window";
    for (std::size_t i = 0; i < plan.raw.size(); ++i) {
      Result<std::vector<UsageRecord>> single = store_->ReadUsageOverlapping(org, plan.raw[i].from, plan.raw[i].to);
      ASSERT_TRUE(single.has_value());
      EXPECT_EQ(got.raw[i], *single) << "raw window " << i;
    }
    std::vector<RollupRow> rollups;
    for (const TimeRange& w : plan.hourly) {
      for (RollupRow& row : MustReadRollups(org, RollupGrain::kHour, w.from, w.to)) rollups.push_back(std::move(row));
    }
    for (const TimeRange& w : plan.daily) {
      for (RollupRow& row : MustReadRollups(org, RollupGrain::kDay, w.from, w.to)) rollups.push_back(std::move(row));
    }
    EXPECT_EQ(Sorted(got.rollups), Sorted(rollups));
    EXPECT_EQ(got.deployments, MustListDeployments(org));
    if (plan.latest_capacity) {
      EXPECT_EQ(got.latest_capacity,
                ExpectedLatestCapacity(
                    MustReadRollups(org, RollupGrain::kHour, plan.latest_capacity->from, plan.latest_capacity->to)));
    } else {
      EXPECT_TRUE(got.latest_capacity.empty()) << "no latest capacity unless the plan asks for it";
    }
    if (!plan.items) {
      EXPECT_TRUE(got.items.empty()) << "no items unless the plan asks for them";
    }
    if (!plan.credits) {
      EXPECT_TRUE(got.credits.empty()) << "no credits unless the plan asks for them";
    }
  }

  // ReadRange(org) with only `items` or `credits` set.
  std::vector<ItemInfo> MustReadItems(std::string_view org) {
    RangeReadPlan plan;
    plan.items = true;
    return MustReadRange(org, plan).items;
  }
  // ReadRange(org) with only `rates` set.
  std::vector<domain::Decimal> MustReadRates(std::string_view org) {
    RangeReadPlan plan;
    plan.rates = true;
    return MustReadRange(org, plan).rates;
  }
  std::vector<Credit> MustReadCredits(std::string_view org) {
    RangeReadPlan plan;
    plan.credits = true;
    return MustReadRange(org, plan).credits;
  }

  // The parts through one BeginIngest transaction, committed: as Ingest of their concatenation.
  Result<IngestOutcome> IngestInParts(const std::vector<std::vector<UsageRecord>>& parts) {
    Result<std::unique_ptr<IngestTransaction>> transaction = store_->BeginIngest();
    if (!transaction) return std::move(transaction).error();
    for (const std::vector<UsageRecord>& part : parts) {
      if (Status s = (*transaction)->Add(part); !s) return std::move(s).error();
    }
    return (*transaction)->Commit();
  }
  IngestOutcome MustIngestInParts(const std::vector<std::vector<UsageRecord>>& parts) {
    Result<IngestOutcome> outcome = IngestInParts(parts);
    EXPECT_TRUE(outcome.has_value()) << (outcome ? "" : Describe(outcome.error()));
    return outcome ? *outcome : IngestOutcome{-1, -1};
  }

  std::int64_t MustDataVersion(std::string_view org) {
    Result<std::int64_t> version = store_->DataVersion(org);
    EXPECT_TRUE(version.has_value()) << (version ? "" : Describe(version.error()));
    return version ? *version : -1;
  }

  // Nothing of org-a's usage, rollups or deployments is stored (after a failed batch).
  void ExpectOrgEmpty(std::string_view org) {
    const Instant from = At("2000-01-01T00:00:00Z");
    const Instant to = At("2100-01-01T00:00:00Z");
    EXPECT_TRUE(MustReadUsage(org, from, to).empty());
    EXPECT_TRUE(MustReadRollups(org, RollupGrain::kHour, from, to).empty());
    EXPECT_TRUE(MustReadRollups(org, RollupGrain::kDay, from, to).empty());
    EXPECT_TRUE(MustListDeployments(org).empty());
  }

  TempDir dir_;  // declared first: outlives the store
  std::unique_ptr<Store> store_;
};

struct StoreNames {
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, MemoryStore>) return "Memory";
    if constexpr (std::is_same_v<T, PostgresStore>) return "Postgres";
    return "Sqlite";
  }
};

using StoreTypes = ::testing::Types<MemoryStore, SqliteStore, PostgresStore>;
TYPED_TEST_SUITE(StoreContractTest, StoreTypes, StoreNames);

TYPED_TEST(StoreContractTest, MigrateTwiceIsIdempotentAndKeepsData) {
  ASSERT_TRUE(this->store().Migrate());
  ASSERT_TRUE(this->store().Migrate());
  Result<std::optional<Organization>> org = this->store().FindOrganization("org-a");
  ASSERT_TRUE(org.has_value());
  EXPECT_EQ(*org, std::optional<Organization>(Organization{"org-a", "Org A"}));
}

TYPED_TEST(StoreContractTest, CreateOrganizationThenFindIt) {
  ASSERT_TRUE(this->store().CreateOrganization(Organization{"org-c", "Ünïcode Org"}));
  Result<std::optional<Organization>> org = this->store().FindOrganization("org-c");
  ASSERT_TRUE(org.has_value());
  EXPECT_EQ(*org, std::optional<Organization>(Organization{"org-c", "Ünïcode Org"}));
}

TYPED_TEST(StoreContractTest, CreateOrganizationTwiceIsAlreadyExists) {
  ExpectError(this->store().CreateOrganization(Organization{"org-a", "Another name"}), ErrorCode::kAlreadyExists);
  Result<std::optional<Organization>> org = this->store().FindOrganization("org-a");
  ASSERT_TRUE(org.has_value());
  ASSERT_TRUE(org->has_value());
  EXPECT_EQ((*org)->name, "Org A") << "a failed create must not rename the organization";
}

TYPED_TEST(StoreContractTest, FindMissingOrganizationIsNullopt) {
  Result<std::optional<Organization>> org = this->store().FindOrganization("no-such-org");
  ASSERT_TRUE(org.has_value());
  EXPECT_FALSE(org->has_value());
  Result<std::optional<Organization>> empty = this->store().FindOrganization("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->has_value());
}

TYPED_TEST(StoreContractTest, PutUserCreatesWithSortedUniqueMemberships) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", false, {"org-b", "org-a", "org-b"}}));
  Result<std::optional<User>> user = this->store().FindUser("alice");
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, std::optional<User>(User{"alice", "hash-1", false, {"org-a", "org-b"}}));
}

TYPED_TEST(StoreContractTest, PutUserReplacesTheWholeUser) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", false, {"org-a", "org-b"}}));
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-2", true, {"org-b"}}));
  Result<std::optional<User>> user = this->store().FindUser("alice");
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, std::optional<User>(User{"alice", "hash-2", true, {"org-b"}}));

  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-3", false, {}}));
  user = this->store().FindUser("alice");
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(*user, std::optional<User>(User{"alice", "hash-3", false, {}}));
}

TYPED_TEST(StoreContractTest, FindMissingUserIsNullopt) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", false, {}}));
  Result<std::optional<User>> user = this->store().FindUser("bob");
  ASSERT_TRUE(user.has_value());
  EXPECT_FALSE(user->has_value());
}

TYPED_TEST(StoreContractTest, PutUserWithUnknownOrganizationChangesNothing) {
  const std::vector<std::string> fields = {"organizations"};
  ExpectError(this->store().PutUser(User{"bob", "hash", false, {"org-a", "no-such-org"}}),
              ErrorCode::kOrganizationNotFound, &fields);
  Result<std::optional<User>> bob = this->store().FindUser("bob");
  ASSERT_TRUE(bob.has_value());
  EXPECT_FALSE(bob->has_value()) << "a failed PutUser must not create the user";

  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", false, {"org-a"}}));
  ExpectError(this->store().PutUser(User{"alice", "hash-2", true, {"no-such-org"}}), ErrorCode::kOrganizationNotFound,
              &fields);
  Result<std::optional<User>> alice = this->store().FindUser("alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(*alice, std::optional<User>(User{"alice", "hash-1", false, {"org-a"}}))
      << "a failed PutUser must leave the existing user as it was";
}

TYPED_TEST(StoreContractTest, IngestEmptyBatchStoresNothing) { EXPECT_EQ(this->MustIngest({}), (IngestOutcome{0, 0})); }

TYPED_TEST(StoreContractTest, IngestStoresRecordsAndCountsDuplicates) {
  const std::vector<UsageRecord> first = {
      Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      Record("u2", "org-a", "d1", Instant{kDay1.ns + domain::kNsPerHour}, Instant{kDay1.ns + 2 * domain::kNsPerHour}),
      Record("u3", "org-a", "d2", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
  };
  EXPECT_EQ(this->MustIngest(first), (IngestOutcome{3, 0}));

  std::vector<UsageRecord> again = first;
  again.push_back(Record("u4", "org-a", "d2", kDay1, Instant{kDay1.ns + domain::kNsPerHour}, "1", "0.5"));
  EXPECT_EQ(this->MustIngest(again), (IngestOutcome{1, 3}));
  EXPECT_EQ(this->MustIngest(first), (IngestOutcome{0, 3}));

  // Duplicates change no rollup: every hour holds each record once.
  const std::vector<UsageRecord> all = again;
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}),
            ExpectedRollups(all, RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}));
  EXPECT_EQ(this->MustReadUsage("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerDay}), SortedById(all));
}

TYPED_TEST(StoreContractTest, IngestRoundTripsEveryFieldExactly) {
  UsageRecord capacity = Record("u-cap", "org-a", "d1", At("2026-11-01T00:00:00.123456789Z"),
                                At("2026-11-01T00:59:59.5Z"), "-1.5", "0.0913");
  capacity.deployment_name = "search-prod ✓";
  capacity.kind = domain::ResourceKind::kIntegrationsServer;
  capacity.instance_count = 0;
  capacity.trial = true;
  capacity.sku = "";

  // Exponent input is stored canonical ("0.000000001", "200") and reads back equal.
  UsageRecord data_out = Record("u-out", "org-a", "d1", kDay1, At("2026-11-02T00:00:00Z"), "1e-9", "2E+2");
  data_out.dimension = Dimension::kDataOut;
  data_out.kind = std::nullopt;
  data_out.unit = "GB";

  EXPECT_EQ(this->MustIngest({capacity, data_out}), (IngestOutcome{2, 0}));
  EXPECT_EQ(this->MustReadUsage("org-a", kDay1, At("2026-11-01T01:00:00Z")), SortedById({capacity, data_out}));
  // Re-sending them is a duplicate: the stored content compares equal field by field.
  EXPECT_EQ(this->MustIngest({data_out, capacity}), (IngestOutcome{0, 2}));
}

TYPED_TEST(StoreContractTest, IngestConflictFailsTheWholeBatch) {
  const UsageRecord stored = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  ASSERT_EQ(this->MustIngest({stored}), (IngestOutcome{1, 0}));

  UsageRecord other_rate = stored;
  other_rate.rate = Dec("0.0914");
  other_rate.cost_nanos += 200'000;
  UsageRecord other_name = stored;
  other_name.deployment_name = "renamed";
  const std::vector<UsageRecord> batch = {
      Record("u2", "org-a", "d9", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      other_rate,
      stored,  // a duplicate does not save the batch
      other_name,
  };
  const std::vector<std::string> fields = {"records[1].id", "records[3].id"};
  ExpectError(this->store().Ingest(batch), ErrorCode::kConflict, &fields);

  const Instant to{kDay1.ns + domain::kNsPerDay};
  EXPECT_EQ(Ids(this->MustReadUsage("org-a", kDay1, to)), std::vector<std::string>{"u1"});
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, to),
            ExpectedRollups({stored}, RollupGrain::kHour, kDay1, to));
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, to),
            ExpectedRollups({stored}, RollupGrain::kDay, kDay1, to));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "d1-name"}}));
}

TYPED_TEST(StoreContractTest, DuplicateWithinOneBatchIsCountedOnce) {
  const UsageRecord r = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  EXPECT_EQ(this->MustIngest({r, r, r}), (IngestOutcome{1, 2}));
  const std::vector<RollupRow> day =
      this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, Instant{kDay1.ns + domain::kNsPerDay});
  EXPECT_EQ(Costs(day), (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, r.cost_nanos}}));
  EXPECT_EQ(day, ExpectedRollups({r}, RollupGrain::kDay, kDay1, Instant{kDay1.ns + domain::kNsPerDay}));
}

TYPED_TEST(StoreContractTest, ConflictWithinOneBatchStoresNothing) {
  const UsageRecord r = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  UsageRecord changed = r;
  changed.end = Instant{r.end.ns + 1};
  const std::vector<std::string> fields = {"records[2].id"};
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{
                  r, Record("u2", "org-a", "d2", kDay1, Instant{kDay1.ns + domain::kNsPerHour}), changed}),
              ErrorCode::kConflict, &fields);
  this->ExpectOrgEmpty("org-a");
}

TYPED_TEST(StoreContractTest, UnknownOrganizationFailsTheBatchNamingEveryRecord) {
  const std::vector<UsageRecord> batch = {
      Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      Record("u2", "no-such-org", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      Record("u3", "org-b", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      Record("u4", "no-such-org", "d2", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
      Record("u5", "other-missing", "d2", kDay1, Instant{kDay1.ns + domain::kNsPerHour}),
  };
  const std::vector<std::string> fields = {"records[1].organization_id", "records[3].organization_id",
                                           "records[4].organization_id"};
  ExpectError(this->store().Ingest(batch), ErrorCode::kOrganizationNotFound, &fields);
  this->ExpectOrgEmpty("org-a");
  this->ExpectOrgEmpty("org-b");
  this->ExpectOrgEmpty("no-such-org");
}

// More than 100 records in error: the first 100 are named, and the message counts them all
// (DESIGN.md: "at most the first 100 problem fields, and the message says how many more"), so
// that neither the store's error nor a 409/400 body grows with the batch.
constexpr std::int64_t kMinute = 60 * domain::kNsPerSecond;

std::vector<std::string> FirstFields(std::size_t n, const char* field) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("records[" + std::to_string(i) + "]." + field);
  return out;
}

// 150 records u0..u149 of `org`, a minute each from kDay1.
std::vector<UsageRecord> ManyRecords(const char* org) {
  std::vector<UsageRecord> out;
  for (int i = 0; i < 150; ++i) {
    const Instant start{kDay1.ns + i * kMinute};
    out.push_back(Record("u" + std::to_string(i), org, "d1", start, Instant{start.ns + kMinute}));
  }
  return out;
}

// `batch` in two parts, for BeginIngest.
std::vector<std::vector<UsageRecord>> InTwoParts(const std::vector<UsageRecord>& batch) {
  return {std::vector<UsageRecord>(batch.begin(), batch.begin() + 80),
          std::vector<UsageRecord>(batch.begin() + 80, batch.end())};
}

// Each of `failed` (a 150-record batch, whole and in parts) is `code`, naming `field` of its first
// 100 records and counting all 150.
void ExpectFirstHundredOfEvery(std::initializer_list<Result<IngestOutcome>> failed, ErrorCode code, const char* field) {
  const std::vector<std::string> fields = FirstFields(100, field);
  for (const Result<IngestOutcome>& f : failed) {
    ExpectError(f, code, &fields);
    if (!f) {
      EXPECT_NE(f.error().message.find("150"), std::string::npos) << f.error().message;
    }
  }
}

TYPED_TEST(StoreContractTest, ManyConflictsNameTheFirstHundredAndCountEvery) {
  const std::vector<UsageRecord> stored = ManyRecords("org-a");
  ASSERT_EQ(this->MustIngest(stored), (IngestOutcome{150, 0}));
  std::vector<UsageRecord> changed = stored;
  for (UsageRecord& r : changed) r.deployment_name = "renamed";
  ExpectFirstHundredOfEvery({this->store().Ingest(changed), this->IngestInParts(InTwoParts(changed))},
                            ErrorCode::kConflict, "id");
}

TYPED_TEST(StoreContractTest, ManyRecordsOfUnknownOrganizationsNameTheFirstHundredAndCountEvery) {
  const std::vector<UsageRecord> batch = ManyRecords("no-such-org");
  ExpectFirstHundredOfEvery({this->store().Ingest(batch), this->IngestInParts(InTwoParts(batch))},
                            ErrorCode::kOrganizationNotFound, "organization_id");
}

TYPED_TEST(StoreContractTest, RollupOverflowFailsTheBatchAndStoresNothing) {
  const Nanos big = std::numeric_limits<Nanos>::max() / 4 * 3;
  UsageRecord a = Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  a.cost_nanos = big;
  UsageRecord b = Record("u2", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  b.cost_nanos = big;
  // Both in one batch: the in-batch sum leaves int64.
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{a, b}), ErrorCode::kInvalidData);
  this->ExpectOrgEmpty("org-a");
  // In two parts of one batch (BeginIngest): the sum over the parts leaves int64.
  ExpectError(this->IngestInParts({{a}, {b}}), ErrorCode::kInvalidData);
  this->ExpectOrgEmpty("org-a");
  // One stored, the other later: the stored sum would leave int64.
  ASSERT_EQ(this->MustIngest({a}), (IngestOutcome{1, 0}));
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{b}), ErrorCode::kInvalidData);
  EXPECT_EQ(Ids(this->MustReadUsage("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerHour})),
            std::vector<std::string>{"u1"});
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay})),
            (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, big}}));
}

TYPED_TEST(StoreContractTest, EdgeReadsCutAPartialDaysSumWhereItWouldLeaveInt64) {
  // Hours of one series whose day fits int64 (a correction takes most of it back) but whose
  // first two hours summed do not.
  const Nanos big = std::numeric_limits<Nanos>::max() / 4 * 3;
  const std::int64_t h = domain::kNsPerHour;
  std::vector<UsageRecord> records;
  for (const Nanos cost : {big, big, -big}) {
    const std::int64_t hour = static_cast<std::int64_t>(records.size());
    UsageRecord r = Record("u" + std::to_string(hour), "org-a", "d1", Instant{kDay1.ns + hour * h},
                           Instant{kDay1.ns + (hour + 1) * h});
    r.cost_nanos = cost;
    records.push_back(r);
  }
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{3, 0}));
  RangeReadPlan plan;
  plan.hourly = {{kDay1, Instant{kDay1.ns + 3 * h}}};
  Result<service::EdgeRead> read = this->store().ReadEdges("org-a", plan);
  ASSERT_TRUE(read) << Describe(read.error());
  std::vector<std::pair<std::int64_t, Nanos>> rows;  // (hours after kDay1, cost)
  for (const service::EdgeRow& row : read->rollups) rows.emplace_back((row.period_start.ns - kDay1.ns) / h, row.cost);
  EXPECT_EQ(rows, (std::vector<std::pair<std::int64_t, Nanos>>{{0, big}, {1, 0}}));
}

TYPED_TEST(StoreContractTest, QuantityOverflowFailsTheBatchAndStoresNothing) {
  // 5e15 units = 5e18 thousandths each (rate 0, so no cost): their sum leaves int64.
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord a = Record("u1", "org-a", "d1", kDay1, end, "5000000000000000", "0");
  const UsageRecord b = Record("u2", "org-a", "d1", kDay1, end, "5000000000000000", "0");
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{a, b}), ErrorCode::kInvalidData);
  this->ExpectOrgEmpty("org-a");
  ASSERT_EQ(this->MustIngest({a}), (IngestOutcome{1, 0}));
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{b}), ErrorCode::kInvalidData);
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}),
            ExpectedRollups({a}, RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay}));
}

// ---- One batch in parts (Store::BeginIngest) ----------------------------------------------------

std::vector<UsageRecord> Concatenated(const std::vector<std::vector<UsageRecord>>& parts) {
  std::vector<UsageRecord> all;
  for (const std::vector<UsageRecord>& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

TYPED_TEST(StoreContractTest, IngestInPartsIsOneBatchWithDuplicatesAcrossParts) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord stored = Record("u0", "org-a", "d1", kDay1, end);
  ASSERT_EQ(this->MustIngest({stored}), (IngestOutcome{1, 0}));
  const UsageRecord a = Record("u1", "org-a", "d1", kDay1, end, "2", "0.5");
  const UsageRecord b = Record("u2", "org-b", "d2", kDay1, end);
  UsageRecord c = Record("u3", "org-a", "d1", end, Instant{end.ns + domain::kNsPerHour});
  c.deployment_name = "renamed";  // the latest name, from the last part
  const std::vector<std::vector<UsageRecord>> parts = {{a, b}, {stored, a, c}, {b}};

  Result<std::unique_ptr<IngestTransaction>> transaction = this->store().BeginIngest();
  ASSERT_TRUE(transaction) << Describe(transaction.error());
  for (const auto& part : parts) ASSERT_TRUE((*transaction)->Add(part));
  EXPECT_EQ(Ids(this->MustReadUsage("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerDay})),
            std::vector<std::string>{"u0"})
      << "nothing of the parts is visible before Commit";
  Result<IngestOutcome> outcome = (*transaction)->Commit();
  ASSERT_TRUE(outcome) << Describe(outcome.error());
  EXPECT_EQ(*outcome, (IngestOutcome{3, 3})) << "u1, u2, u3 new; u0, u1 and u2 again duplicates";
  transaction->reset();

  const Instant day_end{kDay1.ns + domain::kNsPerDay};
  const std::vector<UsageRecord> org_a = {stored, a, c};
  EXPECT_EQ(this->MustReadUsage("org-a", kDay1, day_end), SortedById(org_a));
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, day_end),
            ExpectedRollups(org_a, RollupGrain::kHour, kDay1, day_end));
  EXPECT_EQ(this->MustReadRollups("org-b", RollupGrain::kDay, kDay1, day_end),
            ExpectedRollups({b}, RollupGrain::kDay, kDay1, day_end));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "renamed"}}));
  RangeReadPlan plan;
  plan.usage = true;
  Result<RangeReadResult> read = this->store().ReadRange("org-a", plan);
  ASSERT_TRUE(read) << Describe(read.error());
  EXPECT_EQ(read->usage, org_a) << "plan.usage, in ingest order over the parts";
  // The same file again is all duplicates, as one Ingest of it says.
  EXPECT_EQ(this->MustIngestInParts(parts), this->MustIngest(Concatenated(parts)));
  EXPECT_EQ(this->MustIngestInParts(parts), (IngestOutcome{0, 6}));
}

TYPED_TEST(StoreContractTest, IngestInPartsConflictInALaterPartStoresNothing) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord stored = Record("u0", "org-a", "d1", kDay1, end);
  ASSERT_EQ(this->MustIngest({stored}), (IngestOutcome{1, 0}));
  const UsageRecord a = Record("u1", "org-a", "d2", kDay1, end);
  UsageRecord a_changed = a;  // conflicts with a record of an earlier part, not with a stored one
  a_changed.quantity = Dec("3");
  a_changed.cost_nanos *= 3;
  UsageRecord stored_changed = stored;
  stored_changed.deployment_name = "renamed";
  const std::vector<std::vector<UsageRecord>> parts = {{a, Record("u2", "org-b", "d3", kDay1, end)},
                                                       {Record("u3", "org-a", "d2", kDay1, end)},
                                                       {stored_changed, a, a_changed},
                                                       {Record("u4", "org-a", "d2", kDay1, end)}};
  const std::vector<std::string> fields = {"records[3].id", "records[5].id"};
  ExpectError(this->IngestInParts(parts), ErrorCode::kConflict, &fields);
  ExpectError(this->store().Ingest(Concatenated(parts)), ErrorCode::kConflict, &fields);
  const Instant day_end{kDay1.ns + domain::kNsPerDay};
  EXPECT_EQ(Ids(this->MustReadUsage("org-a", kDay1, day_end)), std::vector<std::string>{"u0"});
  EXPECT_EQ(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, day_end),
            ExpectedRollups({stored}, RollupGrain::kHour, kDay1, day_end));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "d1-name"}}));
  this->ExpectOrgEmpty("org-b");
  // The store takes the next batch (the transaction let go of everything).
  EXPECT_EQ(this->MustIngest({a}), (IngestOutcome{1, 0}));
}

TYPED_TEST(StoreContractTest, IngestInPartsUnknownOrganizationsOverEveryPartWin) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord stored = Record("u0", "org-a", "d1", kDay1, end);
  ASSERT_EQ(this->MustIngest({stored}), (IngestOutcome{1, 0}));
  UsageRecord stored_changed = stored;
  stored_changed.deployment_name = "renamed";
  const std::vector<std::vector<UsageRecord>> parts = {
      {stored_changed, Record("u1", "org-a", "d1", kDay1, end)},
      {Record("u2", "no-such-org", "d1", kDay1, end)},
      {Record("u3", "org-b", "d1", kDay1, end), Record("u4", "other-missing", "d1", kDay1, end)}};
  const std::vector<std::string> fields = {"records[2].organization_id", "records[4].organization_id"};
  ExpectError(this->IngestInParts(parts), ErrorCode::kOrganizationNotFound, &fields);
  ExpectError(this->store().Ingest(Concatenated(parts)), ErrorCode::kOrganizationNotFound, &fields);
  EXPECT_EQ(Ids(this->MustReadUsage("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerDay})),
            std::vector<std::string>{"u0"});
  this->ExpectOrgEmpty("org-b");
}

TYPED_TEST(StoreContractTest, IngestInPartsDroppedWithoutCommitStoresNothing) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  {
    Result<std::unique_ptr<IngestTransaction>> transaction = this->store().BeginIngest();
    ASSERT_TRUE(transaction) << Describe(transaction.error());
    ASSERT_TRUE((*transaction)->Add(std::vector<UsageRecord>{Record("u1", "org-a", "d1", kDay1, end)}));
    ASSERT_TRUE((*transaction)->Add(std::vector<UsageRecord>{Record("u2", "org-b", "d1", kDay1, end)}));
  }
  this->ExpectOrgEmpty("org-a");
  this->ExpectOrgEmpty("org-b");
  EXPECT_EQ(this->MustDataVersion("org-a"), 0);
  // Nothing is held afterwards: the same records go in as a new batch.
  EXPECT_EQ(this->MustIngestInParts({{Record("u1", "org-a", "d1", kDay1, end)}, {}}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustIngestInParts({}), (IngestOutcome{0, 0})) << "no parts: nothing to store";
}

TYPED_TEST(StoreContractTest, DeploymentTakesTheLatestStoredName) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  UsageRecord alpha = Record("u1", "org-a", "d1", kDay1, end);
  alpha.deployment_name = "alpha";
  ASSERT_EQ(this->MustIngest({alpha}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "alpha"}}));

  UsageRecord beta = Record("u2", "org-a", "d1", kDay1, end);
  beta.deployment_name = "beta";
  UsageRecord gamma = Record("u3", "org-a", "d1", At("2026-10-01T00:00:00Z"), At("2026-10-01T01:00:00Z"));
  gamma.deployment_name = "gamma";  // later in the batch wins, whatever its period
  ASSERT_EQ(this->MustIngest({beta, gamma}), (IngestOutcome{2, 0}));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "gamma"}}));

  // A duplicate is not stored again, so it renames nothing.
  ASSERT_EQ(this->MustIngest({beta}), (IngestOutcome{0, 1}));
  EXPECT_EQ(this->MustListDeployments("org-a"), (std::vector<Deployment>{{"d1", "gamma"}}));
}

TYPED_TEST(StoreContractTest, ListDeploymentsIsSortedAndPerOrganization) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  ASSERT_EQ(this->MustIngest({Record("u1", "org-a", "d3", kDay1, end), Record("u2", "org-a", "d1", kDay1, end),
                              Record("u3", "org-b", "d0", kDay1, end), Record("u4", "org-a", "d2", kDay1, end),
                              Record("u5", "org-a", "d1", kDay1, end)}),
            (IngestOutcome{5, 0}));
  EXPECT_EQ(this->MustListDeployments("org-a"),
            (std::vector<Deployment>{{"d1", "d1-name"}, {"d2", "d2-name"}, {"d3", "d3-name"}}));
  EXPECT_EQ(this->MustListDeployments("org-b"), (std::vector<Deployment>{{"d0", "d0-name"}}));
  EXPECT_TRUE(this->MustListDeployments("no-such-org").empty());
}

TYPED_TEST(StoreContractTest, RollupsEqualProrationAcrossHourAndDayBoundaries) {
  std::vector<UsageRecord> records = {
      // 00:30 -> 02:15: parts in three hours.
      Record("u1", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"), "7", "0.333333333"),
      // Across midnight: parts in two days.
      Record("u2", "org-a", "d1", At("2026-11-01T23:10:00Z"), At("2026-11-02T01:20:00Z"), "3", "1.000000007"),
      // 40 days long, overlapping everything.
      Record("u3", "org-a", "d2", At("2026-10-05T13:17:11Z"), At("2026-11-14T13:17:11Z"), "960", "0.0913"),
      // A correction: negative quantity.
      Record("u4", "org-a", "d1", At("2026-11-01T01:45:00Z"), At("2026-11-01T03:05:00Z"), "-2", "0.4"),
  };
  UsageRecord data_in =
      Record("u5", "org-a", "d1", At("2026-11-01T00:00:01Z"), At("2026-11-01T00:59:59Z"), "5", "0.01");
  data_in.dimension = Dimension::kDataIn;
  data_in.kind = std::nullopt;
  records.push_back(data_in);
  // Split over two batches: rollups add up across batches.
  ASSERT_EQ(this->MustIngest({records[0], records[1]}), (IngestOutcome{2, 0}));
  ASSERT_EQ(this->MustIngest({records[2], records[3], records[4]}), (IngestOutcome{3, 0}));

  const Instant from = At("2026-10-01T00:00:00Z");
  const Instant to = At("2026-12-01T00:00:00Z");
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    const std::vector<RollupRow> expected = ExpectedRollups(records, grain, from, to);
    const std::vector<RollupRow> actual = this->MustReadRollups("org-a", grain, from, to);
    EXPECT_EQ(actual, expected) << (grain == RollupGrain::kHour ? "hourly" : "daily");
    // No money lost or invented: the cells sum to the records' costs, per deployment.
    std::map<std::string, WideNanos> by_deployment;
    for (const RollupRow& row : actual) by_deployment[row.deployment_id] += row.cost;
    WideNanos d1 = 0;
    for (const UsageRecord& r : records) {
      if (r.deployment_id == "d1") d1 += r.cost_nanos;
    }
    EXPECT_TRUE(by_deployment["d1"] == d1);
    EXPECT_TRUE(by_deployment["d2"] == records[2].cost_nanos);
  }
  // Spot checks of the 00:30 -> 02:15 record's own hours (d1 capacity has u4 too from 01:45).
  const std::vector<RollupRow> hour0 =
      this->MustReadRollups("org-a", RollupGrain::kHour, At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z"));
  const domain::Proration u1{records[0].start, records[0].end, records[0].cost_nanos};
  bool found = false;
  for (const RollupRow& row : hour0) {
    if (row.deployment_id == "d1" && row.dimension == Dimension::kCapacity) {
      found = true;
      EXPECT_EQ(row.cost, u1.PartIn(At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z")));
    }
  }
  EXPECT_TRUE(found) << "the 00:00 hour must hold u1's first part";
}

TYPED_TEST(StoreContractTest, NetZeroCellsAreReturnedWithTheirUsage) {
  const Instant start = At("2026-11-01T05:00:00Z");
  const Instant end = At("2026-11-01T06:00:00Z");
  const std::vector<UsageRecord> records = {Record("u1", "org-a", "d1", start, end, "3", "0.5"),
                                            Record("u2", "org-a", "d2", start, end, "1", "0.5"),
                                            Record("u1-correction", "org-a", "d1", start, end, "-3", "0.5")};
  ASSERT_EQ(this->MustIngest({records[0], records[1]}), (IngestOutcome{2, 0}));
  ASSERT_EQ(this->MustIngest({records[2]}), (IngestOutcome{1, 0}));
  const Instant day_end{kDay1.ns + domain::kNsPerDay};
  const std::vector<RollupRow> hourly = this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, day_end);
  EXPECT_EQ(Costs(hourly), (std::vector<CostCell>{{start, "d1", Dimension::kCapacity, 0},
                                                  {start, "d2", Dimension::kCapacity, 500'000'000}}));
  EXPECT_EQ(hourly, ExpectedRollups(records, RollupGrain::kHour, kDay1, day_end));
  ASSERT_EQ(hourly.size(), 2u);
  EXPECT_EQ(hourly[0].quantity_milli, 0) << "+3 and -3 net to nothing";
  EXPECT_EQ(hourly[0].usage_ns, domain::kNsPerHour) << "the correction adjusts cost and quantity, not time";
  EXPECT_EQ(hourly[0].max_instance_count, 2);
  const std::vector<RollupRow> daily = this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, day_end);
  EXPECT_EQ(Costs(daily), (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, 0},
                                                 {kDay1, "d2", Dimension::kCapacity, 500'000'000}}));
  EXPECT_EQ(daily, ExpectedRollups(records, RollupGrain::kDay, kDay1, day_end));
}

TYPED_TEST(StoreContractTest, ReadRollupsRangeIsHalfOpenAndPerOrganization) {
  // One record per hour 00:00..03:00 on day 1, one on day 2, and one for org-b.
  std::vector<UsageRecord> records;
  for (int h = 0; h < 4; ++h) {
    const Instant start{kDay1.ns + h * domain::kNsPerHour};
    records.push_back(Record("u" + std::to_string(h), "org-a", "d1", start, Instant{start.ns + domain::kNsPerHour}));
  }
  const Instant day2{kDay1.ns + domain::kNsPerDay};
  records.push_back(Record("u-day2", "org-a", "d1", day2, Instant{day2.ns + domain::kNsPerHour}, "1", "1"));
  records.push_back(Record("u-b", "org-b", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour}, "1", "1"));
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{6, 0}));

  const Nanos hour_cost = records[0].cost_nanos;
  const Instant h1{kDay1.ns + domain::kNsPerHour};
  const Instant h3{kDay1.ns + 3 * domain::kNsPerHour};
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kHour, h1, h3)),
            (std::vector<CostCell>{{h1, "d1", Dimension::kCapacity, hour_cost},
                                   {Instant{h1.ns + domain::kNsPerHour}, "d1", Dimension::kCapacity, hour_cost}}));
  EXPECT_TRUE(this->MustReadRollups("org-a", RollupGrain::kHour, h1, h1).empty());
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, day2)),
            (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, 4 * hour_cost}}));
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kDay, day2, Instant{day2.ns + domain::kNsPerDay})),
            (std::vector<CostCell>{{day2, "d1", Dimension::kCapacity, records[4].cost_nanos}}));
  EXPECT_EQ(Costs(this->MustReadRollups("org-b", RollupGrain::kDay, kDay1, Instant{day2.ns + domain::kNsPerDay})),
            (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, records[5].cost_nanos}}));
  EXPECT_TRUE(this->MustReadRollups("no-such-org", RollupGrain::kDay, kDay1, day2).empty());
}

TYPED_TEST(StoreContractTest, ReadUsageOverlappingFindsExactlyTheOverlappingRecords) {
  const Instant from = At("2026-11-10T10:15:00Z");
  const Instant to = At("2026-11-10T10:45:00Z");
  const std::vector<UsageRecord> records = {
      Record("ends-at-from", "org-a", "d1", At("2026-11-10T09:15:00Z"), from),
      Record("starts-at-to", "org-a", "d1", to, At("2026-11-10T11:00:00Z")),
      Record("before", "org-a", "d1", At("2026-11-09T10:00:00Z"), At("2026-11-09T11:00:00Z")),
      Record("after", "org-a", "d1", At("2026-11-11T10:00:00Z"), At("2026-11-11T11:00:00Z")),
      Record("left-edge", "org-a", "d1", At("2026-11-10T10:00:00Z"), At("2026-11-10T10:15:00.000000001Z")),
      Record("right-edge", "org-a", "d2", At("2026-11-10T10:44:59.999999999Z"), At("2026-11-10T12:00:00Z")),
      Record("inside", "org-a", "d1", At("2026-11-10T10:20:00Z"), At("2026-11-10T10:30:00Z")),
      Record("covering", "org-a", "d1", At("2026-11-10T00:00:00Z"), At("2026-11-11T00:00:00Z")),
      Record("forty-days", "org-a", "d3", At("2026-10-05T00:00:00Z"), At("2026-11-14T00:00:00Z")),
      Record("forty-days-over", "org-a", "d3", At("2026-09-25T00:00:00Z"), At("2026-11-04T00:00:00Z")),
      Record("other-org", "org-b", "d1", At("2026-11-10T10:00:00Z"), At("2026-11-10T11:00:00Z")),
  };
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{11, 0}));
  const std::vector<UsageRecord> got = this->MustReadUsage("org-a", from, to);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"covering", "forty-days", "inside", "left-edge", "right-edge"}));
  for (const UsageRecord& r : got) {
    auto it = std::find_if(records.begin(), records.end(), [&](const UsageRecord& x) { return x.id == r.id; });
    ASSERT_NE(it, records.end());
    EXPECT_EQ(r, *it) << "record " << r.id << " must come back as stored";
  }
  EXPECT_EQ(Ids(this->MustReadUsage("org-b", from, to)), std::vector<std::string>{"other-org"});
  EXPECT_TRUE(this->MustReadUsage("no-such-org", from, to).empty());
}

TYPED_TEST(StoreContractTest, ConcurrentIngestsAndReadsAreConsistent) {
  constexpr int kWriters = 4;
  constexpr int kBatches = 10;
  constexpr int kPerBatch = 5;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<UsageRecord> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          const int n = (w * kBatches + b) * kPerBatch + i;
          const Instant start{kDay1.ns + (n % 48) * domain::kNsPerHour / 2};
          batch.push_back(Record("c" + std::to_string(n), "org-a", "d" + std::to_string(w), start,
                                 Instant{start.ns + domain::kNsPerHour}, "1", "0.001"));
        }
        Result<IngestOutcome> r = this->store().Ingest(batch);
        if (!r || *r != IngestOutcome{kPerBatch, 0}) failed = true;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (!this->store().ReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + 2 * domain::kNsPerDay}))
          failed = true;
        if (!this->store().ReadUsageOverlapping("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerHour})) failed = true;
        if (!this->store().ListDeployments("org-a")) failed = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed.load());
  WideNanos total = 0;
  for (const RollupRow& row :
       this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, Instant{kDay1.ns + 3 * domain::kNsPerDay})) {
    total += row.cost;
  }
  EXPECT_TRUE(total == WideNanos{kWriters * kBatches * kPerBatch} * 1'000'000) << "every cost counted once";
  EXPECT_EQ(this->MustListDeployments("org-a").size(), static_cast<std::size_t>(kWriters));
}

// A fixed data set for ReadRange: two orgs, several deployments and dimensions, records from
// under an hour to 40 days long.
std::vector<UsageRecord> RangeDataSet() {
  std::vector<UsageRecord> records = {
      Record("a1", "org-a", "d1", At("2026-11-01T00:00:00Z"), At("2026-11-01T01:00:00Z")),
      Record("a2", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"), "7", "0.333333333"),
      Record("a3", "org-a", "d2", At("2026-11-01T00:10:00Z"), At("2026-11-01T00:20:00Z"), "1", "0.5"),
      Record("a4", "org-a", "d2", At("2026-11-02T23:10:00Z"), At("2026-11-03T01:20:00Z"), "3", "1.000000007"),
      Record("a5", "org-a", "d3", At("2026-10-05T13:17:11Z"), At("2026-11-14T13:17:11Z"), "960", "0.0913"),
      Record("a6", "org-a", "d1", At("2026-11-03T05:00:00Z"), At("2026-11-06T05:00:00Z"), "72", "0.01"),
      Record("a7", "org-a", "d1", At("2026-11-03T05:20:00Z"), At("2026-11-03T05:30:00Z"), "-2", "0.4"),
      Record("b1", "org-b", "d1", At("2026-11-01T00:00:00Z"), At("2026-11-04T00:00:00Z"), "1", "1"),
  };
  UsageRecord data_out =
      Record("a8", "org-a", "d2", At("2026-11-01T00:40:00Z"), At("2026-11-01T03:00:00Z"), "5", "0.01");
  data_out.dimension = Dimension::kDataOut;
  data_out.kind = std::nullopt;
  records.push_back(data_out);
  return records;
}

RangeReadPlan RangeDataSetPlan() {
  RangeReadPlan plan;
  plan.raw = {
      TimeRange{At("2026-11-01T00:15:00Z"), At("2026-11-01T00:45:00Z")},
      TimeRange{At("2026-11-02T23:30:00Z"), At("2026-11-03T00:00:00Z")},
      TimeRange{At("2026-11-04T10:00:00Z"), At("2026-11-04T10:00:00Z")},  // empty window
      TimeRange{At("2026-11-03T05:10:00Z"), At("2026-11-03T05:50:00Z")},
  };
  plan.hourly = {
      TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-01T06:00:00Z")},
      TimeRange{At("2026-11-02T22:00:00Z"), At("2026-11-03T02:00:00Z")},
  };
  plan.daily = {
      TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-02T00:00:00Z")},
      TimeRange{At("2026-11-03T00:00:00Z"), At("2026-11-06T00:00:00Z")},
  };
  plan.latest_capacity = TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-03T06:00:00Z")};
  return plan;
}

TYPED_TEST(StoreContractTest, ReadRangeEqualsTheSingleReads) {
  const std::vector<UsageRecord> records = RangeDataSet();
  ASSERT_EQ(this->MustIngest({records.begin(), records.begin() + 4}), (IngestOutcome{4, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 4, records.end()}),
            (IngestOutcome{static_cast<std::int64_t>(records.size()) - 4, 0}));
  const RangeReadPlan plan = RangeDataSetPlan();
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
  this->ExpectReadRangeEqualsSingleReads("org-b", plan);

  // The data set exercises every part of the plan, checked against independent answers.
  const RangeReadResult got = this->MustReadRange("org-a", plan);
  ASSERT_EQ(got.raw.size(), plan.raw.size());
  for (std::size_t i = 0; i < plan.raw.size(); ++i) {
    EXPECT_EQ(Ids(got.raw[i]), ExpectedOverlappingIds(records, "org-a", plan.raw[i].from, plan.raw[i].to))
        << "raw window " << i;
    EXPECT_TRUE(OrderedByStart(got.raw[i])) << "raw window " << i;
  }
  EXPECT_EQ(Ids(got.raw[0]), (std::vector<std::string>{"a1", "a2", "a3", "a5", "a8"}));
  EXPECT_TRUE(got.raw[2].empty()) << "an empty window overlaps nothing";
  std::vector<UsageRecord> org_a;
  for (const UsageRecord& r : records) {
    if (r.organization_id == "org-a") org_a.push_back(r);
  }
  std::vector<RollupRow> expected;
  for (const TimeRange& w : plan.hourly) {
    for (RollupRow& row : ExpectedRollups(org_a, RollupGrain::kHour, w.from, w.to)) expected.push_back(row);
  }
  for (const TimeRange& w : plan.daily) {
    for (RollupRow& row : ExpectedRollups(org_a, RollupGrain::kDay, w.from, w.to)) expected.push_back(row);
  }
  EXPECT_EQ(Sorted(got.rollups), Sorted(expected));
  EXPECT_EQ(got.deployments, (std::vector<Deployment>{{"d1", "d1-name"}, {"d2", "d2-name"}, {"d3", "d3-name"}}));
  EXPECT_EQ(got.latest_capacity, ExpectedLatestCapacity(ExpectedRollups(
                                     org_a, RollupGrain::kHour, plan.latest_capacity->from, plan.latest_capacity->to)));
  EXPECT_EQ(DeploymentIds(got.latest_capacity), (std::vector<std::string>{"d1", "d2", "d3"}));
}

TYPED_TEST(StoreContractTest, ReadRangeOfAnEmptyPlanListsTheDeploymentsOnly) {
  const std::vector<UsageRecord> records = RangeDataSet();
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{static_cast<std::int64_t>(records.size()), 0}));
  const RangeReadResult got = this->MustReadRange("org-a", RangeReadPlan{});
  EXPECT_TRUE(got.raw.empty());
  EXPECT_TRUE(got.rollups.empty());
  EXPECT_EQ(got.deployments, (std::vector<Deployment>{{"d1", "d1-name"}, {"d2", "d2-name"}, {"d3", "d3-name"}}));
  this->ExpectReadRangeEqualsSingleReads("org-a", RangeReadPlan{});
  // An organization without usage yet.
  ASSERT_TRUE(this->store().CreateOrganization(Organization{"org-c", "Org C"}));
  this->ExpectReadRangeEqualsSingleReads("org-c", RangeDataSetPlan());
}

TYPED_TEST(StoreContractTest, ReadRangeOfAnUnknownOrganizationIsEmptyNotAnError) {
  const std::vector<UsageRecord> records = RangeDataSet();
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{static_cast<std::int64_t>(records.size()), 0}));
  ASSERT_TRUE(
      this->store().AddCredit(Credit{"c1", "org-a", 1'000'000'000, kDay1, Instant{kDay1.ns + domain::kNsPerDay}}));
  RangeReadPlan plan = RangeDataSetPlan();
  plan.items = true;
  plan.credits = true;
  Result<RangeReadResult> got = this->store().ReadRange("no-such-org", plan);
  ASSERT_TRUE(got.has_value()) << Describe(got.error());
  EXPECT_EQ(got->raw, std::vector<std::vector<UsageRecord>>(plan.raw.size())) << "one empty result per raw window";
  EXPECT_TRUE(got->rollups.empty());
  EXPECT_TRUE(got->deployments.empty());
  EXPECT_TRUE(got->latest_capacity.empty());
  EXPECT_TRUE(got->items.empty());
  EXPECT_TRUE(got->credits.empty());
  got = this->store().ReadRange("no-such-org", RangeReadPlan{});
  ASSERT_TRUE(got.has_value()) << Describe(got.error());
  EXPECT_TRUE(got->raw.empty() && got->rollups.empty() && got->deployments.empty());
}

TYPED_TEST(StoreContractTest, ReadRangeIsOneSnapshotWhileIngestsCommit) {
  ExpectReadRangeIsOneSnapshotWhileIngesting(this->store(), this->store(), kDay1);
}

TYPED_TEST(StoreContractTest, EdgeReadsAreExactWithAVeryLongRecord) {
  // One 300-day record, hundreds of short ones, and records whose lengths sit on the limits
  // of a lookback of 2^k hours, around the window w.
  const Instant w_from = At("2026-06-05T10:15:00Z");
  const Instant w_to = At("2026-06-05T10:45:00Z");
  const std::int64_t h = domain::kNsPerHour;
  auto ending_after = [&](std::string id, std::int64_t duration, std::int64_t end_after_from) {
    const Instant end{w_from.ns + end_after_from};
    return Record(std::move(id), "org-a", "edge", Instant{end.ns - duration}, end);
  };
  std::vector<UsageRecord> records = {
      Record("long-300d", "org-a", "long", At("2026-01-01T00:00:00Z"), At("2026-10-28T00:00:00Z"), "7200", "0.01"),
      ending_after("2h-ends-at-from", 2 * h, 0),
      ending_after("2h-ends-1ns-after-from", 2 * h, 1),
      ending_after("2h1ns-ends-1ns-after-from", 2 * h + 1, 1),
      ending_after("1h-ends-1ns-after-from", h, 1),
      ending_after("1h1ns-ends-1ns-after-from", h + 1, 1),
      ending_after("1h-ends-at-from", h, 0),
      ending_after("256h-ends-1ns-after-from", 256 * h, 1),
      ending_after("256h1ns-ends-1ns-after-from", 256 * h + 1, 1),
      ending_after("9d-ends-at-from", 9 * 24 * h, 0),
      ending_after("1ns-ends-1ns-after-from", 1, 1),
      ending_after("1ns-at-to", 1, w_to.ns - w_from.ns + 1),
  };
  // Short records: 30 minutes every 20 minutes over ten days, in three deployments.
  for (int i = 0; i < 720; ++i) {
    const Instant start{At("2026-06-01T00:00:00Z").ns + i * (h / 3)};
    records.push_back(Record("short-" + std::to_string(i), "org-a", "s" + std::to_string(i % 3), start,
                             Instant{start.ns + h / 2}, "1", "0.001"));
  }
  records.push_back(Record("other-org-long", "org-b", "long", At("2026-01-01T00:00:00Z"), At("2026-12-01T00:00:00Z")));
  for (std::size_t first = 0; first < records.size(); first += 200) {
    const std::size_t last = std::min(records.size(), first + 200);
    ASSERT_EQ(this->MustIngest({records.begin() + static_cast<std::ptrdiff_t>(first),
                                records.begin() + static_cast<std::ptrdiff_t>(last)}),
              (IngestOutcome{static_cast<std::int64_t>(last - first), 0}));
  }

  std::vector<TimeRange> windows = {
      {w_from, w_to},
      {At("2026-01-01T00:00:00Z"), At("2026-01-01T00:30:00Z")},  // the long record's first minutes
      {At("2025-12-31T23:30:00Z"), At("2026-01-01T00:00:00Z")},  // just before it
      {At("2026-10-27T23:30:00Z"), At("2026-10-28T00:00:00Z")},  // its last minutes
      {At("2026-10-28T00:00:00Z"), At("2026-10-28T00:30:00Z")},  // just after it
      {Instant{w_from.ns + 1}, Instant{w_from.ns + h / 2}},      // records ending at from + 1ns drop out
      {Instant{w_to.ns}, Instant{w_to.ns + 1}},                  // a 1 ns window
  };
  // Half-hour windows at xx:15 every 13 hours through the short records.
  for (int i = 0; i < 20; ++i) {
    const Instant from{At("2026-05-31T22:15:00Z").ns + i * 13 * h};
    windows.push_back({from, Instant{from.ns + h / 2}});
  }
  for (const TimeRange& window : windows) {
    const std::vector<UsageRecord> got = this->MustReadUsage("org-a", window.from, window.to);
    EXPECT_EQ(Ids(got), ExpectedOverlappingIds(records, "org-a", window.from, window.to))
        << domain::FormatRfc3339(window.from) << " .. " << domain::FormatRfc3339(window.to);
  }
  EXPECT_EQ(
      Ids(this->MustReadUsage("org-a", w_from, w_to)),
      (std::vector<std::string>{"1h-ends-1ns-after-from", "1h1ns-ends-1ns-after-from", "1ns-ends-1ns-after-from",
                                "256h-ends-1ns-after-from", "256h1ns-ends-1ns-after-from", "2h-ends-1ns-after-from",
                                "2h1ns-ends-1ns-after-from", "long-300d", "short-318", "short-319", "short-320"}));

  // ReadRange reads the same windows the same way, ordered by start.
  RangeReadPlan plan;
  plan.raw = windows;
  const RangeReadResult range = this->MustReadRange("org-a", plan);
  ASSERT_EQ(range.raw.size(), windows.size());
  for (std::size_t i = 0; i < windows.size(); ++i) {
    EXPECT_EQ(Ids(range.raw[i]), ExpectedOverlappingIds(records, "org-a", windows[i].from, windows[i].to))
        << "window " << i;
    EXPECT_TRUE(OrderedByStart(range.raw[i])) << "window " << i;
  }
}

TYPED_TEST(StoreContractTest, TrialCostIsTheProratedPartOfTrialRecords) {
  // Trial and non-trial records in the same cells, across hour and day boundaries, over two
  // batches; one dimension holds trial records only.
  std::vector<UsageRecord> records = {
      Record("paid-1", "org-a", "d1", At("2026-11-01T00:30:00Z"), At("2026-11-01T02:15:00Z"), "7", "0.333333333"),
      TrialRecord("trial-1", "org-a", "d1", At("2026-11-01T00:10:00Z"), At("2026-11-01T03:00:00Z"), "5", "0.123456789"),
      TrialRecord("trial-2", "org-a", "d1", At("2026-11-01T23:10:00Z"), At("2026-11-02T01:20:00Z"), "3", "1.000000007"),
      Record("paid-2", "org-a", "d1", At("2026-11-01T22:00:00Z"), At("2026-11-02T02:00:00Z"), "4", "0.25"),
      TrialRecord("trial-long", "org-a", "d2", At("2026-10-25T13:17:11Z"), At("2026-11-04T13:17:11Z"), "240", "0.0913"),
      Record("paid-d2", "org-a", "d2", At("2026-11-01T05:00:00Z"), At("2026-11-01T06:00:00Z"), "1", "0.5"),
  };
  UsageRecord trial_out =
      TrialRecord("trial-out", "org-a", "d1", At("2026-11-01T01:20:00Z"), At("2026-11-01T01:50:00Z"), "3", "0.07");
  trial_out.dimension = Dimension::kDataOut;
  trial_out.kind = std::nullopt;
  records.push_back(trial_out);
  ASSERT_EQ(this->MustIngest({records[0], records[1], records[2]}), (IngestOutcome{3, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 3, records.end()}),
            (IngestOutcome{static_cast<std::int64_t>(records.size()) - 3, 0}));

  const Instant from = At("2026-10-01T00:00:00Z");
  const Instant to = At("2026-12-01T00:00:00Z");
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    const char* grain_name = grain == RollupGrain::kHour ? "hourly" : "daily";
    const std::vector<RollupRow> actual = this->MustReadRollups("org-a", grain, from, to);
    EXPECT_EQ(actual, ExpectedRollups(records, grain, from, to)) << grain_name;
    // trial_cost alone is an independent sum over the trial records only, cell by cell.
    const std::int64_t step = grain == RollupGrain::kHour ? domain::kNsPerHour : domain::kNsPerDay;
    WideNanos trial_total = 0;
    for (const RollupRow& row : actual) {
      WideNanos trial = 0;
      for (const UsageRecord& r : records) {
        if (!r.trial || r.deployment_id != row.deployment_id || r.dimension != row.dimension) continue;
        trial += domain::Proration{r.start, r.end, r.cost_nanos}.PartIn(row.period_start,
                                                                        Instant{row.period_start.ns + step});
      }
      EXPECT_TRUE(trial == row.trial_cost)
          << grain_name << " trial cost of " << row.deployment_id << " at " << domain::FormatRfc3339(row.period_start);
      trial_total += row.trial_cost;
    }
    WideNanos trial_records = 0;
    for (const UsageRecord& r : records) {
      if (r.trial) trial_records += r.cost_nanos;
    }
    EXPECT_TRUE(trial_total == trial_records) << grain_name << ": no trial money lost or invented";
  }
  // The hour 01:00 of d1 capacity holds paid-1, trial-1 (and no other record).
  const Instant h1 = At("2026-11-01T01:00:00Z");
  const Instant h2 = At("2026-11-01T02:00:00Z");
  const Nanos paid = domain::Proration{records[0].start, records[0].end, records[0].cost_nanos}.PartIn(h1, h2);
  const Nanos trial = domain::Proration{records[1].start, records[1].end, records[1].cost_nanos}.PartIn(h1, h2);
  const std::vector<RollupRow> hour = this->MustReadRollups("org-a", RollupGrain::kHour, h1, h2);
  auto it = std::find_if(hour.begin(), hour.end(), [](const RollupRow& row) {
    return row.deployment_id == "d1" && row.dimension == Dimension::kCapacity;
  });
  ASSERT_NE(it, hour.end());
  EXPECT_EQ(it->cost, paid + trial);
  EXPECT_EQ(it->trial_cost, trial);

  // ReadRange returns the same trial costs.
  RangeReadPlan plan;
  plan.hourly = {TimeRange{At("2026-11-01T00:00:00Z"), At("2026-11-02T06:00:00Z")}};
  plan.daily = {TimeRange{At("2026-10-20T00:00:00Z"), At("2026-11-10T00:00:00Z")}};
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
}

TYPED_TEST(StoreContractTest, TrialCorrectionsNetTrialCostToZero) {
  const Instant start = At("2026-11-01T05:00:00Z");
  const Instant end = At("2026-11-01T06:00:00Z");
  // d1: a trial +x and its correction -x next to a paid record: trial_cost 0, the cost stays.
  // d2: a trial +x and -x alone: both sums zero, the cell is kept (it records usage).
  // d3: a paid +x and a trial -x: cost 0 but trial_cost -x, so the cell is kept.
  ASSERT_EQ(this->MustIngest({TrialRecord("d1-trial", "org-a", "d1", start, end, "3", "0.5"),
                              Record("d1-paid", "org-a", "d1", start, end, "1", "0.5"),
                              TrialRecord("d2-trial", "org-a", "d2", start, end, "3", "0.5"),
                              Record("d3-paid", "org-a", "d3", start, end, "3", "0.5")}),
            (IngestOutcome{4, 0}));
  ASSERT_EQ(this->MustIngest({TrialRecord("d1-trial-correction", "org-a", "d1", start, end, "-3", "0.5"),
                              TrialRecord("d2-trial-correction", "org-a", "d2", start, end, "-3", "0.5"),
                              TrialRecord("d3-trial-correction", "org-a", "d3", start, end, "-3", "0.5")}),
            (IngestOutcome{3, 0}));
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, Instant{kDay1.ns + domain::kNsPerDay})),
            (std::vector<CostCell>{{start, "d1", Dimension::kCapacity, 500'000'000, 0},
                                   {start, "d2", Dimension::kCapacity, 0, 0},
                                   {start, "d3", Dimension::kCapacity, 0, -1'500'000'000}}));
  EXPECT_EQ(Costs(this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, Instant{kDay1.ns + domain::kNsPerDay})),
            (std::vector<CostCell>{{kDay1, "d1", Dimension::kCapacity, 500'000'000, 0},
                                   {kDay1, "d2", Dimension::kCapacity, 0, 0},
                                   {kDay1, "d3", Dimension::kCapacity, 0, -1'500'000'000}}));
}

TYPED_TEST(StoreContractTest, LatestCapacityIsEachDeploymentsLastNonZeroCapacityHour) {
  const std::int64_t h = domain::kNsPerHour;
  auto hour = [&](int i) { return Instant{kDay1.ns + i * h}; };
  auto in_hour = [&](std::string id, std::string deployment, int i, std::string_view quantity = "1",
                     std::string_view rate = "0.5") {
    return Record(std::move(id), "org-a", std::move(deployment), hour(i), hour(i + 1), quantity, rate);
  };
  UsageRecord d1_later_data_out = in_hour("d1-out-7", "d1", 7);
  d1_later_data_out.dimension = Dimension::kDataOut;
  d1_later_data_out.kind = std::nullopt;
  UsageRecord d4_data_in = in_hour("d4-in-3", "d4", 3);
  d4_data_in.dimension = Dimension::kDataIn;
  d4_data_in.kind = std::nullopt;
  std::vector<UsageRecord> records = {
      // d1: capacity at 02:00 and 05:00 (half trial), then at 06:00 a paid +x and a trial -x
      // (cost 0, a row with trial cost only) and a later data_out hour: both ignored.
      in_hour("d1-cap-2", "d1", 2),
      in_hour("d1-cap-5", "d1", 5, "2", "0.25"),
      TrialRecord("d1-cap-5-trial", "org-a", "d1", hour(5), hour(6), "1", "0.5"),
      in_hour("d1-cap-6", "d1", 6, "3", "0.5"),
      TrialRecord("d1-cap-6-trial-correction", "org-a", "d1", hour(6), hour(7), "-3", "0.5"),
      d1_later_data_out,
      // d2: capacity over 01:00-03:30 and at 08:00 (the window's end, excluded).
      Record("d2-cap-1", "org-a", "d2", hour(1), Instant{hour(3).ns + h / 2}, "5", "0.1"),
      in_hour("d2-cap-8", "d2", 8),
      // d3: capacity only the hour before the window; later a capacity hour netting to zero.
      in_hour("d3-cap-before", "d3", -1),
      in_hour("d3-cap-4", "d3", 4, "1", "0.5"),
      in_hour("d3-cap-4-correction", "d3", 4, "-1", "0.5"),
      // d4: no capacity at all.
      d4_data_in,
      // Another org's deployment with a later capacity hour.
      Record("b-cap-7", "org-b", "d1", hour(7), hour(8)),
  };
  ASSERT_EQ(this->MustIngest({records.begin(), records.begin() + 5}), (IngestOutcome{5, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 5, records.end()}),
            (IngestOutcome{static_cast<std::int64_t>(records.size()) - 5, 0}));

  auto latest = [&](std::string_view org, Instant from, Instant to) {
    RangeReadPlan plan;
    plan.latest_capacity = TimeRange{from, to};
    this->ExpectReadRangeEqualsSingleReads(org, plan);
    return Costs(this->MustReadRange(org, plan).latest_capacity);
  };
  const Nanos d1_5_cost = 500'000'000 + 500'000'000;
  const Nanos d1_5_trial = 500'000'000;
  const Nanos d2_3_part =
      domain::Proration{records[6].start, records[6].end, records[6].cost_nanos}.PartIn(hour(3), hour(4));
  EXPECT_EQ(latest("org-a", hour(0), hour(8)),
            (std::vector<CostCell>{{hour(5), "d1", Dimension::kCapacity, d1_5_cost, d1_5_trial},
                                   {hour(3), "d2", Dimension::kCapacity, d2_3_part, 0}}));
  // Window bounds are half-open [from, to).
  EXPECT_EQ(latest("org-a", hour(0), hour(5)),
            (std::vector<CostCell>{{hour(2), "d1", Dimension::kCapacity, 500'000'000, 0},
                                   {hour(3), "d2", Dimension::kCapacity, d2_3_part, 0}}));
  EXPECT_EQ(latest("org-a", hour(5), hour(6)),
            (std::vector<CostCell>{{hour(5), "d1", Dimension::kCapacity, d1_5_cost, d1_5_trial}}));
  EXPECT_EQ(latest("org-a", hour(-1), hour(9)),
            (std::vector<CostCell>{{hour(5), "d1", Dimension::kCapacity, d1_5_cost, d1_5_trial},
                                   {hour(8), "d2", Dimension::kCapacity, 500'000'000, 0},
                                   {hour(-1), "d3", Dimension::kCapacity, 500'000'000, 0}}));
  EXPECT_EQ(latest("org-a", hour(-1), hour(0)),
            (std::vector<CostCell>{{hour(-1), "d3", Dimension::kCapacity, 500'000'000, 0}}));
  EXPECT_TRUE(latest("org-a", hour(6), hour(8)).empty()) << "zero-cost and non-capacity hours never count";
  EXPECT_TRUE(latest("org-a", hour(3), hour(3)).empty()) << "an empty window holds nothing";
  EXPECT_EQ(latest("org-b", hour(0), hour(24)),
            (std::vector<CostCell>{{hour(7), "d1", Dimension::kCapacity, records.back().cost_nanos, 0}}));
  EXPECT_TRUE(latest("no-such-org", hour(0), hour(24)).empty());

  // Combined with the rest of a plan, in the same snapshot.
  RangeReadPlan plan;
  plan.raw = {TimeRange{Instant{hour(1).ns + h / 4}, Instant{hour(1).ns + h / 2}}};
  plan.hourly = {TimeRange{hour(0), hour(9)}};
  plan.daily = {TimeRange{Instant{kDay1.ns - domain::kNsPerDay}, Instant{kDay1.ns + domain::kNsPerDay}}};
  plan.latest_capacity = TimeRange{hour(0), hour(8)};
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
}

// A capacity record of `sku`/`kind` with `instances` instances (Record with those fields changed).
UsageRecord ItemRecord(std::string id, std::string org, std::string deployment, std::string sku,
                       domain::ResourceKind kind, std::int64_t instances, Instant start, Instant end,
                       std::string_view quantity, std::string_view rate) {
  UsageRecord r = Record(std::move(id), std::move(org), std::move(deployment), start, end, quantity, rate);
  r.sku = std::move(sku);
  r.kind = kind;
  r.instance_count = instances;
  return r;
}

constexpr const char* kHotSku = "gcp.es.datahot.n2.68x10x45";
constexpr const char* kKibanaSku = "gcp.kibana.n2.68x32x45";
constexpr const char* kApmSku = "gcp.apm.n2.68x32x45";

TYPED_TEST(StoreContractTest, ItemMeasuresMatchAnIndependentComputation) {
  // Two skus (and kinds) of one deployment and a data_out item, over hours and days, in two
  // batches. Each quantity is paired with its value in thousandths rounded half-even, by hand.
  const std::int64_t h = domain::kNsPerHour;
  struct Case {
    UsageRecord record;
    std::int64_t quantity_milli;
  };
  UsageRecord data_out =
      Record("out-1", "org-a", "d1", At("2026-11-01T00:00:01Z"), At("2026-11-01T03:00:00Z"), "7.777", "0.01");
  data_out.dimension = Dimension::kDataOut;
  data_out.kind = std::nullopt;
  data_out.sku = "";
  data_out.instance_count = 0;
  const std::vector<Case> cases = {
      {ItemRecord("hot-1", "org-a", "d1", kHotSku, domain::ResourceKind::kElasticsearch, 3, At("2026-11-01T00:30:00Z"),
                  At("2026-11-01T02:15:00Z"), "3.0005", "0.0913"),
       3000},  // 3000.5 -> 3000 (even)
      {ItemRecord("hot-2", "org-a", "d1", kHotSku, domain::ResourceKind::kElasticsearch, 5, At("2026-11-01T01:00:00Z"),
                  At("2026-11-01T02:00:00Z"), "1.0015", "0.0913"),
       1002},  // 1001.5 -> 1002 (even)
      {ItemRecord("hot-long", "org-a", "d1", kHotSku, domain::ResourceKind::kElasticsearch, 2,
                  At("2026-10-30T12:00:00Z"), At("2026-11-03T12:00:00Z"), "96", "0.0913"),
       96000},
      {ItemRecord("kibana-1", "org-a", "d1", kKibanaSku, domain::ResourceKind::kKibana, 1, At("2026-11-01T23:10:00Z"),
                  At("2026-11-02T01:20:00Z"), "2.1666667", "0.05"),
       2167},
      {ItemRecord("kibana-correction", "org-a", "d1", kKibanaSku, domain::ResourceKind::kKibana, 0,
                  At("2026-11-01T01:30:00Z"), At("2026-11-01T01:45:00Z"), "-0.2505", "0.05"),
       -250},  // -250.5 -> -250 (even)
      {data_out, 7777},
      // Another organization's record of the same item.
      {ItemRecord("b-hot", "org-b", "d1", kHotSku, domain::ResourceKind::kElasticsearch, 9, At("2026-11-01T01:00:00Z"),
                  At("2026-11-01T02:00:00Z"), "1", "0.0913"),
       1000},
  };
  std::vector<UsageRecord> records;
  for (const Case& c : cases) records.push_back(c.record);
  // hot-long (2 instances) comes in the second batch: cells keep the larger count stored first.
  ASSERT_EQ(this->MustIngest({records.begin(), records.begin() + 2}), (IngestOutcome{2, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 2, records.end()}),
            (IngestOutcome{static_cast<std::int64_t>(records.size()) - 2, 0}));
  std::vector<UsageRecord> org_a;
  for (const UsageRecord& r : records) {
    if (r.organization_id == "org-a") org_a.push_back(r);
  }

  const Instant from = At("2026-10-01T00:00:00Z");
  const Instant to = At("2026-12-01T00:00:00Z");
  using Item = std::tuple<std::string, Dimension, std::string, std::string>;
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    const char* grain_name = grain == RollupGrain::kHour ? "hourly" : "daily";
    const std::vector<RollupRow> rows = this->MustReadRollups("org-a", grain, from, to);
    EXPECT_EQ(rows, ExpectedRollups(org_a, grain, from, to)) << grain_name;
    // Over the periods that cover them, each item's parts sum to its records' rounded
    // quantities and signed durations (a correction's is negative).
    std::map<Item, std::pair<std::int64_t, std::int64_t>> got;  // item -> (quantity_milli, usage_ns)
    for (const RollupRow& row : rows) {
      auto& [quantity, usage] = got[{row.deployment_id, row.dimension, row.sku, row.kind}];
      quantity += row.quantity_milli;
      usage += row.usage_ns;
    }
    std::map<Item, std::pair<std::int64_t, std::int64_t>> expected;
    for (const Case& c : cases) {
      if (c.record.organization_id != "org-a") continue;
      auto& [quantity, usage] = expected[{c.record.deployment_id, c.record.dimension, c.record.sku, KindId(c.record)}];
      quantity += c.quantity_milli;
      usage += service::UsageOverlap(c.record, c.record.start, c.record.end);
    }
    EXPECT_EQ(got, expected) << grain_name;
  }

  // Spot checks of max_instance_count: the largest of the records overlapping the cell.
  auto hot_hour = [&](std::string_view hour) {
    const Instant start = At(hour);
    for (const RollupRow& row : this->MustReadRollups("org-a", RollupGrain::kHour, start, Instant{start.ns + h})) {
      if (row.sku == kHotSku) return row;
    }
    ADD_FAILURE() << "no hot row at " << hour;
    return RollupRow{};
  };
  EXPECT_EQ(hot_hour("2026-11-01T00:00:00Z").max_instance_count, 3);  // hot-1, hot-long
  EXPECT_EQ(hot_hour("2026-11-01T01:00:00Z").max_instance_count, 5);  // hot-1, hot-2, hot-long
  EXPECT_EQ(hot_hour("2026-11-01T03:00:00Z").max_instance_count, 2);  // hot-long
  // 01:00-02:00: hot-1 (3000 over 105 minutes from 00:30) contributes C(90 min) - C(30 min) =
  // round(2571.43) - round(857.14) = 1714; hot-2 all of 1002; hot-long 1 of its 96 hours, 1000.
  EXPECT_EQ(hot_hour("2026-11-01T01:00:00Z").quantity_milli, 1714 + 1002 + 1000);
  EXPECT_EQ(hot_hour("2026-11-01T01:00:00Z").usage_ns, 3 * h);
  const std::vector<RollupRow> nov1 =
      this->MustReadRollups("org-a", RollupGrain::kDay, At("2026-11-01T00:00:00Z"), At("2026-11-02T00:00:00Z"));
  ASSERT_EQ(nov1.size(), 3u) << "hot, kibana and data_out on Nov 1";
  EXPECT_EQ(nov1[0].sku, kHotSku);
  EXPECT_EQ(nov1[0].kind, "elasticsearch");
  EXPECT_EQ(nov1[0].max_instance_count, 5);
  EXPECT_EQ(nov1[1].sku, kKibanaSku);
  EXPECT_EQ(nov1[1].kind, "kibana");
  EXPECT_EQ(nov1[1].max_instance_count, 1);
  EXPECT_EQ(nov1[2].dimension, Dimension::kDataOut);
  EXPECT_EQ(nov1[2].sku, "");
  EXPECT_EQ(nov1[2].kind, "") << "no kind: empty";
  EXPECT_EQ(nov1[2].quantity_milli, 7777);
  EXPECT_EQ(nov1[2].usage_ns, 3 * h - 1'000'000'000);

  // org-b's cell of the same item is its own.
  const std::vector<RollupRow> b = this->MustReadRollups("org-b", RollupGrain::kHour, from, to);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].quantity_milli, 1000);
  EXPECT_EQ(b[0].max_instance_count, 9);
}

TYPED_TEST(StoreContractTest, ItemCatalogKeepsTheLatestRecordOfEachItem) {
  const Instant h0 = kDay1;
  const Instant h1{kDay1.ns + domain::kNsPerHour};
  auto named = [](UsageRecord r, std::string name, std::string unit) {
    r.name = std::move(name);
    r.unit = std::move(unit);
    return r;
  };
  const UsageRecord hot_v1 =
      named(ItemRecord("hot-v1", "org-a", "d2", kHotSku, domain::ResourceKind::kElasticsearch, 2, h0, h1, "1", "0.1"),
            "Hot v1", "instance-hour");
  UsageRecord out = named(Record("out", "org-a", "d1", h0, h1, "3", "0.02"), "Data out", "GB");
  out.dimension = Dimension::kDataOut;
  out.kind = std::nullopt;
  out.sku = "";
  // Within a batch the record with the latest end wins, whatever the order: v2 comes later but
  // ends a day earlier.
  const UsageRecord hot_v2 =
      named(ItemRecord("hot-v2", "org-a", "d2", kHotSku, domain::ResourceKind::kElasticsearch, 2,
                       Instant{h0.ns - domain::kNsPerDay}, Instant{h1.ns - domain::kNsPerDay}, "1", "0.2"),
            "Hot v2", "instance-hour");
  // One sku under two kinds: two items.
  const UsageRecord shared_kibana = named(
      ItemRecord("shared-kibana", "org-a", "d1", kKibanaSku, domain::ResourceKind::kKibana, 1, h0, h1, "1", "0.05"),
      "Kibana", "instance-hour");
  const UsageRecord shared_es = named(
      ItemRecord("shared-es", "org-a", "d1", kKibanaSku, domain::ResourceKind::kElasticsearch, 1, h0, h1, "1", "0.06"),
      "Elasticsearch", "instance-hour");
  const UsageRecord other_org =
      named(ItemRecord("b-hot", "org-b", "d2", kHotSku, domain::ResourceKind::kElasticsearch, 1, h0, h1, "1", "0.9"),
            "Org B hot", "instance-hour");
  ASSERT_EQ(this->MustIngest({hot_v1, out, hot_v2, shared_kibana, shared_es, other_org}), (IngestOutcome{6, 0}));

  auto item = [](const UsageRecord& r) {
    return ItemInfo{r.deployment_id, r.dimension, r.sku, KindId(r), r.name, r.unit, r.rate, r.end};
  };
  // Sorted by (deployment_id, dimension, sku, kind).
  EXPECT_EQ(this->MustReadItems("org-a"),
            (std::vector<ItemInfo>{item(shared_es), item(shared_kibana), item(out), item(hot_v1)}));
  EXPECT_EQ(this->MustReadItems("org-b"), (std::vector<ItemInfo>{item(other_org)}));
  EXPECT_TRUE(this->MustReadItems("no-such-org").empty());

  // A later batch whose record ends when the stored one does renames the item and changes its
  // unit and rate (a tie goes to the later ingested).
  const UsageRecord hot_v3 = named(
      ItemRecord("hot-v3", "org-a", "d2", kHotSku, domain::ResourceKind::kElasticsearch, 2, h0, h1, "1", "0.3000"),
      "Hot v3", "node-hour");
  ASSERT_EQ(this->MustIngest({hot_v3}), (IngestOutcome{1, 0}));
  const std::vector<ItemInfo> expected = {item(shared_es), item(shared_kibana), item(out), item(hot_v3)};
  EXPECT_EQ(this->MustReadItems("org-a"), expected);
  EXPECT_EQ(this->MustReadItems("org-a").back().rate, Dec("0.3"));

  // Re-sending older records changes nothing: duplicates are not stored again.
  ASSERT_EQ(this->MustIngest({hot_v2, hot_v1}), (IngestOutcome{0, 2}));
  EXPECT_EQ(this->MustReadItems("org-a"), expected) << "a duplicate re-send must not change the catalog";

  // A failed batch changes nothing either.
  const UsageRecord hot_v4 =
      named(ItemRecord("hot-v4", "org-a", "d2", kHotSku, domain::ResourceKind::kElasticsearch, 2, h0, h1, "1", "0.4"),
            "Hot v4", "instance-hour");
  UsageRecord conflicting = hot_v1;
  conflicting.name = "changed";
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{hot_v4, conflicting}), ErrorCode::kConflict);
  EXPECT_EQ(this->MustReadItems("org-a"), expected) << "a failed batch must not change the catalog";

  // Items come with the rest of a plan.
  RangeReadPlan plan = RangeDataSetPlan();
  plan.items = true;
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
  EXPECT_EQ(this->MustReadRange("org-a", plan).items, expected);
}

TYPED_TEST(StoreContractTest, ItemInfoFollowsTheRecordWithTheLatestEnd) {
  const std::int64_t h = domain::kNsPerHour;
  auto hour = [&](int i) { return Instant{kDay1.ns + i * h}; };
  auto hot = [&](std::string id, int start, int end, std::string_view rate) {
    UsageRecord r = ItemRecord(id, "org-a", "d1", kHotSku, domain::ResourceKind::kElasticsearch, 2, hour(start),
                               hour(end), "1", rate);
    r.name = "Hot " + id;
    return r;
  };
  auto info = [](const UsageRecord& r) {
    return std::vector<ItemInfo>{
        ItemInfo{r.deployment_id, r.dimension, r.sku, KindId(r), r.name, r.unit, r.rate, r.end}};
  };
  const UsageRecord first = hot("first", 0, 2, "0.1");
  ASSERT_EQ(this->MustIngest({first}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(first));

  // A later batch with an earlier end (a late-arriving record of the past) keeps the info whole.
  ASSERT_EQ(this->MustIngest({hot("late", 0, 1, "0.9")}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(first)) << "an earlier end must not replace the item info";

  // An equal end replaces it (the later ingested wins the tie).
  const UsageRecord tie = hot("tie", 1, 2, "0.2");
  ASSERT_EQ(this->MustIngest({tie}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(tie)) << "an equal end replaces the item info";

  // A later end replaces it.
  const UsageRecord later = hot("later", 2, 3, "0.3");
  ASSERT_EQ(this->MustIngest({later}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(later)) << "a later end replaces the item info";

  // Within one batch: the latest end, whatever the order; on a tie the later in the batch.
  const UsageRecord batch_a = hot("batch-a", 4, 6, "0.4");
  const UsageRecord batch_b = hot("batch-b", 3, 5, "0.5");
  const UsageRecord batch_c = hot("batch-c", 5, 6, "0.6");
  const UsageRecord batch_d = hot("batch-d", 3, 4, "0.7");
  ASSERT_EQ(this->MustIngest({batch_a, batch_b, batch_c, batch_d}), (IngestOutcome{4, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(batch_c)) << "latest end in the batch, the later on a tie";

  // A batch whose records all end earlier changes nothing, even when its last record is newest
  // in ingest order.
  ASSERT_EQ(this->MustIngest({hot("old-1", 0, 5, "0.8"), hot("old-2", 1, 2, "0.8")}), (IngestOutcome{2, 0}));
  EXPECT_EQ(this->MustReadItems("org-a"), info(batch_c));
}

TYPED_TEST(StoreContractTest, RateFingerprintsAreTheSmallestAndLargestRateOfACell) {
  const Instant start = At("2026-11-01T05:00:00Z");
  const Instant end = At("2026-11-01T06:00:00Z");
  const auto [two_min, two_max] = FingerprintRange({"0.1", "0.2"});
  ASSERT_NE(two_min, two_max) << "distinct rates must have distinct fingerprints for this test";
  const std::int64_t one = domain::DecimalFingerprint(Dec("0.3"));
  // d1: 0.1 then 0.2 in two batches; d2: the other order; d3: both in one batch; d4: one rate,
  // written two ways ("0.3" and "0.3000" are the same decimal).
  const std::vector<UsageRecord> first = {
      Record("d1-a", "org-a", "d1", start, end, "1", "0.1"), Record("d2-a", "org-a", "d2", start, end, "1", "0.2"),
      Record("d3-a", "org-a", "d3", start, end, "1", "0.2"), Record("d3-b", "org-a", "d3", start, end, "1", "0.1"),
      Record("d4-a", "org-a", "d4", start, end, "1", "0.3")};
  const std::vector<UsageRecord> second = {Record("d1-b", "org-a", "d1", start, end, "1", "0.2"),
                                           Record("d2-b", "org-a", "d2", start, end, "1", "0.1"),
                                           Record("d4-b", "org-a", "d4", start, end, "1", "0.3000")};
  ASSERT_EQ(this->MustIngest(first), (IngestOutcome{5, 0}));
  ASSERT_EQ(this->MustIngest(second), (IngestOutcome{3, 0}));
  std::vector<UsageRecord> all = first;
  all.insert(all.end(), second.begin(), second.end());

  const Instant day_end{kDay1.ns + domain::kNsPerDay};
  for (RollupGrain grain : {RollupGrain::kHour, RollupGrain::kDay}) {
    const char* grain_name = grain == RollupGrain::kHour ? "hourly" : "daily";
    const std::vector<RollupRow> rows = Sorted(this->MustReadRollups("org-a", grain, kDay1, day_end));
    EXPECT_EQ(rows, ExpectedRollups(all, grain, kDay1, day_end)) << grain_name;
    ASSERT_EQ(rows.size(), 4u) << grain_name;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(rows[i].rate_fingerprint_min, two_min) << grain_name << " " << rows[i].deployment_id;
      EXPECT_EQ(rows[i].rate_fingerprint_max, two_max) << grain_name << " " << rows[i].deployment_id;
    }
    EXPECT_EQ(rows[3].rate_fingerprint_min, one) << grain_name << ": one rate, min == max";
    EXPECT_EQ(rows[3].rate_fingerprint_max, one) << grain_name << ": one rate, min == max";
  }

  // The latest capacity row spans the rates of every row it sums.
  RangeReadPlan plan;
  plan.latest_capacity = TimeRange{kDay1, day_end};
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
  const std::vector<LatestCapacityRow> latest = this->MustReadRange("org-a", plan).latest_capacity;
  ASSERT_EQ(latest.size(), 4u);
  EXPECT_EQ(latest[0].rate_fingerprint_min, two_min);
  EXPECT_EQ(latest[0].rate_fingerprint_max, two_max);
  EXPECT_EQ(latest[3].rate_fingerprint_min, one);
  EXPECT_EQ(latest[3].rate_fingerprint_max, one);
}

TYPED_TEST(StoreContractTest, CorrectionsAndZeroQuantitiesAddNoUsageTime) {
  const std::int64_t h = domain::kNsPerHour;
  auto at = [&](std::int64_t ns) { return Instant{kDay1.ns + ns}; };
  // d1: a correction alone over 00:30-02:00; d2: +1 over 00:00-01:00 and its partial
  // correction over 00:00-00:15 in a later batch; d3: a zero quantity (no usage time, but a cell).
  const std::vector<UsageRecord> records = {Record("d1-correction", "org-a", "d1", at(h / 2), at(2 * h), "-2", "0.5"),
                                            Record("d2-use", "org-a", "d2", at(0), at(h), "1", "0.5"),
                                            Record("d3-zero", "org-a", "d3", at(0), at(h), "0", "0.5"),
                                            Record("d2-correction", "org-a", "d2", at(0), at(h / 4), "-1", "0.5")};
  ASSERT_EQ(this->MustIngest({records.begin(), records.begin() + 3}), (IngestOutcome{3, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 3, records.end()}), (IngestOutcome{1, 0}));

  const Instant day_end{kDay1.ns + domain::kNsPerDay};
  auto usage = [](const std::vector<RollupRow>& rows) {
    std::vector<std::tuple<Instant, std::string, std::int64_t>> out;
    for (const RollupRow& row : rows) out.emplace_back(row.period_start, row.deployment_id, row.usage_ns);
    return out;
  };
  using Usage = std::vector<std::tuple<Instant, std::string, std::int64_t>>;
  const std::vector<RollupRow> hourly = Sorted(this->MustReadRollups("org-a", RollupGrain::kHour, kDay1, day_end));
  EXPECT_EQ(hourly, ExpectedRollups(records, RollupGrain::kHour, kDay1, day_end));
  EXPECT_EQ(usage(hourly), (Usage{{at(0), "d1", 0}, {at(0), "d2", h}, {at(0), "d3", 0}, {at(h), "d1", 0}}))
      << "corrections and zero quantities add no usage time but keep their cells";
  const std::vector<RollupRow> daily = Sorted(this->MustReadRollups("org-a", RollupGrain::kDay, kDay1, day_end));
  EXPECT_EQ(daily, ExpectedRollups(records, RollupGrain::kDay, kDay1, day_end));
  EXPECT_EQ(usage(daily), (Usage{{kDay1, "d1", 0}, {kDay1, "d2", h}, {kDay1, "d3", 0}}));
}

TYPED_TEST(StoreContractTest, CreditsAreAddedOnceAndReadSortedByStartThenId) {
  const Instant nov = At("2026-11-01T00:00:00Z");
  const Instant dec = At("2026-12-01T00:00:00Z");
  const Instant next_year = At("2027-11-01T00:00:00Z");
  const Credit c1{"c-1", "org-a", 100'000'000'000, nov, next_year};
  const Credit c0{"c-0", "org-a", 5, dec, next_year};  // later start, smaller id
  const Credit c2{"c-2", "org-a", 7, nov, dec};
  const Credit b1{"c-1", "org-b", 9, dec, next_year};  // ids are per organization
  for (const Credit& c : {c1, c0, c2, b1}) ASSERT_TRUE(this->store().AddCredit(c)) << c.id;

  // An identical re-send is a no-op.
  ASSERT_TRUE(this->store().AddCredit(c1));
  // Another credit under a used id is refused, whatever differs.
  const std::vector<std::string> id_field = {"id"};
  Credit more = c1;
  more.ecu += 1;
  ExpectError(this->store().AddCredit(more), ErrorCode::kAlreadyExists, &id_field);
  Credit longer = c1;
  longer.end = Instant{next_year.ns + 1};
  ExpectError(this->store().AddCredit(longer), ErrorCode::kAlreadyExists, &id_field);
  Credit earlier = c1;
  earlier.start = Instant{nov.ns - 1};
  ExpectError(this->store().AddCredit(earlier), ErrorCode::kAlreadyExists, &id_field);
  // An unknown organization.
  ExpectError(this->store().AddCredit(Credit{"c-9", "no-such-org", 1, nov, dec}), ErrorCode::kOrganizationNotFound);

  EXPECT_EQ(this->MustReadCredits("org-a"), (std::vector<Credit>{c1, c2, c0}));
  EXPECT_EQ(this->MustReadCredits("org-b"), (std::vector<Credit>{b1}));
  EXPECT_TRUE(this->MustReadCredits("no-such-org").empty()) << "a failed add stores nothing";
  EXPECT_TRUE(this->MustReadCredits("org-c").empty());

  // Credits come with the rest of a plan.
  const std::vector<UsageRecord> records = RangeDataSet();
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{static_cast<std::int64_t>(records.size()), 0}));
  RangeReadPlan plan = RangeDataSetPlan();
  plan.credits = true;
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
  EXPECT_EQ(this->MustReadRange("org-a", plan).credits, (std::vector<Credit>{c1, c2, c0}));
}

TYPED_TEST(StoreContractTest, LatestCapacitySumsTheItemsOfTheLatestHour) {
  const std::int64_t h = domain::kNsPerHour;
  auto hour = [&](int i) { return Instant{kDay1.ns + i * h}; };
  using domain::ResourceKind;
  UsageRecord kibana_trial = ItemRecord("d1-kibana-5-trial", "org-a", "d1", kKibanaSku, ResourceKind::kKibana, 3,
                                        hour(5), hour(6), "1", "0.1");
  kibana_trial.trial = true;
  UsageRecord data_out = Record("d1-out-7", "org-a", "d1", hour(7), hour(8), "1", "0.5");
  data_out.dimension = Dimension::kDataOut;
  data_out.kind = std::nullopt;
  const std::vector<UsageRecord> records = {
      // d1: one sku at 03:00; at 05:00 two skus with cost (kibana twice, one of them trial) and
      // a free one (cost 0: not counted); at 06:00 only a free sku; data_out at 07:00.
      ItemRecord("d1-hot-3", "org-a", "d1", kHotSku, ResourceKind::kElasticsearch, 2, hour(3), hour(4), "1", "0.5"),
      ItemRecord("d1-hot-5", "org-a", "d1", kHotSku, ResourceKind::kElasticsearch, 2, hour(5), hour(6), "2", "0.25"),
      ItemRecord("d1-kibana-5", "org-a", "d1", kKibanaSku, ResourceKind::kKibana, 1, hour(5), hour(6), "1", "0.2"),
      kibana_trial,
      ItemRecord("d1-apm-5-free", "org-a", "d1", kApmSku, ResourceKind::kApm, 4, hour(5), hour(6), "1", "0"),
      ItemRecord("d1-apm-6-free", "org-a", "d1", kApmSku, ResourceKind::kApm, 4, hour(6), hour(7), "1", "0"),
      data_out,
      // d2: a half hour of one sku and a whole hour of another at 02:00.
      ItemRecord("d2-hot-2", "org-a", "d2", kHotSku, ResourceKind::kElasticsearch, 2, hour(2),
                 Instant{hour(2).ns + h / 2}, "0.5", "1"),
      ItemRecord("d2-kibana-2", "org-a", "d2", kKibanaSku, ResourceKind::kKibana, 1, hour(2), hour(3), "1", "0.1"),
  };
  ASSERT_EQ(this->MustIngest({records.begin(), records.begin() + 2}), (IngestOutcome{2, 0}));
  ASSERT_EQ(this->MustIngest({records.begin() + 2, records.end()}),
            (IngestOutcome{static_cast<std::int64_t>(records.size()) - 2, 0}));

  auto latest = [&](Instant from, Instant to) {
    RangeReadPlan plan;
    plan.latest_capacity = TimeRange{from, to};
    this->ExpectReadRangeEqualsSingleReads("org-a", plan);
    return this->MustReadRange("org-a", plan).latest_capacity;
  };
  // d1 at 05:00: hot 0.5 + kibana 0.2 + kibana trial 0.1 ECU; 2 + 1 + 1 units; three hours of
  // usage (hot, and kibana twice); hot's 2 instances + kibana's largest, 3. The free apm row
  // adds nothing. d2 at 02:00: 0.5 + 0.1 ECU, 0.5 + 1 units, 1.5 hours, 2 + 1 instances.
  // Rate fingerprints: the smallest and largest over the rows summed.
  const auto [d1_min, d1_max] = FingerprintRange({"0.25", "0.2", "0.1"});
  const auto [d2_min, d2_max] = FingerprintRange({"1", "0.1"});
  const std::vector<LatestCapacityRow> expected = {
      {hour(5), "d1", Dimension::kCapacity, "", "", 800'000'000, 100'000'000, 4000, 3 * h, 5, d1_min, d1_max},
      {hour(2), "d2", Dimension::kCapacity, "", "", 600'000'000, 0, 1500, h + h / 2, 3, d2_min, d2_max},
  };
  const std::int64_t half = domain::DecimalFingerprint(Dec("0.5"));
  EXPECT_EQ(latest(hour(0), hour(8)), expected);
  EXPECT_EQ(latest(hour(0), hour(24)), expected) << "free capacity and data_out hours never count";
  EXPECT_EQ(latest(hour(0), hour(5)),
            (std::vector<LatestCapacityRow>{
                {hour(3), "d1", Dimension::kCapacity, "", "", 500'000'000, 0, 1000, h, 2, half, half}, expected[1]}));
  EXPECT_EQ(latest(hour(5), hour(6)), std::vector<LatestCapacityRow>{expected[0]});
  EXPECT_TRUE(latest(hour(6), hour(8)).empty());
}

// Amounts that each fit int64 nano-ECU but whose sums do not: two items of 5,000,000,000 ECU
// in one hour of one deployment, and the same on the next day. Every store accepts them (each
// rollup row fits) and reads them back; the latest capacity sums the hour in 128 bits, where
// it once failed (kStoreFailed) on every read of the organization, for good.
TYPED_TEST(StoreContractTest, SumsPastInt64NanoEcuAreReadBackExactly) {
  const std::int64_t h = domain::kNsPerHour;
  auto hour = [&](int i) { return Instant{kDay1.ns + i * h}; };
  using domain::ResourceKind;
  const std::vector<UsageRecord> records = {
      ItemRecord("hot-10", "org-a", "d1", kHotSku, ResourceKind::kElasticsearch, 1, hour(10), hour(11), "5000000000",
                 "1"),
      ItemRecord("kibana-10", "org-a", "d1", kKibanaSku, ResourceKind::kKibana, 1, hour(10), hour(11), "5000000000",
                 "1"),
      ItemRecord("hot-34", "org-a", "d1", kHotSku, ResourceKind::kElasticsearch, 1, hour(34), hour(35), "5000000000",
                 "1"),
  };
  ASSERT_EQ(this->MustIngest(records), (IngestOutcome{3, 0}));
  const Nanos five = 5'000'000'000 * domain::kNanosPerEcu;
  RangeReadPlan plan;
  plan.daily = {TimeRange{kDay1, hour(48)}};
  plan.latest_capacity = TimeRange{kDay1, hour(24)};
  this->ExpectReadRangeEqualsSingleReads("org-a", plan);
  const RangeReadResult read = this->MustReadRange("org-a", plan);
  domain::WideNanos sum = 0;
  for (const RollupRow& row : read.rollups) {
    EXPECT_EQ(row.cost, five) << "each daily row is one record's cost";
    sum += row.cost;
  }
  EXPECT_EQ(read.rollups.size(), 3u);
  EXPECT_TRUE(sum == domain::WideNanos{3} * five) << domain::FormatWideNanos(sum);
  ASSERT_EQ(read.latest_capacity.size(), 1u);
  EXPECT_EQ(domain::FormatWideNanos(read.latest_capacity[0].cost), "10000000000")
      << "the hour's two items, summed past int64";
  EXPECT_EQ(read.latest_capacity[0].period_start, hour(10));
}

TYPED_TEST(StoreContractTest, ApiKeysRoundTripWithAndWithoutExpiry) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash", false, {"org-a"}}));
  const ApiKey forever{"0123456789abcdef",           "alice",      "",   std::string(64, 'a'),
                       At("2026-11-01T10:00:00.5Z"), std::nullopt, false};
  const ApiKey expiring{"fedcba9876543210",
                        "alice",
                        "ci pipeline ✓",
                        std::string(64, 'b'),
                        At("2026-11-01T10:00:00Z"),
                        At("2027-11-01T10:00:00.000000001Z"),
                        false};
  ASSERT_TRUE(this->store().CreateApiKey(forever));
  ASSERT_TRUE(this->store().CreateApiKey(expiring));
  for (const ApiKey& key : {forever, expiring}) {
    Result<std::optional<ApiKey>> found = this->store().FindApiKey(key.id);
    ASSERT_TRUE(found.has_value()) << Describe(found.error());
    EXPECT_EQ(*found, std::optional<ApiKey>(key)) << key.id;
  }
  Result<std::optional<ApiKey>> missing = this->store().FindApiKey("0000000000000000");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  // Replacing the user keeps its keys.
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-2", true, {}}));
  Result<std::optional<ApiKey>> after = this->store().FindApiKey(forever.id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, std::optional<ApiKey>(forever)) << "PutUser must not drop or change the user's keys";
}

TYPED_TEST(StoreContractTest, SessionsRoundTripByTheirDigest) {
  const Session by_password{std::string(64, 'a'), "alice", std::nullopt, At("2026-11-01T10:00:00.5Z"),
                            At("2026-11-01T10:00:00.5Z")};
  const Session by_key{std::string(64, 'b'), "bob ✓", std::string("0123456789abcdef"), At("2026-11-01T10:00:00Z"),
                       At("2026-11-01T10:20:00.000000001Z")};
  ASSERT_TRUE(this->store().CreateSession(by_password));
  ASSERT_TRUE(this->store().CreateSession(by_key));
  for (const Session& session : {by_password, by_key}) {
    Result<std::optional<Session>> found = this->store().FindSession(session.id_digest);
    ASSERT_TRUE(found.has_value()) << Describe(found.error());
    EXPECT_EQ(*found, std::optional<Session>(session)) << session.user;
  }
  Result<std::optional<Session>> missing = this->store().FindSession(std::string(64, 'c'));
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  ExpectError(this->store().CreateSession(Session{by_password.id_digest, "mallory", std::nullopt, kDay1, kDay1}),
              ErrorCode::kAlreadyExists);
  Result<std::optional<Session>> kept = this->store().FindSession(by_password.id_digest);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(*kept, std::optional<Session>(by_password)) << "a failed create must leave the session as it was";
}

TYPED_TEST(StoreContractTest, TouchSessionOnlyMovesTheLastUseForward) {
  const Session session{std::string(64, 'a'), "alice", std::nullopt, kDay1, At("2026-11-01T00:10:00Z")};
  ASSERT_TRUE(this->store().CreateSession(session));
  ASSERT_TRUE(this->store().TouchSession(session.id_digest, At("2026-11-01T00:05:00Z")));
  EXPECT_EQ((*this->store().FindSession(session.id_digest))->last_used, At("2026-11-01T00:10:00Z")) << "not back";
  ASSERT_TRUE(this->store().TouchSession(session.id_digest, At("2026-11-01T00:11:00.000000001Z")));
  Session touched = session;
  touched.last_used = At("2026-11-01T00:11:00.000000001Z");
  EXPECT_EQ(*this->store().FindSession(session.id_digest), std::optional<Session>(touched));
  EXPECT_TRUE(this->store().TouchSession(std::string(64, 'z'), kDay1)) << "a missing session is no error";
  EXPECT_FALSE(this->store().FindSession(std::string(64, 'z'))->has_value()) << "and is not created";
}

TYPED_TEST(StoreContractTest, DeleteSessionIsIdempotentAndDeletesOnlyThatOne) {
  const Session a{std::string(64, 'a'), "alice", std::nullopt, kDay1, kDay1};
  const Session b{std::string(64, 'b'), "alice", std::nullopt, kDay1, kDay1};
  ASSERT_TRUE(this->store().CreateSession(a));
  ASSERT_TRUE(this->store().CreateSession(b));
  ASSERT_TRUE(this->store().DeleteSession(a.id_digest));
  EXPECT_FALSE(this->store().FindSession(a.id_digest)->has_value());
  EXPECT_TRUE(this->store().FindSession(b.id_digest)->has_value());
  EXPECT_TRUE(this->store().DeleteSession(a.id_digest)) << "again";
  EXPECT_TRUE(this->store().DeleteSession(std::string(64, 'z'))) << "never there";
}

TYPED_TEST(StoreContractTest, DeleteExpiredSessionsDeletesByEitherCutoffInclusively) {
  const Instant idle_cutoff = At("2026-11-01T11:30:00Z");
  const Instant absolute_cutoff = At("2026-11-01T00:00:00Z");
  const auto plus = [](Instant t, std::int64_t ns) { return Instant{t.ns + ns}; };
  const Session idle{std::string(64, 'a'), "u", std::nullopt, At("2026-11-01T06:00:00Z"), idle_cutoff};
  const Session old{std::string(64, 'b'), "u", std::nullopt, absolute_cutoff, At("2026-11-01T11:59:00Z")};
  const Session fresh{std::string(64, 'c'), "u", std::nullopt, plus(absolute_cutoff, 1), plus(idle_cutoff, 1)};
  for (const Session& s : {idle, old, fresh}) ASSERT_TRUE(this->store().CreateSession(s));
  Result<std::int64_t> deleted = this->store().DeleteExpiredSessions(idle_cutoff, absolute_cutoff);
  ASSERT_TRUE(deleted.has_value()) << Describe(deleted.error());
  EXPECT_EQ(*deleted, 2);
  EXPECT_FALSE(this->store().FindSession(idle.id_digest)->has_value()) << "last used at the idle cutoff";
  EXPECT_FALSE(this->store().FindSession(old.id_digest)->has_value()) << "created at the absolute cutoff";
  EXPECT_TRUE(this->store().FindSession(fresh.id_digest)->has_value()) << "one nanosecond after both";
  EXPECT_EQ(*this->store().DeleteExpiredSessions(idle_cutoff, absolute_cutoff), 0);
}

TYPED_TEST(StoreContractTest, PutUserWithAnotherPasswordHashEndsOnlyThatUsersSessions) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", false, {}}));
  ASSERT_TRUE(this->store().PutUser(User{"bob", "hash-1", false, {}}));
  const Session a{std::string(64, 'a'), "alice", std::nullopt, kDay1, kDay1};
  const Session b{std::string(64, 'b'), "bob", std::nullopt, kDay1, kDay1};
  ASSERT_TRUE(this->store().CreateSession(a));
  ASSERT_TRUE(this->store().CreateSession(b));
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-1", true, {}}));
  EXPECT_TRUE(this->store().FindSession(a.id_digest)->has_value()) << "the same hash (another admin flag) keeps it";
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash-2", true, {}}));
  EXPECT_FALSE(this->store().FindSession(a.id_digest)->has_value()) << "a new password hash ends alice's sessions";
  EXPECT_TRUE(this->store().FindSession(b.id_digest)->has_value()) << "bob's stay";
}

TYPED_TEST(StoreContractTest, CreateApiKeyWithATakenIdOrAnUnknownUserFails) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash", false, {}}));
  ASSERT_TRUE(this->store().PutUser(User{"bob", "hash", false, {}}));
  const ApiKey key{"0123456789abcdef", "alice", "first", std::string(64, 'a'), kDay1, std::nullopt, false};
  ASSERT_TRUE(this->store().CreateApiKey(key));

  const std::vector<std::string> id_field = {"id"};
  ExpectError(this->store().CreateApiKey(
                  ApiKey{key.id, "bob", "second", std::string(64, 'b'), kDay1, At("2027-01-01T00:00:00Z"), false}),
              ErrorCode::kAlreadyExists, &id_field);
  Result<std::optional<ApiKey>> found = this->store().FindApiKey(key.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, std::optional<ApiKey>(key)) << "a failed create must leave the existing key as it was";

  const std::vector<std::string> user_field = {"user"};
  const ApiKey orphan{"1111111111111111", "no-such-user", "", std::string(64, 'c'), kDay1, std::nullopt, false};
  ExpectError(this->store().CreateApiKey(orphan), ErrorCode::kNotFound, &user_field);
  Result<std::optional<ApiKey>> not_created = this->store().FindApiKey(orphan.id);
  ASSERT_TRUE(not_created.has_value());
  EXPECT_FALSE(not_created->has_value()) << "a failed create stores nothing";
}

TYPED_TEST(StoreContractTest, RevokeApiKeyIsIdempotentAndNotFoundForUnknownKeys) {
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash", false, {}}));
  const ApiKey key{"0123456789abcdef", "alice", "k", std::string(64, 'a'), kDay1, At("2027-01-01T00:00:00Z"), false};
  const ApiKey other{"fedcba9876543210", "alice", "other", std::string(64, 'b'), kDay1, std::nullopt, false};
  ASSERT_TRUE(this->store().CreateApiKey(key));
  ASSERT_TRUE(this->store().CreateApiKey(other));

  ApiKey revoked = key;
  revoked.revoked = true;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(this->store().RevokeApiKey(key.id)) << "revoke #" << i + 1;
    Result<std::optional<ApiKey>> found = this->store().FindApiKey(key.id);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(*found, std::optional<ApiKey>(revoked)) << "revoke #" << i + 1 << " changes only `revoked`";
  }
  Result<std::optional<ApiKey>> untouched = this->store().FindApiKey(other.id);
  ASSERT_TRUE(untouched.has_value());
  EXPECT_EQ(*untouched, std::optional<ApiKey>(other)) << "revoking one key leaves the others";

  ExpectError(this->store().RevokeApiKey("0000000000000000"), ErrorCode::kNotFound);
  ExpectError(this->store().RevokeApiKey(""), ErrorCode::kNotFound);
}

// ---- Data versions ---------------------------------------------------------------------------

TYPED_TEST(StoreContractTest, DataVersionIsZeroForUnknownOrganizationsAndOrganizationsWithoutData) {
  EXPECT_EQ(this->MustDataVersion("no-such-org"), 0) << "an unknown organization";
  EXPECT_EQ(this->MustDataVersion("org-a"), 0) << "an organization without usage or credits";
  ASSERT_TRUE(this->store().PutUser(User{"alice", "hash", false, {"org-a"}}));
  EXPECT_EQ(this->MustDataVersion("org-a"), 0) << "a membership is no data of the organization";
}

TYPED_TEST(StoreContractTest, DataVersionMovesOnlyWhenAnIngestStoresARecordOfTheOrganization) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord a1 = Record("u1", "org-a", "d1", kDay1, end);
  ASSERT_EQ(this->MustIngest({a1}), (IngestOutcome{1, 0}));
  const std::int64_t v1 = this->MustDataVersion("org-a");
  EXPECT_GT(v1, 0) << "an ingest storing a record of org-a moves its version";

  // Another organization's ingest moves only that organization's version.
  ASSERT_EQ(this->MustIngest({Record("u2", "org-b", "d1", kDay1, end)}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustDataVersion("org-a"), v1) << "org-b's ingest leaves org-a's version";
  const std::int64_t b1 = this->MustDataVersion("org-b");
  EXPECT_GT(b1, 0);

  // An all-duplicate re-send stores nothing and moves nothing.
  ASSERT_EQ(this->MustIngest({a1}), (IngestOutcome{0, 1}));
  EXPECT_EQ(this->MustDataVersion("org-a"), v1) << "an all-duplicate re-send leaves the version";

  // Failed batches store nothing and move nothing, even with new records of the org.
  UsageRecord conflicting = a1;
  conflicting.deployment_name = "renamed";
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{Record("u3", "org-a", "d1", kDay1, end), conflicting}),
              ErrorCode::kConflict);
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{Record("u4", "org-a", "d1", kDay1, end),
                                                            Record("u5", "no-such-org", "d1", kDay1, end)}),
              ErrorCode::kOrganizationNotFound);
  UsageRecord huge = Record("u6", "org-a", "d1", kDay1, end);
  huge.cost_nanos = std::numeric_limits<Nanos>::max();
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{huge}), ErrorCode::kInvalidData);
  EXPECT_EQ(this->MustDataVersion("org-a"), v1) << "a failed batch leaves the version";
  EXPECT_EQ(this->MustDataVersion("org-b"), b1) << "a failed batch leaves the version";
  EXPECT_EQ(this->MustDataVersion("no-such-org"), 0);

  // A batch with duplicates and a new record of each organization moves both.
  ASSERT_EQ(this->MustIngest({a1, Record("u7", "org-a", "d2", kDay1, end), Record("u8", "org-b", "d1", kDay1, end)}),
            (IngestOutcome{2, 1}));
  EXPECT_GT(this->MustDataVersion("org-a"), v1);
  EXPECT_GT(this->MustDataVersion("org-b"), b1);
}

TYPED_TEST(StoreContractTest, ReadRangeReportsTheDataVersionOfItsSnapshot) {
  const RangeReadPlan plan{{}, {}, {{kDay1, Instant{kDay1.ns + domain::kNsPerDay}}}, std::nullopt, false, false};
  EXPECT_EQ(this->MustReadRange("org-a", plan).version, 0) << "an organization without data";
  EXPECT_EQ(this->MustReadRange("no-such-org", plan).version, 0) << "an unknown organization";
  ASSERT_EQ(this->MustIngest({Record("u1", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}),
            (IngestOutcome{1, 0}));
  const RangeReadResult read = this->MustReadRange("org-a", plan);
  EXPECT_EQ(read.version, this->MustDataVersion("org-a"));
  EXPECT_EQ(read.rollups.size(), 1u);
  ASSERT_TRUE(this->store().AddCredit(Credit{"c-1", "org-a", 1'000, kDay1, At("2027-11-01T00:00:00Z")}));
  EXPECT_EQ(this->MustReadRange("org-a", plan).version, this->MustDataVersion("org-a"));
  EXPECT_GT(this->MustReadRange("org-a", plan).version, read.version);
}

TYPED_TEST(StoreContractTest, DataVersionMovesWhenACreditIsAddedNotOnAReSendOrAConflict) {
  const Credit credit{"c-1", "org-a", 1'000, kDay1, At("2027-11-01T00:00:00Z")};
  ASSERT_TRUE(this->store().AddCredit(credit));
  const std::int64_t v1 = this->MustDataVersion("org-a");
  EXPECT_GT(v1, 0) << "an added credit moves the version";
  EXPECT_EQ(this->MustDataVersion("org-b"), 0) << "org-a's credit leaves org-b's version";

  ASSERT_TRUE(this->store().AddCredit(credit));
  EXPECT_EQ(this->MustDataVersion("org-a"), v1) << "an identical re-send leaves the version";
  Credit other = credit;
  other.ecu += 1;
  ExpectError(this->store().AddCredit(other), ErrorCode::kAlreadyExists);
  EXPECT_EQ(this->MustDataVersion("org-a"), v1) << "a refused credit leaves the version";
  ExpectError(this->store().AddCredit(Credit{"c-1", "no-such-org", 1, kDay1, At("2027-11-01T00:00:00Z")}),
              ErrorCode::kOrganizationNotFound);
  EXPECT_EQ(this->MustDataVersion("no-such-org"), 0);

  Credit second = credit;
  second.id = "c-2";
  ASSERT_TRUE(this->store().AddCredit(second));
  EXPECT_GT(this->MustDataVersion("org-a"), v1) << "a second credit moves the version again";
}

TYPED_TEST(StoreContractTest, DataVersionNeverGoesBack) {
  std::int64_t last = this->MustDataVersion("org-a");
  for (int i = 0; i < 6; ++i) {
    const std::string id = "x" + std::to_string(i);
    if (i % 2 == 0) {
      ASSERT_EQ(this->MustIngest({Record(id, "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}),
                (IngestOutcome{1, 0}));
    } else {
      ASSERT_TRUE(this->store().AddCredit(Credit{id, "org-a", 1, kDay1, At("2027-11-01T00:00:00Z")}));
    }
    const std::int64_t now = this->MustDataVersion("org-a");
    EXPECT_GT(now, last) << "after change " << i;
    last = now;
    // Changes elsewhere and no-ops never take it back.
    ASSERT_EQ(this->MustIngest({Record("b" + id, "org-b", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour})}),
              (IngestOutcome{1, 0}));
    EXPECT_EQ(this->MustDataVersion("org-a"), last);
  }
}

// ---- Verification (service::VerifyStore over each adapter; helpers in contract_support.hpp) ----

TYPED_TEST(StoreContractTest, ListOrganizationsIsEveryOrganizationById) {
  ASSERT_TRUE(this->store().CreateOrganization(Organization{"org-0", "Zero"}));
  Result<std::vector<Organization>> orgs = this->store().ListOrganizations();
  ASSERT_TRUE(orgs.has_value()) << Describe(orgs.error());
  EXPECT_EQ(*orgs, (std::vector<Organization>{{"org-0", "Zero"}, {"org-a", "Org A"}, {"org-b", "Org B"}}));
}

TYPED_TEST(StoreContractTest, ReadRangeUsageIsEveryRecordOfTheOrganizationInIngestOrder) {
  std::vector<std::string> expected;
  for (const std::vector<UsageRecord>& batch : VerifyBatches()) {
    this->MustIngest(batch);
  }
  for (const std::vector<UsageRecord>& batch : VerifyBatches()) {
    for (const UsageRecord& r : batch) {
      if (r.organization_id == "org-a" && std::find(expected.begin(), expected.end(), r.id) == expected.end()) {
        expected.push_back(r.id);
      }
    }
  }
  RangeReadPlan plan;
  plan.usage = true;
  const RangeReadResult read = this->MustReadRange("org-a", plan);
  std::vector<std::string> got;
  for (const UsageRecord& r : read.usage) got.push_back(r.id);
  EXPECT_EQ(got, expected) << "every record once, batch after batch, each in its order";
  for (const UsageRecord& r : read.usage) {
    for (const std::vector<UsageRecord>& batch : VerifyBatches()) {
      for (const UsageRecord& sent : batch) {
        if (sent.id == r.id) {
          EXPECT_EQ(r, sent) << "record " << r.id << " is read as it was ingested";
        }
      }
    }
  }
  EXPECT_TRUE(this->MustReadRange("org-a", RangeReadPlan{}).usage.empty()) << "no usage unless the plan asks";
}

TYPED_TEST(StoreContractTest, VerifyFindsNothingToReportAfterIngests) {
  service::VerifyReport empty = MustVerify(this->store(), true);
  EXPECT_EQ(empty.organizations, 2);
  for (const std::vector<UsageRecord>& batch : VerifyBatches()) this->MustIngest(batch);
  service::VerifyReport report = MustVerify(this->store(), true);
  EXPECT_EQ(report.organizations, 2);
  EXPECT_EQ(report.records, 10) << "the duplicate is stored once";
  EXPECT_GT(report.rollup_rows, 100) << "the long record alone covers over 100 hours";
  EXPECT_EQ(report.items, 5);
}

// ---- Billing v2: instance types and the rate catalog ----------------------------------------

TYPED_TEST(StoreContractTest, InstanceTypeRoundTripsThroughEveryReadOfRecords) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  std::vector<UsageRecord> batch;
  for (int t = 0; t < domain::kInstanceTypeCount; ++t) {
    UsageRecord r = Record("u" + std::to_string(t), "org-a", "p" + std::to_string(t), kDay1, end);
    r.instance_type = static_cast<domain::InstanceType>(t);
    batch.push_back(r);
  }
  ASSERT_EQ(this->MustIngest(batch), (IngestOutcome{4, 0}));
  EXPECT_EQ(this->MustReadUsage("org-a", kDay1, end), SortedById(batch));
  RangeReadPlan plan;
  plan.raw = {{kDay1, end}};
  plan.usage = true;
  const RangeReadResult read = this->MustReadRange("org-a", plan);
  ASSERT_EQ(read.raw.size(), 1u);
  EXPECT_EQ(SortedById(read.raw[0]), SortedById(batch)) << "raw windows";
  EXPECT_EQ(read.usage, batch) << "plan.usage, in ingest order";
  EXPECT_EQ(this->MustIngest(batch), (IngestOutcome{0, 4})) << "a re-send is a duplicate";
}

TYPED_TEST(StoreContractTest, ARecordDifferingOnlyInInstanceTypeIsAConflict) {
  UsageRecord project = Record("u1", "org-a", "p1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  project.instance_type = domain::InstanceType::kObservability;
  ASSERT_EQ(this->MustIngest({project}), (IngestOutcome{1, 0}));
  UsageRecord as_deployment = project;
  as_deployment.instance_type = domain::InstanceType::kDeployment;
  UsageRecord as_security = project;
  as_security.instance_type = domain::InstanceType::kSecurity;
  const std::vector<std::string> fields = {"records[0].id", "records[1].id"};
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{as_deployment, as_security}), ErrorCode::kConflict,
              &fields);
  // The other way round: stored as a deployment (the default), re-sent as a project.
  const UsageRecord hosted = Record("u2", "org-a", "d1", kDay1, Instant{kDay1.ns + domain::kNsPerHour});
  ASSERT_EQ(this->MustIngest({hosted}), (IngestOutcome{1, 0}));
  UsageRecord hosted_as_project = hosted;
  hosted_as_project.instance_type = domain::InstanceType::kElasticsearch;
  const std::vector<std::string> first = {"records[0].id"};
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{hosted_as_project}), ErrorCode::kConflict, &first);
  EXPECT_EQ(this->MustReadUsage("org-a", kDay1, Instant{kDay1.ns + domain::kNsPerHour}), SortedById({project, hosted}));
}

TYPED_TEST(StoreContractTest, DeploymentTypeIsTheLatestStoredRecordsAcrossBatchesAndWithinOne) {
  using domain::InstanceType;
  const Instant end{kDay1.ns + domain::kNsPerHour};
  UsageRecord first = Record("u1", "org-a", "p1", kDay1, end);
  first.instance_type = InstanceType::kElasticsearch;
  ASSERT_EQ(this->MustIngest({first, Record("u0", "org-a", "d1", kDay1, end)}), (IngestOutcome{2, 0}));
  EXPECT_EQ(this->MustListDeployments("org-a"),
            (std::vector<Deployment>{{"d1", "d1-name", InstanceType::kDeployment},
                                     {"p1", "p1-name", InstanceType::kElasticsearch}}));

  // Within one batch the later record wins, whatever its period; another item of the
  // deployment counts as much as the same one.
  UsageRecord second = Record("u2", "org-a", "p1", kDay1, end);
  second.instance_type = InstanceType::kSecurity;
  UsageRecord third = Record("u3", "org-a", "p1", At("2026-10-01T00:00:00Z"), At("2026-10-01T01:00:00Z"));
  third.sku = "another-sku";
  third.instance_type = InstanceType::kObservability;
  ASSERT_EQ(this->MustIngest({second, third}), (IngestOutcome{2, 0}));
  const std::vector<Deployment> expected = {{"d1", "d1-name", InstanceType::kDeployment},
                                            {"p1", "p1-name", InstanceType::kObservability}};
  EXPECT_EQ(this->MustListDeployments("org-a"), expected);
  RangeReadPlan plan;
  EXPECT_EQ(this->MustReadRange("org-a", plan).deployments, expected) << "ReadRange's deployments";

  // A duplicate is not stored again, so it changes no type.
  ASSERT_EQ(this->MustIngest({second}), (IngestOutcome{0, 1}));
  EXPECT_EQ(this->MustListDeployments("org-a"), expected);
  // Back to a hosted deployment by a later batch.
  ASSERT_EQ(this->MustIngest({Record("u4", "org-a", "p1", kDay1, end)}), (IngestOutcome{1, 0}));
  EXPECT_EQ(this->MustListDeployments("org-a")[1], (Deployment{"p1", "p1-name", InstanceType::kDeployment}));
}

// `rates`, distinct by value, sorted by fingerprint.
std::vector<domain::Decimal> Catalog(std::initializer_list<std::string_view> rates) {
  std::map<std::int64_t, domain::Decimal> by_fingerprint;
  for (std::string_view r : rates) by_fingerprint.emplace(domain::DecimalFingerprint(Dec(r)), Dec(r));
  std::vector<domain::Decimal> out;
  for (const auto& [fingerprint, rate] : by_fingerprint) out.push_back(rate);
  return out;
}

TYPED_TEST(StoreContractTest, RateCatalogIsEveryDistinctRateOfTheOrganizationNormalizedAndSorted) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  EXPECT_TRUE(this->MustReadRates("org-a").empty()) << "no records, no rates";
  ASSERT_EQ(this->MustIngest({Record("u1", "org-a", "d1", kDay1, end, "2", "0.10"),
                              Record("u2", "org-a", "d2", kDay1, end, "2", "0.1"),  // the same rate
                              Record("u3", "org-a", "d1", kDay1, end, "1", "2E+2"),
                              Record("u4", "org-b", "d9", kDay1, end, "1", "7.5")}),
            (IngestOutcome{4, 0}));
  EXPECT_EQ(this->MustReadRates("org-a"), Catalog({"0.1", "200"}));
  ASSERT_EQ(this->MustIngest({Record("u5", "org-a", "d1", kDay1, end, "1", "0.0913"),
                              Record("u6", "org-a", "d1", kDay1, end, "1", "0.100"),
                              Record("u7", "org-a", "d3", kDay1, end, "1", "0")}),
            (IngestOutcome{3, 0}));
  const std::vector<domain::Decimal> org_a = Catalog({"0.1", "200", "0.0913", "0"});
  EXPECT_EQ(this->MustReadRates("org-a"), org_a);
  for (const domain::Decimal& rate : org_a) {
    EXPECT_EQ(rate, Dec(domain::FormatDecimal(rate))) << "normalized: " << domain::FormatDecimal(rate);
  }
  EXPECT_EQ(this->MustReadRates("org-b"), Catalog({"7.5"})) << "org-b's own rates only";
  EXPECT_TRUE(this->MustReadRates("no-such-org").empty());
}

TYPED_TEST(StoreContractTest, RateCatalogTakesNothingFromFailedBatchesAndOnlyWhenThePlanAsks) {
  const Instant end{kDay1.ns + domain::kNsPerHour};
  const UsageRecord stored = Record("u1", "org-a", "d1", kDay1, end, "1", "0.5");
  ASSERT_EQ(this->MustIngest({stored}), (IngestOutcome{1, 0}));
  UsageRecord changed = stored;
  changed.rate = Dec("0.75");
  changed.cost_nanos = domain::MultiplyToNanos(changed.quantity, changed.rate).value();
  ExpectError(
      this->store().Ingest(std::vector<UsageRecord>{Record("u2", "org-a", "d1", kDay1, end, "1", "0.25"), changed}),
      ErrorCode::kConflict);
  ExpectError(this->store().Ingest(std::vector<UsageRecord>{Record("u3", "org-a", "d1", kDay1, end, "1", "0.3"),
                                                            Record("u4", "no-such-org", "d1", kDay1, end, "1", "9")}),
              ErrorCode::kOrganizationNotFound);
  EXPECT_EQ(this->MustReadRates("org-a"), Catalog({"0.5"})) << "a failed batch adds no rate";

  RangeReadPlan everything_else;
  everything_else.raw = {{kDay1, end}};
  everything_else.hourly = {{kDay1, end}};
  everything_else.items = true;
  everything_else.credits = true;
  everything_else.usage = true;
  EXPECT_TRUE(this->MustReadRange("org-a", everything_else).rates.empty()) << "plan.rates false: no rates";
}

}  // namespace
}  // namespace costs
