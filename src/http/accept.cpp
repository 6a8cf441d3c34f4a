#include "http/accept.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <string>
#include <vector>

#include "http/text.hpp"

namespace costs::http {
namespace {

// One valid element of an Accept header.
struct MediaRange {
  std::string_view type;     // "*" for any
  std::string_view subtype;  // "*" for any
  int quality = 1000;        // thousandths: q=0.5 -> 500
};

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Splits `s` at every `sep` outside a quoted-string (with its backslash escapes).
std::vector<std::string_view> SplitOutsideQuotes(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      parts.push_back(s.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  parts.push_back(s.substr(begin));
  return parts;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as thousandths.
std::optional<int> ParseQuality(std::string_view s) {
  // Leniency for real clients: Java's HttpURLConnection sends "q=.2".
  std::string lenient;
  if (!s.empty() && s[0] == '.') {
    lenient = "0" + std::string(s);
    s = lenient;
  }
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  int value = (s[0] - '0') * 1000;
  if (s.size() == 1) return value;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  int scale = 100;
  for (std::size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    value += (s[i] - '0') * scale;
  }
  if (value > 1000) return std::nullopt;
  return value;
}

std::optional<MediaRange> ParseMediaRange(std::string_view element) {
  const std::vector<std::string_view> parts = SplitOutsideQuotes(element, ';');
  std::string_view range = TrimOws(parts[0]);
  if (range == "*") range = "*/*";  // a bare "*" (Java's default Accept) means anything
  const std::size_t slash = range.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  MediaRange out;
  out.type = range.substr(0, slash);
  out.subtype = range.substr(slash + 1);
  if (!IsToken(out.type) || !IsToken(out.subtype)) return std::nullopt;
  if (out.type == "*" && out.subtype != "*") return std::nullopt;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view param = TrimOws(parts[i]);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      if (param.empty()) continue;  // a stray ';'
      return std::nullopt;
    }
    if (!EqualsIgnoreCase(TrimOws(param.substr(0, eq)), "q")) continue;  // a media type parameter
    const std::optional<int> q = ParseQuality(TrimOws(param.substr(eq + 1)));
    if (!q) return std::nullopt;
    out.quality = *q;
    break;  // what follows q is accept-ext: ignored
  }
  return out;
}

// How specifically `range` matches `media_type` ("type/subtype"): 2 exact, 1 "type/*",
// 0 "*/*", -1 no match.
int MatchSpecificity(const MediaRange& range, std::string_view media_type) {
  const std::size_t slash = media_type.find('/');
  const std::string_view type = media_type.substr(0, slash);
  const std::string_view subtype = media_type.substr(slash + 1);
  if (range.type == "*") return 0;
  if (!EqualsIgnoreCase(range.type, type)) return -1;
  if (range.subtype == "*") return 1;
  return EqualsIgnoreCase(range.subtype, subtype) ? 2 : -1;
}

}  // namespace

std::string_view MediaTypeOf(Format format) {
  switch (format) {
    case Format::kJson:
      return "application/json";
    case Format::kCsv:
      return "text/csv";
  }
  return "application/json";
}

std::optional<Format> NegotiateFormat(std::string_view accept, std::span<const Format> offers) {
  assert(!offers.empty());
  if (TrimOws(accept).empty()) return offers.front();
  std::vector<MediaRange> ranges;
  for (const std::string_view element : SplitOutsideQuotes(accept, ',')) {
    if (TrimOws(element).empty()) continue;  // "a, , b" is allowed
    if (std::optional<MediaRange> range = ParseMediaRange(element)) ranges.push_back(*range);
  }
  if (ranges.empty()) return offers.front();  // nothing understandable: as if absent
  struct Candidate {
    Format format;
    int quality;
    int specificity;
    std::size_t position;
  };
  std::optional<Candidate> best;
  for (const Format offer : offers) {
    // The most specific range matching this offer (the first of equally specific ones).
    std::optional<Candidate> match;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const int specificity = MatchSpecificity(ranges[i], MediaTypeOf(offer));
      if (specificity < 0 || (match && specificity <= match->specificity)) continue;
      match = Candidate{offer, ranges[i].quality, specificity, i};
    }
    if (!match || match->quality == 0) continue;
    const bool better = !best || match->quality > best->quality ||
                        (match->quality == best->quality &&
                         (match->specificity > best->specificity ||
                          (match->specificity == best->specificity && match->position < best->position)));
    if (better) best = match;
  }
  if (!best) return std::nullopt;
  return best->format;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<int> gzip;  // the q of gzip (or x-gzip) when named
  std::optional<int> any;   // the q of "*" when named
  for (const std::string_view element : SplitOutsideQuotes(accept_encoding, ',')) {
    const std::vector<std::string_view> parts = SplitOutsideQuotes(element, ';');
    const std::string_view coding = TrimOws(parts[0]);
    int quality = 1000;
    bool valid = !coding.empty();
    for (std::size_t i = 1; i < parts.size() && valid; ++i) {
      const std::string_view param = TrimOws(parts[i]);
      const std::size_t eq = param.find('=');
      if (eq == std::string_view::npos || !EqualsIgnoreCase(TrimOws(param.substr(0, eq)), "q")) continue;
      const std::optional<int> q = ParseQuality(TrimOws(param.substr(eq + 1)));
      valid = q.has_value();
      if (q) quality = *q;
    }
    if (!valid) continue;
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      gzip = gzip ? std::max(*gzip, quality) : quality;
    } else if (coding == "*") {
      any = quality;
    }
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

}  // namespace costs::http
