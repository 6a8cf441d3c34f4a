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

// Command-line flags in the `--name value` or `--name=value` forms, with a fallback per flag to
// an environment variable (COSTS_<NAME> upper-cased, '-' as '_') and then to the key <name> of a
// TOML configuration file (`--config FILE`, env COSTS_CONFIG, when the specs hold a "config"
// flag). Precedence: flag > environment > file > default. Arguments that are not flags are kept
// in order as positionals.
//
// The specs are the one option table: a flag with from_env is also a key of the configuration
// file, is shown by --print-config (PrintConfig) and in the man page (generated from --help), so a
// new flag needs only its Spec entry (and its line in the program's usage text).
class Flags {
 public:
  // How a configuration file must write a flag's value (TOML type); a flag without a value is a
  // boolean (true sets it, false leaves it unset), a repeatable flag an array of them.
  enum class Kind { kAny, kText, kInteger, kNumber };
  struct Spec {
    std::string name;  // without "--"
    bool takes_value = true;
    bool repeatable = false;
    bool from_env = true;       // read COSTS_<NAME> when absent; a key of the configuration file
    Kind kind = Kind::kAny;     // kAny: any TOML string, integer, float or boolean, read as its text
    std::string fallback = {};  // the default as --print-config shows it ("" when none)
  };

  // Parses argv[first..argc), then the environment, then the configuration file. kInvalidData
  // (message for humans) for an unknown flag, a missing value or a repeated non-repeatable flag;
  // for an unreadable or malformed file, an unknown key or a value of the wrong type (naming the
  // file, line and key).
  static Result<Flags> Parse(int argc, char** argv, int first, const std::vector<Spec>& specs);

  bool Has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Where a present flag's value came from: "flag --name", "environment COSTS_NAME" or
  // "FILE:LINE"; "" when absent.
  std::string Origin(std::string_view name) const;

  // The flag as an integer in [min, max]; `fallback` when absent.
  Result<std::int64_t> GetInt(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  // The flag as a non-negative decimal (rates); `fallback` when absent.
  Result<double> GetRate(std::string_view name, double fallback) const;

 private:
  void Set(const std::string& name, std::vector<std::string> values, std::string origin);
  // "--name" and, for a value from the environment or a file, where it came from.
  std::string Describe(std::string_view name) const;

  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> origins_;
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

// `value` of flag `name` fit for output: "***" for a flag whose name says it is a secret
// (token, password, secret), and the password of any scheme://user:PASSWORD@ URL (and a
// postgresql:// password= parameter) replaced by "***". Paths, such as --tls-key's, are shown.
std::string RedactFlagValue(std::string_view name, std::string_view value);

}  // namespace costs::app
