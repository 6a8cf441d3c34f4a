#include "http/render.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

#include "domain/money.hpp"
#include "domain/time.hpp"
#include "http/body_text.hpp"

namespace costs::http {

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
      out.append(kReplacementCharacter);  // for one ill-formed byte
      run = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
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

std::string RenderOrganizations(const std::vector<service::Organization>& orgs) {
  std::string out = "{\"organizations\":[";
  for (std::size_t i = 0; i < orgs.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(RenderOrganization(orgs[i]));
  }
  out.append("]}");
  return out;
}

std::string RenderSessionCaller(const service::Principal& principal, std::optional<domain::Instant> expires) {
  std::string out = "{\"username\":";
  AppendJsonString(out, principal.name);
  out.append(principal.is_admin ? ",\"is_admin\":true" : ",\"is_admin\":false");
  if (expires) {
    out.append(",\"expires\":");
    AppendJsonString(out, domain::FormatRfc3339(*expires));
  }
  out.push_back('}');
  return out;
}

namespace {

// ChartItems, and with `types` (indexed like chart.series) ChartItemsV2: each value also says
// its series' instance type.
std::string RenderChartWith(const domain::Chart& chart, const std::vector<domain::InstanceType>* types) {
  std::size_t estimate = 16;
  for (const domain::ChartBucket& bucket : chart.buckets) {
    estimate += 40;
    for (const domain::ChartValue& v : bucket.values) {
      const domain::ChartSeries& series = chart.SeriesOf(v);
      estimate += 64 + series.id.size() + series.name.size();
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
      const domain::ChartSeries& series = chart.SeriesOf(v);
      out.append("{\"id\":");
      AppendJsonString(out, series.id);
      out.append(",\"name\":");
      AppendJsonString(out, series.name);
      if (types != nullptr) {
        assert(v.series < types->size() && "a type for every series");
        out.append(",\"type\":\"");
        out.append(domain::InstanceTypeId((*types)[v.series]));  // plain ASCII ids
        out.push_back('"');
      }
      out.append(",\"value\":");
      AppendNanos(out, v.cost);
      out.push_back('}');
    }
    out.append("]}");
  }
  out.append("]}");
  return out;
}

}  // namespace

std::string RenderChart(const domain::Chart& chart) { return RenderChartWith(chart, nullptr); }

std::string RenderTypedChart(const service::TypedChart& chart) {
  return RenderChartWith(chart.chart, &chart.series_types);
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

namespace {

void AppendInstant(std::string& out, domain::Instant t) { AppendJsonString(out, domain::FormatRfc3339(t)); }

void AppendPeriod(std::string& out, const domain::TimeRange& period) {
  out.append("{\"start\":");
  AppendInstant(out, period.from);
  out.append(",\"end\":");
  AppendInstant(out, period.to);
  out.push_back('}');
}

// Costs: {"total":..,"dimensions":[{"type":"capacity","cost":..},...]}, all six dimensions.
void AppendCosts(std::string& out, const service::DimensionCosts& costs) {
  out.append("{\"total\":");
  AppendNanos(out, costs.total);
  out.append(",\"dimensions\":[");
  for (int i = 0; i < domain::kDimensionCount; ++i) {
    if (i != 0) out.push_back(',');
    out.append("{\"type\":\"");
    out.append(domain::DimensionId(static_cast<domain::Dimension>(i)));  // plain ASCII ids
    out.append("\",\"cost\":");
    AppendNanos(out, costs.by_dimension[static_cast<std::size_t>(i)]);
    out.push_back('}');
  }
  out.append("]}");
}

// "<text> <unit>", or just the text without a unit.
std::string WithUnit(std::string text, std::string_view joiner, std::string_view unit) {
  if (unit.empty()) return text;
  text.append(joiner);
  text.append(unit);
  return text;
}

}  // namespace

domain::WideNanos ItemHours(const service::ResourceItem& item) {
  return domain::DivideHalfEven(item.usage_ns, domain::kNsPerHour);
}

std::int64_t ItemInstanceCount(const service::ResourceItem& item) {
  return std::min<std::int64_t>(item.instance_count, std::numeric_limits<std::int32_t>::max());
}

domain::WideNanos DtsQuantityValue(const service::DtsItem& item) {
  return domain::DivideHalfEven(item.quantity_milli, 1000);
}

std::string RenderCostsOverview(const service::CostsOverview& overview) {
  std::string out;
  out.reserve(384 + (overview.balance ? overview.balance->line_items.size() * 160 : 0));
  out.append("{\"costs\":");
  AppendCosts(out, overview.costs);
  out.append(",\"hourly_rate\":");
  AppendNanos(out, overview.hourly_rate);
  out.append(",\"trials\":");
  AppendNanos(out, overview.trials);
  if (overview.balance) {
    const service::Balance& b = *overview.balance;
    out.append(",\"balance\":{\"available\":");
    AppendNanos(out, b.available);
    out.append(",\"remaining\":");
    AppendNanos(out, b.remaining);
    out.append(",\"line_items\":[");
    bool first = true;
    for (const service::CreditBalance& line : b.line_items) {
      if (!first) out.push_back(',');
      first = false;
      out.append("{\"id\":");
      AppendJsonString(out, line.credit.id);
      out.append(",\"ecu_quantity\":");
      AppendNanos(out, line.credit.ecu);
      out.append(",\"ecu_balance\":");
      AppendNanos(out, line.balance);
      out.append(",\"start\":");
      AppendInstant(out, line.credit.start);
      out.append(",\"end\":");
      AppendInstant(out, line.credit.end);
      out.push_back('}');
    }
    out.append("]}");
  }
  out.push_back('}');
  return out;
}

std::string RenderDeploymentsCosts(const service::DeploymentsCosts& costs) {
  std::string out;
  std::size_t estimate = 48;
  for (const service::DeploymentCosts& d : costs.deployments) estimate += 480 + d.id.size() + d.name.size();
  out.reserve(estimate);
  out.append("{\"total_cost\":");
  AppendNanos(out, costs.total_cost);
  out.append(",\"deployments\":[");
  bool first = true;
  for (const service::DeploymentCosts& d : costs.deployments) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"deployment_id\":");
    AppendJsonString(out, d.id);
    out.append(",\"deployment_name\":");
    AppendJsonString(out, d.name);
    out.append(",\"costs\":");
    AppendCosts(out, d.costs);
    out.append(",\"hourly_rate\":");
    AppendNanos(out, d.hourly_rate);
    out.append(",\"period\":");
    AppendPeriod(out, d.period);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string RenderItemsCosts(const service::ItemsCosts& items) {
  std::string out;
  std::size_t estimate = 512;
  for (const service::ResourceItem& r : items.resources) estimate += 256 + r.sku.size() + r.name.size();
  for (const service::DtsItem& d : items.dts) estimate += 256 + d.sku.size() + d.name.size() + 2 * d.unit.size();
  out.reserve(estimate);
  out.append("{\"costs\":");
  AppendCosts(out, items.costs);
  out.append(",\"resources\":[");
  bool first = true;
  for (const service::ResourceItem& r : items.resources) {
    assert(!r.kind.empty() && "usage validation requires a kind for capacity");
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"sku\":");
    AppendJsonString(out, r.sku);
    out.append(",\"name\":");
    AppendJsonString(out, r.name);
    out.append(",\"kind\":");
    AppendJsonString(out, r.kind);
    out.append(",\"instance_count\":");
    AppendInt(out, ItemInstanceCount(r));
    out.append(",\"hours\":");
    AppendWideInt(out, ItemHours(r));
    out.append(",\"price_per_hour\":");
    AppendNanos(out, r.price_per_hour);
    out.append(",\"price\":");
    AppendNanos(out, r.price);
    out.append(",\"period\":");
    AppendPeriod(out, r.period);
    out.push_back('}');
  }
  out.append("],\"data_transfer_and_storage\":[");
  first = true;
  for (const service::DtsItem& d : items.dts) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"sku\":");
    AppendJsonString(out, d.sku);
    out.append(",\"name\":");
    AppendJsonString(out, d.name);
    out.append(",\"type\":\"");
    out.append(domain::DimensionId(d.dimension));
    out.append("\",\"quantity\":{\"value\":");
    AppendWideInt(out, DtsQuantityValue(d));
    out.append(",\"formatted_value\":");
    std::string quantity;
    AppendThousandths(quantity, d.quantity_milli);
    AppendJsonString(out, WithUnit(std::move(quantity), " ", d.unit));
    const std::string& rate = d.rate;
    out.append("},\"rate\":{\"value\":");
    out.append(rate);  // exact decimal text: a valid JSON number
    out.append(",\"formatted_value\":");
    AppendJsonString(out, WithUnit(rate, " per ", d.unit));
    out.append("},\"cost\":");
    AppendNanos(out, d.cost);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string RenderCredit(const service::Credit& credit) {
  std::string out;
  out.reserve(160 + credit.id.size() + credit.organization_id.size());
  out.append("{\"id\":");
  AppendJsonString(out, credit.id);
  out.append(",\"organization_id\":");
  AppendJsonString(out, credit.organization_id);
  out.append(",\"ecu\":");
  AppendNanos(out, credit.ecu);
  out.append(",\"start\":");
  AppendInstant(out, credit.start);
  out.append(",\"end\":");
  AppendInstant(out, credit.end);
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

std::string RenderFailedReply(std::string_view code, std::string_view message, const std::vector<std::string>& fields) {
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
