#pragma once

// An NDJSON usage import of any size as ONE atomic batch (costsctl usage import): the input is
// read, parsed and validated in parts of about a few MB, each part's records added to one
// Store::BeginIngest transaction, committed at the input's end. The input is read and parsed
// on a thread of its own, one part ahead: part N+1 while the store adds part N. Memory is bounded
// by two parts (and a line longer than a part), not by the input.

#include <cstddef>
#include <functional>
#include <span>

#include "common/result.hpp"
#include "service/store.hpp"

namespace costs::service {

// Reads the next bytes of the input into `buffer`: how many (at least 1, at most
// buffer.size()), 0 at the input's end, or an error (kInvalidData when it cannot be read).
// ImportNdjson calls it from one thread, not the caller's (the caller's when no thread can be
// started), and no more once it returned 0 or an error or the import failed.
using NdjsonReader = std::function<Result<std::size_t>(std::span<char> buffer)>;

// The bytes of input a part holds, about 45,000 records of D1's shape: as fast per record as
// batches of 50,000, in about twice this much memory.
inline constexpr std::size_t kDefaultImportPartBytes = 16u << 20;

// Imports the NDJSON `read` yields into `store` as one batch, in parts of about `part_bytes`
// (whole lines; a part holds at least one line, however long). The outcome and errors are those
// of AdminService::IngestNdjson of the whole input: kInvalidRecord with the problems of every
// line in order ("records[i]..." with i counting non-blank lines over the whole input; the first
// kMaxReportedProblems, and the count of every one), also for unknown organizations (each looked
// up once per import, none after kMaxUnknownOrganizations unknown ones); after a problem
// nothing more is added to the store (the lines are still read, to report theirs) and nothing
// is stored. kInvalidData for an input without records, and `read`'s error; kConflict and
// kStoreFailed as Store::Ingest. Errors come in the input's order: a part's store error before
// the next part's problems or read error. The store is called from the caller's thread only.
// REQUIRES: part_bytes > 0.
Result<IngestOutcome> ImportNdjson(Store& store, const NdjsonReader& read,
                                   std::size_t part_bytes = kDefaultImportPartBytes);

// What a record naming an unknown organization is to a caller of IngestNdjson or ImportNdjson:
// an invalid record (kInvalidRecord, fields kept), like any other bad field. Other errors as they are.
Error AsInvalidRecord(Error error);

}  // namespace costs::service
