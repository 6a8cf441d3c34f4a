#pragma once

// Starting a session on an accepted connection: plain (plain_session.cpp) or TLS
// (tls_session.cpp). Keeps Beast's session and SSL code out of the listener's TU.

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "http/registry.hpp"
#include "http/tls.hpp"

namespace costs::http {

// REQUIRES: registry->limits().Reserve(peer) admitted this connection; the session releases it.
void StartPlainSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer);
// The same over TLS: a handshake with `context` (kept by the session for its life) first.
void StartTlsSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer,
                     std::shared_ptr<TlsContext> context);

}  // namespace costs::http
