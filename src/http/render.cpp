#include "http/render.hpp"

#include <charconv>
#include <cstdint>

#include "domain/money.hpp"
#include "domain/time.hpp"

namespace costs::http {
namespace {

void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 chars always hold an int64
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void AppendNanos(std::string& out, domain::Nanos nanos) {
  char buf[domain::kMaxNanosText];
  const char* end = domain::FormatNanos(nanos, buf);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

// Length of the well-formed UTF-8 sequence starting at s[i] (lead byte >= 0x80), or 0 when
// it is ill-formed (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
  const auto in = [&](std::size_t k, unsigned lo, unsigned hi) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned b0 = byte(i);
  if (b0 >= 0xC2 && b0 <= 0xDF) return in(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied as they are
  std::size_t i = 0;
  const auto flush = [&] { out.append(s.data() + run, i - run); };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = Utf8SequenceLength(s, i); n != 0) {
        i += n;
        continue;
      }
      flush();
      out.append("\xEF\xBF\xBD");  // U+FFFD for one ill-formed byte
      run = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
    run = ++i;
  }
  flush();
  out.push_back('"');
}

std::string RenderChart(const domain::Chart& chart) {
  std::size_t estimate = 16;
  for (const domain::ChartBucket& bucket : chart.buckets) {
    estimate += 40;
    for (const domain::ChartValue& v : bucket.values) {
      estimate += 48 + v.id.size() + v.name.size();
    }
  }
  std::string out;
  out.reserve(estimate);
  out.append("{\"data\":[");
  bool first_bucket = true;
  for (const domain::ChartBucket& bucket : chart.buckets) {
    if (!first_bucket) out.push_back(',');
    first_bucket = false;
    out.append("{\"timestamp\":");
    AppendInt(out, domain::ToUnixSeconds(bucket.start));
    out.append(",\"values\":[");
    bool first_value = true;
    for (const domain::ChartValue& v : bucket.values) {
      if (!first_value) out.push_back(',');
      first_value = false;
      out.append("{\"id\":");
      AppendJsonString(out, v.id);
      out.append(",\"name\":");
      AppendJsonString(out, v.name);
      out.append(",\"value\":");
      AppendNanos(out, v.cost);
      out.push_back('}');
    }
    out.append("]}");
  }
  out.append("]}");
  return out;
}

std::string RenderOrganization(const service::Organization& org) {
  std::string out;
  out.reserve(24 + org.id.size() + org.name.size());
  out.append("{\"id\":");
  AppendJsonString(out, org.id);
  out.append(",\"name\":");
  AppendJsonString(out, org.name);
  out.push_back('}');
  return out;
}

std::string RenderIngestOutcome(const service::IngestOutcome& outcome) {
  std::string out;
  out.reserve(64);
  out.append("{\"stored\":");
  AppendInt(out, outcome.stored);
  out.append(",\"duplicates\":");
  AppendInt(out, outcome.duplicates);
  out.push_back('}');
  return out;
}

std::string RenderFailedReply(std::string_view code, std::string_view message,
                              const std::vector<std::string>& fields) {
  std::string out;
  out.reserve(64 + code.size() + message.size());
  out.append("{\"errors\":[{\"code\":");
  AppendJsonString(out, code);
  out.append(",\"message\":");
  AppendJsonString(out, message);
  if (!fields.empty()) {
    out.append(",\"fields\":[");
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i != 0) out.push_back(',');
      AppendJsonString(out, fields[i]);
    }
    out.push_back(']');
  }
  out.append("}]}");
  return out;
}

}  // namespace costs::http
