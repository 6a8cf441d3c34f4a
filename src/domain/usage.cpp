#include "domain/usage.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <set>

namespace costs::domain {
namespace {

constexpr std::array<std::string_view, kDimensionCount> kDimensionIds = {"capacity", "data_in",     "data_internode",
                                                                         "data_out", "storage_api", "storage_bytes"};
constexpr std::array<std::string_view, kDimensionCount> kDimensionNames = {"Capacity", "Data in",     "Data internode",
                                                                           "Data out", "Storage API", "Storage bytes"};
constexpr std::array<std::string_view, 6> kKindIds = {"elasticsearch",       "kibana",    "apm",
                                                      "integrations_server", "appsearch", "enterprise_search"};
constexpr std::array<std::string_view, kInstanceTypeCount> kInstanceTypeIds = {"deployment", "elasticsearch",
                                                                               "observability", "security"};

// The members ValidateUsage reads, in the order it checks them.
enum Field {
  kId,
  kOrganizationId,
  kDeploymentId,
  kDeploymentName,
  kSku,
  kName,
  kUnit,
  kDimension,
  kKind,
  kInstanceCount,
  kStart,
  kEnd,
  kQuantity,
  kRate,
  kCost,
  kTrial,
  kInstanceType,
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {"id",
                                                                   "organization_id",
                                                                   "deployment_id",
                                                                   "deployment_name",
                                                                   "sku",
                                                                   "name",
                                                                   "unit",
                                                                   "dimension",
                                                                   "kind",
                                                                   "instance_count",
                                                                   "start",
                                                                   "end",
                                                                   "quantity",
                                                                   "rate",
                                                                   "cost",
                                                                   "trial",
                                                                   "instance_type"};

// The Field called `name`, or kFieldCount for a member ValidateUsage does not read.
Field FieldOf(std::string_view name) {
  auto is = [name](Field f) { return name == kFieldNames[f] ? f : kFieldCount; };
  switch (name.size()) {
    case 2:
      return is(kId);
    case 3:
      return name[0] == 's' ? is(kSku) : is(kEnd);
    case 4:
      switch (name[0]) {
        case 'n':
          return is(kName);
        case 'u':
          return is(kUnit);
        case 'k':
          return is(kKind);
        case 'r':
          return is(kRate);
        case 'c':
          return is(kCost);
        default:
          return kFieldCount;
      }
    case 5:
      return name[0] == 's' ? is(kStart) : is(kTrial);
    case 8:
      return is(kQuantity);
    case 9:
      return is(kDimension);
    case 13:
      return name[0] == 'd' ? is(kDeploymentId) : is(kInstanceType);
    case 14:
      return is(kInstanceCount);
    case 15:
      return name[0] == 'o' ? is(kOrganizationId) : is(kDeploymentName);
    default:
      return kFieldCount;
  }
}

// Whether `text` holds a byte below 0x20 or 0x7f. Looks at eight bytes at a time: a byte below
// 0x20 is the lowest to borrow when 0x20 is subtracted from each, and 0x7f the only one that
// XOR 0x7f makes zero ("Bit Twiddling Hacks": hasless, haszero; both exact about whether any
// byte is one).
bool HasControlCharacter(std::string_view text) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHigh = 0x8080808080808080;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    const std::uint64_t del = w ^ (kOnes * 0x7f);
    if ((((w - kOnes * 0x20) & ~w) | ((del - kOnes) & ~del)) & kHigh) return true;
  }
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Above this many names ValidateUsage does not read, repeats among them are found with a set
// rather than by comparing every pair.
constexpr std::size_t kMaxOtherNamesComparedPairwise = 16;

// Collects problems for one record.
class Checker {
 public:
  Checker(std::span<const RawField> raw, std::string_view prefix, std::vector<FieldProblem>& problems)
      : prefix_(prefix), problems_(problems), size_before_(problems.size()) {
    // Each later occurrence of a name is a problem, in input order; the first occurrence of a
    // field is the one validated. A name ValidateUsage reads can only repeat one it reads.
    std::vector<std::string_view> others;  // names it does not read, until there are many
    std::set<std::string_view> many_others;
    for (const RawField& m : raw) {
      bool repeat = false;
      if (const Field f = FieldOf(m.name); f != kFieldCount) {
        repeat = fields_[f] != nullptr;
        if (!repeat) fields_[f] = &m;
      } else if (others.size() < kMaxOtherNamesComparedPairwise) {
        repeat = std::find(others.begin(), others.end(), m.name) != others.end();
        if (!repeat) others.push_back(m.name);
      } else {
        if (many_others.empty()) many_others.insert(others.begin(), others.end());
        repeat = !many_others.insert(m.name).second;
      }
      if (repeat) Problem(m.name, "appears more than once");
    }
  }

  void Problem(std::string_view field, std::string message) {
    std::string path(prefix_);
    if (!path.empty()) path.push_back('.');
    path.append(field);
    problems_.push_back({std::move(path), std::string(field) + " " + message});
  }
  void Problem(Field field, std::string message) { Problem(kFieldNames[field], std::move(message)); }

  bool ok() const { return problems_.size() == size_before_; }

  const RawField* Find(Field field) const { return fields_[field]; }

  // A string field; `required` fields must be present and non-empty. Empty when absent or bad.
  std::string_view Text(Field field, bool required, std::size_t max_length) {
    const RawField* v = Find(field);
    if (v == nullptr || v->type == RawValue::Type::kNull) {
      if (required) Problem(field, "is required");
      return {};
    }
    if (v->type != RawValue::Type::kString) {
      Problem(field, "must be a string");
      return {};
    }
    if (required && v->text.empty()) {
      Problem(field, "must not be empty");
      return {};
    }
    if (v->text.size() > max_length) {
      Problem(field, "is longer than " + std::to_string(max_length) + " bytes");
      return {};
    }
    if (HasControlCharacter(v->text)) {
      Problem(field, "must not contain control characters");
      return {};
    }
    return v->text;
  }

  std::optional<Decimal> Number(Field field, bool required) {
    const RawField* v = Find(field);
    if (v == nullptr || v->type == RawValue::Type::kNull) {
      if (required) Problem(field, "is required");
      return std::nullopt;
    }
    if (v->type != RawValue::Type::kString && v->type != RawValue::Type::kNumber) {
      Problem(field, "must be a decimal number or a string holding one");
      return std::nullopt;
    }
    auto d = ParseDecimal(v->text);
    if (!d) {
      Problem(field, d.error().message == "not a decimal number" ? "must be a decimal number like \"0.0913\""
                                                                 : d.error().message);
      return std::nullopt;
    }
    return *d;
  }

  std::optional<Instant> Time(Field field) {
    const RawField* v = Find(field);
    if (v == nullptr || v->type == RawValue::Type::kNull) {
      Problem(field, "is required");
      return std::nullopt;
    }
    if (v->type != RawValue::Type::kString) {
      Problem(field, "must be an RFC 3339 datetime string");
      return std::nullopt;
    }
    auto t = ParseRfc3339(v->text);
    if (!t) {
      Problem(field, "is not an RFC 3339 datetime: " + t.error().message);
      return std::nullopt;
    }
    return *t;
  }

 private:
  std::string_view prefix_;
  std::vector<FieldProblem>& problems_;
  std::size_t size_before_;
  std::array<const RawField*, kFieldCount> fields_{};  // first occurrence of each, or null
};

}  // namespace

std::string_view DimensionId(Dimension d) { return kDimensionIds[static_cast<std::size_t>(d)]; }
std::string_view DimensionDisplayName(Dimension d) { return kDimensionNames[static_cast<std::size_t>(d)]; }

std::optional<Dimension> ParseDimension(std::string_view id) {
  for (std::size_t i = 0; i < kDimensionIds.size(); ++i) {
    if (kDimensionIds[i] == id) return static_cast<Dimension>(i);
  }
  return std::nullopt;
}

std::string_view ResourceKindId(ResourceKind k) { return kKindIds[static_cast<std::size_t>(k)]; }

std::optional<ResourceKind> ParseResourceKind(std::string_view id) {
  for (std::size_t i = 0; i < kKindIds.size(); ++i) {
    if (kKindIds[i] == id) return static_cast<ResourceKind>(i);
  }
  return std::nullopt;
}

std::string_view InstanceTypeId(InstanceType t) { return kInstanceTypeIds[static_cast<std::size_t>(t)]; }

std::optional<InstanceType> ParseInstanceType(std::string_view id) {
  for (std::size_t i = 0; i < kInstanceTypeIds.size(); ++i) {
    if (kInstanceTypeIds[i] == id) return static_cast<InstanceType>(i);
  }
  return std::nullopt;
}

namespace {

// The last two checks of ValidateUsage: trial, then instance_type (both optional; null is absent).
void CheckTrialAndInstanceType(Checker& check, UsageRecord& r) {
  if (const RawField* v = check.Find(kTrial); v != nullptr && v->type != RawValue::Type::kNull) {
    if (v->type != RawValue::Type::kBool) {
      check.Problem(kTrial, "must be true or false");
    } else {
      r.trial = v->text == "true";
    }
  }

  if (const RawField* v = check.Find(kInstanceType); v != nullptr && v->type != RawValue::Type::kNull) {
    auto t = v->type == RawValue::Type::kString ? ParseInstanceType(v->text) : std::nullopt;
    if (!t) {
      check.Problem(kInstanceType, "must be one of deployment, elasticsearch, observability, security");
    } else {
      r.instance_type = *t;
    }
  }
}

}  // namespace

std::optional<UsageRecord> ValidateUsage(std::span<const RawField> raw, std::string_view prefix,
                                         std::vector<FieldProblem>& problems) {
  Checker check(raw, prefix, problems);
  UsageRecord r;
  r.id = check.Text(kId, true, kMaxIdLength);
  r.organization_id = check.Text(kOrganizationId, true, kMaxIdLength);
  r.deployment_id = check.Text(kDeploymentId, true, kMaxIdLength);
  r.deployment_name = check.Text(kDeploymentName, false, kMaxTextLength);
  if (r.deployment_name.empty()) r.deployment_name = r.deployment_id;
  r.sku = check.Text(kSku, false, kMaxTextLength);
  r.name = check.Text(kName, false, kMaxTextLength);
  r.unit = check.Text(kUnit, false, kMaxTextLength);

  const std::string_view dimension = check.Text(kDimension, true, kMaxTextLength);
  if (!dimension.empty()) {
    if (auto d = ParseDimension(dimension)) {
      r.dimension = *d;
    } else {
      check.Problem(kDimension,
                    "must be one of capacity, data_in, data_internode, data_out, storage_api, storage_bytes");
    }
  }
  const std::string_view kind = check.Text(kKind, false, kMaxTextLength);
  if (!kind.empty()) {
    if (auto k = ParseResourceKind(kind)) {
      r.kind = *k;
    } else {
      check.Problem(kKind,
                    "must be one of elasticsearch, kibana, apm, integrations_server, appsearch, enterprise_search");
    }
  } else if (dimension == "capacity") {
    const RawField* v = check.Find(kKind);
    if (v == nullptr || v->type == RawValue::Type::kNull || (v->type == RawValue::Type::kString && v->text.empty())) {
      check.Problem(kKind, "is required for capacity usage");
    }
  }

  if (const RawField* v = check.Find(kInstanceCount); v != nullptr && v->type != RawValue::Type::kNull) {
    auto d = v->type == RawValue::Type::kNumber ? ParseDecimal(v->text) : Result<Decimal>(Error{});
    if (!d || d->scale != 0 || d->mantissa < 0 || d->mantissa > 2147483647) {
      check.Problem(kInstanceCount, "must be an integer from 0 to 2147483647");
    } else {
      r.instance_count = d->mantissa;
    }
  }

  const auto start = check.Time(kStart);
  const auto end = check.Time(kEnd);
  if (start && end) {
    if (!(*start < *end)) {
      check.Problem(kEnd, "must be after start");
    } else if (end->ns - start->ns > kMaxRecordDurationNs) {
      check.Problem(kEnd, "must be at most 366 days after start");
    } else {
      r.start = *start;
      r.end = *end;
    }
  }

  const auto quantity = check.Number(kQuantity, true);
  const auto rate = check.Number(kRate, true);
  const auto given_cost = check.Number(kCost, false);
  if (rate && rate->mantissa < 0) check.Problem(kRate, "must not be negative");
  if (quantity && !ToScaled(*quantity, 3)) check.Problem(kQuantity, "is too large");
  if (quantity) r.quantity = *quantity;
  if (rate) r.rate = *rate;
  if (quantity && rate) {
    auto cost = MultiplyToNanos(*quantity, *rate);
    if (!cost) {
      check.Problem(kQuantity, "× rate is out of range");
    } else {
      r.cost_nanos = *cost;
      if (given_cost) {
        auto given_nanos = DecimalToNanos(*given_cost);
        if (!given_nanos || *given_nanos != *cost) {
          check.Problem(kCost, "must equal quantity × rate (" + FormatNanos(*cost) + ")");
        }
      }
    }
  }

  CheckTrialAndInstanceType(check, r);

  if (!check.ok()) return std::nullopt;
  return r;
}

std::optional<UsageRecord> ValidateUsage(const RawUsage& raw, std::string_view prefix,
                                         std::vector<FieldProblem>& problems) {
  std::vector<RawField> fields;
  fields.reserve(raw.size());
  for (const auto& [name, value] : raw) fields.push_back({name, value.type, value.text});
  return ValidateUsage(fields, prefix, problems);
}

}  // namespace costs::domain
