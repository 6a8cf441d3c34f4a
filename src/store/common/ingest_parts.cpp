#include "store/common/ingest_parts.hpp"

#include "store/common/ingest_contract.hpp"

namespace costs::store {

Result<service::IngestOutcome> IngestState::Outcome() const {
  if (!missing.empty()) return OrganizationsNotFound(missing);
  if (!conflicts.empty()) return IdConflicts(conflicts);
  if (too_large) return RollupTooLarge();
  return outcome;
}

void AppendFields(ErrorFields& fields, std::size_t base, std::span<const std::size_t> indices, std::string_view field) {
  for (std::size_t i : indices) fields.Add(RecordField(base + i, field));
}

Status PartsIngest::Add(std::span<const domain::UsageRecord> records) {
  if (failed_) return *failed_;
  if (records.empty()) return {};
  Status s = AddPart(records, state_);
  if (!s) failed_ = s.error();
  return s;
}

Result<service::IngestOutcome> PartsIngest::Commit() {
  if (failed_) return *failed_;
  Result<service::IngestOutcome> outcome = state_.Outcome();
  if (!outcome) return outcome;  // the store's transaction rolls back at destruction
  if (Status s = CommitParts(); !s) return std::move(s).error();
  return outcome;
}

}  // namespace costs::store
