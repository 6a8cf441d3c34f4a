#pragma once

// The schema's SQL, one text per version (README.md tells what each did). Append only: never
// edit a migration that a release has shipped (every one up to SqliteStore::kSchemaVersion has).

namespace costs::store::sqlite::detail {

// The SQL that brings the schema from version - 1 to version (the data steps that some
// versions need after it are in migrations.cpp). REQUIRES: 1 <= version <= kSchemaVersion.
const char* MigrationSql(int version);

}  // namespace costs::store::sqlite::detail
