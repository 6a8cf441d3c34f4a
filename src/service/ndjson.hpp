#pragma once

#include <string_view>

#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::service {

// Decodes one JSON object (one NDJSON line) into its top-level members, keeping number text
// exactly as written. Nested objects and arrays become RawValue::Type::kComposite.
// kInvalidData (message says why) when the text is not exactly one JSON object.
Result<domain::RawUsage> DecodeJsonObject(std::string_view text);

}  // namespace costs::service
