#include "service/ndjson.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <cstring>

namespace costs::service {
namespace {

using boost::json::error_code;
using domain::RawValue;

// Limits of one decoded object (Boost.JSON reports text over them as an error).
constexpr std::size_t kMaxMembers = 4096;
constexpr std::size_t kMaxKeySize = 4096;
constexpr std::size_t kMaxStringSize = 1 << 20;
// Numbers DecodeFlatJsonObject reads; longer ones (valid or not) go to Boost.JSON.
constexpr std::size_t kMaxFlatNumberSize = 32;

// A SAX handler that flattens the top-level object and keeps number text exact.
class FlatObjectHandler {
 public:
  static constexpr std::size_t max_object_size = kMaxMembers;
  static constexpr std::size_t max_array_size = 4096;
  static constexpr std::size_t max_key_size = kMaxKeySize;
  static constexpr std::size_t max_string_size = kMaxStringSize;

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
  bool on_string(boost::json::string_view s, std::size_t, error_code&) { return Scalar(RawValue::Type::kString, s); }
  bool on_number_part(boost::json::string_view s, error_code&) {
    if (depth_ == 1) text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view s, error_code&) { return Scalar(RawValue::Type::kNumber, s); }
  bool on_uint64(std::uint64_t, boost::json::string_view s, error_code&) { return Scalar(RawValue::Type::kNumber, s); }
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

// Whether any of the 8 bytes in `w` may be a '"', a '\\', a control character (< 0x20) or over
// 0x7f: never false when one is ("Bit Twiddling Hacks": haszero, hasless); a rare false true
// only sends the bytes to the byte-by-byte loop.
bool NeedsLook(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHigh = 0x8080808080808080;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return (has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) | below_space | (w & kHigh)) != 0;
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads the flat objects DecodeFlatJsonObject accepts; every method returns false on anything
// else, and then the caller falls back to Boost.JSON.
class FlatReader {
 public:
  explicit FlatReader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool Object(std::vector<domain::RawField>& out) {
    out.clear();
    SkipSpace();
    if (!Consume('{')) return false;
    SkipSpace();
    if (!Consume('}')) {
      while (true) {
        domain::RawField& f = out.emplace_back();
        if (out.size() > kMaxMembers || !String(kMaxKeySize, f.name)) return false;
        SkipSpace();
        if (!Consume(':')) return false;
        SkipSpace();
        if (!Value(f)) return false;
        SkipSpace();
        if (Consume(',')) {
          SkipSpace();
          continue;
        }
        if (Consume('}')) break;
        return false;
      }
    }
    SkipSpace();
    return p_ == end_;
  }

 private:
  void SkipSpace() {
    while (p_ != end_ && IsJsonSpace(*p_)) ++p_;
  }
  bool Consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  // A string without escapes, control characters or bytes over 0x7f, of at most `max` bytes.
  bool String(std::size_t max, std::string_view& out) {
    if (!Consume('"')) return false;
    const char* begin = p_;
    // Eight bytes at a time while none of them ends the string or needs a look.
    while (end_ - p_ >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p_, 8);
      if (NeedsLook(w)) break;
      p_ += 8;
    }
    while (true) {
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c == '\\' || c < 0x20 || c > 0x7f) return false;
      ++p_;
    }
    out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
    ++p_;
    return out.size() <= max;
  }
  bool Literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  // -? (0 | [1-9][0-9]*) (. [0-9]+)?, and no exponent. What follows must be a separator, or
  // Object() gives up ("01", "1e5", "1x" go to Boost.JSON).
  bool Number(std::string_view& out) {
    const char* begin = p_;
    Consume('-');
    if (p_ == end_ || !IsDigit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (Consume('.')) {
      if (p_ == end_ || !IsDigit(*p_)) return false;
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
    return out.size() <= kMaxFlatNumberSize;
  }
  bool Value(domain::RawField& f) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"':
        f.type = RawValue::Type::kString;
        return String(kMaxStringSize, f.text);
      case 't':
        f.type = RawValue::Type::kBool;
        f.text = "true";
        return Literal("true");
      case 'f':
        f.type = RawValue::Type::kBool;
        f.text = "false";
        return Literal("false");
      case 'n':
        f.type = RawValue::Type::kNull;
        f.text = {};
        return Literal("null");
      default:
        f.type = RawValue::Type::kNumber;
        return Number(f.text);
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool DecodeFlatJsonObject(std::string_view text, std::vector<domain::RawField>& out) {
  return FlatReader(text).Object(out);
}

Result<std::span<const domain::RawField>> JsonLineDecoder::Decode(std::string_view line) {
  if (DecodeFlatJsonObject(line, fields_)) return std::span<const domain::RawField>(fields_);
  auto decoded = DecodeJsonObject(line);
  if (!decoded) return std::move(decoded).error();
  decoded_ = std::move(*decoded);
  fields_.clear();
  for (const auto& [name, value] : decoded_) fields_.push_back({name, value.type, value.text});
  return std::span<const domain::RawField>(fields_);
}

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
