#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace costs::http {

// The representations a response body can take.
enum class Format {
  kJson,  // application/json
  kCsv,   // text/csv; charset=utf-8 (only where an endpoint offers it)
};

// The media type (without parameters) a format is matched as: "application/json", "text/csv".
std::string_view MediaTypeOf(Format format);

// Proactive negotiation on an Accept header (RFC 9110, section 12.5.1) among `offers`, given in
// the server's order of preference. An absent or blank header accepts anything: offers[0].
// Otherwise each offer gets the quality of the most specific media range that matches it
// ("type/subtype" over "type/*" over "*/*"; type and subtype case-insensitive; media type
// parameters other than q ignored); an offer no range matches, or whose range says q=0, is not
// acceptable. The offer with the highest quality wins; ties go to the more specific match, then
// to the range written first, then to the server's order. Malformed elements (no '/', "*/x",
// a q outside 0..1 or with more than 3 decimals) are skipped; a header of nothing but malformed
// elements counts as absent. For real clients, a bare "*" means "*/*" and "q=.2" means q=0.2.
// nullopt when no offer is acceptable (406). REQUIRES: offers is non-empty.
std::optional<Format> NegotiateFormat(std::string_view accept, std::span<const Format> offers);

// Whether an Accept-Encoding value (RFC 9110, section 12.5.3) takes gzip: `gzip` (or `x-gzip`)
// named with a q above 0, or, when neither is named, `*` with a q above 0. Codings are
// case-insensitive; no q means q=1; an element with a malformed q is skipped. Absent or empty:
// false (the identity bytes).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace costs::http
