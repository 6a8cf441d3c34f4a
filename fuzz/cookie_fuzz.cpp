// Fuzz target: `Cookie` header parsing (src/http/cookie.hpp).
// Properties: FindCookie agrees with a reference reader written another way (a scan pair by
// pair with indices rather than views): the first pair whose trimmed name is exactly the name
// gives its trimmed value, without its double quotes when it has both; headers longer than
// kMaxCookieHeader give nothing; a found value is a view into the header. The input's first
// byte picks the name looked for (the session cookie, or a short name that collides more).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/cookie.hpp"

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::optional<std::string> Reference(std::string_view header, std::string_view name) {
  if (header.size() > costs::http::kMaxCookieHeader) return std::nullopt;
  std::size_t begin = 0;
  while (begin <= header.size()) {
    std::size_t end = begin;
    while (end < header.size() && header[end] != ';') ++end;
    std::size_t eq = begin;
    while (eq < end && header[eq] != '=') ++eq;
    if (eq < end) {
      std::size_t nb = begin, ne = eq;
      while (nb < ne && IsSpace(header[nb])) ++nb;
      while (ne > nb && IsSpace(header[ne - 1])) --ne;
      if (header.substr(nb, ne - nb) == name) {
        std::size_t vb = eq + 1, ve = end;
        while (vb < ve && IsSpace(header[vb])) ++vb;
        while (ve > vb && IsSpace(header[ve - 1])) --ve;
        if (ve - vb >= 2 && header[vb] == '"' && header[ve - 1] == '"') {
          ++vb;
          --ve;
        }
        return std::string(header.substr(vb, ve - vb));
      }
    }
    begin = end + 1;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view name = data[0] % 2 == 0 ? costs::http::kSessionCookie : std::string_view("a");
  const std::string_view header(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::optional<std::string_view> found = costs::http::FindCookie(header, name);
  const std::optional<std::string> want = Reference(header, name);
  FUZZ_CHECK(
      found.has_value() == want.has_value(),
      std::string(found ? "found a cookie the reference does not" : "missed a cookie") + " in: " + std::string(header));
  if (found) {
    FUZZ_CHECK(std::string(*found) == *want, "other value than the reference's in: " + std::string(header));
    FUZZ_CHECK(found->empty() ||
                   (found->data() >= header.data() && found->data() + found->size() <= header.data() + header.size()),
               "the value is not a view into the header");
  }
  return 0;
}
