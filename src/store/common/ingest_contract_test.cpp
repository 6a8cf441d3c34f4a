#include "store/common/ingest_contract.hpp"

#include <gtest/gtest.h>

#include <set>

namespace costs::store {
namespace {

domain::UsageRecord Record(std::string id, std::string org, std::string name = "n") {
  domain::UsageRecord r;
  r.id = std::move(id);
  r.organization_id = std::move(org);
  r.name = std::move(name);
  return r;
}

TEST(IngestContractTest, RecordFieldNamesTheRecordAndField) {
  EXPECT_EQ(RecordField(0, "id"), "records[0].id");
  EXPECT_EQ(RecordField(12, "organization_id"), "records[12].organization_id");
}

TEST(IngestContractTest, MissingOrganizationsNameEveryRecordAndAskOncePerOrganization) {
  const std::vector<domain::UsageRecord> records = {Record("a", "x"), Record("b", "gone"), Record("c", "gone"),
                                                    Record("d", "x"), Record("e", "gone")};
  std::vector<std::string> asked;
  Status s = CheckOrganizations(records, [&](const std::string& org) -> Result<bool> {
    asked.push_back(org);
    return org == "x";
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kOrganizationNotFound);
  EXPECT_EQ(s.error().message, "the organization of a usage record does not exist");
  EXPECT_EQ(s.error().fields, (std::vector<std::string>{"records[1].organization_id", "records[2].organization_id",
                                                        "records[4].organization_id"}));
  EXPECT_EQ(asked, (std::vector<std::string>{"x", "gone"}));
}

TEST(IngestContractTest, AnErrorOfTheLookupFailsTheCheck) {
  const std::vector<domain::UsageRecord> records = {Record("a", "x")};
  Status s = CheckOrganizations(
      records, [](const std::string&) -> Result<bool> { return MakeError(ErrorCode::kStoreFailed, "down"); });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kStoreFailed);
}

TEST(IngestContractTest, FirstOccurrencesPointAtTheFirstRecordOfEachId) {
  const std::vector<domain::UsageRecord> records = {Record("a", "x"), Record("b", "x"), Record("a", "x"),
                                                    Record("b", "x"), Record("c", "x")};
  EXPECT_EQ(FirstOccurrences(records), (std::vector<std::size_t>{0, 1, 0, 1, 4}));
}

TEST(IngestContractTest, ClassifiesNewDuplicatesOfStoredAndOfEarlierRecords) {
  const std::vector<domain::UsageRecord> records = {Record("new", "x"), Record("stored", "x"), Record("new", "x")};
  const std::vector<std::size_t> first = FirstOccurrences(records);
  Result<Classified> c = ClassifyBatch(records, first, [&](std::size_t i, std::size_t) {
    return records[i].id == "stored" ? StoredId::kEqual : StoredId::kAbsent;
  });
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->fresh, (std::vector<std::size_t>{0}));
  EXPECT_EQ(c->duplicates, 2);
}

TEST(IngestContractTest, ConflictsWithStoredOrEarlierRecordsFailTheBatchNamingEach) {
  const std::vector<domain::UsageRecord> records = {Record("a", "x"), Record("s", "x"), Record("a", "x", "other"),
                                                    Record("s", "x")};
  const std::vector<std::size_t> first = FirstOccurrences(records);
  std::set<std::pair<std::size_t, std::size_t>> asked;
  Result<Classified> c = ClassifyBatch(records, first, [&](std::size_t i, std::size_t f) {
    asked.emplace(i, f);
    return records[i].id == "s" ? StoredId::kDifferent : StoredId::kAbsent;
  });
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kConflict);
  EXPECT_EQ(c.error().message, "a usage record id is already stored with other content");
  EXPECT_EQ(c.error().fields, (std::vector<std::string>{"records[1].id", "records[2].id", "records[3].id"}));
  EXPECT_TRUE(asked.contains({3, 1}));
}

TEST(IngestContractTest, RollupTooLargeIsInvalidData) {
  EXPECT_EQ(RollupTooLarge().code, ErrorCode::kInvalidData);
  EXPECT_EQ(RollupTooLarge().message, "the summed usage records are too large to store");
}

}  // namespace
}  // namespace costs::store
