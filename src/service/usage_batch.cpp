#include "service/usage_batch.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "service/ndjson.hpp"

namespace costs::service {

Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists) {
  ParsedUsageBatch batch;
  auto& records = batch.records;
  auto& problems = batch.problems;
  records.reserve(static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) + 1);  // one per line
  std::map<std::string, bool, std::less<>> known_orgs;  // organization id -> exists
  std::size_t index = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string prefix = "records[" + std::to_string(index++) + "]";
    auto raw = DecodeJsonObject(line);
    if (!raw) {
      problems.push_back({prefix, "the line " + raw.error().message});
      continue;
    }
    auto record = domain::ValidateUsage(*raw, prefix, problems);
    // The organization must exist: checked here too, so that it is reported with the other
    // problems of the batch (the store checks again inside its transaction).
    const auto org = std::find_if(raw->begin(), raw->end(), [](const auto& m) { return m.first == "organization_id"; });
    if (org != raw->end() && org->second.type == domain::RawValue::Type::kString && !org->second.text.empty()) {
      auto known = known_orgs.find(org->second.text);
      if (known == known_orgs.end()) {
        auto found = exists(org->second.text);
        if (!found) return std::move(found).error();
        known = known_orgs.emplace(org->second.text, *found).first;
      }
      if (!known->second) {
        problems.push_back({prefix + ".organization_id",
                            "organization_id '" + org->second.text + "' names no existing organization"});
        continue;
      }
    }
    if (record) records.push_back(std::move(*record));
  }
  return batch;
}

}  // namespace costs::service
