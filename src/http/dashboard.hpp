#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/response.hpp"
#include "http/web_asset.hpp"

namespace costs::http {

struct Request;

// The dashboard's static files, served from memory at `/` (index.html) and `/assets/<name>`
// without credentials (web/README.md, src/http/README.md "The dashboard"):
//   GET/HEAD /           (any query string) index.html, Cache-Control: no-cache
//   GET/HEAD /assets/X   asset X, Cache-Control: public, max-age=31536000, immutable
//                        (X holds its content hash); an unknown X is 404 root.not_found
//   another method       405 with Allow: GET, HEAD
// Every answer carries the Content-Security-Policy below, X-Content-Type-Options: nosniff,
// Referrer-Policy: no-referrer and Vary: Accept-Encoding. The gzip bytes are sent
// (Content-Encoding: gzip) when Accept-Encoding allows gzip (AcceptsGzip), else the identity
// bytes. The bytes are copied once, at construction, and shared by every response.
// Thread-safe after construction (const).
class Dashboard {
 public:
  // REQUIRES: one asset named "index.html"; names are unique and never start with '/'.
  explicit Dashboard(std::span<const WebAsset> assets);

  // The answer when `request` asks for a dashboard path (`/`, or `/assets/...`), else nullopt
  // (the API's routing goes on). Looks at method, target and accept_encoding only.
  std::optional<Response> Serve(const Request& request) const;

 private:
  struct Variant {
    std::string content_type;
    std::shared_ptr<const std::string> identity;
    std::shared_ptr<const std::string> gzip;
  };
  Response Answer(const Variant& file, std::string_view cache_control, std::string_view accept_encoding) const;

  std::unordered_map<std::string, Variant> files_;  // by name ("index.html", "assets/...")
};

// The Content-Security-Policy of every dashboard response: scripts, styles, fonts and fetches
// from costsd only, images also from data: URLs, no frames, no <base>, forms to costsd only.
inline constexpr std::string_view kDashboardCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace costs::http
