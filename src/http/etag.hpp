#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/body_cache.hpp"

namespace costs::http {

// Entity tags of the billing GETs (RFC 9110, section 8.8.3) and If-None-Match (section 13.1.2).
//
// A tag names what a successful body is a function of, computed after authorization and
// before any data is read: the BodyKey (endpoint, organization, deployment, resolved range,
// strategy, v2 option, representation, and the organization's data version, which moves on
// every ingest and credit of the organization), plus, for answers that depend on the current
// time (the overview's balance, the credits' line items), the instant the request was resolved
// at. The version and instants are written in full, so two requests of one URL that differ in
// any of them never share a tag; the organization and deployment ids enter as a 64-bit FNV-1a
// digest (stable across builds and replicas). A strong tag, quoted: "…".
std::string EntityTagOf(const BodyKey& key, std::optional<std::int64_t> now_ns = std::nullopt);

// The tag of an organization lookup: organizations are never renamed or deleted, so its body
// alone names it.
std::string EntityTagOfBody(std::string_view body);

// Whether an If-None-Match value names `etag` (a tag as EntityTagOf writes it): `*`, or a list
// of entity-tags one of which matches by the weak comparison (W/ ignored). Malformed elements
// match nothing; an absent or empty header matches nothing. A match means 304 Not Modified.
bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag);

}  // namespace costs::http
