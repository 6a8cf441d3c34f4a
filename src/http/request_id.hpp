#pragma once

#include <string>
#include <string_view>

namespace costs::http {

// A fresh request id: a random per-process prefix and a counter ("5e3f9c1a7b02-0000000042"),
// unique within the process and very likely across processes. Thread-safe.
std::string NewRequestId();

// Whether a client-sent x-request-id may be echoed: 1..64 characters of [A-Za-z0-9._-].
bool IsSaneRequestId(std::string_view id);

}  // namespace costs::http
