#include "app/wiring.hpp"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "app/options.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::app {

domain::Instant SystemClock::Now() const {
  return domain::Instant{
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count()};
}

std::int64_t SystemClock::MonotonicNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<service::Store>> OpenStore(std::string_view db_url, const StoreOptions& options) {
  auto url = ParseDbUrl(db_url);
  if (!url) return std::move(url).error();
  if (url->kind == DbUrl::Kind::kPostgres) {
    store::postgres::PostgresOptions pg;
    if (options.pool) pg.pool_size = *options.pool;
    if (options.timeout_ms) pg.statement_timeout_ms = *options.timeout_ms;
    pg.log = options.log;
    auto store = store::postgres::PostgresStore::Open(url->path_or_url, pg);
    if (!store) return std::move(store).error();
    std::unique_ptr<service::Store> result = std::move(*store);
    if (auto migrated = result->Migrate(); !migrated) return std::move(migrated).error();
    return result;
  }
  store::sqlite::SqliteOptions sqlite;
  if (options.pool) sqlite.max_connections = *options.pool;
  if (options.timeout_ms) sqlite.busy_timeout_ms = *options.timeout_ms;
  sqlite.log = options.log;
  if (options.batch_process) {
    sqlite.ingest_mmap_bytes = std::int64_t{1} << 40;  // SQLite caps it (2 GB here)
    sqlite.defer_checkpoints = true;
  }
  const std::filesystem::path path(url->path_or_url);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);  // Open reports what matters
  }
  auto store = store::sqlite::SqliteStore::Open(url->path_or_url, sqlite);
  if (!store) return std::move(store).error();
  std::unique_ptr<service::Store> result = std::move(*store);
  if (auto migrated = result->Migrate(); !migrated) return std::move(migrated).error();
  return result;
}

}  // namespace costs::app
