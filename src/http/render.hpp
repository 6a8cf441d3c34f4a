#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/chart.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/store.hpp"

namespace costs::http {

// JSON encoders for our response bodies. Each writes straight into one string: no DOM, and
// money goes out as the exact decimal of its nano-ECU (domain::FormatNanos), never a double.
// Other exact decimals (rates, quantities) are written as their exact decimal text too.

// Appends `s` as a JSON string literal (with the quotes). Escapes '"', '\\' and every control
// character (U+0000..U+001F, U+007F as \u007f); invalid UTF-8 sequences become U+FFFD, so the
// output is always valid JSON whatever bytes `s` holds.
void AppendJsonString(std::string& out, std::string_view s);

// ChartItems: {"data":[{"timestamp":<Unix seconds of the bucket start, UTC>,
//   "values":[{"id":"..","name":"..","value":<ECU>}]}]}
std::string RenderChart(const domain::Chart& chart);

// ChartItemsV2 (the v2 charts): ChartItems whose values also carry "type", the instance type
// id of their series (chart.series_types[series]): {"id","name","type","value"}.
// REQUIRES: series_types has an entry for every series a value refers to.
std::string RenderTypedChart(const service::TypedChart& chart);

// {"id":"..","name":".."}
std::string RenderOrganization(const service::Organization& org);

// {"organizations":[{"id":"..","name":".."},...]} in the given order.
std::string RenderOrganizations(const std::vector<service::Organization>& orgs);

// The caller of a session request: {"username":"..","is_admin":false,"expires":"<RFC 3339>"},
// "expires" only when given (a session's end; other credentials have none).
std::string RenderSessionCaller(const service::Principal& principal, std::optional<domain::Instant> expires);

// CostsOverview: {"costs":<Costs>,"hourly_rate":<ECU>,"trials":<ECU>,"balance":{"available":<ECU>,
//   "remaining":<ECU>,"line_items":[{"id","ecu_quantity","ecu_balance","start","end"}]}}, where
// Costs is {"total":<ECU>,"dimensions":[{"type":"capacity","cost":<ECU>},...]} with all six
// dimensions in the spec's enum order. "balance" only when the overview has one; instants as
// RFC 3339 UTC (domain::FormatRfc3339).
std::string RenderCostsOverview(const service::CostsOverview& overview);

// DeploymentsCosts: {"total_cost":<ECU>,"deployments":[{"deployment_id","deployment_name",
//   "costs":<Costs>,"hourly_rate":<ECU>,"period":{"start","end"}}]}, in the service's order.
std::string RenderDeploymentsCosts(const service::DeploymentsCosts& costs);

// ItemsCosts: {"costs":<Costs>,
//   "resources":[{"sku","name","kind","instance_count","hours","price_per_hour","price",
//                 "period":{"start","end"}}],
//   "data_transfer_and_storage":[{"sku","name","type":<dimension id>,
//     "quantity":{"value":DtsQuantityValue,"formatted_value":"<exact quantity> <unit>"},
//     "rate":{"value":<exact rate>,"formatted_value":"<rate> per <unit>"},"cost":<ECU>}]}
// (without a unit: "<exact quantity>" and "<rate>"). REQUIRES: every resource has a kind
// (usage validation requires one for capacity).
std::string RenderItemsCosts(const service::ItemsCosts& items);

// The numbers of an item as both the JSON and the CSV encoders write them.
// Whole hours of use: usage_ns / 1 h rounded half-even.
domain::WideNanos ItemHours(const service::ResourceItem& item);
// The instance count, capped at INT32_MAX (the spec's int32).
std::int64_t ItemInstanceCount(const service::ResourceItem& item);
// The quantity in whole units: quantity_milli / 1000 rounded half-even.
domain::WideNanos DtsQuantityValue(const service::DtsItem& item);

// A credit as stored: {"id","organization_id","ecu":<ECU>,"start","end"} (instants RFC 3339 UTC).
std::string RenderCredit(const service::Credit& credit);

// {"stored":N,"duplicates":M}
std::string RenderIngestOutcome(const service::IngestOutcome& outcome);

// BasicFailedReply with one element: {"errors":[{"code":..,"message":..,"fields":[..]}]};
// "fields" is left out when empty.
std::string RenderFailedReply(std::string_view code, std::string_view message, const std::vector<std::string>& fields);

}  // namespace costs::http
