#include "store/common/formats.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include "domain/money.hpp"
#include "service/measure_sums.hpp"
#include "store/common/usage_codec.hpp"

namespace costs::store {

using domain::Nanos;

// ---- Packed hourly rollups (PackedHours) ---------------------------------------------------

namespace {

constexpr unsigned char kSameFingerprints = 0x80;
constexpr unsigned char kOneWholeHour = 0x40;
constexpr unsigned char kOneWholeDay = 0x20;
constexpr unsigned char kHourBits = 0x1f;
using Records = service::IngestDelta::Sums::Records;

// The head byte's bits of a cell's records (PackHours).
unsigned char RecordsBits(Records records) {
  if (records == Records::kOneWholeHour) return kOneWholeHour;
  return records == Records::kOneWholeDay ? kOneWholeDay : 0;
}

// ReadVarint, with the one-byte varint (most deltas of a series' hours) read in place: the
// hourly rows of a chart's partial day are decoded on every ragged or month-to-date request.
inline bool ReadSmallVarint(std::string_view bytes, std::size_t& pos, std::int64_t& value) {
  if (pos < bytes.size() && (static_cast<unsigned char>(bytes[pos]) & 0x80) == 0) {
    const auto zigzag = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[pos++]));
    value = static_cast<std::int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
    return true;
  }
  return ReadVarint(bytes, pos, value);
}

// When the next `count` (at most 7) varints at `pos` take one byte each (most cells: the hours of
// a record over several hours hold nearly equal parts), reads them at once, adds each to the
// measure of `then` into `now` and moves `pos` past them; else reads nothing (false).
inline bool ReadOneByteDifferences(std::string_view bytes, std::size_t& pos, std::size_t count,
                                   const std::array<std::int64_t*, 7>& then, const std::array<std::int64_t*, 7>& now) {
  if (bytes.size() - pos < sizeof(std::uint64_t)) return false;
  std::uint64_t word = 0;
  std::memcpy(&word, bytes.data() + pos, sizeof word);
  if constexpr (std::endian::native != std::endian::little) word = __builtin_bswap64(word);
  const std::uint64_t continuation_bits = 0x0080808080808080ULL >> (8 * (7 - count));  // of bytes [0, count)
  if ((word & continuation_bits) != 0) return false;
  for (std::size_t m = 0; m < count; ++m) {
    const std::uint64_t zigzag = (word >> (8 * m)) & 0x7f;
    const auto difference = static_cast<std::uint64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
    *now[m] = static_cast<std::int64_t>(static_cast<std::uint64_t>(*then[m]) + difference);
  }
  pos += count;
  return true;
}

// The measures of a cell in PackHours order (rate_fingerprint_max last).
std::array<std::int64_t*, 7> Measures(HourCell& cell) {
  return {&cell.cost,
          &cell.trial_cost,
          &cell.quantity_milli,
          &cell.usage_ns,
          &cell.max_instance_count,
          &cell.rate_fingerprint_min,
          &cell.rate_fingerprint_max};
}

}  // namespace

// REQUIRES: cells ascending by hour, hours unique and in 0..23.
std::string PackHours(std::span<const HourCell> cells) {
  std::string out;
  out.reserve(cells.size() * 8);
  HourCell before;
  for (HourCell cell : cells) {
    const bool same = cell.rate_fingerprint_max == cell.rate_fingerprint_min;
    out.push_back(static_cast<char>(cell.hour | (same ? kSameFingerprints : 0) | RecordsBits(cell.records)));
    const std::array<std::int64_t*, 7> now = Measures(cell);
    const std::array<std::int64_t*, 7> then = Measures(before);
    for (std::size_t m = 0; m < now.size() - (same ? 1 : 0); ++m) AppendVarint(out, WrappingSub(*now[m], *then[m]));
    before = cell;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackHours writes.
Result<std::vector<HourCell>> UnpackHours(std::string_view bytes, const LogSink& log) {
  std::vector<HourCell> cells;
  if (Status s = UnpackHoursInto(bytes, log, cells); !s) return std::move(s).error();
  return cells;
}

namespace {

// Decodes a PackHours blob, calling take(cell) for each cell of hours [first_hour, end_hour) in
// order; stops at the first cell at or after end_hour, or when take returns false (if it returns
// bool).
template <typename Take>
Status DecodeHours(std::string_view bytes, const LogSink& log, int first_hour, int end_hour, Take&& take) {
  std::size_t pos = 0;
  HourCell before;
  int last_hour = -1;
  while (pos < bytes.size()) {
    const auto head = static_cast<unsigned char>(bytes[pos++]);
    const bool same = (head & kSameFingerprints) != 0;
    HourCell cell;
    cell.hour = head & kHourBits;
    const bool one_whole_hour = (head & kOneWholeHour) != 0, one_whole_day = (head & kOneWholeDay) != 0;
    if (one_whole_hour) cell.records = Records::kOneWholeHour;
    if (one_whole_day) cell.records = Records::kOneWholeDay;
    bool ok = cell.hour < kHoursPerDay && last_hour < cell.hour && !(one_whole_hour && one_whole_day);
    if (ok && cell.hour >= end_hour) return {};  // the rest lie after the window
    const std::array<std::int64_t*, 7> now = Measures(cell);
    const std::array<std::int64_t*, 7> then = Measures(before);
    const std::size_t count = now.size() - (same ? 1 : 0);
    if (ok && !ReadOneByteDifferences(bytes, pos, count, then, now)) {
      for (std::size_t m = 0; ok && m < count; ++m) {
        std::int64_t difference = 0;
        ok = ReadSmallVarint(bytes, pos, difference);
        *now[m] = WrappingAdd(*then[m], difference);
      }
    }
    if (same) cell.rate_fingerprint_max = cell.rate_fingerprint_min;
    before = cell;
    if (!ok) {
      return Malformed(log, "hourly rollup");
    }
    last_hour = cell.hour;
    if (cell.hour < first_hour) continue;
    if constexpr (std::is_same_v<decltype(take(cell)), bool>) {
      if (!take(cell)) return {};
    } else {
      take(cell);
    }
  }
  return {};
}

}  // namespace

Status UnpackHoursInto(std::string_view bytes, const LogSink& log, std::vector<HourCell>& out, int first_hour,
                       int end_hour) {
  return DecodeHours(bytes, log, first_hour, end_hour, [&](const HourCell& cell) { out.push_back(cell); });
}

Status UnpackSummedHoursInto(std::string_view bytes, const LogSink& log, std::vector<HourCell>& out, int first_hour,
                             int end_hour) {
  std::optional<HourCell> run;
  Status s = DecodeHours(bytes, log, first_hour, end_hour, [&](const HourCell& cell) {
    if (run && service::AddMeasuresInto(*run, cell)) return;
    if (run) out.push_back(*run);
    run = cell;
    run->records = Records::kOther;  // a sum of hours
  });
  if (s && run) out.push_back(*run);
  return s;
}

// ---- Day packs (rollup_hours.packs) ------------------------------------------------------------

// REQUIRES: series ascending by id, ids unique.
std::string PackDay(std::span<const SeriesHours> series) {
  std::size_t size = 8;
  for (const SeriesHours& s : series) size += s.hours.size() + 8;
  std::string out;
  out.reserve(size);
  AppendVarint(out, static_cast<std::int64_t>(series.size()));
  std::int64_t before = 0;
  for (const SeriesHours& s : series) {
    AppendVarint(out, WrappingSub(s.series_id, before));
    AppendVarint(out, static_cast<std::int64_t>(s.hours.size()));
    out += s.hours;
    before = s.series_id;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackDay writes.
Result<std::vector<SeriesHours>> UnpackDay(std::string_view bytes, const LogSink& log) {
  std::vector<SeriesHoursView> views;
  if (Status s = UnpackDayViews(bytes, log, views); !s) return std::move(s).error();
  std::vector<SeriesHours> out;
  out.reserve(views.size());
  for (const SeriesHoursView& v : views) out.push_back(SeriesHours{v.series_id, std::string(v.hours)});
  return out;
}

Status UnpackDayViews(std::string_view bytes, const LogSink& log, std::vector<SeriesHoursView>& out) {
  auto malformed = [&] { return Malformed(log, "day of hourly rollups"); };
  out.clear();
  std::size_t pos = 0;
  std::int64_t count = 0;
  if (!ReadVarint(bytes, pos, count) || count < 0 || static_cast<std::uint64_t>(count) > bytes.size()) {
    return malformed();
  }
  out.resize(static_cast<std::size_t>(count));
  std::int64_t before = 0;
  for (SeriesHoursView& s : out) {
    std::int64_t delta = 0, size = 0;
    if (!ReadVarint(bytes, pos, delta) || !ReadVarint(bytes, pos, size) || size < 0 ||
        static_cast<std::uint64_t>(size) > bytes.size() - pos) {
      return malformed();
    }
    s.series_id = WrappingAdd(before, delta);
    if (&s != &out.front() && s.series_id <= before) return malformed();
    s.hours = bytes.substr(pos, static_cast<std::size_t>(size));
    pos += static_cast<std::size_t>(size);
    before = s.series_id;
  }
  if (pos != bytes.size()) return malformed();
  return {};
}

// ---- Series ends (series_ends.ends) -----------------------------------------------------------

// REQUIRES: ends ascending by series id, ids unique.
std::string PackSeriesEnds(std::span<const SeriesEnd> ends) {
  std::string out;
  out.reserve(8 + ends.size() * 4);
  AppendVarint(out, static_cast<std::int64_t>(ends.size()));
  SeriesEnd before;
  for (const SeriesEnd& e : ends) {
    AppendVarint(out, WrappingSub(e.series_id, before.series_id));
    AppendVarint(out, WrappingSub(e.end_ns, before.end_ns));
    before = e;
  }
  return out;
}

// kStoreFailed (detail logged) when `bytes` is not what PackSeriesEnds writes.
Result<std::vector<SeriesEnd>> UnpackSeriesEnds(std::string_view bytes, const LogSink& log) {
  auto malformed = [&] { return Malformed(log, "row of series ends"); };
  std::size_t pos = 0;
  std::int64_t count = 0;
  // An entry takes at least two bytes.
  if (!ReadVarint(bytes, pos, count) || count < 0 || static_cast<std::uint64_t>(count) > bytes.size() / 2) {
    return malformed();
  }
  std::vector<SeriesEnd> out(static_cast<std::size_t>(count));
  SeriesEnd before;
  for (SeriesEnd& e : out) {
    std::int64_t id_delta = 0, end_delta = 0;
    if (!ReadVarint(bytes, pos, id_delta) || !ReadVarint(bytes, pos, end_delta)) return malformed();
    e.series_id = WrappingAdd(before.series_id, id_delta);
    e.end_ns = WrappingAdd(before.end_ns, end_delta);
    if (&e != &out.front() && e.series_id <= before.series_id) return malformed();
    before = e;
  }
  if (pos != bytes.size()) return malformed();
  return out;
}

namespace {

// Whether two cells of one record over the whole day agree in what each hour's part repeats.
bool SameRecord(const HourCell& a, const HourCell& b) {
  return a.max_instance_count == b.max_instance_count && a.rate_fingerprint_min == b.rate_fingerprint_min &&
         a.rate_fingerprint_max == b.rate_fingerprint_max;
}

// The additive measures of a day's cells, summed exactly (one record's parts sum to its own
// measures, which fit int64).
struct DaySums {
  __int128 cost = 0, trial_cost = 0, quantity_milli = 0, usage_ns = 0;

  void Add(const HourCell& cell) {
    cost += cell.cost;
    trial_cost += cell.trial_cost;
    quantity_milli += cell.quantity_milli;
    usage_ns += cell.usage_ns;
  }

  // The record's cell (hour 0) with the repeated measures of `first`; nullopt when a sum leaves
  // int64.
  std::optional<HourCell> RecordOf(const HourCell& first) const {
    auto fits = [](__int128 v) {
      return v >= std::numeric_limits<std::int64_t>::min() && v <= std::numeric_limits<std::int64_t>::max();
    };
    if (!fits(cost) || !fits(trial_cost) || !fits(quantity_milli) || !fits(usage_ns)) return std::nullopt;
    HourCell out = first;
    out.hour = 0;
    out.cost = static_cast<std::int64_t>(cost);
    out.trial_cost = static_cast<std::int64_t>(trial_cost);
    out.quantity_milli = static_cast<std::int64_t>(quantity_milli);
    out.usage_ns = static_cast<std::int64_t>(usage_ns);
    return out;
  }
};

}  // namespace

Result<std::optional<HourCell>> UnpackWholeRecord(std::string_view bytes, const LogSink& log, int hour) {
  std::optional<HourCell> at_hour;
  // While each cell so far is of one record over the whole day: their count, the first, and
  // their additive measures summed.
  int day_cells = 0;
  HourCell first;
  DaySums sums;
  Status s = DecodeHours(bytes, log, 0, kHoursPerDay, [&](const HourCell& cell) {
    if (day_cells >= 0) {  // still a day's record
      if (cell.records != Records::kOneWholeDay || (day_cells > 0 && !SameRecord(first, cell))) {
        day_cells = -1;
      } else {
        if (day_cells++ == 0) first = cell;
        sums.Add(cell);
      }
    }
    if (cell.hour == hour) at_hour = cell;
    return cell.hour < hour || day_cells >= 0;  // read on before the hour, or for a day's record
  });
  if (!s) return std::move(s).error();
  if (!at_hour) {
    HourCell none;
    none.records = Records::kNone;
    return std::optional<HourCell>(none);
  }
  if (at_hour->records == Records::kOneWholeHour) return at_hour;
  if (day_cells != kHoursPerDay) return std::optional<HourCell>();
  return sums.RecordOf(first);
}

// The measures of `cell` as sums, to add more to.
service::IngestDelta::Sums SumsOf(const HourCell& cell) {
  return service::IngestDelta::Sums{cell.cost,
                                    cell.trial_cost,
                                    cell.quantity_milli,
                                    cell.usage_ns,
                                    cell.max_instance_count,
                                    cell.rate_fingerprint_min,
                                    cell.rate_fingerprint_max,
                                    cell.records};
}

// `sums` as the cell of `hour`; nullopt when a sum leaves int64.
std::optional<HourCell> CellOf(int hour, const service::IngestDelta::Sums& sums) {
  Result<Nanos> cost = domain::NarrowNanos(sums.cost);
  Result<Nanos> trial_cost = domain::NarrowNanos(sums.trial_cost);
  Result<Nanos> quantity_milli = domain::NarrowNanos(sums.quantity_milli);
  Result<Nanos> usage_ns = domain::NarrowNanos(sums.usage_ns);
  if (!cost || !trial_cost || !quantity_milli || !usage_ns) return std::nullopt;
  return HourCell{hour,
                  *cost,
                  *trial_cost,
                  *quantity_milli,
                  *usage_ns,
                  sums.max_instance_count,
                  sums.rate_fingerprint_min,
                  sums.rate_fingerprint_max,
                  sums.records == Records::kNone ? Records::kOther : sums.records};
}

}  // namespace costs::store
