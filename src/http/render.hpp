#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/chart.hpp"
#include "service/store.hpp"

namespace costs::http {

// JSON encoders for our response bodies. Each writes straight into one string: no DOM, and
// money goes out as the exact decimal of its nano-ECU (domain::FormatNanos), never a double.

// Appends `s` as a JSON string literal (with the quotes). Escapes '"', '\\' and every control
// character (U+0000..U+001F, U+007F as \u007f); invalid UTF-8 sequences become U+FFFD, so the
// output is always valid JSON whatever bytes `s` holds.
void AppendJsonString(std::string& out, std::string_view s);

// ChartItems: {"data":[{"timestamp":<Unix seconds of the bucket start, UTC>,
//   "values":[{"id":"..","name":"..","value":<ECU>}]}]}
std::string RenderChart(const domain::Chart& chart);

// {"id":"..","name":".."}
std::string RenderOrganization(const service::Organization& org);

// {"stored":N,"duplicates":M}
std::string RenderIngestOutcome(const service::IngestOutcome& outcome);

// BasicFailedReply with one element: {"errors":[{"code":..,"message":..,"fields":[..]}]};
// "fields" is left out when empty.
std::string RenderFailedReply(std::string_view code, std::string_view message,
                              const std::vector<std::string>& fields);

}  // namespace costs::http
