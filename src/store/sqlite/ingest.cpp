// SqliteStore::Ingest: the batch's steps (ingest.hpp) in one BEGIN IMMEDIATE transaction.

#include "store/sqlite/ingest.hpp"

#include <future>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <type_traits>

#include "store/common/ingest_contract.hpp"
#include "store/common/ingest_parts.hpp"
#include "store/sqlite/chunks.hpp"
#include "store/sqlite/id_index.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {

namespace detail {

namespace {

constexpr const char* kOrganizationExists = "SELECT 1 FROM organizations WHERE id = ?1";

// A thread costs more than it saves below this many records.
constexpr std::size_t kRecordsWorthAThread = 1000;

// `work` run on a thread of its own when `worth_a_thread` (and one can be started), else when
// its result is asked for.
template <typename Work>
std::future<std::invoke_result_t<Work>> RunBeside(const Work& work, bool worth_a_thread) {
  try {
    return std::async(worth_a_thread ? std::launch::async : std::launch::deferred, work);
  } catch (const std::system_error&) {  // no thread to be had: run on this one
    return std::async(std::launch::deferred, work);
  }
}

// For the span of one Ingest: a page cache large enough to hold every page the batch touches,
// so that none is read twice or spilled to the WAL before the commit (SQLite's default cache
// of 2 MB makes a 50,000-record batch write many pages to the WAL several times). The cache
// shrinks back to SQLite's default afterwards, which frees the pages. With
// SqliteOptions::ingest_mmap_bytes, the file is also read through a memory map meanwhile.
class IngestCache {
 public:
  static Result<IngestCache> Enlarge(Connection& connection, std::int64_t mmap_bytes) {
    if (Status s = connection.Exec("PRAGMA cache_size = -262144", "enlarge the page cache"); !s) {
      return std::move(s).error();
    }
    IngestCache cache(&connection, mmap_bytes > 0);
    if (mmap_bytes > 0) {
      const std::string pragma = "PRAGMA mmap_size = " + std::to_string(mmap_bytes);
      if (Status s = connection.Exec(pragma.c_str(), "map the database"); !s) return std::move(s).error();
    }
    return cache;
  }
  IngestCache(IngestCache&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)), mapped_(other.mapped_) {}
  IngestCache(const IngestCache&) = delete;
  IngestCache& operator=(const IngestCache&) = delete;
  IngestCache& operator=(IngestCache&&) = delete;
  ~IngestCache() {
    if (connection_ == nullptr) return;
    (void)connection_->Exec("PRAGMA cache_size = -2000", "shrink the page cache");
    if (mapped_) (void)connection_->Exec("PRAGMA mmap_size = 0", "unmap the database");
  }

 private:
  IngestCache(Connection* connection, bool mapped) : connection_(connection), mapped_(mapped) {}
  Connection* connection_;
  bool mapped_;
};

using store::IngestState;

// Step 3: each record is new, or a duplicate, or a conflict (store/common's ClassifyRecords):
// stored ids are found by hash (FindStored); the new records are written as chunks and their
// ids filed (FileIds), also when others conflict (so that a later part finds them). Returns the
// classification; fills batch.fresh.
Result<Classified> StoreUsage(Connection& c, const SqliteOptions& options, IngestBatch& batch, const IdHashes& ids) {
  Result<std::vector<IdSegment>> segments = SelectIdSegments(c);
  if (!segments) return std::move(segments).error();
  ChunkCache chunk_cache;
  const bool use_filters = static_cast<std::int64_t>(ids.probes.size()) >= options.id_filter_min_batch;
  Result<std::vector<StoredRecord>> stored =
      FindStored(c, batch.records, ids.probes, *segments, use_filters, options, chunk_cache);
  if (!stored) return std::move(stored).error();
  Result<Classified> classified = ClassifyRecords(batch.records, ids.first, [&](std::size_t i, std::size_t first) {
    const auto [record, chunk] = (*stored)[first];
    if (record == nullptr) return StoredId::kAbsent;
    return SameRecord(*record, chunk->org, batch.records[i], *batch.series_of[i]) ? StoredId::kEqual
                                                                                  : StoredId::kDifferent;
  });
  if (!classified) return classified;
  batch.fresh = classified->fresh;
  std::vector<std::int64_t> series_ids(batch.records.size());
  std::vector<std::int64_t> ordinals(batch.records.size());
  for (std::size_t i : batch.fresh) {
    series_ids[i] = *batch.series_of[i];
    ordinals[i] = static_cast<std::int64_t>(i);
  }
  Result<std::vector<IdEntry>> entries = WriteChunks(c, batch.records, series_ids, ids.hashes, batch.fresh, ordinals);
  if (!entries) return std::move(entries).error();
  if (Status s = FileIds(c, options, *entries, std::move(*segments)); !s) return std::move(s).error();
  return classified;
}

// The steps of one part, after the transaction began; fails only when the storage does (the
// contract's errors go to `state`). The ids are hashed on another thread while the organizations
// and series are read, and the rollups of every record (a part is usually all new) summed while
// the ids are checked; they are summed again for the new ones when some were not. Once an
// organization is unknown, only organizations are checked; once the parts are not stored whole,
// their rollups and catalog are left (nothing will be committed), but the new records are still
// filed, so that a later part's repeated id is found.
Status IngestPart(Connection& c, const SqliteOptions& options, std::span<const domain::UsageRecord> records,
                  IngestState& state) {
  const std::size_t base = std::exchange(state.base, state.base + records.size());
  const bool worth_a_thread = records.size() >= kRecordsWorthAThread;
  std::future<IdHashes> hashed = RunBeside([&] { return HashIds(options, records); }, worth_a_thread);
  Result<std::vector<std::size_t>> missing = MissingOrganizations(
      records, [&](const std::string& org) { return c.Exists(kOrganizationExists, "check an organization", org); });
  if (!missing) return std::move(missing).error();
  store::AppendFields(state.missing, base, *missing, "organization_id");
  if (!state.missing.empty()) return {};
  IngestBatch batch{records, {}, {}, {}, {}};
  if (Status s = ResolveSeries(c, batch); !s) return std::move(s).error();
  std::vector<std::size_t> every(records.size());
  std::iota(every.begin(), every.end(), std::size_t{0});
  std::future<BatchRollups> summed_all =
      RunBeside([&] { return SumRollups(batch, every); }, worth_a_thread && state.Clean());
  const IdHashes ids = hashed.get();
  Result<Classified> classified = StoreUsage(c, options, batch, ids);
  if (!classified) return std::move(classified).error();
  store::AppendFields(state.conflicts, base, classified->conflicts, "id");
  if (!state.Clean()) return {};
  const BatchRollups rollups = batch.fresh.size() == records.size() ? summed_all.get() : SumRollups(batch, batch.fresh);
  if (Status s = WriteRollups(c, rollups); !s) {
    if (s.error().code != ErrorCode::kInvalidData) return s;
    state.too_large = true;  // RollupTooLarge
    return {};
  }
  if (Status s = UpdateCatalog(c, batch); !s) return std::move(s).error();
  state.outcome.stored += static_cast<std::int64_t>(batch.fresh.size());
  state.outcome.duplicates += classified->duplicates;
  return {};
}

// SqliteStore::BeginIngest's transaction: the write lock, a connection with its enlarged page
// cache and one BEGIN IMMEDIATE transaction, held until Commit or destruction (which rolls back).
class PartsTransaction final : public store::PartsIngest {
 public:
  using Lease = ConnectionPool<Connection>::Lease;

  PartsTransaction(std::unique_lock<std::mutex> write_lock, Lease lease, IngestCache cache, Transaction transaction,
                   const SqliteOptions& options)
      : write_lock_(std::move(write_lock)),
        lease_(std::move(lease)),
        cache_(std::move(cache)),
        transaction_(std::move(transaction)),
        options_(options) {}

 private:
  Status AddPart(std::span<const domain::UsageRecord> records, IngestState& state) override {
    return IngestPart(*lease_, options_, records, state);
  }
  Status CommitParts() override { return transaction_->Commit(); }
  Result<bool> OrganizationExists(std::string_view id) override {
    return lease_->Exists(kOrganizationExists, "check an organization", id);
  }

  // Destroyed in reverse: the transaction rolls back (unless committed), then the page cache
  // shrinks, the connection goes back to the pool, and the write lock is released.
  std::unique_lock<std::mutex> write_lock_;
  Lease lease_;
  IngestCache cache_;
  std::optional<Transaction> transaction_;
  const SqliteOptions& options_;
};

}  // namespace

}  // namespace detail

using detail::Connection;
using detail::Transaction;

// One part in a transaction of its own: the same steps, locks and cache as an import.
Result<service::IngestOutcome> SqliteStore::Ingest(std::span<const domain::UsageRecord> records) {
  if (records.empty()) return service::IngestOutcome{};
  Result<std::unique_ptr<service::IngestTransaction>> transaction = BeginIngest();
  if (!transaction) return std::move(transaction).error();
  if (Status s = (*transaction)->Add(records); !s) return std::move(s).error();
  return (*transaction)->Commit();
}

Result<std::unique_ptr<service::IngestTransaction>> SqliteStore::BeginIngest() {
  std::unique_lock write_lock(write_mu_);
  JoinCheckpoint();  // so that the WAL, all copied, starts over for this batch
  Result<Lease> lease = Acquire();
  if (!lease) return std::move(lease).error();
  Connection& c = **lease;
  Result<detail::IngestCache> cache = detail::IngestCache::Enlarge(c, options_.ingest_mmap_bytes);
  if (!cache) return std::move(cache).error();
  Result<Transaction> transaction = Transaction::Begin(c, Transaction::Mode::kWrite);
  if (!transaction) return std::move(transaction).error();
  return std::unique_ptr<service::IngestTransaction>(std::make_unique<detail::PartsTransaction>(
      std::move(write_lock), std::move(*lease), std::move(*cache), std::move(*transaction), options_));
}

}  // namespace costs::store::sqlite
