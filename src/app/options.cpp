#include "app/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "app/config_file.hpp"

namespace costs::app {
namespace {

std::string EnvName(std::string_view flag) {
  std::string env = "COSTS_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return env;
}

Error Usage(std::string message) { return MakeError(ErrorCode::kInvalidData, std::move(message)); }

// The password of a scheme://user:PASSWORD@ URL and of a password= (sslpassword=, ...)
// parameter replaced by "***".
std::string RedactUrlPassword(std::string_view url) {
  std::string out(url);
  const std::size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  // user:password@ in the authority part
  const std::size_t authority = scheme + 3;
  const std::size_t end = out.find_first_of("/?", authority);
  const std::size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
  if (at != std::string::npos && at > authority) {
    const std::size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // password=, sslpassword= (any parameter whose name ends in "password") among the parameters
  const std::size_t query = out.find('?');
  for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (query == std::string::npos || pos < query) continue;
    const std::size_t value = pos + 9;
    const std::size_t stop = out.find('&', value);
    out.replace(value, (stop == std::string::npos ? out.size() : stop) - value, "***");
  }
  return out;
}

}  // namespace

Result<Flags> Flags::Parse(int argc, char** argv, int first, const std::vector<Spec>& specs) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      flags.positionals_.emplace_back(arg);
      continue;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      inline_value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const Spec& s) { return s.name == name; });
    if (spec == specs.end()) return Usage("unknown flag --" + std::string(name));
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Usage("--" + std::string(name) + " needs a value");
      }
    } else if (inline_value) {
      return Usage("--" + std::string(name) + " takes no value");
    }
    auto& slot = flags.values_[std::string(name)];
    if (!slot.empty() && !spec->repeatable) return Usage("--" + std::string(name) + " given more than once");
    slot.push_back(std::move(value));
    flags.origins_[std::string(name)] = "flag --" + std::string(name);
  }
  for (const Spec& spec : specs) {
    if (!spec.from_env || flags.Has(spec.name)) continue;
    if (const char* env = std::getenv(EnvName(spec.name).c_str()); env != nullptr && *env != '\0') {
      flags.Set(spec.name, {env}, "environment " + EnvName(spec.name));
    }
  }
  const bool has_config = std::any_of(specs.begin(), specs.end(), [](const Spec& s) { return s.name == "config"; });
  if (auto path = flags.Get("config"); has_config && path) {
    auto entries = ReadConfigFile(*path, specs);
    if (!entries) return std::move(entries).error();
    for (ConfigEntry& entry : *entries) {
      if (!flags.Has(entry.name)) {
        flags.Set(entry.name, std::move(entry.values), *path + ":" + std::to_string(entry.line));
      }
    }
  }
  return flags;
}

void Flags::Set(const std::string& name, std::vector<std::string> values, std::string origin) {
  if (values.empty()) values.emplace_back();  // a flag without a value
  values_[name] = std::move(values);
  origins_[name] = std::move(origin);
}

std::string Flags::Origin(std::string_view name) const {
  auto it = origins_.find(name);
  return it == origins_.end() ? std::string() : it->second;
}

std::string Flags::Describe(std::string_view name) const {
  const std::string flag = "--" + std::string(name);
  const std::string origin = Origin(name);
  return origin.empty() || origin == "flag " + flag ? flag : flag + " (" + origin + ")";
}

std::optional<std::string> Flags::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> Flags::GetAll(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::int64_t> Flags::GetInt(std::string_view name, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
  auto text = Get(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return Usage(Describe(name) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                 ", not '" + *text + "'");
  }
  return value;
}

Result<double> Flags::GetRate(std::string_view name, double fallback) const {
  auto text = Get(name);
  if (!text) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !(value >= 0) || value > 1e9) {
    return Usage(Describe(name) + " must be a non-negative number, not '" + *text + "'");
  }
  return value;
}

Result<DbUrl> ParseDbUrl(std::string_view url) {
  if (url.substr(0, 7) == "sqlite:") {
    std::string path(url.substr(7));
    if (path.substr(0, 2) == "//") path.erase(0, 2);  // sqlite:///abs/path and sqlite://rel
    if (path.empty()) return Usage("--db sqlite: needs a file path, like sqlite:var/costs.db");
    return DbUrl{DbUrl::Kind::kSqlite, path};
  }
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    return DbUrl{DbUrl::Kind::kPostgres, std::string(url)};
  }
  // The URL may hold a password: only its redacted form is repeated (stderr, the journal).
  return Usage("--db must be sqlite:PATH or postgresql://..., not '" + RedactUrlPassword(url) + "'");
}

std::vector<Flags::Spec> StoreFlagSpecs() {
  return {{"db-pool", true, false, true, Flags::Kind::kInteger, "8 (PostgreSQL)"},
          {"db-timeout-ms", true, false, true, Flags::Kind::kInteger, "10000 (PostgreSQL)"}};
}

Result<StoreOptions> StoreOptionsFromFlags(const Flags& flags) {
  StoreOptions options;
  if (flags.Has("db-pool")) {
    auto pool = flags.GetInt("db-pool", 0, 1, 1000);
    if (!pool) return std::move(pool).error();
    options.pool = static_cast<int>(*pool);
  }
  if (flags.Has("db-timeout-ms")) {
    auto timeout = flags.GetInt("db-timeout-ms", 0, 1, 3'600'000);
    if (!timeout) return std::move(timeout).error();
    options.timeout_ms = static_cast<int>(*timeout);
  }
  return options;
}

std::string RedactDbUrl(std::string_view url) {
  if (url.substr(0, 8) != "postgres") return std::string(url);
  return RedactUrlPassword(url);
}

std::string RedactFlagValue(std::string_view name, std::string_view value) {
  for (std::string_view secret : {"token", "password", "secret"}) {
    if (name.find(secret) != std::string_view::npos) return "***";
  }
  return RedactUrlPassword(value);
}

}  // namespace costs::app
