#pragma once

#include <cstddef>
#include <string_view>

#include "domain/ascii.hpp"

namespace costs::http {

// ASCII-only helpers for HTTP tokens (header names, schemes, media types).

using domain::AsciiLower;
using domain::EqualsIgnoreCase;

// Strips HTTP optional whitespace (SP, HTAB) from both ends.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a Content-Type names an NDJSON body: application/x-ndjson or application/jsonl,
// case-insensitive, parameters (";charset=utf-8") allowed.
inline bool IsNdjsonMediaType(std::string_view content_type) {
  const std::string_view media_type = TrimOws(content_type.substr(0, content_type.find(';')));
  return EqualsIgnoreCase(media_type, "application/x-ndjson") || EqualsIgnoreCase(media_type, "application/jsonl");
}

// Whether a Content-Type names a JSON body: application/json, case-insensitive, parameters
// allowed.
inline bool IsJsonMediaType(std::string_view content_type) {
  return EqualsIgnoreCase(TrimOws(content_type.substr(0, content_type.find(';'))), "application/json");
}

}  // namespace costs::http
