// Fuzz target: the credit request decoder (src/http/credit_request.hpp). The input is a body.
// Properties: a decoded credit has exactly the members of the body (one each of id, ecu,
// start, end, nothing else): the id string, ecu exactly the decimal's value in nano-ECU
// (checked against the big-integer oracle) and positive, start and end read as
// ParseQueryInstant reads them, start < end. A refusal is kInvalidData; its fields name only
// members of a credit or members of the body.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "domain/time.hpp"
#include "exact_decimal.hpp"
#include "fuzz_check.hpp"
#include "http/credit_request.hpp"
#include "service/ndjson.hpp"

namespace {

using costs::domain::RawValue;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto credit = costs::http::DecodeCreditRequest(body);
  const auto members = costs::service::DecodeJsonObject(body);
  if (!credit) {
    FUZZ_CHECK(credit.error().code == costs::ErrorCode::kInvalidData, "refusals are kInvalidData");
    FUZZ_CHECK(!credit.error().message.empty(), "a refusal says why");
    std::set<std::string> names = {"id", "ecu", "start", "end"};
    if (members) {
      for (const auto& [name, value] : *members) names.insert(name);
    } else {
      FUZZ_CHECK(credit.error().fields.empty(), "no fields when the body is not a JSON object");
    }
    for (const std::string& field : credit.error().fields) {
      FUZZ_CHECK(names.count(field) == 1, "a field that is neither a credit's nor the body's: " + field);
    }
    return 0;
  }
  FUZZ_CHECK(members.has_value() && members->size() == 4, "accepted a body that is not a credit object");
  std::set<std::string> seen;
  for (const auto& [name, value] : *members) {
    FUZZ_CHECK(seen.insert(name).second, "accepted a repeated member: " + name);
    if (name == "id") {
      FUZZ_CHECK(value.type == RawValue::Type::kString && value.text == credit->id, "other id");
    } else if (name == "ecu") {
      FUZZ_CHECK(value.type == RawValue::Type::kString || value.type == RawValue::Type::kNumber, "ecu's type");
      const auto exact = costs::fuzz::ReadExact(value.text);
      FUZZ_CHECK(exact && costs::fuzz::EqualsScaled(*exact, 9, credit->ecu),
                 "ecu " + value.text + " read as " + std::to_string(credit->ecu) + " nano-ECU");
      FUZZ_CHECK(credit->ecu > 0, "a credit that is not positive");
    } else if (name == "start" || name == "end") {
      const auto bound = name == "start" ? costs::domain::DateBound::kStartOfDay : costs::domain::DateBound::kEndOfDay;
      const auto t = costs::domain::ParseQueryInstant(value.text, bound);
      FUZZ_CHECK(value.type == RawValue::Type::kString && t, "accepted " + name + " " + value.text);
      FUZZ_CHECK(t->ns == (name == "start" ? credit->start : credit->end).ns, "other " + name);
    } else {
      FUZZ_CHECK(false, "accepted a member that is not a credit's: " + name);
    }
  }
  FUZZ_CHECK(credit->start < credit->end, "start not before end");
  return 0;
}
