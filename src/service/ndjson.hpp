#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::service {

// Decodes one JSON object (one NDJSON line) into its top-level members, keeping number text
// exactly as written. Nested objects and arrays become RawValue::Type::kComposite.
// kInvalidData (message says why) when the text is not exactly one JSON object.
Result<domain::RawUsage> DecodeJsonObject(std::string_view text);

// Reads `text` when it is a plain flat JSON object: members whose names and string values hold
// no escape, no control character and no byte over 0x7f, numbers without an exponent (at most
// 32 characters), true, false and null; whitespace around any token. Then it sets `out` to
// DecodeJsonObject's members, as views into `text` (true, false and null as DecodeJsonObject
// writes them), and returns true. Returns false, leaving `out` unspecified, for anything else
// (valid JSON included): such text must go through DecodeJsonObject.
bool DecodeFlatJsonObject(std::string_view text, std::vector<domain::RawField>& out);

// Decodes NDJSON lines, one JSON object each, into their top-level members: by
// DecodeFlatJsonObject when it can, else by DecodeJsonObject, so that members and errors are
// DecodeJsonObject's. Reuses its buffers from line to line. Not thread-safe: one per thread.
class JsonLineDecoder {
 public:
  // The members of `line`, as views into `line` or into this decoder, valid until the next
  // Decode and while `line` lives. Errors as DecodeJsonObject.
  Result<std::span<const domain::RawField>> Decode(std::string_view line);

 private:
  std::vector<domain::RawField> fields_;
  domain::RawUsage decoded_;  // the members of a line DecodeFlatJsonObject could not read
};

}  // namespace costs::service
