#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <span>
#include <system_error>
#include <utility>

#include "app/app.hpp"
#include "app/backup_commands.hpp"
#include "app/demo.hpp"
#include "app/logging.hpp"
#include "app/options.hpp"
#include "app/version.hpp"
#include "app/wiring.hpp"
#include "security/sodium_password_hasher.hpp"
#include "service/costs_service.hpp"
#include "service/store_verify.hpp"

namespace costs::app {
namespace {

constexpr const char* kCostsctlUsage =
    "usage: costsctl [--db URL] [--db-pool N] [--db-timeout-ms N] COMMAND\n"
    "       costsctl --version | --help\n"
    "  init                                   create or migrate the database\n"
    "  org create ORG_ID [--name NAME]        create an organization\n"
    "  user create NAME [--admin] [--org ORG_ID]... --password-stdin\n"
    "                                         create or replace a user; the password is read from stdin\n"
    "  usage import FILE|-                    ingest NDJSON usage records (one atomic batch)\n"
    "  apikey create USER [--name N] [--expires T]\n"
    "                                         create an API key acting as USER; prints the key once\n"
    "                                         (T: RFC 3339, or a date: valid through that day, UTC)\n"
    "  apikey revoke ID                       revoke an API key by its id\n"
    "  credits add ORG_ID --id ID --ecu AMOUNT --start T --end T\n"
    "                                         add prepaid ECU credits valid over [T, T)\n"
    "  demo [--seed N]                        create demo organizations, users and ~90 days of usage\n"
    "  backup DEST                            copy the SQLite database, consistent while costsd serves\n"
    "                                         and ingests, into the new file DEST\n"
    "  restore SRC                            replace the SQLite database with SRC (a backup), checked\n"
    "                                         by verify first; refused while costsd or costsctl uses it\n"
    "                                         (PostgreSQL: pg_dump and pg_restore, docs/deploy.md)\n"
    "  verify                                 recompute every rollup, item and deployment name from the\n"
    "                                         raw usage and report each difference (exit 1 if any)\n"
    "--db URL is sqlite:PATH (default sqlite:var/costs.db) or postgresql://..., also read from COSTS_DB;\n"
    "--db-pool N and --db-timeout-ms N (COSTS_DB_POOL, COSTS_DB_TIMEOUT_MS) tune the store connections.\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "costsctl: %s\n%s", message.c_str(), kCostsctlUsage);
  return 2;
}

int Failed(const Error& e) {
  std::fprintf(stderr, "costsctl: %s\n", e.message.c_str());
  if (e.code == ErrorCode::kInvalidRecord || e.code == ErrorCode::kConflict ||
      e.code == ErrorCode::kOrganizationNotFound) {
    for (const std::string& f : e.fields) std::fprintf(stderr, "  %s\n", f.c_str());
  }
  return 1;
}

// costsctl verify: the report on stdout; 0 when the store holds what its usage makes.
int Verify(service::Store& store) {
  auto report = service::VerifyStore(store);
  if (!report) return Failed(report.error());
  for (const std::string& line : report->differences) std::printf("%s\n", line.c_str());
  if (report->more_differences > 0) {
    std::printf("... and %lld more differences\n", static_cast<long long>(report->more_differences));
  }
  const long long differences =
      static_cast<long long>(report->differences.size()) + static_cast<long long>(report->more_differences);
  std::printf("verified %lld organizations, %lld usage records, %lld rollup rows, %lld items: %s\n",
              static_cast<long long>(report->organizations), static_cast<long long>(report->records),
              static_cast<long long>(report->rollup_rows), static_cast<long long>(report->items),
              differences == 0 ? "no difference" : (std::to_string(differences) + " differences").c_str());
  if (differences == 0) return 0;
  std::fprintf(stderr, "costsctl: verify found %lld differences (listed on stdout)\n", differences);
  return 1;
}

// The input of `usage import`: a file, or standard input for "-", read a part at a time
// (never whole: the import's memory is bounded by its part, service::ImportNdjson).
class Input {
 public:
  static Result<Input> Open(const std::string& name) {
    if (name == "-") return Input(STDIN_FILENO, "standard input", false);
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MakeError(ErrorCode::kInvalidData, "cannot read " + name);
#ifdef POSIX_FADV_SEQUENTIAL
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return Input(fd, name, true);
  }
  Input(Input&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_)), owned_(other.owned_) {}
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
  Input& operator=(Input&&) = delete;
  ~Input() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }

  // service::NdjsonReader: the next bytes, 0 at the end.
  Result<std::size_t> Read(std::span<char> buffer) const {
    for (;;) {
      const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) return MakeError(ErrorCode::kInvalidData, "cannot read " + name_);
    }
  }

 private:
  Input(int fd, std::string name, bool owned) : fd_(fd), name_(std::move(name)), owned_(owned) {}
  int fd_;
  std::string name_;
  bool owned_;  // closed at destruction (not standard input)
};

enum class Command {
  kInit,
  kOrgCreate,
  kUserCreate,
  kUsageImport,
  kDemo,
  kApikeyCreate,
  kApikeyRevoke,
  kCreditsAdd,
  kVerify,
  kBackup,
  kRestore
};

// The command the positional arguments name, with the number of operands it takes after its words.
std::optional<Command> ParseCommand(const std::vector<std::string>& args) {
  struct Form {
    Command command;
    std::vector<std::string_view> words;
    std::size_t operands;
  };
  static const std::vector<Form> kForms = {
      {Command::kInit, {"init"}, 0},
      {Command::kOrgCreate, {"org", "create"}, 1},
      {Command::kUserCreate, {"user", "create"}, 1},
      {Command::kUsageImport, {"usage", "import"}, 1},
      {Command::kDemo, {"demo"}, 0},
      {Command::kApikeyCreate, {"apikey", "create"}, 1},
      {Command::kApikeyRevoke, {"apikey", "revoke"}, 1},
      {Command::kCreditsAdd, {"credits", "add"}, 1},
      {Command::kVerify, {"verify"}, 0},
      {Command::kBackup, {"backup"}, 1},
      {Command::kRestore, {"restore"}, 1},
  };
  for (const Form& form : kForms) {
    if (args.size() == form.words.size() + form.operands &&
        std::equal(form.words.begin(), form.words.end(), args.begin())) {
      return form.command;
    }
  }
  return std::nullopt;
}

// A costsctl invocation whose flags were checked against its command.
struct Invocation {
  Command command = Command::kInit;
  std::optional<domain::Instant> expires;  // apikey create --expires
  std::uint64_t seed = 1;                  // demo --seed
};

// The command and its flags, or the usage error's message (in this order of checks).
Result<Invocation> ParseInvocation(const Flags& flags) {
  const auto& args = flags.positionals();
  if (args.empty()) return MakeError(ErrorCode::kInvalidData, "no command given");
  const std::optional<Command> command = ParseCommand(args);
  if (!command) {
    std::string given;
    for (const auto& a : args) given += (given.empty() ? "" : " ") + a;
    return MakeError(ErrorCode::kInvalidData, "unknown command '" + given + "'");
  }
  Invocation invocation;
  invocation.command = *command;
  auto usage_error = [](std::string message) { return MakeError(ErrorCode::kInvalidData, std::move(message)); };
  const bool credits_add = *command == Command::kCreditsAdd;
  const bool apikey_create = *command == Command::kApikeyCreate;
  const bool user_create = *command == Command::kUserCreate;
  if (flags.Has("name") && *command != Command::kOrgCreate && !apikey_create) {
    return usage_error("--name belongs to 'org create' and 'apikey create'");
  }
  if (flags.Has("expires") && !apikey_create) return usage_error("--expires belongs to 'apikey create'");
  for (const char* flag : {"id", "ecu", "start", "end"}) {
    if (flags.Has(flag) != credits_add) {
      return usage_error(credits_add ? std::string("credits add needs --") + flag
                                     : std::string("--") + flag + " belongs to 'credits add'");
    }
  }
  if (auto text = flags.Get("expires")) {
    auto t = domain::ParseQueryInstant(*text, domain::DateBound::kEndOfDay);
    if (!t) return usage_error("--expires: " + t.error().message);
    invocation.expires = *t;
  }
  if ((flags.Has("admin") || flags.Has("org") || flags.Has("password-stdin")) && !user_create) {
    return usage_error("--admin, --org and --password-stdin belong to 'user create'");
  }
  if (flags.Has("seed") && *command != Command::kDemo) return usage_error("--seed belongs to 'demo'");
  if (user_create && !flags.Has("password-stdin")) {
    return usage_error("user create needs --password-stdin (the password is never taken from the command line)");
  }
  auto seed = flags.GetInt("seed", 1, 0, INT64_MAX);
  if (!seed) return usage_error(seed.error().message);
  invocation.seed = static_cast<std::uint64_t>(*seed);
  return invocation;
}

std::vector<Flags::Spec> CostsctlFlagSpecs() {
  std::vector<Flags::Spec> specs = {{"db"},
                                    {"name", true, false, false},
                                    {"admin", false, false, false},
                                    {"org", true, true, false},
                                    {"password-stdin", false, false, false},
                                    {"seed", true, false, false},
                                    {"expires", true, false, false},
                                    {"id", true, false, false},
                                    {"ecu", true, false, false},
                                    {"start", true, false, false},
                                    {"end", true, false, false},
                                    {"help", false, false, false},
                                    {"version", false, false, false}};
  for (Flags::Spec& spec : StoreFlagSpecs()) specs.push_back(std::move(spec));
  return specs;
}

// The commands after the store is open; each prints its outcome and returns the exit code.

int CreateOrganization(service::AdminService& admin, const Flags& flags, const std::string& org_id) {
  const std::string name = flags.Get("name").value_or(org_id);
  if (auto s = admin.CreateOrganization(org_id, name); !s) return Failed(s.error());
  std::printf("organization %s created\n", org_id.c_str());
  return 0;
}

int CreateUser(service::AdminService& admin, const Flags& flags, const std::string& user) {
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (auto s = admin.PutUser(user, password, flags.Has("admin"), flags.GetAll("org")); !s) {
    return Failed(s.error());
  }
  std::printf("user %s saved\n", user.c_str());
  return 0;
}

// The bytes of input per part of `usage import`: service::kDefaultImportPartBytes, or for tests
// COSTS_IMPORT_PART_BYTES (a decimal count >= 1; tests make a small file cross parts).
Result<std::size_t> ImportPartBytes() {
  const char* text = std::getenv("COSTS_IMPORT_PART_BYTES");
  if (text == nullptr) return service::kDefaultImportPartBytes;
  const std::string_view digits(text);
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0) {
    return MakeError(ErrorCode::kInvalidData, "COSTS_IMPORT_PART_BYTES must be a whole number of bytes >= 1");
  }
  return value;
}

int ImportUsage(service::AdminService& admin, const std::string& file) {
  auto input = Input::Open(file);
  if (!input) return Failed(input.error());
  auto part_bytes = ImportPartBytes();
  if (!part_bytes) return UsageError(part_bytes.error().message);
  auto outcome = admin.ImportNdjson([&input](std::span<char> buffer) { return input->Read(buffer); }, *part_bytes);
  if (!outcome) return Failed(outcome.error());
  std::printf("stored %lld, duplicates %lld\n", static_cast<long long>(outcome->stored),
              static_cast<long long>(outcome->duplicates));
  return 0;
}

int CreateApiKey(service::AdminService& admin, const Flags& flags, const std::string& user,
                 std::optional<domain::Instant> expires, domain::Instant now) {
  auto created = admin.CreateApiKey(user, flags.Get("name").value_or(""), expires, now);
  if (!created) return Failed(created.error());
  std::printf("%s\n", created->key.c_str());
  std::fprintf(stderr, "api key %s created for user %s%s; the key above is shown only once\n", created->id.c_str(),
               user.c_str(), expires ? (", expiring " + domain::FormatRfc3339(*expires)).c_str() : "");
  return 0;
}

int AddCredits(service::AdminService& admin, const Flags& flags, const std::string& org_id) {
  auto amount = domain::ParseDecimal(*flags.Get("ecu"));
  auto nanos = amount ? domain::DecimalToNanos(*amount) : Result<domain::Nanos>(amount.error());
  if (!nanos)
    return UsageError("--ecu must be a decimal amount of ECU of at most 1000000000 with at most 9 fractional digits");
  auto start = domain::ParseQueryInstant(*flags.Get("start"), domain::DateBound::kStartOfDay);
  auto end = domain::ParseQueryInstant(*flags.Get("end"), domain::DateBound::kEndOfDay);
  if (!start) return UsageError("--start: " + start.error().message);
  if (!end) return UsageError("--end: " + end.error().message);
  if (auto s = admin.AddCredit(org_id, *flags.Get("id"), *nanos, *start, *end); !s) return Failed(s.error());
  std::printf("credit %s of %s ECU added to %s, valid %s .. %s\n", flags.Get("id")->c_str(),
              domain::FormatNanos(*nanos).c_str(), org_id.c_str(), domain::FormatRfc3339(*start).c_str(),
              domain::FormatRfc3339(*end).c_str());
  return 0;
}

int RevokeApiKey(service::AdminService& admin, const std::string& key_id) {
  if (auto s = admin.RevokeApiKey(key_id); !s) return Failed(s.error());
  std::printf("api key %s revoked\n", key_id.c_str());
  return 0;
}

int RunCommand(const Invocation& invocation, const Flags& flags, const std::string& db, service::Store& store,
               service::AdminService& admin) {
  const auto& args = flags.positionals();
  SystemClock clock;
  switch (invocation.command) {
    case Command::kInit:
      std::printf("database ready: %s\n", RedactDbUrl(db).c_str());
      return 0;
    case Command::kVerify:
      return Verify(store);
    case Command::kOrgCreate:
      return CreateOrganization(admin, flags, args[2]);
    case Command::kUserCreate:
      return CreateUser(admin, flags, args[2]);
    case Command::kUsageImport:
      return ImportUsage(admin, args[2]);
    case Command::kApikeyCreate:
      return CreateApiKey(admin, flags, args[2], invocation.expires, clock.Now());
    case Command::kCreditsAdd:
      return AddCredits(admin, flags, args[2]);
    case Command::kApikeyRevoke:
      return RevokeApiKey(admin, args[2]);
    case Command::kDemo:
      return RunDemo(admin, clock.Now(), invocation.seed);
    case Command::kBackup:
    case Command::kRestore:
      break;  // CostsctlMain runs them without opening the store
  }
  return 1;
}

}  // namespace

int CostsctlMain(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv, 1, CostsctlFlagSpecs());
  if (!flags) return UsageError(flags.error().message);
  if (flags->Has("help")) {
    std::fputs(kCostsctlUsage, stdout);
    return 0;
  }
  if (flags->Has("version")) {
    std::printf("%s\n", VersionLine("costsctl").c_str());
    return 0;
  }
  auto invocation = ParseInvocation(*flags);
  if (!invocation) return UsageError(invocation.error().message);

  const std::string db = flags->Get("db").value_or(std::string(kDefaultDb));
  if (auto url = ParseDbUrl(db); !url) return UsageError(url.error().message);
  auto store_options = StoreOptionsFromFlags(*flags);
  if (!store_options) return UsageError(store_options.error().message);
  // backup and restore copy the file of an SQLite store; they never open (or create) it as a store.
  if (invocation->command == Command::kBackup) return BackupCommand(db, flags->positionals()[1]);
  if (invocation->command == Command::kRestore) return RestoreCommand(db, flags->positionals()[1], *store_options);
  store_options->batch_process = true;  // see StoreOptions
  SetUpToolLogging();
  store_options->log = SpdlogSink();
  auto store = OpenStore(db, *store_options);
  if (!store) return Failed(store.error());
  security::SodiumPasswordHasher hasher;
  service::AdminService admin(**store, hasher);
  return RunCommand(*invocation, *flags, db, **store, admin);
}

}  // namespace costs::app
