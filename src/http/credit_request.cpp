#include "http/credit_request.hpp"

#include <optional>
#include <vector>

#include "domain/usage.hpp"
#include "service/ndjson.hpp"

namespace costs::http {
namespace {

using domain::RawValue;

class Problems {
 public:
  void Add(std::string field, std::string message) {
    if (messages_.size() < 4) messages_.push_back(field + " " + message);
    fields_.push_back(std::move(field));
  }
  bool empty() const { return fields_.empty(); }
  Error ToError() && {
    std::string message = "The credit is invalid: ";
    for (std::size_t i = 0; i < messages_.size(); ++i) {
      if (i != 0) message += "; ";
      message += messages_[i];
    }
    message += '.';
    return MakeError(ErrorCode::kInvalidData, std::move(message), std::move(fields_));
  }

 private:
  std::vector<std::string> fields_;
  std::vector<std::string> messages_;
};

// The one member named `name`, or nullptr (missing, or repeated: reported).
const RawValue* Member(const domain::RawUsage& members, std::string_view name, Problems& problems) {
  const RawValue* found = nullptr;
  for (const auto& [key, value] : members) {
    if (key != name) continue;
    if (found != nullptr) {
      problems.Add(std::string(name), "is given more than once");
      return nullptr;
    }
    found = &value;
  }
  if (found == nullptr || found->type == RawValue::Type::kNull) {
    problems.Add(std::string(name), "is required");
    return nullptr;
  }
  return found;
}

std::optional<domain::Instant> Instant(const domain::RawUsage& members, std::string_view name, domain::DateBound bound,
                                       Problems& problems) {
  const RawValue* v = Member(members, name, problems);
  if (v == nullptr) return std::nullopt;
  if (v->type != RawValue::Type::kString) {
    problems.Add(std::string(name), "must be an RFC 3339 date-time or a date (YYYY-MM-DD) string");
    return std::nullopt;
  }
  Result<domain::Instant> t = domain::ParseQueryInstant(v->text, bound);
  if (!t) {
    problems.Add(std::string(name), "must be an RFC 3339 date-time or a date (YYYY-MM-DD)");
    return std::nullopt;
  }
  return *t;
}

}  // namespace

Result<CreditRequest> DecodeCreditRequest(std::string_view body) {
  Result<domain::RawUsage> members = service::DecodeJsonObject(body);
  if (!members) {
    return MakeError(ErrorCode::kInvalidData, "The request body " + members.error().message + ".");
  }
  Problems problems;
  CreditRequest out;
  // Money is written here: a member we do not know (a "currency", an "organization_id") is a
  // mistake to report, not to ignore.
  for (const auto& [name, value] : *members) {
    if (name != "id" && name != "ecu" && name != "start" && name != "end") {
      problems.Add(name, "is not a member of a credit (id, ecu, start, end)");
    }
  }
  if (const RawValue* id = Member(*members, "id", problems)) {
    if (id->type == RawValue::Type::kString) {
      out.id = id->text;
    } else {
      problems.Add("id", "must be a string");
    }
  }
  if (const RawValue* ecu = Member(*members, "ecu", problems)) {
    std::optional<domain::Nanos> nanos;
    if (ecu->type == RawValue::Type::kString || ecu->type == RawValue::Type::kNumber) {
      if (Result<domain::Decimal> d = domain::ParseDecimal(ecu->text)) {
        if (Result<domain::Nanos> n = domain::DecimalToNanos(*d)) nanos = *n;
      }
    }
    if (!nanos) {
      problems.Add("ecu",
                   "must be a decimal amount of ECU (a string or a number) of at most 1000000000, with at most 9 "
                   "fractional digits");
    } else if (*nanos <= 0) {
      problems.Add("ecu", "must be positive");
    } else {
      out.ecu = *nanos;
    }
  }
  const std::optional<domain::Instant> start = Instant(*members, "start", domain::DateBound::kStartOfDay, problems);
  const std::optional<domain::Instant> end = Instant(*members, "end", domain::DateBound::kEndOfDay, problems);
  if (start && end && !(*start < *end)) {
    problems.Add("start", "must be before end");
    problems.Add("end", "must be after start");
  }
  if (!problems.empty()) return std::move(problems).ToError();
  out.start = *start;
  out.end = *end;
  return out;
}

}  // namespace costs::http
