#pragma once

// One answered request: its access-log line and its count in the metrics.

#include <chrono>
#include <string_view>

#include "http/response.hpp"
#include "http/server.hpp"

namespace costs::http {

struct AccessLine {
  std::string_view request_id;
  std::string_view client;  // the client's address
  std::string_view method;  // "-" for a request we could not read
  std::string_view target;
  std::chrono::microseconds duration{0};
};

// Counts `response` in services.metrics (by its route template, the method and status) and
// logs it at info: the text line "ID CLIENT \"METHOD TARGET\" STATUS BYTESB DURATIONus
// principal=NAME", with the fields in a common::AccessRecord for a structured format. The
// target of a request nobody signed in for is cut to 256 bytes (anyone may send 16 KiB of
// it). A server error is logged again, at error, with its message.
void LogAccess(const Services& services, const AccessLine& line, const Response& response);

}  // namespace costs::http
