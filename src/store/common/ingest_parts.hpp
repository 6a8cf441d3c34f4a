#pragma once

// An ingest fed in parts (service::IngestTransaction) by a store that writes each part when it is
// added, in one transaction of its own: the contract's errors (ingest_contract.hpp) are gathered
// over every part, with records counted over every part, and reported at Commit exactly as one
// Ingest of the concatenation reports them. Shared by the SQLite and PostgreSQL stores.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"
#include "store/common/ingest_contract.hpp"

namespace costs::store {

// What the parts of one ingest found so far (one part for Ingest).
struct IngestState {
  std::size_t base = 0;            // records of the parts before
  ErrorFields missing;             // records[i].organization_id of unknown organizations
  ErrorFields conflicts;           // records[i].id of conflicting records
  bool too_large = false;          // a rollup left int64
  service::IngestOutcome outcome;  // of the parts stored

  // Whether the parts so far are stored whole (so the later ones need their rollups and catalog).
  bool Clean() const { return missing.empty() && conflicts.empty() && !too_large; }
  // The outcome of the parts so far, or the contract's error (organizations, then conflicts,
  // then a rollup too large).
  Result<service::IngestOutcome> Outcome() const;
};

// Adds "records[base + i].field" for each of `indices`.
void AppendFields(ErrorFields& fields, std::size_t base, std::span<const std::size_t> indices, std::string_view field);

// The IngestTransaction of such a store: Add runs AddPart on each non-empty part until one fails
// (the transaction is then spent); Commit reports the contract's error, or commits (CommitParts)
// and returns the outcome. The store's transaction rolls back when the object is destroyed
// uncommitted.
class PartsIngest : public service::IngestTransaction {
 public:
  Status Add(std::span<const domain::UsageRecord> records) final;
  Result<service::IngestOutcome> Commit() final;

 protected:
  // One part's steps; fails only when the storage does (the contract's errors go to `state`).
  virtual Status AddPart(std::span<const domain::UsageRecord> records, IngestState& state) = 0;
  // Commits the parts, which are stored whole.
  virtual Status CommitParts() = 0;

 private:
  IngestState state_;
  std::optional<Error> failed_;
};

}  // namespace costs::store
