#include "service/ndjson.hpp"

#include <boost/json/basic_parser_impl.hpp>

namespace costs::service {
namespace {

using boost::json::error_code;
using domain::RawValue;

// A SAX handler that flattens the top-level object and keeps number text exact.
class FlatObjectHandler {
 public:
  static constexpr std::size_t max_object_size = 4096;
  static constexpr std::size_t max_array_size = 4096;
  static constexpr std::size_t max_key_size = 4096;
  static constexpr std::size_t max_string_size = 1 << 20;

  domain::RawUsage members;
  bool top_is_object = false;

  // Room for a full usage record's members without regrowing.
  FlatObjectHandler() { members.reserve(16); }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth_ == 0) top_is_object = true;
    if (depth_ == 1) Value(RawValue::Type::kComposite, {});
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(error_code&) {
    if (depth_ == 1) Value(RawValue::Type::kComposite, {});
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, error_code&) {
    if (depth_ == 1) {
      key_.append(s.data(), s.size());
      members.emplace_back(std::move(key_), RawValue{});
      key_.clear();
    }
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, error_code&) {
    if (depth_ == 1) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, error_code&) {
    return Scalar(RawValue::Type::kString, s);
  }
  bool on_number_part(boost::json::string_view s, error_code&) {
    if (depth_ == 1) text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view s, error_code&) { return Scalar(RawValue::Type::kNumber, s); }
  bool on_uint64(std::uint64_t, boost::json::string_view s, error_code&) {
    return Scalar(RawValue::Type::kNumber, s);
  }
  bool on_double(double, boost::json::string_view s, error_code&) { return Scalar(RawValue::Type::kNumber, s); }
  bool on_bool(bool b, error_code&) {
    if (depth_ == 1) Value(RawValue::Type::kBool, b ? "true" : "false");
    return true;
  }
  bool on_null(error_code&) {
    if (depth_ == 1) Value(RawValue::Type::kNull, {});
    return true;
  }
  bool on_comment_part(boost::json::string_view, error_code&) { return true; }
  bool on_comment(boost::json::string_view, error_code&) { return true; }

 private:
  bool Scalar(RawValue::Type type, boost::json::string_view last_part) {
    if (depth_ == 1) {
      text_.append(last_part.data(), last_part.size());
      Value(type, std::move(text_));
    }
    text_.clear();
    return true;
  }
  void Value(RawValue::Type type, std::string text) {
    if (!members.empty()) {
      members.back().second.type = type;
      members.back().second.text = std::move(text);
    }
  }

  int depth_ = 0;
  std::string key_;
  std::string text_;
};

}  // namespace

Result<domain::RawUsage> DecodeJsonObject(std::string_view text) {
  boost::json::basic_parser<FlatObjectHandler> parser{boost::json::parse_options{}};
  error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) return MakeError(ErrorCode::kInvalidData, "is not valid JSON (" + ec.message() + ")");
  // Only whitespace may follow the object.
  for (std::size_t i = used; i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return MakeError(ErrorCode::kInvalidData, "has text after the JSON object");
    }
  }
  if (!parser.handler().top_is_object) return MakeError(ErrorCode::kInvalidData, "is not a JSON object");
  return std::move(parser.handler().members);
}

}  // namespace costs::service
