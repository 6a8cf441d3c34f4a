#pragma once

// The ingest contract of service::Store::Ingest, written once for every adapter: which records
// of a batch are new, duplicates or conflicts, and the exact errors (code, message, fields) a
// batch fails with. An adapter supplies only what it alone knows (does an organization exist,
// how does the record stored under an id compare) and keeps its own storage steps.
//
// The order of the contract: (1) every record's organization must exist, else
// kOrganizationNotFound naming `records[i].organization_id` of every such record; (2) each
// record is new, or a duplicate (its id stored before the batch, or earlier in the batch, with
// equal content), or a conflict (the same with other content), and any conflict fails the batch
// with kConflict naming `records[i].id` of every conflicting record (of each kind, the first
// kMaxErrorFields records are named and all are counted); (3) a rollup whose sum would
// leave int64 fails the batch with kInvalidData (RollupTooLarge()).

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::store {

// "records[i].field": the field an ingest error names.
std::string RecordField(std::size_t i, std::string_view field);

// At most this many fields name the records an ingest error is about (DESIGN.md: the first 100
// problem fields); its message then says how many records there were in all.
inline constexpr std::size_t kMaxErrorFields = 100;

// The fields of an ingest error: the first kMaxErrorFields kept, every one counted, so that an
// error's size never grows with the batch.
struct ErrorFields {
  std::vector<std::string> named;
  std::size_t count = 0;

  void Add(std::string field) {
    if (named.size() < kMaxErrorFields) named.push_back(std::move(field));
    ++count;
  }
  bool empty() const { return count == 0; }
};

// The contract's errors, word for word the same in every adapter; with more records than
// fields, the message says how many records there were.
Error OrganizationsNotFound(ErrorFields fields);  // kOrganizationNotFound
Error IdConflicts(ErrorFields fields);            // kConflict
Error RollupTooLarge();                           // kInvalidData

// Step 1, for a batch fed in parts: the indexes of the records whose organization does not
// exist, in order. `exists(const std::string& org)` -> Result<bool> (or bool) is asked once per
// distinct organization of `records`, in the order they first appear; its error is returned.
template <typename Exists>
Result<std::vector<std::size_t>> MissingOrganizations(std::span<const domain::UsageRecord> records, Exists&& exists) {
  std::map<std::string_view, bool> known;
  std::vector<std::size_t> missing;
  const bool* last = nullptr;  // whether the organization of the record before exists
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string& org = records[i].organization_id;
    if (last == nullptr || org != records[i - 1].organization_id) {
      auto [it, inserted] = known.emplace(org, false);
      if (inserted) {
        Result<bool> found = exists(org);
        if (!found) return std::move(found).error();
        it->second = *found;
      }
      last = &it->second;
    }
    if (!*last) missing.push_back(i);
  }
  return missing;
}

// Step 1: every record's organization must exist, else OrganizationsNotFound naming each
// record whose does not. `exists` as for MissingOrganizations.
template <typename Exists>
Status CheckOrganizations(std::span<const domain::UsageRecord> records, Exists&& exists) {
  Result<std::vector<std::size_t>> missing = MissingOrganizations(records, std::forward<Exists>(exists));
  if (!missing) return std::move(missing).error();
  if (missing->empty()) return {};
  ErrorFields fields;
  for (std::size_t i : *missing) fields.Add(RecordField(i, "organization_id"));
  return OrganizationsNotFound(std::move(fields));
}

// How the record stored under an id before the batch compares with a record of the batch.
enum class StoredId { kAbsent, kEqual, kDifferent };

struct Classified {
  std::vector<std::size_t> fresh;  // the new records' indexes, in batch order
  std::int64_t duplicates = 0;
  std::vector<std::size_t> conflicts;  // ClassifyRecords only: the conflicting records' indexes
};

// For each record, the index of the first record of the batch with its id (itself for a first).
// Adapters that find repeated ids another way (by hash) pass their own.
std::vector<std::size_t> FirstOccurrences(std::span<const domain::UsageRecord> records);

// Step 2, for a batch fed in parts: as ClassifyBatch, but the conflicts are returned in
// `conflicts` (in order) rather than failing, so that the new records can still be filed for
// the parts after. `stored`'s error is returned.
template <typename Stored>
Result<Classified> ClassifyRecords(std::span<const domain::UsageRecord> records, std::span<const std::size_t> first,
                                   Stored&& stored) {
  Classified out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    Result<StoredId> was = stored(i, first[i]);
    if (!was) return std::move(was).error();
    bool same = false;
    if (*was != StoredId::kAbsent) {
      same = *was == StoredId::kEqual;
    } else if (first[i] != i) {
      same = records[i] == records[first[i]];
    } else {
      out.fresh.push_back(i);
      continue;
    }
    if (same) {
      ++out.duplicates;
    } else {
      out.conflicts.push_back(i);
    }
  }
  return out;
}

// Step 2. `first` as FirstOccurrences. `stored(i, first[i])` -> Result<StoredId> (or StoredId)
// says how the record stored under records[i].id before the batch compares with records[i].
// A repeated id of no stored record is compared with its first record in the batch.
template <typename Stored>
Result<Classified> ClassifyBatch(std::span<const domain::UsageRecord> records, std::span<const std::size_t> first,
                                 Stored&& stored) {
  Result<Classified> out = ClassifyRecords(records, first, std::forward<Stored>(stored));
  if (!out || out->conflicts.empty()) return out;
  ErrorFields fields;
  for (std::size_t i : out->conflicts) fields.Add(RecordField(i, "id"));
  return IdConflicts(std::move(fields));
}

}  // namespace costs::store
