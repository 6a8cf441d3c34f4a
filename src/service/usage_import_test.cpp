#include "service/usage_import.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "service/testing/forwarding_store.hpp"
#include "service/testing/service_fixture.hpp"

namespace costs::service {
namespace {

// Yields `text` at most `step` bytes per read (as a pipe does), then 0.
NdjsonReader ReaderOf(const std::string& text, std::size_t step) {
  return [&text, step, at = std::size_t{0}](std::span<char> buffer) mutable -> Result<std::size_t> {
    const std::size_t n = std::min({step, buffer.size(), text.size() - at});
    std::memcpy(buffer.data(), text.data() + at, n);
    at += n;
    return n;
  };
}

// Records the parts a BeginIngest transaction is given, and forwards them.
class PartsRecordingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<std::unique_ptr<IngestTransaction>> BeginIngest() override {
    auto inner = ForwardingStore::BeginIngest();
    if (!inner) return inner;
    return std::unique_ptr<IngestTransaction>(std::make_unique<Recording>(std::move(*inner), parts));
  }
  std::vector<std::size_t> parts;  // records per Add, in order

 private:
  class Recording : public IngestTransaction {
   public:
    Recording(std::unique_ptr<IngestTransaction> inner, std::vector<std::size_t>& parts)
        : inner_(std::move(inner)), parts_(parts) {}
    Status Add(std::span<const domain::UsageRecord> records) override {
      parts_.push_back(records.size());
      return inner_->Add(records);
    }
    Result<IngestOutcome> Commit() override { return inner_->Commit(); }

   private:
    std::unique_ptr<IngestTransaction> inner_;
    std::vector<std::size_t>& parts_;
  };
};

class UsageImportTest : public ServiceTest {
 protected:
  // `count` valid lines of org-a, ids u0.., one hour each from 2026-11-01T00:00Z.
  static std::string Lines(int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const std::string start = "2026-11-0" + std::to_string(1 + i / 24) + "T" + (i % 24 < 10 ? "0" : "") +
                                std::to_string(i % 24) + ":00:00Z";
      const std::string end = "2026-11-0" + std::to_string(1 + (i + 1) / 24) + "T" + ((i + 1) % 24 < 10 ? "0" : "") +
                              std::to_string((i + 1) % 24) + ":00:00Z";
      out += Line("u" + std::to_string(i), "org-a", "d" + std::to_string(i % 3), start, end, "2", "\"0.5\"");
    }
    return out;
  }

  Result<IngestOutcome> Import(const std::string& text, std::size_t part_bytes, std::size_t step = 7) {
    return ImportNdjson(recording_, ReaderOf(text, step), part_bytes);
  }

  // A second store with the same organizations, for what IngestNdjson of the whole says.
  Result<IngestOutcome> IngestWhole(const std::string& text) {
    EXPECT_TRUE(reference_admin_.CreateOrganization("org-a", "Org A"));
    EXPECT_TRUE(reference_admin_.CreateOrganization("org-b", "Org B"));
    return reference_admin_.IngestNdjson(text);
  }

  std::vector<domain::UsageRecord> StoredUsage(Store& store) {
    RangeReadPlan plan;
    plan.usage = true;
    auto read = store.ReadRange("org-a", plan);
    EXPECT_TRUE(read);
    return read ? read->usage : std::vector<domain::UsageRecord>{};
  }

  PartsRecordingStore recording_{store_};
  store::memory::MemoryStore reference_;
  AdminService reference_admin_{reference_, hasher_};
};

TEST_F(UsageImportTest, ManyPartsAreOneBatchAsIngestOfTheWhole) {
  const std::string text = Lines(40) + "\n  \n" + Lines(10);  // the last ten lines again: duplicates
  auto imported = Import(text, 1000);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(*imported, (IngestOutcome{40, 10}));
  EXPECT_GT(recording_.parts.size(), 5u) << "the file must cross parts";
  auto whole = IngestWhole(text);
  ASSERT_TRUE(whole);
  EXPECT_EQ(*imported, *whole);
  EXPECT_EQ(StoredUsage(store_), StoredUsage(reference_)) << "the same records, in the file's order";
}

TEST_F(UsageImportTest, LineLongerThanAPartAndNoFinalNewline) {
  std::string text = Lines(3);
  text.pop_back();  // no '\n' after the last line
  auto imported = Import(text, 16, 1);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(*imported, (IngestOutcome{3, 0}));
  EXPECT_EQ(recording_.parts, (std::vector<std::size_t>{1, 1, 1}));
}

TEST_F(UsageImportTest, ProblemsInLatePartsAreReportedInOrderOverTheWholeFileAndNothingIsStored) {
  // 130 bad lines (the first at records[30]) spread over parts after good ones: 100 fields
  // reported, every problem counted, as IngestNdjson of the whole says.
  std::string text = Lines(30);
  for (int i = 0; i < 130; ++i) {
    text += i % 2 == 0 ? "not json\n"
                       : Line("x" + std::to_string(i), "no-such-org", "d1", "2026-11-01T00:00:00Z",
                              "2026-11-01T01:00:00Z", "1", "\"1\"");
  }
  text += Lines(5);
  auto imported = Import(text, 700);
  ASSERT_FALSE(imported);
  auto whole = IngestWhole(text);
  ASSERT_FALSE(whole);
  EXPECT_EQ(imported.error().code, ErrorCode::kInvalidRecord);
  ASSERT_EQ(imported.error().fields.size(), 100u);
  EXPECT_EQ(imported.error().fields.front(), "records[30]");
  EXPECT_EQ(imported.error().fields[1], "records[31].organization_id");
  EXPECT_EQ(imported.error().fields, whole.error().fields);
  EXPECT_EQ(imported.error().message, whole.error().message);
  EXPECT_TRUE(StoredUsage(store_).empty()) << "nothing of a rejected import may be stored";
  std::size_t added = 0;
  for (std::size_t n : recording_.parts) added += n;
  EXPECT_LT(added, 30u + 1) << "no record after the first problem is ingested";
  EXPECT_FALSE(recording_.parts.empty()) << "the good parts before the problem were ingested";
}

TEST_F(UsageImportTest, ConflictInALatePartStoresNothing) {
  const std::string changed = Line("u1", "org-a", "d1", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "3", "\"0.5\"");
  const std::string text = Lines(30) + changed + Lines(2);
  auto imported = Import(text, 500);
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code, ErrorCode::kConflict);
  EXPECT_EQ(imported.error().fields, (std::vector<std::string>{"records[30].id"}));
  EXPECT_TRUE(StoredUsage(store_).empty());
}

TEST_F(UsageImportTest, EmptyInputAndReadErrors) {
  auto empty = Import("\n \n", 4);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidData);
  const std::string text = Lines(20);
  std::size_t calls = 0;
  auto failing = ImportNdjson(
      recording_,
      [&](std::span<char> buffer) -> Result<std::size_t> {
        if (++calls > 3) return MakeError(ErrorCode::kInvalidData, "cannot read the file");
        const std::size_t n = std::min<std::size_t>(buffer.size(), 100);
        std::memcpy(buffer.data(), text.data() + (calls - 1) * 100, n);
        return n;
      },
      150);
  ASSERT_FALSE(failing);
  EXPECT_EQ(failing.error().message, "cannot read the file");
  EXPECT_TRUE(StoredUsage(store_).empty()) << "an import cut short stores nothing";
}

}  // namespace
}  // namespace costs::service
