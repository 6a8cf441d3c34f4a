#pragma once

#include <string>
#include <string_view>

#include "service/costs_service.hpp"

namespace costs::http {

// CSV encoders (RFC 4180) for the endpoints that offer text/csv. Each writes straight into one
// string: a header row, then one row per entry; every line ends in CRLF. A field holding ',',
// '"', CR or LF is quoted, with embedded quotes doubled; other fields are written as they are.
// Ill-formed UTF-8 becomes U+FFFD, as in the JSON bodies. Numbers are the JSON bodies' exact
// text (domain::FormatNanos for money); a field that does not apply to a row is empty.

// The media type of these bodies.
inline constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

// Appends one field, quoted when it must be.
void AppendCsvField(std::string& out, std::string_view field);

// deployment_id,deployment_name,total_cost,capacity,data_in,data_internode,data_out,
// storage_api,storage_bytes,hourly_rate,period_start,period_end
// One row per deployment, in the service's order; instants RFC 3339 UTC.
std::string RenderDeploymentsCsv(const service::DeploymentsCosts& costs);

// section,sku,name,kind_or_type,instance_count,hours,quantity,unit,rate,price_per_hour,cost,
// period_start,period_end
// One row per item: resources first (section "resource": kind, instance_count, hours,
// price_per_hour, cost = price, period), then data transfer and storage (section
// "data_transfer_and_storage": the dimension id as kind_or_type, the exact quantity (not
// rounded), unit, rate, cost).
std::string RenderItemsCsv(const service::ItemsCosts& items);

}  // namespace costs::http
