#include "store/common/ingest_contract.hpp"

#include <unordered_map>

namespace costs::store {

std::string RecordField(std::size_t i, std::string_view field) {
  std::string out = "records[";
  out += std::to_string(i);
  out += "].";
  out += field;
  return out;
}

namespace {

// `message`, and when `fields` names fewer records than it counts, how many there were.
Error ErrorOf(ErrorCode code, std::string message, ErrorFields fields) {
  if (fields.count > fields.named.size()) {
    message += " (fields names the first " + std::to_string(fields.named.size()) + " of " +
               std::to_string(fields.count) + " records, and " + std::to_string(fields.count - fields.named.size()) +
               " more)";
  }
  return MakeError(code, std::move(message), std::move(fields.named));
}

}  // namespace

Error OrganizationsNotFound(ErrorFields fields) {
  return ErrorOf(ErrorCode::kOrganizationNotFound, "the organization of a usage record does not exist",
                 std::move(fields));
}

Error IdConflicts(ErrorFields fields) {
  return ErrorOf(ErrorCode::kConflict, "a usage record id is already stored with other content", std::move(fields));
}

Error RollupTooLarge() { return MakeError(ErrorCode::kInvalidData, "the summed usage records are too large to store"); }

std::vector<std::size_t> FirstOccurrences(std::span<const domain::UsageRecord> records) {
  std::vector<std::size_t> first(records.size());
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) first[i] = seen.emplace(records[i].id, i).first->second;
  return first;
}

}  // namespace costs::store
