#include "http/csv.hpp"

#include "domain/time.hpp"
#include "http/body_text.hpp"
#include "http/render.hpp"

namespace costs::http {
namespace {

bool NeedsQuotes(std::string_view field) { return field.find_first_of(",\"\r\n") != std::string_view::npos; }

// Appends `s` with ill-formed UTF-8 bytes replaced and (when `quoted`) '"' doubled.
void AppendText(std::string& out, std::string_view s, bool quoted) {
  std::size_t run = 0;
  std::size_t i = 0;
  const auto flush = [&] { out.append(s.data() + run, i - run); };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const std::size_t n = Utf8SequenceLength(s, i); n != 0) {
        i += n;
        continue;
      }
      flush();
      out.append(kReplacementCharacter);
      run = ++i;
      continue;
    }
    if (c == '"' && quoted) {
      ++i;
      flush();  // the quote itself
      out.push_back('"');
      run = i;
      continue;
    }
    ++i;
  }
  flush();
}

class Row {
 public:
  explicit Row(std::string& out) : out_(out) {}
  ~Row() { out_.append("\r\n"); }
  Row(const Row&) = delete;
  Row& operator=(const Row&) = delete;

  Row& Text(std::string_view s) {
    Sep();
    AppendCsvField(out_, s);
    return *this;
  }
  Row& Nanos(domain::WideNanos n) {
    Sep();
    AppendNanos(out_, n);
    return *this;
  }
  Row& WideInt(domain::WideNanos v) {
    Sep();
    AppendWideInt(out_, v);
    return *this;
  }
  Row& Int(std::int64_t v) {
    Sep();
    AppendInt(out_, v);
    return *this;
  }
  Row& Thousandths(domain::WideNanos milli) {
    Sep();
    AppendThousandths(out_, milli);
    return *this;
  }
  Row& Instant(domain::Instant t) {
    Sep();
    out_.append(domain::FormatRfc3339(t));  // never needs quotes
    return *this;
  }
  Row& Empty(int count = 1) {
    for (int i = 0; i < count; ++i) Sep();
    return *this;
  }

 private:
  void Sep() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace

void AppendCsvField(std::string& out, std::string_view field) {
  if (!NeedsQuotes(field)) {
    AppendText(out, field, false);
    return;
  }
  out.push_back('"');
  AppendText(out, field, true);
  out.push_back('"');
}

std::string RenderDeploymentsCsv(const service::DeploymentsCosts& costs) {
  std::string out;
  std::size_t estimate = 160;
  for (const service::DeploymentCosts& d : costs.deployments) estimate += 240 + d.id.size() + d.name.size();
  out.reserve(estimate);
  out.append(
      "deployment_id,deployment_name,total_cost,capacity,data_in,data_internode,data_out,storage_api,"
      "storage_bytes,hourly_rate,period_start,period_end\r\n");
  for (const service::DeploymentCosts& d : costs.deployments) {
    Row row(out);
    row.Text(d.id).Text(d.name).Nanos(d.costs.total);
    for (const domain::WideNanos cost : d.costs.by_dimension) row.Nanos(cost);
    row.Nanos(d.hourly_rate).Instant(d.period.from).Instant(d.period.to);
  }
  return out;
}

std::string RenderItemsCsv(const service::ItemsCosts& items) {
  std::string out;
  std::size_t estimate = 160;
  for (const service::ResourceItem& r : items.resources) estimate += 200 + r.sku.size() + r.name.size();
  for (const service::DtsItem& d : items.dts) estimate += 160 + d.sku.size() + d.name.size() + d.unit.size();
  out.reserve(estimate);
  out.append(
      "section,sku,name,kind_or_type,instance_count,hours,quantity,unit,rate,price_per_hour,cost,period_start,"
      "period_end\r\n");
  for (const service::ResourceItem& r : items.resources) {
    Row row(out);
    row.Text("resource").Text(r.sku).Text(r.name).Text(r.kind).Int(ItemInstanceCount(r)).WideInt(ItemHours(r));
    row.Empty(3).Nanos(r.price_per_hour).Nanos(r.price).Instant(r.period.from).Instant(r.period.to);
  }
  for (const service::DtsItem& d : items.dts) {
    Row row(out);
    row.Text("data_transfer_and_storage").Text(d.sku).Text(d.name).Text(domain::DimensionId(d.dimension));
    row.Empty(2).Thousandths(d.quantity_milli).Text(d.unit).Text(d.rate);
    row.Empty().Nanos(d.cost).Empty(2);
  }
  return out;
}

}  // namespace costs::http
