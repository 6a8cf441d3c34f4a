#pragma once

// A handler's Response as the bytes a session writes: its status line and header fields as one
// string, and its body shared, never copied.

#include <memory>
#include <string>

#include "http/response.hpp"

namespace costs::http {

// The body's bytes are shared (the response holds a reference, so they live until the write
// completes, however many other responses and the BodyCache share them).
struct WireResponse {
  std::string head;
  std::shared_ptr<const std::string> body;  // null: no body on the wire (HEAD)
  bool close = false;                       // close the connection once it is written
};

// Serializes `r` for an HTTP/1.`version % 10` client, adding what every response carries
// (Server, x-request-id, Content-Length, Connection). A response to HEAD (`head`) keeps its
// Content-Length but sends no body; 1xx, 204 and 304 have neither. Keep-alive follows HTTP/1.0
// and 1.1 rules ("Connection: keep-alive" to a 1.0 client that keeps the connection, "close"
// to a 1.1 client that does not).
WireResponse ToWire(Response&& r, unsigned version, bool keep_alive, const std::string& request_id, bool head = false);

}  // namespace costs::http
