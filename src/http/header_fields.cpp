#include "http/header_fields.hpp"

#include <boost/beast/core/string.hpp>
#include <string_view>

#include "http/text.hpp"

namespace costs::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Error> CheckFraming(const bhttp::fields& req, bool chunked) {
  std::size_t fields = 0;
  bool transfer_encoding = false;
  for (const auto& field : req) {
    ++fields;
    if (field.name() == bhttp::field::transfer_encoding) transfer_encoding = true;
  }
  if (fields > kMaxHeaderFields) {
    return MakeError(ErrorCode::kInvalidData,
                     "The request has more than " + std::to_string(kMaxHeaderFields) + " header fields.");
  }
  if (transfer_encoding && (!chunked || !beast::iequals(Trimmed(req[bhttp::field::transfer_encoding]), "chunked") ||
                            req.count(bhttp::field::transfer_encoding) != 1)) {
    return MakeError(ErrorCode::kInvalidData, "Transfer-Encoding must be chunked (no other coding is accepted).",
                     {"Transfer-Encoding"});
  }
  return std::nullopt;
}

std::string ForwardedFor(const bhttp::fields& fields) {
  std::string joined;
  for (const auto& field : fields) {
    if (!beast::iequals(field.name_string(), "X-Forwarded-For")) continue;
    if (!joined.empty()) joined.append(", ");
    joined.append(field.value());
  }
  return joined;
}

bool ForwardedHttps(const bhttp::fields& fields) {
  // A proxy appends its own hop: the last element is the trusted proxy's word.
  const std::string_view proto = fields["X-Forwarded-Proto"];
  const std::size_t comma = proto.rfind(',');
  return beast::iequals(TrimOws(comma == std::string_view::npos ? proto : proto.substr(comma + 1)), "https");
}

}  // namespace costs::http
