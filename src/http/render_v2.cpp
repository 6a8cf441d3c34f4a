#include "http/render_v2.hpp"

#include <algorithm>
#include <cassert>

#include "domain/time.hpp"
#include "domain/usage.hpp"
#include "http/body_text.hpp"
#include "http/render.hpp"

namespace costs::http {

std::string GroupThousands(std::string_view text) {
  const std::size_t sign = !text.empty() && text.front() == '-' ? 1 : 0;
  const std::size_t point = std::min(text.find('.'), text.size());
  const std::size_t digits = point - sign;
  std::string out;
  out.reserve(text.size() + digits / 3);
  out.append(text.substr(0, sign));
  for (std::size_t i = 0; i < digits; ++i) {
    if (i != 0 && (digits - i) % 3 == 0) out.push_back(',');
    out.push_back(text[sign + i]);
  }
  out.append(text.substr(point));
  return out;
}

std::string FormattedQuantity(domain::WideNanos quantity_milli, std::string_view unit) {
  std::string exact;
  AppendThousandths(exact, quantity_milli);
  std::string out = GroupThousands(exact);
  if (!unit.empty()) {
    out.push_back(' ');
    out.append(unit);
  }
  return out;
}

std::string FormattedRate(std::string_view rate, std::string_view unit) {
  std::string out = GroupThousands(rate);
  out.append(" ECU");
  if (!unit.empty()) {
    out.append(" per ");
    out.append(unit);
  }
  return out;
}

namespace {

void AppendInstant(std::string& out, domain::Instant t) { AppendJsonString(out, domain::FormatRfc3339(t)); }

// {"value":<exact quantity>,"formatted_value":".."}, without the closing brace (DisplayQuantity
// adds its "type").
void AppendQuantityMembers(std::string& out, domain::WideNanos quantity_milli, std::string_view unit) {
  out.append("{\"value\":");
  AppendThousandths(out, quantity_milli);
  out.append(",\"formatted_value\":");
  AppendJsonString(out, FormattedQuantity(quantity_milli, unit));
}

void AppendRate(std::string& out, std::string_view rate, std::string_view unit) {
  assert(!rate.empty() && "the service always names a rate");
  out.append("{\"value\":");
  out.append(rate);  // exact decimal text (FormatDecimal or FormatWideNanos): a valid JSON number
  out.append(",\"formatted_value\":");
  AppendJsonString(out, FormattedRate(rate, unit));
  out.push_back('}');
}

void AppendSegment(std::string& out, const service::RateSegment& segment, std::string_view unit) {
  out.append("{\"from\":");
  AppendInstant(out, segment.period.from);
  out.append(",\"to\":");
  AppendInstant(out, segment.period.to);
  out.append(",\"total_ecu\":");
  AppendNanos(out, segment.cost);
  out.append(",\"quantity\":");
  AppendQuantityMembers(out, segment.quantity_milli, unit);
  out.append("},\"rate\":");
  AppendRate(out, segment.rate, unit);
  out.append(",\"tiers\":[]}");
}

void AppendLine(std::string& out, const service::ProductLine& line) {
  out.append("{\"name\":");
  AppendJsonString(out, line.name);
  out.append(",\"total_ecu\":");
  AppendNanos(out, line.cost);
  out.append(",\"type\":\"");
  out.append(domain::DimensionId(line.dimension));  // plain ASCII ids
  out.append("\",\"sku\":");
  AppendJsonString(out, line.sku);
  out.append(",\"unit\":");
  AppendJsonString(out, line.unit);
  out.append(",\"kind\":");
  if (line.kind.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, line.kind);
  }
  out.append(",\"quantity\":");
  AppendQuantityMembers(out, line.quantity_milli, line.unit);
  out.append("},\"display_quantity\":");
  AppendQuantityMembers(out, line.quantity_milli, line.unit);
  out.append(",\"type\":\"default\"},\"rate\":");
  AppendRate(out, line.rate, line.unit);
  out.append(",\"quantities\":[");
  for (std::size_t i = 0; i < line.segments.size(); ++i) {
    if (i != 0) out.push_back(',');
    AppendSegment(out, line.segments[i], line.unit);
  }
  out.append("]}");
}

void AppendLines(std::string& out, const std::vector<service::ProductLine>& lines) {
  out.append("\"product_line_items\":[");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i != 0) out.push_back(',');
    AppendLine(out, lines[i]);
  }
  out.push_back(']');
}

// Room for a body: a fixed part per line and segment plus its strings.
std::size_t EstimateLines(const std::vector<service::ProductLine>& lines) {
  std::size_t n = 0;
  for (const service::ProductLine& line : lines) {
    n += 480 + line.name.size() + line.sku.size() + line.kind.size() + 3 * line.unit.size();
    n += line.segments.size() * (320 + 2 * line.unit.size());
  }
  return n;
}

// {"total_ecu":<total>,"<member>":[{<head>,"total_ecu":..,"product_line_items":[..]},..]}: the
// Instances and Items bodies, whose groups (instances, products) differ only in their head.
template <class Group, class Head>
std::string RenderGroups(domain::WideNanos total, std::string_view member, const std::vector<Group>& groups,
                         Head head) {
  std::size_t estimate = 48;
  for (const Group& group : groups) estimate += 160 + EstimateLines(group.lines);
  std::string out;
  out.reserve(estimate);
  out.append("{\"total_ecu\":");
  AppendNanos(out, total);
  out.append(",\"");
  out.append(member);
  out.append("\":[");
  bool first = true;
  for (const Group& group : groups) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('{');
    head(out, group);
    out.append(",\"total_ecu\":");
    AppendNanos(out, group.total);
    out.push_back(',');
    AppendLines(out, group.lines);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

}  // namespace

std::string RenderInstancesCosts(const service::InstancesCosts& costs) {
  return RenderGroups(costs.total, "instances", costs.instances,
                      [](std::string& out, const service::InstanceCosts& instance) {
                        out.append("\"id\":");
                        AppendJsonString(out, instance.id);
                        out.append(",\"name\":");
                        AppendJsonString(out, instance.name);
                        out.append(",\"type\":\"");
                        out.append(domain::InstanceTypeId(instance.type));  // plain ASCII ids
                        out.push_back('"');
                      });
}

std::string RenderProductsCosts(const service::ProductsCosts& costs) {
  return RenderGroups(costs.total, "products", costs.products, [](std::string& out, const service::ProductCosts& p) {
    out.append("\"type\":");
    AppendJsonString(out, p.type);
  });
}

std::string RenderCreditLines(const std::vector<service::CreditLine>& lines) {
  std::string out;
  out.reserve(2 + lines.size() * 200);
  out.push_back('[');
  bool first = true;
  for (const service::CreditLine& line : lines) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"id\":");
    AppendJsonString(out, line.credit.id);
    out.append(",\"start\":");
    AppendInstant(out, line.credit.start);
    out.append(",\"end\":");
    AppendInstant(out, line.credit.end);
    out.append(",\"ecu_quantity\":");
    AppendNanos(out, line.credit.ecu);
    out.append(",\"ecu_balance\":");
    AppendNanos(out, line.balance);
    out.append(line.active ? ",\"active\":true" : ",\"active\":false");
    out.append(",\"type\":\"prepaid_consumption\"}");
  }
  out.push_back(']');
  return out;
}

}  // namespace costs::http
