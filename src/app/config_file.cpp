#include "app/config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

namespace costs::app {
namespace {

Error Refused(const std::string& where, std::string message) {
  return MakeError(ErrorCode::kInvalidData, where + ": " + std::move(message));
}

const char* KindName(const Flags::Spec& spec) {
  if (!spec.takes_value) return "a boolean (true or false)";
  switch (spec.kind) {
    case Flags::Kind::kText:
      return "a string";
    case Flags::Kind::kInteger:
      return "an integer";
    case Flags::Kind::kNumber:
      return "a number";
    case Flags::Kind::kAny:
      break;
  }
  return "a string, number or boolean";
}

std::string FloatText(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::string();
}

// The flag's text for one TOML value, or nullopt when the value's type does not fit the spec.
std::optional<std::string> ScalarText(const toml::node& node, const Flags::Spec& spec) {
  const bool any = spec.kind == Flags::Kind::kAny;
  if (const auto* text = node.as_string(); text != nullptr && (any || spec.kind == Flags::Kind::kText)) {
    return text->get();
  }
  if (const auto* integer = node.as_integer();
      integer != nullptr && (any || spec.kind == Flags::Kind::kInteger || spec.kind == Flags::Kind::kNumber)) {
    return std::to_string(integer->get());
  }
  if (const auto* number = node.as_floating_point();
      number != nullptr && std::isfinite(number->get()) && (any || spec.kind == Flags::Kind::kNumber)) {
    return FloatText(number->get());
  }
  if (const auto* boolean = node.as_boolean(); boolean != nullptr && any) return boolean->get() ? "true" : "false";
  return std::nullopt;
}

// The entry of one key, or nullopt for a flag without a value set to false.
Result<std::optional<ConfigEntry>> ReadEntry(const toml::node& node, const Flags::Spec& spec,
                                             const std::string& where) {
  ConfigEntry entry{spec.name, {}, static_cast<int>(node.source().begin.line)};
  const std::string wrong = "key '" + spec.name + "' must be " + KindName(spec);
  if (!spec.takes_value) {
    const auto* boolean = node.as_boolean();
    if (boolean == nullptr) return Refused(where, wrong);
    if (!boolean->get()) return std::optional<ConfigEntry>();
    return std::optional<ConfigEntry>(std::move(entry));
  }
  if (const auto* array = node.as_array(); array != nullptr && spec.repeatable) {
    for (const toml::node& item : *array) {
      auto text = ScalarText(item, spec);
      if (!text) return Refused(where, "key '" + spec.name + "' must be an array, each item " + KindName(spec));
      entry.values.push_back(std::move(*text));
    }
    if (entry.values.empty()) return std::optional<ConfigEntry>();
    return std::optional<ConfigEntry>(std::move(entry));
  }
  auto text = ScalarText(node, spec);
  if (!text) return Refused(where, wrong + (spec.repeatable ? " or an array of them" : ""));
  entry.values.push_back(std::move(*text));
  return std::optional<ConfigEntry>(std::move(entry));
}

}  // namespace

Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path, const std::vector<Flags::Spec>& specs) {
  std::error_code error;
  std::ifstream file(path, std::ios::binary);
  if (std::filesystem::is_directory(path, error) || !file.is_open()) {
    return MakeError(ErrorCode::kInvalidData, "cannot read the configuration file " + path);
  }
  const std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return MakeError(ErrorCode::kInvalidData, "cannot read the configuration file " + path);
  toml::table table;
  try {
    table = toml::parse(content, path);
  } catch (const toml::parse_error& e) {
    return Refused(path + ":" + std::to_string(e.source().begin.line), std::string(e.description()));
  }
  std::vector<ConfigEntry> entries;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string where = path + ":" + std::to_string(key.source().begin.line);
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const Flags::Spec& s) { return s.from_env && s.name != "config" && s.name == name; });
    if (spec == specs.end()) return Refused(where, "unknown key '" + name + "' (the keys are the flags' names)");
    auto entry = ReadEntry(node, *spec, where);
    if (!entry) return std::move(entry).error();
    if (*entry) entries.push_back(std::move(**entry));
  }
  return entries;
}

}  // namespace costs::app
