#include "app/backup_commands.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app/wiring.hpp"
#include "service/store_verify.hpp"
#include "store/sqlite/backup.hpp"

namespace costs::app {
namespace {

int Refused(const std::string& message) {
  std::fprintf(stderr, "costsctl: %s\n", message.c_str());
  return 1;
}

// The SQLite file of `db_url`, or nullopt after saying why there is none.
std::optional<std::string> SqlitePath(const std::string& db_url, const char* command) {
  auto url = ParseDbUrl(db_url);
  if (!url) {
    Refused(url.error().message);
    return std::nullopt;
  }
  if (url->kind == DbUrl::Kind::kPostgres) {
    Refused(std::string(command) +
            " copies SQLite databases; for PostgreSQL use pg_dump and pg_restore "
            "(docs/deploy.md, \"Backups\": the procedure and the replay of usage after a restore)");
    return std::nullopt;
  }
  return url->path_or_url;
}

std::string Mib(std::int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Opens `path` as a store (migrating it to this build's schema) and verifies it; the report or
// why not.
Result<service::VerifyReport> VerifyCopy(const std::string& path, const StoreOptions& options) {
  auto store = OpenStore("sqlite:" + path, options);
  if (!store) return std::move(store).error();
  return service::VerifyStore(**store);
}

// The pages per backup step: store::sqlite::kPagesPerStep, or for tests
// COSTS_BACKUP_PAGES_PER_STEP (a whole number >= 1; 1 makes a copy interleave with ingests).
int PagesPerStep() {
  const char* text = std::getenv("COSTS_BACKUP_PAGES_PER_STEP");
  int value = 0;
  if (text == nullptr) return store::sqlite::kPagesPerStep;
  const auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  return ec == std::errc() && *end == '\0' && value >= 1 ? value : store::sqlite::kPagesPerStep;
}

}  // namespace

int BackupCommand(const std::string& db_url, const std::string& dest) {
  auto source = SqlitePath(db_url, "backup");
  if (!source) return 1;
  auto report = store::sqlite::CopyDatabase(*source, dest, PagesPerStep());
  if (!report) return Refused("backup: " + report.error().message);
  std::printf("backed up %s to %s: schema %d, %lld pages, %s, in %lld steps\n", source->c_str(), dest.c_str(),
              report->schema_version, static_cast<long long>(report->pages), Mib(report->bytes).c_str(),
              static_cast<long long>(report->steps));
  return 0;
}

int RestoreCommand(const std::string& db_url, const std::string& source, const StoreOptions& options) {
  auto target = SqlitePath(db_url, "restore");
  if (!target) return 1;
  auto schema = store::sqlite::CostsSchemaVersion(source);
  if (!schema) return Refused("restore: " + schema.error().message);
  if (auto pid = store::sqlite::ProcessUsing(*target)) {
    return Refused("restore: " + *target + " is in use by process " + std::to_string(*pid) +
                   " (a costsd or costsctl): stop it first");
  }
  const std::string fresh = *target + ".restore-" + std::to_string(::getpid());
  store::sqlite::RemoveDatabaseFiles(fresh);
  auto copied = store::sqlite::CopyDatabase(source, fresh);
  if (!copied) return Refused("restore: " + copied.error().message);
  auto verified = VerifyCopy(fresh, options);
  if (!verified || !verified->clean()) {
    store::sqlite::RemoveDatabaseFiles(fresh);
    if (!verified) return Refused("restore: " + source + ": " + verified.error().message);
    return Refused("restore: " + source + " fails verify (" +
                   std::to_string(verified->differences.size() + verified->more_differences) +
                   " differences; run costsctl --db sqlite:" + source + " verify): not restored");
  }
  std::optional<pid_t> user = store::sqlite::ProcessUsing(*target);
  Status replaced = user ? Status(MakeError(ErrorCode::kInvalidData, *target + " is in use by process " +
                                                                         std::to_string(*user) + ": stop it first"))
                         : store::sqlite::ReplaceDatabase(fresh, *target);
  if (!replaced) {
    store::sqlite::RemoveDatabaseFiles(fresh);
    return Refused("restore: " + replaced.error().message);
  }
  std::printf("restored %s (schema %d) to %s: %lld organizations, %lld usage records, verify clean\n", source.c_str(),
              *schema, target->c_str(), static_cast<long long>(verified->organizations),
              static_cast<long long>(verified->records));
  return 0;
}

}  // namespace costs::app
