#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "service/instance_costs.hpp"

// JSON bodies of the Billing API v2 operations (billing-v2.swagger.json) and of
// GET /api/v1/billing/organization/{org}/line_items, written straight into one string like
// render.hpp's: money as the exact decimal of its nano-ECU, quantities as the exact decimal of
// their thousandths, rates as their exact decimal text, all as JSON numbers (no exponent, no
// trailing zeros, never a double). The v2 charts are RenderTypedChart (render.hpp).
namespace costs::http {

// An exact decimal text ("-1234567.5") with its integer part grouped by thousands
// ("-1,234,567.5"); the fraction is left as it is. REQUIRES: `text` is an optional '-', digits,
// and optionally '.' and digits (what FormatWideNanos, FormatDecimal and AppendThousandths write).
std::string GroupThousands(std::string_view text);

// A Quantity's formatted_value: the exact quantity (thousandths) grouped by thousands, then
// " " and the unit when there is one: "1,234.5 instance-hour", "0.001".
std::string FormattedQuantity(domain::WideNanos quantity_milli, std::string_view unit);

// A Rate's formatted_value: the exact rate grouped by thousands, " ECU", then " per " and the
// unit when there is one: "0.0913 ECU per instance-hour", "1,200 ECU".
std::string FormattedRate(std::string_view rate, std::string_view unit);

// Instances: {"total_ecu":..,"instances":[{"id","name","type":<instance type id>,"total_ecu",
//   "product_line_items":[<ProductLineItem>...]}]}; "instances" is [] when there are none
// (never null). ProductLineItem: {"name","total_ecu","type":<dimension id>,"sku","unit",
//   "kind":<capacity kind id>|null,"quantity":<Quantity>,"display_quantity":<Quantity>+
//   "type":"default","rate":{"value":<rate>,"formatted_value"},"quantities":[{"from","to"
//   (RFC 3339 UTC),"total_ecu","quantity":<Quantity>,"rate":<Rate>,"tiers":[]}]}, where
// Quantity is {"value":<quantity_milli / 1000, exact>,"formatted_value":FormattedQuantity}.
std::string RenderInstancesCosts(const service::InstancesCosts& costs);

// Items: {"total_ecu":..,"products":[{"type","total_ecu","product_line_items":[...]}]}.
std::string RenderProductsCosts(const service::ProductsCosts& costs);

// line_items: a bare array [{"id","start","end" (RFC 3339 UTC),"ecu_quantity","ecu_balance",
//   "active":true|false,"type":"prepaid_consumption"}], in the service's order.
std::string RenderCreditLines(const std::vector<service::CreditLine>& lines);

}  // namespace costs::http
