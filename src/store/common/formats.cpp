#include "store/common/formats.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "domain/money.hpp"
#include "service/measure_sums.hpp"
#include "store/common/usage_codec.hpp"

namespace costs::store {

using domain::Nanos;

// ---- Packed hourly rollups (PackedHours) ---------------------------------------------------

namespace {

constexpr unsigned char kSameFingerprints = 0x80;

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
    out.push_back(static_cast<char>(cell.hour | (same ? kSameFingerprints : 0)));
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
// order; stops at the first cell at or after end_hour.
template <typename Take>
Status DecodeHours(std::string_view bytes, const LogSink& log, int first_hour, int end_hour, Take&& take) {
  std::size_t pos = 0;
  HourCell before;
  int last_hour = -1;
  while (pos < bytes.size()) {
    const auto head = static_cast<unsigned char>(bytes[pos++]);
    const bool same = (head & kSameFingerprints) != 0;
    HourCell cell;
    cell.hour = head & ~kSameFingerprints;
    bool ok = cell.hour < kHoursPerDay && last_hour < cell.hour;
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
    if (cell.hour >= first_hour) take(cell);
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

// The measures of `cell` as sums, to add more to.
service::IngestDelta::Sums SumsOf(const HourCell& cell) {
  return service::IngestDelta::Sums{cell.cost,
                                    cell.trial_cost,
                                    cell.quantity_milli,
                                    cell.usage_ns,
                                    cell.max_instance_count,
                                    cell.rate_fingerprint_min,
                                    cell.rate_fingerprint_max};
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
                  sums.rate_fingerprint_max};
}

}  // namespace costs::store
