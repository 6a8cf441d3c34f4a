#include "app/config_file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "app/options.hpp"
#include "app/print_config.hpp"

namespace costs::app {
namespace {

using K = Flags::Kind;

std::vector<Flags::Spec> Specs() {
  return {{"config", true, false, true, K::kText},
          {"listen", true, false, true, K::kText, "127.0.0.1:8080"},
          {"rate-limit", true, false, true, K::kNumber, "100"},
          {"threads", true, false, true, K::kInteger},
          {"org", true, true, true, K::kText},
          {"verbose", false, false, true},
          {"metrics-token"},
          {"db"},
          {"name", true, false, false}};
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

Result<Flags> ParseArgs(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return Flags::Parse(static_cast<int>(argv.size()), argv.data(), 0, Specs());
}

TEST(ConfigFileTest, ReadsEveryKindAsTheFlagsText) {
  const std::string path = WriteFile("every_kind.toml",
                                     "# comment\nlisten = \"0.0.0.0:9\"\nrate-limit = 0.5\nthreads = 4\n"
                                     "org = [\"a\", \"b\"]\nverbose = true\nmetrics-token = 7\n");
  auto entries = ReadConfigFile(path, Specs());
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 6u);
  std::map<std::string, std::vector<std::string>> got;
  for (const ConfigEntry& e : *entries) got[e.name] = e.values;
  EXPECT_EQ(got["listen"], std::vector<std::string>{"0.0.0.0:9"});
  EXPECT_EQ(got["rate-limit"], std::vector<std::string>{"0.5"});
  EXPECT_EQ(got["threads"], std::vector<std::string>{"4"});
  EXPECT_EQ(got["org"], (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(got["verbose"].empty());
  EXPECT_EQ(got["metrics-token"], std::vector<std::string>{"7"});
}

TEST(ConfigFileTest, RefusesWithTheFileLineAndKey) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"listen = \"x:1\"\nlistn = \"y\"\n", ":2: unknown key 'listn'"},
      {"\nthreads = \"4\"\n", ":2: key 'threads' must be an integer"},
      {"threads = 1.5\n", ":1: key 'threads' must be an integer"},
      {"listen = 8080\n", ":1: key 'listen' must be a string"},
      {"verbose = \"yes\"\n", ":1: key 'verbose' must be a boolean"},
      {"org = [1]\n", ":1: key 'org' must be an array, each item a string"},
      {"rate-limit = nan\n", ":1: key 'rate-limit' must be a number"},
      {"[server]\nlisten = \"x:1\"\n", ":1: unknown key 'server'"},
      {"config = \"other.toml\"\n", ":1: unknown key 'config'"},
      {"name = \"n\"\n", ":1: unknown key 'name'"},
      {"listen = \"a\"\nlisten = \"b\"\n", ":2:"},
      {"listen = \n", ":1:"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteFile("refused.toml", c.text);
    auto entries = ReadConfigFile(path, Specs());
    ASSERT_FALSE(entries) << c.text;
    EXPECT_EQ(entries.error().code, ErrorCode::kInvalidData);
    EXPECT_NE(entries.error().message.find(path + c.message), std::string::npos)
        << "for " << c.text << " got: " << entries.error().message;
  }
}

TEST(ConfigFileTest, RefusesAnUnreadableFile) {
  auto missing = ReadConfigFile(::testing::TempDir() + "no-such.toml", Specs());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read the configuration file"), std::string::npos);
  auto directory = ReadConfigFile(::testing::TempDir(), Specs());
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("cannot read the configuration file"), std::string::npos);
}

TEST(ConfigFileTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const std::string path = WriteFile("precedence.toml", "listen = \"file:1\"\nrate-limit = 3\nthreads = 2\n");
  ::setenv("COSTS_RATE_LIMIT", "5", 1);
  ::setenv("COSTS_THREADS", "6", 1);
  auto flags = ParseArgs({"--config", path, "--threads", "9"});
  ::unsetenv("COSTS_RATE_LIMIT");
  ::unsetenv("COSTS_THREADS");
  ASSERT_TRUE(flags) << flags.error().message;
  EXPECT_EQ(flags->Get("threads"), "9");
  EXPECT_EQ(flags->Origin("threads"), "flag --threads");
  EXPECT_EQ(flags->Get("rate-limit"), "5");
  EXPECT_EQ(flags->Origin("rate-limit"), "environment COSTS_RATE_LIMIT");
  EXPECT_EQ(flags->Get("listen"), "file:1");
  EXPECT_EQ(flags->Origin("listen"), path + ":1");
  EXPECT_FALSE(flags->Has("db"));
  EXPECT_EQ(flags->Origin("db"), "");
}

TEST(ConfigFileTest, TheConfigFileComesFromTheEnvironmentToo) {
  const std::string path = WriteFile("from_env.toml", "threads = 3\n");
  ::setenv("COSTS_CONFIG", path.c_str(), 1);
  auto flags = ParseArgs({});
  ::unsetenv("COSTS_CONFIG");
  ASSERT_TRUE(flags) << flags.error().message;
  EXPECT_EQ(flags->Get("threads"), "3");
}

TEST(ConfigFileTest, AValueErrorNamesWhereTheValueCameFrom) {
  const std::string path = WriteFile("value_error.toml", "\n\nthreads = -4\n");
  auto flags = ParseArgs({"--config", path});
  ASSERT_TRUE(flags) << flags.error().message;
  auto threads = flags->GetInt("threads", 0, 0, 10);
  ASSERT_FALSE(threads);
  EXPECT_EQ(threads.error().message, "--threads (" + path + ":3) must be an integer from 0 to 10, not '-4'");
}

TEST(PrintConfigTest, ShowsEachValueWithItsOriginAndRedactsSecrets) {
  const std::string path =
      WriteFile("print.toml", "metrics-token = \"tok-sekret\"\ndb = \"postgresql://u:pw-sekret@h/d\"\norg = [\"a\"]\n");
  auto flags = ParseArgs({"--config", path, "--rate-limit", "2.5", "--verbose"});
  ASSERT_TRUE(flags) << flags.error().message;
  const std::string text = FormatConfig(*flags, Specs());
  EXPECT_EQ(text.find("sekret"), std::string::npos) << text;
  EXPECT_NE(text.find("\n# listen: not set, default 127.0.0.1:8080\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nrate-limit = 2.5  # flag --rate-limit\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\norg = [\"a\"]  # " + path + ":3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nverbose = true  # flag --verbose\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmetrics-token = \"***\"  # " + path + ":1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndb = \"postgresql://u:***@h/d\"  # " + path + ":2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("name"), std::string::npos) << "a flag that is not a key is not printed: " << text;
}

TEST(RedactFlagValueTest, HidesSecretsButNotPaths) {
  EXPECT_EQ(RedactFlagValue("metrics-token", "abc"), "***");
  EXPECT_EQ(RedactFlagValue("tls-key", "/etc/costs/key.pem"), "/etc/costs/key.pem");
  EXPECT_EQ(RedactFlagValue("rate-limit-redis", "redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
  EXPECT_EQ(RedactFlagValue("db", "postgresql://h/d?password=pw&x=1"), "postgresql://h/d?password=***&x=1");
  EXPECT_EQ(RedactFlagValue("db", "sqlite:var/costs.db"), "sqlite:var/costs.db");
  EXPECT_EQ(RedactFlagValue("db", "postgresql://h/d?sslpassword=pw&x=1"), "postgresql://h/d?sslpassword=***&x=1");
}

TEST(ParseDbUrlTest, AnUnknownSchemeIsRefusedWithoutItsPassword) {
  Result<DbUrl> parsed = ParseDbUrl("postgresql+psycopg://u:s3cret@h/db?password=p4ss");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message.find("s3cret"), std::string::npos) << parsed.error().message;
  EXPECT_EQ(parsed.error().message.find("p4ss"), std::string::npos) << parsed.error().message;
}

}  // namespace
}  // namespace costs::app
