// Fuzz target: the decimal parser (src/domain/money.hpp), differential against an exact
// big-integer reading of the same text (Boost.Multiprecision cpp_int).
// Properties: text outside JSON number syntax is refused; accepted text yields exactly the
// value of the text (no rounding, no clamping, whatever the acceptance rule is), normalized as
// Decimal documents it; FormatDecimal's text parses back to the same Decimal; a refusal says why.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/money.hpp"
#include "exact_decimal.hpp"
#include "fuzz_check.hpp"

namespace {

// The text, or its ends around the number of bytes left out.
std::string Shorten(std::string_view text) {
  if (text.size() <= 120) return std::string(text);
  return std::string(text.substr(0, 50)) + "...(" + std::to_string(text.size() - 100) + " bytes)..." +
         std::string(text.substr(text.size() - 50));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = costs::domain::ParseDecimal(text);
  const auto exact = costs::fuzz::ReadExact(text);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty(), "a refusal says why");
    return 0;
  }
  FUZZ_CHECK(exact.has_value(), "accepted text that is not a JSON number: " + Shorten(text));
  const costs::domain::Decimal d = *parsed;
  FUZZ_CHECK(costs::fuzz::EqualsScaled(*exact, d.scale, d.mantissa),
             "read " + Shorten(text) + " as " + std::to_string(d.mantissa) + "e-" + std::to_string(d.scale));
  FUZZ_CHECK(d.scale >= 0, "negative scale");
  FUZZ_CHECK(d.mantissa != 0 || d.scale == 0, "zero with a scale");
  FUZZ_CHECK(d.scale == 0 || d.mantissa % 10 != 0, "trailing zero in the mantissa of a fraction");
  const std::string canonical = costs::domain::FormatDecimal(d);
  const auto again = costs::domain::ParseDecimal(canonical);
  FUZZ_CHECK(again.has_value() && *again == d, "FormatDecimal round trip: " + canonical);
  return 0;
}
