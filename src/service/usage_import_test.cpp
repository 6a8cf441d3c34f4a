#include "service/usage_import.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
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

// A one-shot event between threads. Wait gives up after a minute: a watchdog, so that an import
// that never does what the test waits for fails the test instead of hanging it.
class Event {
 public:
  void Set() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  // Whether the event was set (false: the watchdog gave up).
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Reads through `inner`, counting the bytes in `delivered` and setting `event` once more than
// `bytes` were delivered.
NdjsonReader SettingPast(NdjsonReader inner, std::size_t bytes, Event& event, std::size_t& delivered) {
  return [inner = std::move(inner), bytes, &event, &delivered](std::span<char> buffer) {
    Result<std::size_t> n = inner(buffer);
    if (n) delivered += *n;
    if (delivered > bytes) event.Set();
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
    return std::unique_ptr<IngestTransaction>(
        std::make_unique<Recording>(std::move(*inner), parts, open, before_add, on_destroy, exists, looked_up));
  }
  std::vector<std::size_t> parts;  // records per Add, in order
  int open = 0;                    // transactions begun and not yet destroyed
  // Called in Add with the part's index (from 0), before it is forwarded; its error is Add's.
  std::function<Status(std::size_t)> before_add;
  std::function<void()> on_destroy;  // called when a transaction is destroyed (rolled back unless committed)
  // When set, a transaction's OrganizationExists answers this instead of forwarding.
  std::function<Result<bool>(std::string_view)> exists;
  std::vector<std::string> looked_up;  // the organizations looked up through a transaction, in order

 private:
  class Recording : public IngestTransaction {
   public:
    Recording(std::unique_ptr<IngestTransaction> inner, std::vector<std::size_t>& parts, int& open,
              std::function<Status(std::size_t)> before_add, std::function<void()> on_destroy,
              std::function<Result<bool>(std::string_view)> exists, std::vector<std::string>& looked_up)
        : inner_(std::move(inner)),
          parts_(parts),
          open_(open),
          before_add_(std::move(before_add)),
          on_destroy_(std::move(on_destroy)),
          exists_(std::move(exists)),
          looked_up_(looked_up) {
      ++open_;
    }
    ~Recording() override {
      inner_.reset();
      --open_;
      if (on_destroy_) on_destroy_();
    }
    Recording(const Recording&) = delete;
    Recording& operator=(const Recording&) = delete;
    Status Add(std::span<const domain::UsageRecord> records) override {
      parts_.push_back(records.size());
      if (before_add_) {
        if (Status s = before_add_(parts_.size() - 1); !s) return s;
      }
      return inner_->Add(records);
    }
    Result<IngestOutcome> Commit() override { return inner_->Commit(); }
    Result<bool> OrganizationExists(std::string_view id) override {
      looked_up_.emplace_back(id);
      return exists_ ? exists_(id) : inner_->OrganizationExists(id);
    }

   private:
    std::unique_ptr<IngestTransaction> inner_;
    std::vector<std::size_t>& parts_;
    int& open_;
    std::function<Status(std::size_t)> before_add_;
    std::function<void()> on_destroy_;
    std::function<Result<bool>(std::string_view)> exists_;
    std::vector<std::string>& looked_up_;
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

  // ImportNdjson, with part `part`'s Add waiting for `event` (which the import must set
  // meanwhile, on its reading thread, as it reads part `part` + 1) and then answering `answer`;
  // the other parts go on.
  Result<IngestOutcome> ImportWaitingInAdd(const NdjsonReader& read, std::size_t part_bytes, std::size_t part,
                                           Event& event, Status answer = {}) {
    bool came = false;
    recording_.before_add = [part, &event, &came, answer](std::size_t p) -> Status {
      if (p != part) return {};
      came = event.Wait();
      return answer;
    };
    auto imported = ImportNdjson(recording_, read, part_bytes);
    EXPECT_TRUE(came) << "part " << part + 1 << " was not read while part " << part << " was stored";
    return imported;
  }

  // The import's transaction is gone (rolled back) and none of its records is stored.
  void ExpectNothingStored() {
    EXPECT_EQ(recording_.open, 0) << "the import's transaction outlived it";
    EXPECT_TRUE(StoredUsage(store_).empty()) << "nothing of a failed import may be stored";
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

TEST_F(UsageImportTest, AProblemEndsTheTransactionBeforeTheRestOfTheFileIsRead) {
  // The rest is parsed for its problems only: the store's write lock (SQLite) must not be held
  // meanwhile, or other writers wait for a file that can no longer be stored.
  const std::string text = Lines(30) + "not json\n" + Lines(30);
  std::vector<int> open_at_read;
  const NdjsonReader inner = ReaderOf(text, 50);
  const NdjsonReader read = [&](std::span<char> buffer) {
    open_at_read.push_back(recording_.open);
    return inner(buffer);
  };
  ASSERT_FALSE(ImportNdjson(recording_, read, 700));
  ASSERT_FALSE(recording_.parts.empty()) << "a transaction was begun";
  EXPECT_EQ(open_at_read.back(), 0) << "the transaction outlived the first problem";
  EXPECT_EQ(recording_.open, 0);
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

// The next part is read and parsed while the store adds one: a problem in it is found then,
// reported as for the whole input, and nothing is stored.
TEST_F(UsageImportTest, AProblemInThePartReadWhileTheOneBeforeIsStoredStoresNothing) {
  const std::string first = Lines(3);
  const std::string text = first + "not json\n" + Lines(3);
  Event bad_line_read;
  std::size_t delivered = 0;
  const NdjsonReader read = SettingPast(ReaderOf(text, 5), first.size() + 8, bad_line_read, delivered);
  auto imported = ImportWaitingInAdd(read, first.size() + 5, 0, bad_line_read);  // part 0: the first 3 lines
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code, ErrorCode::kInvalidRecord);
  EXPECT_EQ(imported.error().fields, (std::vector<std::string>{"records[3]"}));
  EXPECT_EQ(recording_.parts, (std::vector<std::size_t>{3})) << "only the part before the problem was added";
  ExpectNothingStored();
}

// A store error in the middle ends the import with that error: the part read meanwhile is not
// added, the input is read no further, nothing is stored.
TEST_F(UsageImportTest, AStoreErrorInTheMiddleEndsTheImportAndStoresNothing) {
  const std::string text = Lines(40);
  const std::size_t part_bytes = 700;
  Event next_part_read;
  std::size_t delivered = 0;  // beyond parts 0 and 1 (each at most part_bytes): part 2 is read
  const NdjsonReader read = SettingPast(ReaderOf(text, 50), 2 * part_bytes, next_part_read, delivered);
  auto imported =
      ImportWaitingInAdd(read, part_bytes, 1, next_part_read, MakeError(ErrorCode::kStoreFailed, "the disk is full"));
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code, ErrorCode::kStoreFailed);
  EXPECT_EQ(imported.error().message, "the disk is full");
  EXPECT_EQ(recording_.parts.size(), 2u) << "no part is added after the store failed";
  EXPECT_LE(delivered, 3 * part_bytes) << "the input was read beyond part 2 after the store failed";
  ExpectNothingStored();
}

// An organization first named after the transaction began is looked up through it (with a pool of
// one connection, the transaction holds the store's only one), and none before it.
TEST_F(UsageImportTest, OrganizationsOfLaterPartsAreLookedUpThroughTheOpenTransaction) {
  const std::string text =
      Lines(20) + Line("b0", "org-b", "d9", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "2", "\"0.5\"");
  auto imported = Import(text, 700);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->stored, 21);
  EXPECT_GT(recording_.parts.size(), 1u);
  EXPECT_EQ(recording_.looked_up, std::vector<std::string>{"org-b"});
}

// The transaction's lookup failing ends the import with its error; nothing is stored.
TEST_F(UsageImportTest, AnOrganizationLookupErrorInTheTransactionEndsTheImportAndStoresNothing) {
  const std::string text =
      Lines(20) + Line("b0", "org-b", "d9", "2026-11-02T00:00:00Z", "2026-11-02T01:00:00Z", "2", "\"0.5\"");
  recording_.exists = [](std::string_view) -> Result<bool> {
    return MakeError(ErrorCode::kStoreFailed, "the database is down");
  };
  auto imported = Import(text, 700);
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code, ErrorCode::kStoreFailed);
  EXPECT_EQ(imported.error().message, "the database is down");
  ExpectNothingStored();
}

// The input's read error, met while a part is stored, is the import's error once that part is
// added; nothing is stored.
TEST_F(UsageImportTest, AReadErrorWhileAPartIsStoredEndsTheImportAndStoresNothing) {
  const std::string first = Lines(3);
  const std::string text = first + Lines(3);
  Event read_failed;
  std::size_t at = 0;
  const NdjsonReader read = [&](std::span<char> buffer) -> Result<std::size_t> {
    if (at >= first.size() + 1) {
      read_failed.Set();
      return MakeError(ErrorCode::kInvalidData, "cannot read the file");
    }
    const std::size_t n = std::min(buffer.size(), first.size() + 1 - at);
    std::memcpy(buffer.data(), text.data() + at, n);
    at += n;
    return n;
  };
  auto imported = ImportWaitingInAdd(read, first.size() + 1, 0, read_failed);  // part 0: the first 3 lines
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code, ErrorCode::kInvalidData);
  EXPECT_EQ(imported.error().message, "cannot read the file");
  EXPECT_EQ(recording_.parts, (std::vector<std::size_t>{3}));
  ExpectNothingStored();
}

// A store error rolls the transaction back at once: other writers do not wait while the reading
// thread finishes the part it is reading (from a slow pipe, say).
TEST_F(UsageImportTest, AStoreErrorRollsBackBeforeThePartBeingReadIsFinished) {
  const std::string text = Lines(40);
  const std::size_t part_bytes = 700;
  Event rolled_back;
  recording_.on_destroy = [&rolled_back] { rolled_back.Set(); };
  recording_.before_add = [](std::size_t p) -> Status {
    return p == 0 ? Status(MakeError(ErrorCode::kStoreFailed, "the disk is full")) : Status();
  };
  const NdjsonReader inner = ReaderOf(text, 50);
  std::size_t delivered = 0;
  bool blocked = false;
  bool rolled_back_first = false;
  const NdjsonReader read = [&](std::span<char> buffer) -> Result<std::size_t> {
    if (delivered > part_bytes && !blocked) {  // in part 1: waits for the rollback
      blocked = true;
      rolled_back_first = rolled_back.Wait();
    }
    Result<std::size_t> n = inner(buffer);
    if (n) delivered += *n;
    return n;
  };
  auto imported = ImportNdjson(recording_, read, part_bytes);
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().message, "the disk is full");
  EXPECT_TRUE(rolled_back_first) << "the transaction was held until the part being read was finished";
  ExpectNothingStored();
}

}  // namespace
}  // namespace costs::service
