#pragma once

#include <string>

#include "app/options.hpp"

namespace costs::app {

// costsctl backup DEST: an online, consistent copy of the SQLite database of `db_url` into the new
// file DEST (store::sqlite::CopyDatabase) while costsd serves and ingests; prints what it copied.
// Returns the exit code: 0, 1 when refused (DEST exists, not a costs database, PostgreSQL: use
// pg_dump, docs/deploy.md) or failed.
int BackupCommand(const std::string& db_url, const std::string& dest);

// costsctl restore SRC: replaces the SQLite database of `db_url` with a copy of SRC, after checking
// SRC is a costs database of a known schema and that the copy (migrated to this build's schema)
// passes `verify`; refused while a process (costsd, costsctl) uses the target. Atomic: the copy is
// made beside the target, then renamed over it. Returns the exit code as BackupCommand.
int RestoreCommand(const std::string& db_url, const std::string& source, const StoreOptions& options);

}  // namespace costs::app
