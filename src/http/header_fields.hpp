#pragma once

// What the session itself reads of a request's header fields, before any handler: whether its
// framing can be trusted, and the X-Forwarded-For chain. Included by server.cpp only (Beast).

#include <boost/beast/http/fields.hpp>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace costs::http {

// Header fields a request may carry at most.
inline constexpr std::size_t kMaxHeaderFields = 100;

// Why a request's framing cannot be trusted, from its header (`chunked`: the parser read it as
// chunked): a Transfer-Encoding other than exactly "chunked" (RFC 9112 6.3: a request whose
// last coding is not chunked has no determinable length, and we decode no other coding), or
// more than kMaxHeaderFields fields. Such a request is answered 400 and its connection closed,
// its body never read. nullopt when the framing is sound.
std::optional<Error> CheckFraming(const boost::beast::http::fields& fields, bool chunked);

// Every X-Forwarded-For line of a request, in order, as one list (a proxy may append its own
// line after the client's).
std::string ForwardedFor(const boost::beast::http::fields& fields);

// Whether X-Forwarded-Proto says https (case-insensitive). In a list such as "http, https" only
// the last element counts: the hop of the trusted proxy, which appends its own (what comes
// before it may be the client's claim). Only a trusted proxy's word counts: the caller checks
// the peer.
bool ForwardedHttps(const boost::beast::http::fields& fields);

}  // namespace costs::http
