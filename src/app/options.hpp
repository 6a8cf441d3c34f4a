#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"

namespace costs::app {

// Command-line flags in the `--name value` or `--name=value` forms, with a fallback to an
// environment variable per flag (COSTS_<NAME> upper-cased, '-' as '_'). Arguments that are not
// flags are kept in order as positionals.
class Flags {
 public:
  struct Spec {
    std::string name;  // without "--"
    bool takes_value = true;
    bool repeatable = false;
    bool from_env = true;  // read COSTS_<NAME> when absent
  };

  // Parses argv[first..argc). kInvalidData (message for humans) for an unknown flag, a missing
  // value or a repeated non-repeatable flag.
  static Result<Flags> Parse(int argc, char** argv, int first, const std::vector<Spec>& specs);

  bool Has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  // The flag as an integer in [min, max]; `fallback` when absent.
  Result<std::int64_t> GetInt(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  // The flag as a non-negative decimal (rates); `fallback` when absent.
  Result<double> GetRate(std::string_view name, double fallback) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positionals_;
};

// A --db value: "sqlite:PATH" (PATH may be relative) or "postgresql://..." / "postgres://...".
struct DbUrl {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::string path_or_url;
};
Result<DbUrl> ParseDbUrl(std::string_view url);

inline constexpr std::string_view kDefaultDb = "sqlite:var/costs.db";

// Store tuning shared by costsd and costsctl; unset means the store's default.
//   --db-pool N        connections per process (PostgreSQL pool size; SQLite connections);
//                      env COSTS_DB_POOL. PostgreSQL default 8.
//   --db-timeout-ms N  PostgreSQL statement_timeout, also the longest wait for a pooled
//                      connection or for the server's answer (+1 s); SQLite busy timeout;
//                      env COSTS_DB_TIMEOUT_MS. PostgreSQL default 10000.
struct StoreOptions {
  std::optional<int> pool;
  std::optional<int> timeout_ms;
  // costsctl: a short-lived process that writes one batch. The SQLite store then reads the
  // file through a memory map during an ingest and defers checkpoints to the next such
  // process (store::sqlite::SqliteOptions::ingest_mmap_bytes, defer_checkpoints). Not a flag.
  bool batch_process = false;
  // Where the store's diagnostics go (stderr when empty); costsd gives its logger.
  LogSink log = nullptr;
};
// The Flags::Spec entries of the flags above.
std::vector<Flags::Spec> StoreFlagSpecs();
// kInvalidData (a message for humans) for a value out of range.
Result<StoreOptions> StoreOptionsFromFlags(const Flags& flags);

// `url` fit for logs and output: the password of a postgresql:// URL (user:PASSWORD@ or a
// password= parameter) replaced by "***". sqlite: URLs are returned as they are.
std::string RedactDbUrl(std::string_view url);

}  // namespace costs::app
