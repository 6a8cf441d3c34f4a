#include "app/print_config.hpp"

#include <cstdio>

namespace costs::app {
namespace {

// A TOML basic string.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escape;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ValueText(const Flags::Spec& spec, const std::string& value) {
  const std::string shown = RedactFlagValue(spec.name, value);
  const bool number = spec.kind == Flags::Kind::kInteger || spec.kind == Flags::Kind::kNumber;
  return number && shown == value ? value : Quoted(shown);
}

std::string KeyLine(const Flags& flags, const Flags::Spec& spec) {
  const std::string origin = flags.Origin(spec.name);
  if (origin.empty()) {
    return "# " + spec.name + ": not set" + (spec.fallback.empty() ? "" : ", default " + spec.fallback) + "\n";
  }
  std::string value;
  if (!spec.takes_value) {
    value = "true";
  } else if (spec.repeatable) {
    for (const std::string& item : flags.GetAll(spec.name))
      value += (value.empty() ? "" : ", ") + ValueText(spec, item);
    value = "[" + value + "]";
  } else {
    value = ValueText(spec, *flags.Get(spec.name));
  }
  return spec.name + " = " + value + "  # " + origin + "\n";
}

}  // namespace

std::string FormatConfig(const Flags& flags, const std::vector<Flags::Spec>& specs) {
  std::string out = "# The effective configuration: flag > environment > file > default; secrets are ***.\n";
  if (auto config = flags.Get("config")) out += "# config file: " + *config + "  (" + flags.Origin("config") + ")\n";
  for (const Flags::Spec& spec : specs) {
    if (spec.from_env && spec.name != "config") out += KeyLine(flags, spec);
  }
  return out;
}

}  // namespace costs::app
