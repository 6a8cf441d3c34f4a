#include "http/dashboard.hpp"

#include <cassert>
#include <utility>

#include "http/accept.hpp"
#include "http/errors.hpp"
#include "http/handler.hpp"

namespace costs::http {
namespace {

constexpr std::string_view kAssetsPrefix = "/assets/";
constexpr std::string_view kIndexName = "index.html";

// The headers every dashboard answer carries, errors included.
void AddSecurityHeaders(Response& res) {
  res.headers.emplace_back("Content-Security-Policy", std::string(kDashboardCsp));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Vary", "Accept-Encoding");
}

Response Refusal(const Error& error, std::string_view allow = "GET, HEAD") {
  ErrorExtras extras;
  extras.allow = allow;
  Response res = MakeErrorResponse(error, extras);
  AddSecurityHeaders(res);
  return res;
}

}  // namespace

Dashboard::Dashboard(std::span<const WebAsset> assets) {
  for (const WebAsset& asset : assets) {
    assert(!asset.name.empty() && asset.name.front() != '/');
    Variant file{std::string(asset.content_type), std::make_shared<const std::string>(asset.identity),
                 std::make_shared<const std::string>(asset.gzip)};
    const bool inserted = files_.emplace(std::string(asset.name), std::move(file)).second;
    assert(inserted);
    (void)inserted;
  }
  assert(files_.contains(std::string(kIndexName)));
}

std::optional<Response> Dashboard::Serve(const Request& request) const {
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  const bool index = path == "/";
  if (!index && !path.starts_with(kAssetsPrefix)) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    return Refusal(MakeError(ErrorCode::kMethodNotAllowed, "The method is not allowed on this path."));
  }
  // "/" is index.html; "/assets/X" the asset "assets/X" (index.html is not one of them).
  const auto found = files_.find(index ? std::string(kIndexName) : std::string(path.substr(1)));
  if (found == files_.end()) return Refusal(MakeError(ErrorCode::kNotFound, "There is no such file."));
  return Answer(found->second, index ? "no-cache" : "public, max-age=31536000, immutable", request.accept_encoding);
}

Response Dashboard::Answer(const Variant& file, std::string_view cache_control,
                           std::string_view accept_encoding) const {
  Response res;
  res.content_type = file.content_type;
  const bool gzip = AcceptsGzip(accept_encoding);
  res.shared_body = gzip ? file.gzip : file.identity;
  res.headers.emplace_back("Cache-Control", std::string(cache_control));
  if (gzip) res.headers.emplace_back("Content-Encoding", "gzip");
  AddSecurityHeaders(res);
  return res;
}

}  // namespace costs::http
