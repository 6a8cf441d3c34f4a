#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "http/route_label.hpp"
#include "http/text.hpp"

namespace costs::http {

// A response as the handlers produce it, before the session turns it into Beast's type and
// adds what every response carries (x-request-id, Server, Content-Length, Connection).
struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in order
  std::string body;
  // When set, the body is these bytes instead of `body` (which is then empty): a rendered body
  // shared with the BodyCache and other responses, written without being copied.
  std::shared_ptr<const std::string> shared_body;

  // For the access log; not sent.
  std::string principal;       // the authenticated caller, empty when there is none
  std::optional<Error> error;  // set on error responses
  // For the access log and the metrics: the route template's index (route_label.hpp).
  std::size_t route = kUnmatchedRoute;

  // The body's bytes, wherever they live. Valid as long as this response (or the shared
  // bytes) is.
  std::string_view BodyView() const { return shared_body ? std::string_view(*shared_body) : std::string_view(body); }

  // The value of header `name` (case-insensitive), or nullptr.
  const std::string* FindHeader(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (EqualsIgnoreCase(key, name)) return &value;
    }
    return nullptr;
  }
};

}  // namespace costs::http
