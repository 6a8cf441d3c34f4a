#include "domain/usage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace costs::domain {

// Lets gtest print a record readably when an expectation fails.
inline void PrintTo(const UsageRecord& r, std::ostream* os) {
  *os << "UsageRecord{id=" << r.id << ", organization_id=" << r.organization_id << ", deployment_id=" << r.deployment_id
      << ", deployment_name=" << r.deployment_name << ", dimension=" << DimensionId(r.dimension)
      << ", kind=" << (r.kind ? ResourceKindId(*r.kind) : std::string_view("(none)"))
      << ", instance_count=" << r.instance_count << ", sku=" << r.sku << ", name=" << r.name << ", start=" << r.start.ns
      << ", end=" << r.end.ns << ", quantity=" << FormatDecimal(r.quantity) << ", unit=" << r.unit
      << ", rate=" << FormatDecimal(r.rate) << ", cost_nanos=" << r.cost_nanos << ", trial=" << r.trial
      << ", instance_type=" << InstanceTypeId(r.instance_type) << "}";
}

namespace {

constexpr std::string_view kPrefix = "records[3]";
// 2026-11-01T00:00:00Z.
constexpr Instant kNov1{1'793'491'200 * kNsPerSecond};

RawValue S(std::string text) { return {RawValue::Type::kString, std::move(text)}; }
RawValue N(std::string text) { return {RawValue::Type::kNumber, std::move(text)}; }
RawValue B(bool value) { return {RawValue::Type::kBool, value ? "true" : "false"}; }
RawValue Null() { return {RawValue::Type::kNull, ""}; }
RawValue Composite() { return {RawValue::Type::kComposite, ""}; }

// DESIGN.md's example record, member by member, in its order.
RawUsage Example() {
  return {
      {"id", S("u-2026-11-01T00-d1-cap")},
      {"organization_id", S("org-a")},
      {"deployment_id", S("d1")},
      {"deployment_name", S("search-prod")},
      {"dimension", S("capacity")},
      {"kind", S("elasticsearch")},
      {"instance_count", N("2")},
      {"sku", S("gcp.es.datahot.n2.68x10x45")},
      {"name", S("Elasticsearch hot 8 GB")},
      {"start", S("2026-11-01T00:00:00Z")},
      {"end", S("2026-11-01T01:00:00Z")},
      {"quantity", S("2")},
      {"unit", S("instance-hour")},
      {"rate", S("0.0913")},
      {"trial", B(false)},
  };
}

UsageRecord ExampleRecord() {
  UsageRecord r;
  r.id = "u-2026-11-01T00-d1-cap";
  r.organization_id = "org-a";
  r.deployment_id = "d1";
  r.deployment_name = "search-prod";
  r.dimension = Dimension::kCapacity;
  r.kind = ResourceKind::kElasticsearch;
  r.instance_count = 2;
  r.sku = "gcp.es.datahot.n2.68x10x45";
  r.name = "Elasticsearch hot 8 GB";
  r.start = kNov1;
  r.end = Instant{kNov1.ns + kNsPerHour};
  r.quantity = Decimal{2, 0};
  r.unit = "instance-hour";
  r.rate = Decimal{913, 4};
  r.cost_nanos = 182'600'000;  // 2 x 0.0913 ECU
  r.trial = false;
  return r;
}

// Replaces every member called `name` (or appends it).
RawUsage With(RawUsage raw, std::string_view name, RawValue value) {
  bool found = false;
  for (auto& [member, v] : raw) {
    if (member == name) {
      v = value;
      found = true;
    }
  }
  if (!found) raw.emplace_back(std::string(name), std::move(value));
  return raw;
}

RawUsage Without(RawUsage raw, std::string_view name) {
  raw.erase(std::remove_if(raw.begin(), raw.end(), [&](const auto& m) { return m.first == name; }), raw.end());
  return raw;
}

std::string Describe(const std::vector<FieldProblem>& problems) {
  std::string out;
  for (const FieldProblem& p : problems) out += "\n  " + p.field + ": " + p.message;
  return out.empty() ? " (none)" : out;
}

// Validates a record that must pass and returns it.
UsageRecord MustValidate(const RawUsage& raw) {
  std::vector<FieldProblem> problems;
  std::optional<UsageRecord> r = ValidateUsage(raw, kPrefix, problems);
  EXPECT_TRUE(r.has_value()) << "expected the record to be valid; problems:" << Describe(problems);
  EXPECT_TRUE(problems.empty()) << "a valid record reports no problems; got:" << Describe(problems);
  return r.value_or(UsageRecord{});
}

// Validates a record that must fail; returns the distinct problem fields.
std::set<std::string> ProblemFields(const RawUsage& raw, std::string_view prefix = kPrefix) {
  std::vector<FieldProblem> problems;
  std::optional<UsageRecord> r = ValidateUsage(raw, prefix, problems);
  EXPECT_FALSE(r.has_value()) << "expected the record to be invalid, but it was accepted";
  EXPECT_FALSE(problems.empty()) << "an invalid record must report its problems";
  std::set<std::string> fields;
  for (const FieldProblem& p : problems) {
    fields.insert(p.field);
    EXPECT_FALSE(p.message.empty()) << "the problem at " << p.field << " should say why";
  }
  return fields;
}

using FieldSet = std::set<std::string>;
std::vector<std::string> ProblemList(const RawUsage& raw, std::string_view prefix = kPrefix);

// ---------------------------------------------------------------------------------------------
// Valid records

TEST(ValidateUsageTest, AcceptsTheDesignExample) { EXPECT_EQ(MustValidate(Example()), ExampleRecord()); }

TEST(ValidateUsageTest, AcceptsQuantityAndRateAsJsonNumbers) {
  RawUsage raw = With(With(Example(), "quantity", N("2")), "rate", N("0.0913"));
  EXPECT_EQ(MustValidate(raw), ExampleRecord());

  UsageRecord exponent = MustValidate(With(With(Example(), "quantity", N("2E+2")), "rate", N("1e-3")));
  EXPECT_EQ(exponent.quantity, (Decimal{200, 0}));
  EXPECT_EQ(exponent.rate, (Decimal{1, 3}));
  EXPECT_EQ(exponent.cost_nanos, 200'000'000) << "200 x 0.001 ECU";
}

TEST(ValidateUsageTest, ParsesQuantityAndRateExactly) {
  UsageRecord r = MustValidate(With(With(Example(), "quantity", S("3")), "rate", N("0.1")));
  EXPECT_EQ(r.cost_nanos, 300'000'000) << "3 x 0.1 is exactly 0.3 ECU, not a binary float";
}

TEST(ValidateUsageTest, AcceptsAGivenCostThatMatches) {
  EXPECT_EQ(MustValidate(With(Example(), "cost", S("0.1826"))), ExampleRecord());
  EXPECT_EQ(MustValidate(With(Example(), "cost", N("0.1826"))), ExampleRecord());
  EXPECT_EQ(MustValidate(With(Example(), "cost", S("0.18260"))), ExampleRecord())
      << "the same value with a trailing zero";
  EXPECT_EQ(MustValidate(With(Example(), "cost", N("1.826e-1"))), ExampleRecord());
}

TEST(ValidateUsageTest, RejectsAGivenCostThatDoesNotMatch) {
  EXPECT_EQ(ProblemFields(With(Example(), "cost", S("0.1827"))), FieldSet{"records[3].cost"});
  EXPECT_EQ(ProblemFields(With(Example(), "cost", N("0.182600001"))), FieldSet{"records[3].cost"});
  EXPECT_EQ(ProblemFields(With(Example(), "cost", S("-0.1826"))), FieldSet{"records[3].cost"});
  EXPECT_EQ(ProblemFields(With(Example(), "cost", S("abc"))), FieldSet{"records[3].cost"});
}

TEST(ValidateUsageTest, GivenCostIsComparedAfterHalfEvenRounding) {
  // 2.5e-9 ECU rounds half-even to 2 nano-ECU.
  RawUsage raw = With(With(Example(), "quantity", S("0.0000000025")), "rate", S("1"));
  EXPECT_EQ(MustValidate(raw).cost_nanos, 2);
  EXPECT_EQ(MustValidate(With(raw, "cost", S("0.000000002"))).cost_nanos, 2);
  EXPECT_EQ(ProblemFields(With(raw, "cost", S("0.000000003"))), FieldSet{"records[3].cost"})
      << "2.5 nano rounds to even 2, not 3";
}

TEST(ValidateUsageTest, AcceptsNegativeQuantityAsACorrection) {
  UsageRecord r = MustValidate(With(Example(), "quantity", S("-2")));
  EXPECT_EQ(r.quantity, (Decimal{-2, 0}));
  EXPECT_EQ(r.cost_nanos, -182'600'000);
  EXPECT_EQ(MustValidate(With(With(Example(), "quantity", N("-2")), "cost", S("-0.1826"))).cost_nanos, -182'600'000);
}

TEST(ValidateUsageTest, AcceptsZeroRate) {
  UsageRecord r = MustValidate(With(Example(), "rate", S("0")));
  EXPECT_EQ(r.cost_nanos, 0);
}

TEST(ValidateUsageTest, DeploymentNameDefaultsToDeploymentId) {
  UsageRecord r = MustValidate(Without(Example(), "deployment_name"));
  EXPECT_EQ(r.deployment_name, "d1");
}

TEST(ValidateUsageTest, TrialDefaultsToFalse) {
  EXPECT_FALSE(MustValidate(Without(Example(), "trial")).trial);
  EXPECT_TRUE(MustValidate(With(Example(), "trial", B(true))).trial);
}

TEST(ValidateUsageTest, InstanceTypeDefaultsToDeployment) {
  EXPECT_EQ(MustValidate(Without(Example(), "instance_type")).instance_type, InstanceType::kDeployment);
  EXPECT_EQ(MustValidate(With(Example(), "instance_type", Null())).instance_type, InstanceType::kDeployment);
  EXPECT_EQ(MustValidate(With(Example(), "instance_type", S("observability"))).instance_type,
            InstanceType::kObservability);
  for (int i = 0; i < kInstanceTypeCount; ++i) {
    const auto t = static_cast<InstanceType>(i);
    EXPECT_EQ(ParseInstanceType(InstanceTypeId(t)), t);
  }
  EXPECT_FALSE(IsServerless(InstanceType::kDeployment));
  EXPECT_TRUE(IsServerless(InstanceType::kSecurity));
}

TEST(ValidateUsageTest, IgnoresUnknownMembers) {
  RawUsage raw = Example();
  raw.emplace_back("granularity", S("day"));
  raw.emplace_back("tags", Composite());
  raw.emplace_back("note", Null());
  raw.insert(raw.begin(), {"x-extra", N("1")});
  EXPECT_EQ(MustValidate(raw), ExampleRecord());
}

TEST(ValidateUsageTest, KindIsOptionalForOtherDimensions) {
  UsageRecord r = MustValidate(With(Without(Example(), "kind"), "dimension", S("data_out")));
  EXPECT_EQ(r.dimension, Dimension::kDataOut);
  EXPECT_EQ(r.kind, std::nullopt);
}

TEST(ValidateUsageTest, AcceptsEveryDimensionAndKindId) {
  const std::pair<std::string_view, Dimension> dimensions[] = {{"capacity", Dimension::kCapacity},
                                                               {"data_in", Dimension::kDataIn},
                                                               {"data_internode", Dimension::kDataInternode},
                                                               {"data_out", Dimension::kDataOut},
                                                               {"storage_api", Dimension::kStorageApi},
                                                               {"storage_bytes", Dimension::kStorageBytes}};
  for (const auto& [id, dimension] : dimensions) {
    EXPECT_EQ(MustValidate(With(Example(), "dimension", S(std::string(id)))).dimension, dimension) << id;
  }
  const std::pair<std::string_view, ResourceKind> kinds[] = {{"elasticsearch", ResourceKind::kElasticsearch},
                                                             {"kibana", ResourceKind::kKibana},
                                                             {"apm", ResourceKind::kApm},
                                                             {"integrations_server", ResourceKind::kIntegrationsServer},
                                                             {"appsearch", ResourceKind::kAppsearch},
                                                             {"enterprise_search", ResourceKind::kEnterpriseSearch}};
  for (const auto& [id, kind] : kinds) {
    EXPECT_EQ(MustValidate(With(Example(), "kind", S(std::string(id)))).kind, kind) << id;
  }
}

TEST(ValidateUsageTest, AcceptsOffsetsAndFractionsInStartAndEnd) {
  UsageRecord r =
      MustValidate(With(With(Example(), "start", S("2026-11-01T01:00:00+01:00")), "end", S("2026-11-01T00:30:00.5Z")));
  EXPECT_EQ(r.start, kNov1);
  EXPECT_EQ(r.end, (Instant{kNov1.ns + 1800 * kNsPerSecond + 500'000'000}));
}

TEST(ValidateUsageTest, AcceptsIdsOfExactlyMaxLength) {
  const std::string id(kMaxIdLength, 'a');
  EXPECT_EQ(MustValidate(With(Example(), "id", S(id))).id, id);
}

TEST(ValidateUsageTest, ValidatesMembersGivenAsViews) {
  const RawUsage owned = With(Example(), "rate", N("0.0913"));
  std::vector<RawField> views;
  for (const auto& [name, value] : owned) views.push_back({name, value.type, value.text});
  std::vector<FieldProblem> problems;
  std::optional<UsageRecord> r = ValidateUsage(std::span<const RawField>(views), kPrefix, problems);
  ASSERT_TRUE(r.has_value()) << Describe(problems);
  EXPECT_EQ(*r, ExampleRecord());
  views.push_back({"rate", RawValue::Type::kString, "x"});
  EXPECT_FALSE(ValidateUsage(std::span<const RawField>(views), "", problems).has_value());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, "rate");
}

TEST(ValidateUsageTest, KeepsProblemsAlreadyGathered) {
  std::vector<FieldProblem> problems{{"records[0].id", "earlier problem"}};
  std::optional<UsageRecord> ok = ValidateUsage(Example(), "records[1]", problems);
  EXPECT_TRUE(ok.has_value()) << "a valid record is valid whatever came before it";
  ASSERT_EQ(problems.size(), 1u) << "earlier problems are kept, none added:" << Describe(problems);
  std::optional<UsageRecord> bad = ValidateUsage(Without(Example(), "rate"), "records[2]", problems);
  EXPECT_FALSE(bad.has_value());
  ASSERT_EQ(problems.size(), 2u) << Describe(problems);
  EXPECT_EQ(problems[0].field, "records[0].id") << "problems are appended";
  EXPECT_EQ(problems[1].field, "records[2].rate");
}

// ---------------------------------------------------------------------------------------------
// One problem at a time: each names exactly its field under the prefix.

TEST(ValidateUsageProblemTest, MissingOrBadId) {
  EXPECT_EQ(ProblemFields(Without(Example(), "id")), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id", S(""))), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id", N("5"))), FieldSet{"records[3].id"}) << "not a string";
  EXPECT_EQ(ProblemFields(With(Example(), "id", Null())), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id", Composite())), FieldSet{"records[3].id"});
}

TEST(ValidateUsageProblemTest, ControlCharactersInIds) {
  EXPECT_EQ(ProblemFields(With(Example(), "id", S("u-\x01"))), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id", S("u\n1"))), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id", S("u\t1"))), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "id",
                               S(std::string("u\0"
                                             "1",
                                             3)))),
            FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "organization_id", S("org\x1f"))), FieldSet{"records[3].organization_id"});
  EXPECT_EQ(ProblemFields(With(Example(), "deployment_id", S("d\r1"))), FieldSet{"records[3].deployment_id"});
}

TEST(ValidateUsageProblemTest, ControlCharactersAnywhereInALongText) {
  // Text is checked eight bytes at a time: each byte value at each offset of a long name.
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < 23; ++at) {
      std::string name(23, 'n');
      name[at] = static_cast<char>(c);
      if (c >= 0x80) name += "\x80";  // keep it UTF-8-ish: validation does not look at that
      std::vector<FieldProblem> problems;
      const bool control = c < 0x20 || c == 0x7f;
      EXPECT_EQ(ValidateUsage(With(Example(), "name", S(name)), kPrefix, problems).has_value(), !control)
          << "byte " << c << " at " << at;
      if (control) {
        EXPECT_EQ(Describe(problems), "\n  records[3].name: name must not contain control characters")
            << "byte " << c << " at " << at;
      }
    }
  }
}

TEST(ValidateUsageProblemTest, IdsLongerThanMaxLength) {
  EXPECT_EQ(ProblemFields(With(Example(), "id", S(std::string(kMaxIdLength + 1, 'a')))), FieldSet{"records[3].id"});
  EXPECT_EQ(ProblemFields(With(Example(), "organization_id", S(std::string(kMaxIdLength + 1, 'o')))),
            FieldSet{"records[3].organization_id"});
  EXPECT_EQ(ProblemFields(With(Example(), "deployment_id", S(std::string(kMaxIdLength + 1, 'd')))),
            FieldSet{"records[3].deployment_id"});
}

TEST(ValidateUsageProblemTest, MissingOrganizationOrDeployment) {
  EXPECT_EQ(ProblemFields(Without(Example(), "organization_id")), FieldSet{"records[3].organization_id"});
  EXPECT_EQ(ProblemFields(Without(Example(), "deployment_id")), FieldSet{"records[3].deployment_id"});
  EXPECT_EQ(ProblemFields(With(Example(), "deployment_id", S(""))), FieldSet{"records[3].deployment_id"});
}

TEST(ValidateUsageProblemTest, BadDimension) {
  EXPECT_EQ(ProblemFields(With(Example(), "dimension", S("cpu"))), FieldSet{"records[3].dimension"});
  EXPECT_EQ(ProblemFields(With(Example(), "dimension", S("Capacity"))), FieldSet{"records[3].dimension"})
      << "dimension ids are exact, lower case";
  EXPECT_EQ(ProblemFields(With(With(Example(), "dimension", S("")), "kind", S("kibana"))),
            FieldSet{"records[3].dimension"});
  EXPECT_EQ(ProblemFields(With(Example(), "dimension", N("1"))), FieldSet{"records[3].dimension"});
}

TEST(ValidateUsageProblemTest, CapacityWithoutKind) {
  EXPECT_EQ(ProblemFields(Without(Example(), "kind")), FieldSet{"records[3].kind"});
}

TEST(ValidateUsageProblemTest, BadKind) {
  EXPECT_EQ(ProblemFields(With(Example(), "kind", S("mongodb"))), FieldSet{"records[3].kind"});
  EXPECT_EQ(ProblemFields(With(Example(), "kind", S("Elasticsearch"))), FieldSet{"records[3].kind"});
  EXPECT_EQ(ProblemFields(With(Example(), "kind", B(true))), FieldSet{"records[3].kind"});
}

TEST(ValidateUsageProblemTest, StartNotBeforeEnd) {
  // Either field could be blamed; the end is, once, with one message (clients and the API
  // tests rely on the field).
  for (const char* end : {"2026-11-01T00:00:00Z", "2026-10-31T23:00:00Z"}) {
    EXPECT_EQ(ProblemList(With(Example(), "end", S(end))),
              std::vector<std::string>{"records[3].end: end must be after start"})
        << "end " << end << ", start 2026-11-01T00:00:00Z";
  }
}

TEST(ValidateUsageProblemTest, PeriodLongerThan366Days) {
  EXPECT_EQ(ProblemFields(With(Example(), "end", S("2027-11-02T00:00:00.000000001Z"))), (FieldSet{"records[3].end"}))
      << "a record may cover at most 366 days";
  EXPECT_EQ(MustValidate(With(Example(), "end", S("2027-11-02T00:00:00Z"))).end.ns - MustValidate(Example()).start.ns,
            366 * kNsPerDay)
      << "exactly 366 days is allowed";
}

TEST(ValidateUsageProblemTest, UnparsableStartOrEnd) {
  EXPECT_EQ(ProblemFields(With(Example(), "start", S("yesterday"))), FieldSet{"records[3].start"});
  EXPECT_EQ(ProblemFields(With(Example(), "start", S("2026-11-01"))), FieldSet{"records[3].start"})
      << "a bare date is not RFC 3339";
  EXPECT_EQ(ProblemFields(With(Example(), "start", S("2026-11-01T00:00:00"))), FieldSet{"records[3].start"})
      << "no offset";
  EXPECT_EQ(ProblemFields(Without(Example(), "start")), FieldSet{"records[3].start"});
  EXPECT_EQ(ProblemFields(With(Example(), "start", N("1793491200"))), FieldSet{"records[3].start"});
  EXPECT_EQ(ProblemFields(With(Example(), "end", S("2026-11-01T25:00:00Z"))), FieldSet{"records[3].end"});
  EXPECT_EQ(ProblemFields(Without(Example(), "end")), FieldSet{"records[3].end"});
}

TEST(ValidateUsageProblemTest, NegativeRate) {
  EXPECT_EQ(ProblemFields(With(Example(), "rate", S("-0.0913"))), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", N("-1e-3"))), FieldSet{"records[3].rate"});
}

TEST(ValidateUsageProblemTest, RateOrQuantityOfTheWrongType) {
  EXPECT_EQ(ProblemFields(With(Example(), "rate", B(true))), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", Null())), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", Composite())), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", S("abc"))), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", S("0x10"))), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(Without(Example(), "rate")), FieldSet{"records[3].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "quantity", B(false))), FieldSet{"records[3].quantity"});
  EXPECT_EQ(ProblemFields(With(Example(), "quantity", S("1.2.3"))), FieldSet{"records[3].quantity"});
  EXPECT_EQ(ProblemFields(With(Example(), "quantity", S(" 2"))), FieldSet{"records[3].quantity"});
  EXPECT_EQ(ProblemFields(Without(Example(), "quantity")), FieldSet{"records[3].quantity"});
}

TEST(ValidateUsageProblemTest, RepeatedMember) {
  RawUsage raw = Example();
  raw.emplace_back("quantity", S("2"));  // the same value again is still a repeat
  EXPECT_EQ(ProblemFields(raw), FieldSet{"records[3].quantity"});
  RawUsage twice_id = Example();
  twice_id.emplace_back("id", S("u-other"));
  EXPECT_EQ(ProblemFields(twice_id), FieldSet{"records[3].id"});
}

TEST(ValidateUsageProblemTest, BadInstanceCount) {
  EXPECT_EQ(ProblemFields(With(Example(), "instance_count", N("-1"))), FieldSet{"records[3].instance_count"});
  EXPECT_EQ(ProblemFields(With(Example(), "instance_count", N("2.5"))), FieldSet{"records[3].instance_count"});
  EXPECT_EQ(ProblemFields(With(Example(), "instance_count", B(true))), FieldSet{"records[3].instance_count"});
  EXPECT_EQ(ProblemFields(With(Example(), "instance_count", N("2147483648"))), FieldSet{"records[3].instance_count"})
      << "the spec's instance_count is an int32";
  EXPECT_EQ(MustValidate(With(Example(), "instance_count", N("2147483647"))).instance_count, 2147483647);
}

TEST(ValidateUsageProblemTest, TrialMustBeBoolean) {
  EXPECT_EQ(ProblemFields(With(Example(), "trial", S("false"))), FieldSet{"records[3].trial"});
  EXPECT_EQ(ProblemFields(With(Example(), "trial", N("0"))), FieldSet{"records[3].trial"});
}

TEST(ValidateUsageProblemTest, CostThatOverflowsIsAProblemUnderThePrefix) {
  // Both too large to keep and with a product out of range: the quantity is the field named.
  RawUsage raw = With(With(Example(), "quantity", S("999999999999999999")), "rate", S("999999999999999999"));
  EXPECT_EQ(ProblemFields(raw), FieldSet{"records[3].quantity"});
}

TEST(ValidateUsageProblemTest, AProductOutOfRangeNamesTheQuantityOnce) {
  // Each factor within its own range; only their product (10^24 ECU) is not.
  RawUsage raw = With(With(Example(), "quantity", S("1000000000000")), "rate", S("1000000000000"));
  EXPECT_EQ(ProblemFields(raw), FieldSet{"records[3].quantity"});
  std::vector<FieldProblem> problems;
  EXPECT_FALSE(ValidateUsage(raw, kPrefix, problems).has_value());
  ASSERT_EQ(problems.size(), 1u) << Describe(problems);
  EXPECT_EQ(problems[0].message, "quantity × rate is out of range");
}

TEST(ValidateUsageProblemTest, UsesTheGivenPrefix) {
  EXPECT_EQ(ProblemFields(With(Example(), "rate", S("-1")), "records[0]"), FieldSet{"records[0].rate"});
  EXPECT_EQ(ProblemFields(With(Example(), "rate", S("-1")), "records[12]"), FieldSet{"records[12].rate"});
}

// ---------------------------------------------------------------------------------------------
// Every problem at once

TEST(ValidateUsageProblemTest, ReportsEveryProblemAtOnce) {
  RawUsage raw = Without(Without(Example(), "id"), "kind");                 // missing id; capacity without kind
  raw = With(raw, "organization_id", S("org\x07"));                         // control character
  raw = With(raw, "deployment_id", S(std::string(kMaxIdLength + 1, 'd')));  // too long
  raw = With(raw, "start", S("not a time"));                                // unparsable start
  raw = With(raw, "rate", S("-0.5"));                                       // negative rate
  raw = With(raw, "quantity", B(true));                                     // quantity as bool
  raw = With(raw, "trial", S("no"));                                        // trial not a boolean
  raw.emplace_back("unit", S("hour"));                                      // repeated member
  EXPECT_EQ(ProblemFields(raw), (FieldSet{"records[3].id", "records[3].organization_id", "records[3].deployment_id",
                                          "records[3].kind", "records[3].start", "records[3].rate",
                                          "records[3].quantity", "records[3].trial", "records[3].unit"}));
}

// The exact problems, in order: repeats first (each later occurrence, in input order), then
// the fields in the order ValidateUsage checks them. Clients and tests see this order.
std::vector<std::string> ProblemList(const RawUsage& raw, std::string_view prefix) {
  std::vector<FieldProblem> problems;
  EXPECT_FALSE(ValidateUsage(raw, prefix, problems).has_value()) << "expected the record to be invalid";
  std::vector<std::string> out;
  for (const FieldProblem& p : problems) out.push_back(p.field + ": " + p.message);
  return out;
}

TEST(ValidateUsageProblemTest, ReportsProblemsInTheirFixedOrderWithExactMessages) {
  RawUsage raw = Without(Without(Example(), "id"), "kind");
  raw = With(raw, "organization_id", S("org\x07"));
  raw = With(raw, "deployment_id", S(std::string(kMaxIdLength + 1, 'd')));
  raw = With(raw, "start", S("not a time"));
  raw = With(raw, "rate", S("-0.5"));
  raw = With(raw, "quantity", B(true));
  raw = With(raw, "trial", S("no"));
  raw = With(raw, "instance_type", S("Deployment"));
  raw = With(raw, "sku", N("3"));
  raw = With(raw, "cost", S("1e-30"));
  raw.emplace_back("unit", S("hour"));
  raw.emplace_back("rate", S("1"));
  raw.emplace_back("unit", Null());
  raw.emplace_back("", S("empty names are names too"));
  raw.emplace_back("", S("and repeat"));
  EXPECT_EQ(ProblemList(raw),
            (std::vector<std::string>{
                "records[3].unit: unit appears more than once",
                "records[3].rate: rate appears more than once",
                "records[3].unit: unit appears more than once",
                "records[3].:  appears more than once",
                "records[3].id: id is required",
                "records[3].organization_id: organization_id must not contain control characters",
                "records[3].deployment_id: deployment_id is longer than 256 bytes",
                "records[3].sku: sku must be a string",
                "records[3].kind: kind is required for capacity usage",
                "records[3].start: start is not an RFC 3339 datetime: expected a date like 2026-11-01",
                "records[3].quantity: quantity must be a decimal number or a string holding one",
                "records[3].cost: cost has more than 18 fractional digits",
                "records[3].rate: rate must not be negative",
                "records[3].trial: trial must be true or false",
                "records[3].instance_type: instance_type must be one of deployment, elasticsearch, observability, "
                "security",
            }));
}

TEST(ValidateUsageProblemTest, TheFirstOfRepeatedMembersIsTheOneValidated) {
  RawUsage raw = Example();
  raw.emplace_back("rate", S("not a number"));
  raw.emplace_back("dimension", S("cpu"));
  EXPECT_EQ(ProblemList(raw), (std::vector<std::string>{"records[3].rate: rate appears more than once",
                                                        "records[3].dimension: dimension appears more than once"}))
      << "only the repeats are reported: the first rate and dimension are valid";
  RawUsage first_bad = With(Example(), "rate", S("x"));
  first_bad.emplace_back("rate", S("1"));
  EXPECT_EQ(ProblemList(first_bad), (std::vector<std::string>{
                                        "records[3].rate: rate appears more than once",
                                        "records[3].rate: rate must be a decimal number like \"0.0913\"",
                                    }));
}

TEST(ValidateUsageProblemTest, AnEmptyPrefixGivesBareFieldNames) {
  EXPECT_EQ(ProblemList(With(Example(), "rate", S("-1")), ""),
            (std::vector<std::string>{"rate: rate must not be negative"}));
}

TEST(ValidateUsageProblemTest, ManyMembersAreCheckedForRepeatsToo) {
  RawUsage raw = Example();
  for (int i = 0; i < 100; ++i) raw.emplace_back("extra" + std::to_string(i), N(std::to_string(i)));
  raw.emplace_back("extra7", Null());
  raw.emplace_back("id", S("again"));
  EXPECT_EQ(ProblemList(raw), (std::vector<std::string>{"records[3].extra7: extra7 appears more than once",
                                                        "records[3].id: id appears more than once"}));
}

TEST(ValidateUsageProblemTest, ReportsEveryProblemAtOnceWithABadDimension) {
  RawUsage raw = With(Example(), "dimension", S("cpu"));
  raw = With(raw, "end", S("2026-11-01T00:00:00+25:00"));
  raw = With(raw, "rate", B(false));
  raw = With(raw, "cost", S("1"));
  // Exactly the three bad fields: not the good id or quantity, and not the cost, which is
  // checked against quantity × rate only when the rate is a number.
  EXPECT_EQ(ProblemFields(raw), (FieldSet{"records[3].dimension", "records[3].end", "records[3].rate"}));
}

TEST(ValidateUsageProblemTest, ChecksCostEvenWhenRateIsBad) {
  RawUsage raw = With(With(Example(), "rate", S("-0.0913x")), "cost", B(true));
  EXPECT_EQ(ProblemFields(raw), (FieldSet{"records[3].rate", "records[3].cost"}))
      << "a cost that is not a number is a problem of its own, whatever the rate";
  RawUsage missing = With(Without(Example(), "quantity"), "cost", S("abc"));
  EXPECT_EQ(ProblemFields(missing), (FieldSet{"records[3].quantity", "records[3].cost"}));
}

// ---------------------------------------------------------------------------------------------
// Dimension and kind ids

TEST(DimensionTest, IdsRoundTripAndAreExact) {
  const Dimension all[] = {Dimension::kCapacity, Dimension::kDataIn,     Dimension::kDataInternode,
                           Dimension::kDataOut,  Dimension::kStorageApi, Dimension::kStorageBytes};
  static_assert(std::size(all) == kDimensionCount);
  const std::string_view ids[] = {"capacity", "data_in", "data_internode", "data_out", "storage_api", "storage_bytes"};
  for (int i = 0; i < kDimensionCount; ++i) {
    EXPECT_EQ(DimensionId(all[i]), ids[i]);
    EXPECT_EQ(ParseDimension(ids[i]), all[i]) << ids[i];
    EXPECT_FALSE(DimensionDisplayName(all[i]).empty()) << ids[i];
  }
  EXPECT_EQ(DimensionDisplayName(Dimension::kCapacity), "Capacity");
  EXPECT_EQ(DimensionDisplayName(Dimension::kDataIn), "Data in");
  EXPECT_EQ(ParseDimension("Capacity"), std::nullopt);
  EXPECT_EQ(ParseDimension("DATA_IN"), std::nullopt);
  EXPECT_EQ(ParseDimension(""), std::nullopt);
  EXPECT_EQ(ParseDimension("capacity "), std::nullopt);
}

TEST(ResourceKindTest, IdsRoundTripAndAreExact) {
  const ResourceKind all[] = {ResourceKind::kElasticsearch, ResourceKind::kKibana,
                              ResourceKind::kApm,           ResourceKind::kIntegrationsServer,
                              ResourceKind::kAppsearch,     ResourceKind::kEnterpriseSearch};
  const std::string_view ids[] = {"elasticsearch",       "kibana",    "apm",
                                  "integrations_server", "appsearch", "enterprise_search"};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(ResourceKindId(all[i]), ids[i]);
    EXPECT_EQ(ParseResourceKind(ids[i]), all[i]) << ids[i];
  }
  EXPECT_EQ(ParseResourceKind("Kibana"), std::nullopt);
  EXPECT_EQ(ParseResourceKind("app_search"), std::nullopt);
  EXPECT_EQ(ParseResourceKind(""), std::nullopt);
}

}  // namespace
}  // namespace costs::domain
