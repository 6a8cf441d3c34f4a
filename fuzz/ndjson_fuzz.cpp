// Fuzz target: the NDJSON record decoder and validator (src/service/ndjson.hpp,
// usage_batch.hpp). The input is an ingest body.
// Properties, per non-blank line: when the fast path (DecodeFlatJsonObject) reads a line, its
// members are Boost.JSON's (DecodeJsonObject's), name, type and text; JsonLineDecoder answers as
// DecodeJsonObject does (members, or the same error); ValidateUsage gives the same record and
// the same problems on either path's members. Per body: ParseUsageBatch gives the same
// records and problems however the body is split into chunks, and asks about each
// organization at most once.

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/usage.hpp"
#include "fuzz_check.hpp"
#include "service/ndjson.hpp"
#include "service/usage_batch.hpp"

namespace {

using costs::domain::FieldProblem;
using costs::domain::RawField;
using costs::domain::RawUsage;

std::string Problems(const std::vector<FieldProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.field + ": " + p.message + "\n";
  return out;
}

bool SameMembers(std::span<const RawField> fields, const RawUsage& raw) {
  if (fields.size() != raw.size()) return false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (fields[i].name != raw[i].first || fields[i].type != raw[i].second.type ||
        fields[i].text != raw[i].second.text) {
      return false;
    }
  }
  return true;
}

void CheckLine(std::string_view line, costs::service::JsonLineDecoder& decoder) {
  const auto slow = costs::service::DecodeJsonObject(line);
  std::vector<RawField> flat;
  if (costs::service::DecodeFlatJsonObject(line, flat)) {
    FUZZ_CHECK(slow.has_value(), "the fast path read a line Boost.JSON refuses: " + std::string(line));
    FUZZ_CHECK(SameMembers(flat, *slow), "the fast path read other members: " + std::string(line));
  }
  const auto decoded = decoder.Decode(line);
  FUZZ_CHECK(decoded.has_value() == slow.has_value(), "JsonLineDecoder and DecodeJsonObject disagree");
  if (!decoded) {
    FUZZ_CHECK(decoded.error().message == slow.error().message, "other error: " + decoded.error().message);
    return;
  }
  FUZZ_CHECK(SameMembers(*decoded, *slow), "JsonLineDecoder read other members: " + std::string(line));

  std::vector<FieldProblem> fast_problems, slow_problems;
  const auto fast_record = costs::domain::ValidateUsage(*decoded, "records[0]", fast_problems);
  const auto slow_record = costs::domain::ValidateUsage(*slow, "records[0]", slow_problems);
  FUZZ_CHECK(fast_record.has_value() == slow_record.has_value() && (!fast_record || *fast_record == *slow_record),
             "ValidateUsage: other records");
  FUZZ_CHECK(Problems(fast_problems) == Problems(slow_problems),
             "ValidateUsage: other problems\n" + Problems(fast_problems) + "vs\n" + Problems(slow_problems));
  FUZZ_CHECK(fast_record.has_value() == fast_problems.empty(), "a record xor its problems");
}

std::string Outcome(const costs::Result<costs::service::ParsedUsageBatch>& batch) {
  if (!batch) return "error: " + batch.error().message;
  return std::to_string(batch->records.size()) + " records\n" + Problems(batch->problems);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  costs::service::JsonLineDecoder decoder;
  for (std::size_t pos = 0; pos <= body.size();) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view line = body.substr(pos, eol - pos);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) CheckLine(line, decoder);
    pos = eol + 1;
  }

  // Organizations whose id starts with "org" exist; "fail" makes the lookup fail.
  std::multiset<std::string> asked;
  const costs::service::OrganizationExists exists = [&asked](std::string_view id) -> costs::Result<bool> {
    asked.emplace(id);
    if (id == "fail") return costs::MakeError(costs::ErrorCode::kStoreFailed, "lookup failed");
    return id.substr(0, 3) == "org";
  };
  const auto whole = costs::service::ParseUsageBatch(body, exists, {});
  for (const auto& id : asked) FUZZ_CHECK(asked.count(id) == 1, "organization asked twice: " + id);
  const std::string expected = Outcome(whole);
  if (whole) {
    FUZZ_CHECK(whole->records.empty() || whole->problems.empty(), "records beside problems");
  }
  // One split per input (each chunk after the first costs a thread): in halves, in thirds, or
  // empty chunks at both ends.
  const std::size_t splits[][3] = {{size / 2, 0, 0}, {size / 3, size / 2, 2 * size / 3}, {0, 1, size}};
  const auto& split = splits[size % 3];
  const std::size_t count = split[1] == 0 ? 1 : 3;
  asked.clear();
  const auto chunked = costs::service::ParseUsageBatch(body, exists, std::span(split, count));
  for (const auto& id : asked) FUZZ_CHECK(asked.count(id) == 1, "organization asked twice: " + id);
  FUZZ_CHECK(Outcome(chunked) == expected, "split at " + std::to_string(split[0]) + ": other outcome");
  if (chunked && whole) {
    FUZZ_CHECK(chunked->records == whole->records, "split: other records");
  }
  return 0;
}
