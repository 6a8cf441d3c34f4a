#include "http/wire_response.hpp"

#include <boost/beast/http/status.hpp>

#include "http/body_text.hpp"

namespace costs::http {

namespace bhttp = boost::beast::http;

WireResponse ToWire(Response&& r, unsigned version, bool keep_alive, const std::string& request_id, bool head) {
  WireResponse out;
  out.body = r.shared_body ? std::move(r.shared_body) : std::make_shared<const std::string>(std::move(r.body));
  const auto status = static_cast<bhttp::status>(r.status);
  const std::string_view reason = bhttp::obsolete_reason(status);
  std::string& h = out.head;
  h.reserve(160 + r.content_type.size() + request_id.size() + reason.size());
  h.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  AppendInt(h, r.status);
  h.push_back(' ');
  h.append(reason);
  h.append("\r\nServer: costs\r\n");
  if (!r.content_type.empty()) {  // a 204 has no content
    h.append("Content-Type: ");
    h.append(r.content_type);
    h.append("\r\n");
  }
  h.append("x-request-id: ");
  h.append(request_id);
  h.append("\r\n");
  for (const auto& [name, value] : r.headers) {
    h.append(name);
    h.append(": ");
    h.append(value);
    h.append("\r\n");
  }
  // 1xx, 204 and 304 responses have no body and no Content-Length.
  const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  if (!bodiless) {
    h.append("Content-Length: ");
    AppendInt(h, static_cast<std::int64_t>(out.body->size()));
    h.append("\r\n");
  }
  if (version == 10 && keep_alive) h.append("Connection: keep-alive\r\n");
  if (version != 10 && !keep_alive) h.append("Connection: close\r\n");
  h.append("\r\n");
  if (head || bodiless) out.body = nullptr;
  out.close = !keep_alive;
  return out;
}

}  // namespace costs::http
