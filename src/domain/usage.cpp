#include "domain/usage.hpp"

#include <array>
#include <set>

namespace costs::domain {
namespace {

constexpr std::array<std::string_view, kDimensionCount> kDimensionIds = {
    "capacity", "data_in", "data_internode", "data_out", "storage_api", "storage_bytes"};
constexpr std::array<std::string_view, kDimensionCount> kDimensionNames = {
    "Capacity", "Data in", "Data internode", "Data out", "Storage API", "Storage bytes"};
constexpr std::array<std::string_view, 6> kKindIds = {
    "elasticsearch", "kibana", "apm", "integrations_server", "appsearch", "enterprise_search"};

// Collects problems for one record.
class Checker {
 public:
  Checker(const RawUsage& raw, std::string_view prefix, std::vector<FieldProblem>& problems)
      : raw_(raw), prefix_(prefix), problems_(problems), size_before_(problems.size()) {
    std::set<std::string_view> seen;
    for (const auto& [name, value] : raw_) {
      if (!seen.insert(name).second) Problem(name, "appears more than once");
    }
  }

  void Problem(std::string_view field, std::string message) {
    std::string path(prefix_);
    if (!path.empty()) path.push_back('.');
    path.append(field);
    problems_.push_back({std::move(path), std::string(field) + " " + message});
  }

  bool ok() const { return problems_.size() == size_before_; }

  const RawValue* Find(std::string_view field) const {
    for (const auto& [name, value] : raw_) {
      if (name == field) return &value;
    }
    return nullptr;
  }

  // A string field; `required` fields must be present and non-empty.
  std::string Text(std::string_view field, bool required, std::size_t max_length) {
    const RawValue* v = Find(field);
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
    for (unsigned char c : v->text) {
      if (c < 0x20 || c == 0x7f) {
        Problem(field, "must not contain control characters");
        return {};
      }
    }
    return v->text;
  }

  std::optional<Decimal> Number(std::string_view field, bool required) {
    const RawValue* v = Find(field);
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

  std::optional<Instant> Time(std::string_view field) {
    const RawValue* v = Find(field);
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
  const RawUsage& raw_;
  std::string_view prefix_;
  std::vector<FieldProblem>& problems_;
  std::size_t size_before_;
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

std::optional<UsageRecord> ValidateUsage(const RawUsage& raw, std::string_view prefix,
                                         std::vector<FieldProblem>& problems) {
  Checker check(raw, prefix, problems);
  UsageRecord r;
  r.id = check.Text("id", true, kMaxIdLength);
  r.organization_id = check.Text("organization_id", true, kMaxIdLength);
  r.deployment_id = check.Text("deployment_id", true, kMaxIdLength);
  r.deployment_name = check.Text("deployment_name", false, kMaxTextLength);
  if (r.deployment_name.empty()) r.deployment_name = r.deployment_id;
  r.sku = check.Text("sku", false, kMaxTextLength);
  r.name = check.Text("name", false, kMaxTextLength);
  r.unit = check.Text("unit", false, kMaxTextLength);

  const std::string dimension = check.Text("dimension", true, kMaxTextLength);
  if (!dimension.empty()) {
    if (auto d = ParseDimension(dimension)) {
      r.dimension = *d;
    } else {
      check.Problem("dimension",
                    "must be one of capacity, data_in, data_internode, data_out, storage_api, storage_bytes");
    }
  }
  const std::string kind = check.Text("kind", false, kMaxTextLength);
  if (!kind.empty()) {
    if (auto k = ParseResourceKind(kind)) {
      r.kind = *k;
    } else {
      check.Problem("kind",
                    "must be one of elasticsearch, kibana, apm, integrations_server, appsearch, enterprise_search");
    }
  } else if (dimension == "capacity") {
    const RawValue* v = check.Find("kind");
    if (v == nullptr || v->type == RawValue::Type::kNull || (v->type == RawValue::Type::kString && v->text.empty())) {
      check.Problem("kind", "is required for capacity usage");
    }
  }

  if (const RawValue* v = check.Find("instance_count"); v != nullptr && v->type != RawValue::Type::kNull) {
    auto d = v->type == RawValue::Type::kNumber ? ParseDecimal(v->text) : Result<Decimal>(Error{});
    if (!d || d->scale != 0 || d->mantissa < 0 || d->mantissa > 2147483647) {
      check.Problem("instance_count", "must be an integer from 0 to 2147483647");
    } else {
      r.instance_count = d->mantissa;
    }
  }

  const auto start = check.Time("start");
  const auto end = check.Time("end");
  if (start && end) {
    if (!(*start < *end)) {
      check.Problem("end", "must be after start");
    } else if (end->ns - start->ns > kMaxRecordDurationNs) {
      check.Problem("end", "must be at most 366 days after start");
    } else {
      r.start = *start;
      r.end = *end;
    }
  }

  const auto quantity = check.Number("quantity", true);
  const auto rate = check.Number("rate", true);
  const auto given_cost = check.Number("cost", false);
  if (rate && rate->mantissa < 0) check.Problem("rate", "must not be negative");
  if (quantity && !ToScaled(*quantity, 3)) check.Problem("quantity", "is too large");
  if (quantity) r.quantity = *quantity;
  if (rate) r.rate = *rate;
  if (quantity && rate) {
    auto cost = MultiplyToNanos(*quantity, *rate);
    if (!cost) {
      check.Problem("quantity", "× rate is out of range");
    } else {
      r.cost_nanos = *cost;
      if (given_cost) {
        auto given_nanos = DecimalToNanos(*given_cost);
        if (!given_nanos || *given_nanos != *cost) {
          check.Problem("cost", "must equal quantity × rate (" + FormatNanos(*cost) + ")");
        }
      }
    }
  }

  if (const RawValue* v = check.Find("trial"); v != nullptr && v->type != RawValue::Type::kNull) {
    if (v->type != RawValue::Type::kBool) {
      check.Problem("trial", "must be true or false");
    } else {
      r.trial = v->text == "true";
    }
  }

  if (!check.ok()) return std::nullopt;
  return r;
}

}  // namespace costs::domain
