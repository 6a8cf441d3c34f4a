// Tests of the stores' persisted byte formats (usage_codec.hpp): usage chunks, id runs,
// the id filter and the id hash. Each format is read back exactly, and every malformed input
// is refused with kStoreFailed rather than read past its end.
#include "store/common/usage_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "domain/money.hpp"

namespace costs::store {
namespace {

using domain::Instant;
using domain::UsageRecord;

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

TEST(UsageIdHashTest, IsPinned) {
  // Persisted in every id segment: these values must never change.
  EXPECT_EQ(UsageIdHash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(UsageIdHash("u-2026-11-01T00-d1-cap"), 0x5472b94008b60725ULL);
  EXPECT_EQ(UsageIdHash("org-0001-d00-capacity-2026-01-01T00"), 0x70c14c4dfab44d7aULL);
}

TEST(VarintTest, RoundTripsExtremesAndRefusesTruncation) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{63}, std::int64_t{-64},
                         std::int64_t{1} << 40, kMin, kMax}) {
    std::string bytes;
    AppendVarint(bytes, v);
    std::size_t pos = 0;
    std::int64_t got = 0;
    ASSERT_TRUE(ReadVarint(bytes, pos, got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(pos, bytes.size());
    if (bytes.size() > 1) {
      pos = 0;
      EXPECT_FALSE(ReadVarint(std::string_view(bytes).substr(0, bytes.size() - 1), pos, got)) << v;
    }
  }
  EXPECT_EQ(WrappingAdd(WrappingSub(kMin, kMax), kMax), kMin);
}

UsageRecord Record(std::string id, std::int64_t start_ns, std::int64_t end_ns) {
  UsageRecord r;
  r.id = std::move(id);
  r.organization_id = "org-a";
  r.deployment_name = "search-prod";
  r.name = "Elasticsearch hot 8 GB";
  r.unit = "instance-hour";
  r.instance_count = 2;
  r.start = Instant{start_ns};
  r.end = Instant{end_ns};
  r.quantity = domain::ParseDecimal("2").value();
  r.rate = domain::ParseDecimal("0.0913").value();
  r.cost_nanos = 182'600'000;
  return r;
}

// A chunk of varied records: ids that prefix each other, extreme instants and values.
struct Sample {
  std::vector<UsageRecord> records;
  std::vector<std::int64_t> series;
  std::vector<std::int64_t> ordinals;
  ChunkHeader header{42, 1'793'491'200'000'000'000};

  Sample() {
    records.push_back(Record("org-a-d1-cap-2026-11-01T05", header.base_ns + 5 * domain::kNsPerHour,
                             header.base_ns + 6 * domain::kNsPerHour));
    records.push_back(Record("org-a-d1-cap-2026-11-01T04", header.base_ns + 4 * domain::kNsPerHour,
                             header.base_ns + 5 * domain::kNsPerHour));
    records.push_back(Record("ab", header.base_ns, kMax));  // end - start beyond int64 of the base
    records.push_back(Record("a", header.base_ns + 1, header.base_ns + 2));
    records.push_back(Record("", header.base_ns, header.base_ns + 1));
    records.push_back(Record("abc\xc3\xa9", header.base_ns + 3, kMin));  // wraps
    records[1].trial = true;
    records[2].quantity = domain::ParseDecimal("-12.500").value();
    records[2].cost_nanos = kMin;
    records[3].instance_count = kMax;
    records[3].deployment_name = "";
    records[3].unit = "GB";
    records[4].rate = domain::Decimal{kMax, 18};
    records[5].name = "another name";
    series = {7, 7, 9, 1'000'000'000'000, 7, 9};
    ordinals = {3, 1, 0, 5, 4, 2};
  }

  std::string Pack() const {
    std::vector<const UsageRecord*> pointers;
    for (const UsageRecord& r : records) pointers.push_back(&r);
    return PackChunk(header, pointers, series, ordinals);
  }
};

TEST(UsageChunkTest, RoundTripsEveryFieldInIdOrder) {
  const Sample sample;
  const std::string bytes = sample.Pack();
  ChunkHeader header;
  Result<std::vector<ChunkRecord>> got = UnpackChunk(bytes, &header);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(header.batch, sample.header.batch);
  EXPECT_EQ(header.base_ns, sample.header.base_ns);
  ASSERT_EQ(got->size(), sample.records.size());
  std::vector<std::string> ids;
  for (const ChunkRecord& c : *got) ids.push_back(c.record.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"", "a", "ab", "abc\xc3\xa9", "org-a-d1-cap-2026-11-01T04",
                                           "org-a-d1-cap-2026-11-01T05"}));
  for (const ChunkRecord& c : *got) {
    std::size_t k = 0;
    while (sample.records[k].id != c.record.id) ++k;
    UsageRecord want = sample.records[k];
    want.organization_id.clear();  // the chunk's and the series' fields are not in the record
    EXPECT_EQ(c.record, want) << c.record.id;
    EXPECT_EQ(c.series_id, sample.series[k]);
    EXPECT_EQ(c.ordinal, sample.ordinals[k]);
    EXPECT_TRUE(SameRecord(c, "org-a", sample.records[k], sample.series[k]));
  }
}

TEST(UsageChunkTest, SameRecordComparesEveryStoredField) {
  const Sample sample;
  Result<std::vector<ChunkRecord>> got = UnpackChunk(sample.Pack());
  ASSERT_TRUE(got.has_value());
  const ChunkRecord& stored = got->back();  // "org-a-d1-cap-2026-11-01T05" = records[0]
  const UsageRecord& r = sample.records[0];
  ASSERT_TRUE(SameRecord(stored, "org-a", r, 7));
  EXPECT_FALSE(SameRecord(stored, "org-b", r, 7));
  EXPECT_FALSE(SameRecord(stored, "org-a", r, 8));
  std::vector<UsageRecord> changed(12, r);
  changed[0].id += "x";
  changed[1].deployment_name += "x";
  changed[2].instance_count += 1;
  changed[3].name += "x";
  changed[4].start.ns += 1;
  changed[5].end.ns += 1;
  changed[6].quantity.mantissa += 1;
  changed[7].unit += "x";
  changed[8].rate.scale += 1;
  changed[9].cost_nanos += 1;
  changed[10].trial = !r.trial;
  changed[11].quantity = domain::Decimal{20, 1};  // the same value, not the same decimal
  for (std::size_t k = 0; k < changed.size(); ++k) EXPECT_FALSE(SameRecord(stored, "org-a", changed[k], 7)) << k;
}

// UnpackChunkOverlapping keeps exactly the records UnpackChunk reads that start in
// [lowest_start, to) and end after `from`, in the same order with every field, for windows
// around each record's edges, and refuses what UnpackChunk refuses.
TEST(UsageChunkTest, OverlappingReadsExactlyTheRecordsOfTheWindow) {
  const Sample sample;
  const std::string bytes = sample.Pack();
  Result<std::vector<ChunkRecord>> all = UnpackChunk(bytes);
  ASSERT_TRUE(all.has_value());
  std::vector<std::int64_t> points = {kMin, kMax, sample.header.base_ns - domain::kNsPerHour};
  for (const UsageRecord& r : sample.records) {
    for (const std::int64_t t : {r.start.ns, r.end.ns}) {
      for (const std::int64_t d : {-1, 0, 1}) points.push_back(WrappingAdd(t, d));
    }
  }
  for (const std::int64_t lowest : points) {
    for (const std::int64_t from : points) {
      for (const std::int64_t to : points) {
        std::vector<std::string> want, got;
        for (const ChunkRecord& c : *all) {
          if (c.record.start.ns >= lowest && c.record.start.ns < to && c.record.end.ns > from) {
            want.push_back(c.record.id);
          }
        }
        ChunkHeader header;
        Result<std::vector<ChunkRecord>> kept =
            UnpackChunkOverlapping(bytes, lowest, Instant{from}, Instant{to}, &header);
        ASSERT_TRUE(kept.has_value());
        EXPECT_EQ(header.batch, sample.header.batch);
        for (const ChunkRecord& c : *kept) {
          got.push_back(c.record.id);
          const auto same =
              std::find_if(all->begin(), all->end(), [&](const ChunkRecord& a) { return a.record.id == c.record.id; });
          ASSERT_NE(same, all->end());
          EXPECT_EQ(c.record, same->record);
          EXPECT_EQ(c.series_id, same->series_id);
          EXPECT_EQ(c.ordinal, same->ordinal);
        }
        ASSERT_EQ(got, want) << "lowest " << lowest << " from " << from << " to " << to;
      }
    }
  }
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(UnpackChunkOverlapping(bytes.substr(0, size), kMin, Instant{kMin}, Instant{kMin}).has_value()) << size;
  }
}

// UnpackChunkMeasuresOverlapping keeps the records UnpackChunkOverlapping keeps, in the same
// order, with their measures, and refuses what it refuses.
TEST(UsageChunkTest, MeasuresOverlappingAreThoseOfTheOverlappingRecords) {
  const Sample sample;
  const std::string bytes = sample.Pack();
  std::vector<std::int64_t> points = {kMin, kMax};
  for (const UsageRecord& r : sample.records) {
    for (const std::int64_t t : {r.start.ns, r.end.ns}) {
      for (const std::int64_t d : {-1, 0, 1}) points.push_back(WrappingAdd(t, d));
    }
  }
  for (const std::int64_t from : points) {
    for (const std::int64_t to : points) {
      const std::int64_t lowest = sample.header.base_ns;
      Result<std::vector<ChunkRecord>> kept = UnpackChunkOverlapping(bytes, lowest, Instant{from}, Instant{to});
      ChunkHeader header;
      Result<std::vector<ChunkMeasures>> measures =
          UnpackChunkMeasuresOverlapping(bytes, lowest, Instant{from}, Instant{to}, &header);
      ASSERT_TRUE(kept.has_value() && measures.has_value());
      EXPECT_EQ(header.batch, sample.header.batch);
      ASSERT_EQ(measures->size(), kept->size()) << "from " << from << " to " << to;
      for (std::size_t i = 0; i < kept->size(); ++i) {
        const ChunkRecord& c = (*kept)[i];
        const ChunkMeasures& m = (*measures)[i];
        EXPECT_EQ(m.series_id, c.series_id);
        EXPECT_EQ(m.ordinal, c.ordinal);
        EXPECT_EQ(m.start, c.record.start.ns);
        EXPECT_EQ(m.end, c.record.end.ns);
        EXPECT_EQ(m.quantity, c.record.quantity);
        EXPECT_EQ(m.rate, c.record.rate);
        EXPECT_EQ(m.cost_nanos, c.record.cost_nanos);
        EXPECT_EQ(m.instance_count, c.record.instance_count);
        EXPECT_EQ(m.trial, c.record.trial);
      }
    }
  }
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(UnpackChunkMeasuresOverlapping(bytes.substr(0, size), kMin, Instant{kMin}, Instant{kMax}).has_value())
        << size;
  }
}

TEST(UsageChunkTest, RefusesEveryTruncationAndCorruption) {
  const std::string bytes = Sample().Pack();
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    Result<std::vector<ChunkRecord>> got = UnpackChunk(bytes.substr(0, size));
    ASSERT_FALSE(got.has_value()) << size;
    EXPECT_EQ(got.error().code, ErrorCode::kStoreFailed);
  }
  EXPECT_FALSE(UnpackChunk(bytes + "x").has_value()) << "trailing bytes";
  std::string other_format = bytes;
  other_format[0] = 3;
  EXPECT_FALSE(UnpackChunk(other_format).has_value());
  // Single bytes changed anywhere: refused or read as some records, never past the end.
  for (std::size_t pos = 1; pos < bytes.size(); ++pos) {
    std::string corrupt = bytes;
    corrupt[pos] = static_cast<char>(0xff);
    (void)UnpackChunk(corrupt);
  }
}

// A chunk of two records (rec-a, and rec-b a trial) as schema 5's PackChunk wrote it: format 1,
// bytes taken from that code (commit 3731306), no instance types.
constexpr std::string_view kFormat1Chunk(
    "\x01\x54\x80\x80\xd0\xbc\xcf\xaf\xe1\xe3\x31\x06\x0c\x73\x65\x61\x72\x63\x68\x06\x48\x6f\x74\x1a\x69\x6e\x73\x74"
    "\x61\x6e\x63\x65\x2d\x68\x6f\x75\x72\x04\x00\x0a\x72\x65\x63\x2d\x61\x12\x02\x00\x02\x04\x04\x80\x80\xc5\x8b\xc6"
    "\xd1\x01\x80\x80\xc5\x8b\xc6\xd1\x01\x04\x00\x0a\x02\x80\xa8\xd6\xb9\x07\x00\x08\x02\x62\x0e\x00\x00\x02\x04\x04"
    "\x80\x80\xc5\x8b\xc6\xd1\x01\x80\x80\xc5\x8b\xc6\xd1\x01\x04\x00\xa2\x0e\x08\x80\x85\x92\xae\x01\x01",
    109);

// The records of kFormat1Chunk (organization and series fields left empty, as a chunk reads).
std::vector<UsageRecord> Format1Records() {
  UsageRecord b;
  b.id = "rec-b";
  b.deployment_name = "search";
  b.name = "Hot";
  b.unit = "instance-hour";
  b.instance_count = 2;
  b.start = Instant{1'793'491'200'000'000'000 + domain::kNsPerHour};
  b.end = Instant{b.start.ns + domain::kNsPerHour};
  b.quantity = domain::ParseDecimal("2").value();
  b.rate = domain::ParseDecimal("0.0913").value();
  b.cost_nanos = 182'600'000;
  b.trial = true;
  UsageRecord a = b;
  a.id = "rec-a";
  a.trial = false;
  a.rate = domain::ParseDecimal("0.5").value();
  a.cost_nanos = 1'000'000'000;
  return {a, b};
}

TEST(UsageChunkTest, AFormat1ChunkOfTheOldCodeReadsAsDeployments) {
  Result<std::vector<ChunkRecord>> got = UnpackChunk(kFormat1Chunk);
  ASSERT_TRUE(got.has_value());
  const std::vector<UsageRecord> want = Format1Records();
  ASSERT_EQ(got->size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ((*got)[k].record, want[k]) << k;
    EXPECT_EQ((*got)[k].record.instance_type, domain::InstanceType::kDeployment);
  }
  EXPECT_EQ((*got)[0].series_id, 9);
  EXPECT_EQ((*got)[1].series_id, 7);
}

TEST(UsageChunkTest, DeploymentsAreStillPackedInFormat1ByteForByte) {
  const std::vector<UsageRecord> records = Format1Records();
  const std::vector<const UsageRecord*> pointers = {&records[1], &records[0]};
  const std::vector<std::int64_t> series = {7, 9};
  const std::vector<std::int64_t> ordinals = {0, 1};
  EXPECT_EQ(PackChunk(ChunkHeader{42, 1'793'491'200'000'000'000}, pointers, series, ordinals), kFormat1Chunk);
}

TEST(UsageChunkTest, Format2KeepsEachRecordsInstanceTypeBesideTrial) {
  Sample sample;
  for (std::size_t k = 0; k < sample.records.size(); ++k) {
    sample.records[k].instance_type = static_cast<domain::InstanceType>(k % domain::kInstanceTypeCount);
  }
  const std::string bytes = sample.Pack();
  EXPECT_EQ(bytes[0], '\x02') << "format 2 once a record is not a deployment";
  Result<std::vector<ChunkRecord>> got = UnpackChunk(bytes);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), sample.records.size());
  for (const ChunkRecord& c : *got) {
    std::size_t k = 0;
    while (sample.records[k].id != c.record.id) ++k;
    UsageRecord want = sample.records[k];
    want.organization_id.clear();
    EXPECT_EQ(c.record, want) << c.record.id;
    EXPECT_TRUE(SameRecord(c, "org-a", sample.records[k], sample.series[k]));
    UsageRecord other_type = sample.records[k];
    other_type.instance_type = static_cast<domain::InstanceType>((k + 1) % domain::kInstanceTypeCount);
    EXPECT_FALSE(SameRecord(c, "org-a", other_type, sample.series[k])) << "the type is part of the content";
  }
  for (std::size_t size = 0; size < bytes.size(); ++size) EXPECT_FALSE(UnpackChunk(bytes.substr(0, size))) << size;
}

TEST(UsageChunkTest, RefusesFlagsBeyondTheFormatsRange) {
  // The last byte of kFormat1Chunk is rec-b's flags (trial): 2 would be a type, which format 1
  // has not; in format 2, 2 × kInstanceTypeCount is past the last type.
  std::string typed_in_format1(kFormat1Chunk);
  typed_in_format1.back() = '\x02';
  EXPECT_FALSE(UnpackChunk(typed_in_format1).has_value());
  std::string format2(kFormat1Chunk);
  format2[0] = '\x02';
  format2.back() = static_cast<char>(2 * domain::kInstanceTypeCount - 1);
  Result<std::vector<ChunkRecord>> last_type = UnpackChunk(format2);
  ASSERT_TRUE(last_type.has_value());
  EXPECT_EQ(last_type->back().record.instance_type, domain::InstanceType::kSecurity);
  EXPECT_TRUE(last_type->back().record.trial);
  format2.back() = static_cast<char>(2 * domain::kInstanceTypeCount);
  EXPECT_FALSE(UnpackChunk(format2).has_value());
}

TEST(UsageChunkTest, RefusesASharedPrefixLongerThanTheIdBefore) {
  // Hand-made: format 1, batch 0, base 0, no strings, one record whose id claims 3 shared bytes.
  std::string bytes(1, '\x01');
  for (std::int64_t v : {0, 0, 0, 1, 3}) AppendVarint(bytes, v);
  Result<std::vector<ChunkRecord>> got = UnpackChunk(bytes);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kStoreFailed);
}

TEST(IdRunTest, RoundTripsAndSearchesInPlace) {
  std::vector<IdEntry> entries = {{1, 5}, {7, kMin}, {7, 3}, {9, kMax}, {~std::uint64_t{0}, 0}};
  std::sort(entries.begin(), entries.end());
  const std::string bytes = PackRun(entries);
  Result<RunView> run = RunView::Of(bytes);
  ASSERT_TRUE(run.has_value());
  ASSERT_EQ(run->size(), entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(run->Entry(i), entries[i]);
  EXPECT_EQ(run->LowerBound(0), 0u);
  EXPECT_EQ(run->LowerBound(7), 1u);
  EXPECT_EQ(run->LowerBound(8), 3u);
  EXPECT_EQ(run->LowerBound(~std::uint64_t{0}), 4u);
  EXPECT_TRUE(RunView::Of(PackRun({})).has_value());
}

TEST(IdRunTest, RefusesWrongSizesAndUnsortedEntries) {
  const std::string bytes = PackRun(std::vector<IdEntry>{{1, 1}, {2, 2}});
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(RunView::Of(std::string_view(bytes).substr(0, size)).has_value()) << size;
  }
  EXPECT_FALSE(RunView::Of(bytes + std::string(16, '\0')).has_value()) << "more entries than counted";
  const std::string unsorted = PackRun(std::vector<IdEntry>{{2, 1}, {1, 1}});  // PackRun requires sorted
  Result<RunView> run = RunView::Of(unsorted);
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().code, ErrorCode::kStoreFailed);
}

TEST(IdFilterTest, HasNoFalseNegativesAndFewFalsePositives) {
  std::mt19937_64 random(7);
  constexpr int kKeys = 100'000;
  IdFilter filter(kKeys);
  std::vector<std::uint64_t> keys(kKeys);
  for (std::uint64_t& k : keys) {
    k = random();
    filter.Add(k);
  }
  for (std::uint64_t k : keys) ASSERT_TRUE(filter.MayContain(k));
  int false_positives = 0;
  for (int i = 0; i < kKeys; ++i) false_positives += filter.MayContain(random()) ? 1 : 0;
  EXPECT_LT(false_positives, kKeys / 200) << "under 0.5 % at capacity";

  IdFilter empty(0);
  EXPECT_FALSE(empty.MayContain(keys[0]));
  EXPECT_EQ(empty.Pack().size(), IdFilter::kBlockBytes) << "one block at least";

  // Read in place, a block at a time (as the store reads a stored one): the same answers,
  // blocks in hash order; the packed size tells filters of other capacities apart.
  const std::string packed = filter.Pack();
  ASSERT_EQ(IdFilter::PackedSize(kKeys).value(), packed.size());
  EXPECT_NE(IdFilter::PackedSize(kKeys * 2).value(), packed.size()) << "sized for other keys";
  for (std::uint64_t k : keys) {
    ASSERT_TRUE(IdFilter::BlockMayContain(packed.data() + IdFilter::BlockOffset(packed.size(), k), k));
  }
  EXPECT_FALSE(IdFilter::PackedSize(-1).has_value());
  EXPECT_FALSE(IdFilter::PackedSize(std::int64_t{1} << 41).has_value());
  std::vector<std::uint64_t> probes(keys.begin(), keys.begin() + 1000);
  for (int i = 0; i < 1000; ++i) probes.push_back(random());
  std::sort(probes.begin(), probes.end());
  std::size_t before = 0;
  for (std::uint64_t k : probes) {
    const std::size_t at = IdFilter::BlockOffset(packed.size(), k);
    ASSERT_EQ(at % IdFilter::kBlockBytes, 0u);
    ASSERT_LE(at + IdFilter::kBlockBytes, packed.size());
    ASSERT_GE(at, before) << "a block never comes before the block of a smaller hash";
    before = at;
    ASSERT_EQ(IdFilter::BlockMayContain(packed.data() + at, k), filter.MayContain(k));
  }
}

}  // namespace
}  // namespace costs::store
