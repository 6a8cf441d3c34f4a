#include "service/rate_segments.hpp"

#include <algorithm>

namespace costs::service {

void LineUsage::Add(const RatePiece& piece) {
  cost_ += piece.cost;
  quantity_milli_ += piece.quantity_milli;
  fingerprint_min_ = std::min(fingerprint_min_, piece.fingerprint_min);
  fingerprint_max_ = std::max(fingerprint_max_, piece.fingerprint_max);
  pieces_.push_back(piece);
}

void LineUsage::Merge(const LineUsage& other) {
  for (const RatePiece& piece : other.pieces_) Add(piece);
}

RateCatalog::RateCatalog(const std::vector<domain::Decimal>& rates) {
  by_fingerprint_.reserve(rates.size());
  for (const domain::Decimal& rate : rates) by_fingerprint_.emplace_back(domain::DecimalFingerprint(rate), &rate);
  std::sort(by_fingerprint_.begin(), by_fingerprint_.end());
}

const domain::Decimal* RateCatalog::Find(std::int64_t fingerprint) const {
  auto it = std::lower_bound(by_fingerprint_.begin(), by_fingerprint_.end(), fingerprint,
                             [](const auto& entry, std::int64_t fp) { return entry.first < fp; });
  return it != by_fingerprint_.end() && it->first == fingerprint ? it->second : nullptr;
}

std::string RateText(domain::WideNanos cost, domain::WideNanos quantity_milli, std::int64_t fingerprint_min,
                     std::int64_t fingerprint_max, const RateCatalog& rates) {
  if (fingerprint_min == fingerprint_max) {
    if (const domain::Decimal* rate = rates.Find(fingerprint_min)) return domain::FormatDecimal(*rate);
  }
  return CostPerUnitText(cost, quantity_milli);
}

std::string CostPerUnitText(domain::WideNanos cost, domain::WideNanos quantity_milli) {
  if (quantity_milli == 0) return "0";
  // cost / quantity in ECU per unit, to 9 fractional digits: nanos × 1000 / milli.
  // DivideHalfEven wants a positive denominator.
  const domain::WideNanos sign = quantity_milli < 0 ? -1 : 1;
  return domain::FormatWideNanos(domain::DivideHalfEven(sign * cost * 1000, sign * quantity_milli));
}

std::vector<RateSegment> LineUsage::Segments(const domain::TimeRange& range, const RateCatalog& rates) {
  std::sort(pieces_.begin(), pieces_.end(), [](const RatePiece& a, const RatePiece& b) {
    return a.window.from < b.window.from || (a.window.from == b.window.from && a.window.to < b.window.to);
  });
  // One piece per window (the records of an edge, or the instances of a product, share one),
  // combined in place.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    const RatePiece& p = pieces_[i];
    if (kept > 0 && pieces_[kept - 1].window == p.window) {
      RatePiece& w = pieces_[kept - 1];
      w.cost += p.cost;
      w.quantity_milli += p.quantity_milli;
      w.fingerprint_min = std::min(w.fingerprint_min, p.fingerprint_min);
      w.fingerprint_max = std::max(w.fingerprint_max, p.fingerprint_max);
    } else {
      pieces_[kept++] = p;
    }
  }
  pieces_.resize(kept);
  std::vector<RateSegment> out;
  std::int64_t run_min = 0;
  std::int64_t run_max = 0;
  auto close = [&] {
    if (out.empty()) return;
    RateSegment& s = out.back();
    s.rate = RateText(s.cost, s.quantity_milli, run_min, run_max, rates);
    s.period.from = std::max(s.period.from, range.from);
    s.period.to = std::min(s.period.to, range.to);
  };
  for (const RatePiece& w : pieces_) {
    if (out.empty() || w.fingerprint_min != run_min || w.fingerprint_max != run_max) {
      close();
      out.push_back(RateSegment{w.window, 0, 0, {}});
      run_min = w.fingerprint_min;
      run_max = w.fingerprint_max;
    }
    RateSegment& s = out.back();
    s.period.to = std::max(s.period.to, w.window.to);
    s.cost += w.cost;
    s.quantity_milli += w.quantity_milli;
  }
  close();
  return out;
}

}  // namespace costs::service
