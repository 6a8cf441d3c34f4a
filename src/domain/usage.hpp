#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "domain/time.hpp"

namespace costs::domain {

// Billing dimensions, as the spec's Dimension.type enum names them.
enum class Dimension { kCapacity, kDataIn, kDataInternode, kDataOut, kStorageApi, kStorageBytes };
inline constexpr int kDimensionCount = 6;

std::string_view DimensionId(Dimension d);                     // "capacity", "data_in", ...
std::string_view DimensionDisplayName(Dimension d);            // "Capacity", "Data in", ...
std::optional<Dimension> ParseDimension(std::string_view id);  // exact, lower case

// Resource kinds, as the spec's kind enum names them.
enum class ResourceKind { kElasticsearch, kKibana, kApm, kIntegrationsServer, kAppsearch, kEnterpriseSearch };
std::string_view ResourceKindId(ResourceKind k);
std::optional<ResourceKind> ParseResourceKind(std::string_view id);

// What an instance (a usage record's deployment_id) is: a hosted deployment, or a serverless
// project of one of three types (the v2 API's instance `type`).
enum class InstanceType { kDeployment, kElasticsearch, kObservability, kSecurity };
inline constexpr int kInstanceTypeCount = 4;
std::string_view InstanceTypeId(InstanceType t);                     // "deployment", "elasticsearch", ...
std::optional<InstanceType> ParseInstanceType(std::string_view id);  // exact, lower case
inline bool IsServerless(InstanceType t) { return t != InstanceType::kDeployment; }

// One metered usage record, validated. It covers the half-open UTC period [start, end) and
// costs cost_nanos = round_half_even(quantity × rate) nano-ECU.
struct UsageRecord {
  std::string id;  // idempotency key
  std::string organization_id;
  std::string deployment_id;
  std::string deployment_name;  // defaults to deployment_id
  Dimension dimension = Dimension::kCapacity;
  std::optional<ResourceKind> kind;  // required for capacity
  std::int64_t instance_count = 0;
  std::string sku;
  std::string name;
  Instant start;
  Instant end;
  Decimal quantity;
  std::string unit;
  Decimal rate;
  Nanos cost_nanos = 0;
  bool trial = false;
  // Part of the record's content (a re-send that differs in it is a conflict); the latest
  // stored record of a deployment sets its type, as it sets its name.
  InstanceType instance_type = InstanceType::kDeployment;

  // Same content, field by field (what idempotency compares).
  friend bool operator==(const UsageRecord&, const UsageRecord&) = default;
};

// One JSON scalar as it appeared in the input. Numbers keep their exact text.
struct RawValue {
  enum class Type { kString, kNumber, kBool, kNull, kComposite };
  Type type = Type::kNull;
  std::string text;  // string contents, number text, "true"/"false"; empty otherwise
};

// The members of one input object, in input order (a repeated name is kept twice).
using RawUsage = std::vector<std::pair<std::string, RawValue>>;

// One member of an input object as views into text the caller keeps alive: its name, its
// type and its text as RawValue keeps them.
struct RawField {
  std::string_view name;
  RawValue::Type type = RawValue::Type::kNull;
  std::string_view text;
};

// The longest period one usage record may cover. Metering records cover an hour or a day;
// the limit keeps a typo (a record from 1970 to 2070) from fanning out into a century of
// hourly rollups.
inline constexpr std::int64_t kMaxRecordDurationNs = 366 * kNsPerDay;

// Limits on text fields.
inline constexpr std::size_t kMaxIdLength = 256;
inline constexpr std::size_t kMaxTextLength = 1024;

// Validates one record. Every problem found is appended to `problems` as
// "<prefix>.<field>: <why>"-style pairs (field path, message), e.g. {"records[3].rate",
// "rate must be a decimal number"}, or {"rate", ...} for an empty prefix; all fields are
// checked, not only up to the first problem. The order is fixed: first each repeat of a member
// name (in input order; the first occurrence is the one validated), then the checks in this
// order: id, organization_id, deployment_id, deployment_name, sku, name, unit, dimension, kind,
// instance_count, start, end, end after start, quantity, rate, cost (as numbers), rate's sign,
// quantity's size, quantity × rate, cost's match, trial, instance_type.
// Returns the record when there was no problem.
//
// Rules: id, organization_id, deployment_id: non-empty strings, at most kMaxIdLength bytes, no
// control characters. start < end, at most kMaxRecordDurationNs apart. dimension: one of the Dimension ids. kind: a
// ResourceKind id, required when dimension is capacity. instance_count: a non-negative integer. start, end: RFC 3339
// with start < end. quantity, rate: decimal strings or JSON numbers (exact); quantity may be negative, rate may not.
// cost: optional; if present it must equal quantity × rate rounded half-even to nano-ECU. trial: boolean.
// instance_type: optional (null or absent: deployment), an InstanceType id. Unknown
// members are ignored; a repeated member is an error.
struct FieldProblem {
  std::string field;
  std::string message;
};
std::optional<UsageRecord> ValidateUsage(std::span<const RawField> raw, std::string_view prefix,
                                         std::vector<FieldProblem>& problems);
// The same on owned members.
std::optional<UsageRecord> ValidateUsage(const RawUsage& raw, std::string_view prefix,
                                         std::vector<FieldProblem>& problems);

}  // namespace costs::domain
