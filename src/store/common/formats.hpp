#pragma once

// The persisted byte formats of the rollups and the item catalog (the usage chunks, id runs
// and id filters are in usage_codec.hpp). Each has a round-trip test in formats_test.cpp.
// Persisted: never change a format a release has written; add a new one beside it.
//
// PackHours: the hourly cells of one (org, UTC day, series) (one series' part of
// rollup_hours.packs), by ascending hour: per cell one byte, the hour of the day (0..23) plus
// 0x80 when rate_fingerprint_max equals rate_fingerprint_min, plus 0x40 when the cell holds
// exactly one record over the whole hour or 0x20 when exactly one over the whole UTC day
// (HourCell::records; releases before them never wrote either, so that their cells read as
// kOther), then zigzag LEB128 varints of
// cost, trial cost, quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min and
// (without 0x80) rate_fingerprint_max, each as its difference (modulo 2^64) from the same
// measure of the cell before (of zeros for the first). The hours of a record over several hours
// hold nearly equal parts, so most differences take one byte.
//
// PackDay (rollup_hours.packs): the hourly cells of the series of one group with usage in one
// (org, UTC day): a varint count, then per series, ascending, varints of its id's difference
// from the one before (the first: the id) and of its PackHours bytes' length, then those bytes.
//
// PackSeriesEnds (series_ends.ends): the end of the latest record of each series of one
// organization (the item catalog's last end): a varint count, then per series, by ascending id,
// varints of its id's and its end's differences (modulo 2^64) from those before (of zeros for
// the first). A batch moves most ends to the same instant, so most entries take two or three
// bytes.
//
// Every Unpack fails with kStoreFailed, the detail logged through `log`, when its bytes are not
// what the Pack writes.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "service/ingest_delta.hpp"

namespace costs::store {

constexpr int kHoursPerDay = 24;

// One stored hourly cell: the measures of a service::RollupRow.
struct HourCell {
  int hour = 0;  // of the UTC day, 0..23
  std::int64_t cost = 0;
  std::int64_t trial_cost = 0;
  std::int64_t quantity_milli = 0;
  std::int64_t usage_ns = 0;
  std::int64_t max_instance_count = 0;
  std::int64_t rate_fingerprint_min = 0;
  std::int64_t rate_fingerprint_max = 0;
  // kOneWholeHour or kOneWholeDay when exactly one record over the hour or its UTC day makes up
  // the cell (a window's part of it is then exact from the cells alone), else kOther.
  service::IngestDelta::Sums::Records records = service::IngestDelta::Sums::Records::kOther;
  friend bool operator==(const HourCell&, const HourCell&) = default;
};

// REQUIRES: cells ascending by hour, hours unique and in 0..23.
std::string PackHours(std::span<const HourCell> cells);
Result<std::vector<HourCell>> UnpackHours(std::string_view bytes, const LogSink& log);
// As UnpackHours, appending to `out` the cells of hours [first_hour, end_hour) only, so that a
// reader reuses one buffer and keeps only what it asked for. Cells are delta-coded, so those
// before the window are read (and checked) too; reading stops at the first cell at or after
// end_hour (the rest are neither read nor checked).
Status UnpackHoursInto(std::string_view bytes, const LogSink& log, std::vector<HourCell>& out, int first_hour = 0,
                       int end_hour = kHoursPerDay);
// As UnpackHoursInto, the cells of hours [first_hour, end_hour) summed (service::AddMeasuresInto):
// one cell per run of consecutive cells whose sums fit int64, with the hour of the run's first
// cell, of kOther records; almost always one cell (none when no hour of the window has one).
Status UnpackSummedHoursInto(std::string_view bytes, const LogSink& log, std::vector<HourCell>& out, int first_hour,
                             int end_hour);

// The record that makes up the cell of hour `hour` (0..23) in a PackHours blob, when one record
// does (HourCell::records): over the whole hour, that cell; over the whole day, the sum of the
// day's cells (hour 0, kOneWholeDay; each of the 24 hours must have a kOneWholeDay cell); when the
// hour has no cell, a cell of kNone records (no record). nullopt when the hour's cell is of other
// records, or the day's sums leave int64. Cells after the hour are read only for a day's record.
Result<std::optional<HourCell>> UnpackWholeRecord(std::string_view bytes, const LogSink& log, int hour);

// Series ids are grouped by 64 into one rollup_hours row per (org, day, group).
constexpr std::int64_t kSeriesPerGroup = 64;
inline std::int64_t SeriesGroup(std::int64_t series_id) { return series_id / kSeriesPerGroup; }

struct SeriesHours {
  std::int64_t series_id = 0;
  std::string hours;  // PackHours
  friend bool operator==(const SeriesHours&, const SeriesHours&) = default;
};

// REQUIRES: series ascending by id, ids unique.
std::string PackDay(std::span<const SeriesHours> series);
Result<std::vector<SeriesHours>> UnpackDay(std::string_view bytes, const LogSink& log);

// A series' hours in a PackDay blob, read in place. REQUIRES: the blob outlives the view.
struct SeriesHoursView {
  std::int64_t series_id = 0;
  std::string_view hours;  // PackHours
};
// As UnpackDay without copying: `out` is cleared, then holds views into `bytes`.
Status UnpackDayViews(std::string_view bytes, const LogSink& log, std::vector<SeriesHoursView>& out);

struct SeriesEnd {
  std::int64_t series_id = 0;
  std::int64_t end_ns = 0;
  friend bool operator==(const SeriesEnd&, const SeriesEnd&) = default;
};

// REQUIRES: ends ascending by series id, ids unique.
std::string PackSeriesEnds(std::span<const SeriesEnd> ends);
Result<std::vector<SeriesEnd>> UnpackSeriesEnds(std::string_view bytes, const LogSink& log);

// The measures of `cell` as sums, to add more to.
service::IngestDelta::Sums SumsOf(const HourCell& cell);
// `sums` as the cell of `hour`; nullopt when a sum leaves int64.
std::optional<HourCell> CellOf(int hour, const service::IngestDelta::Sums& sums);

}  // namespace costs::store
