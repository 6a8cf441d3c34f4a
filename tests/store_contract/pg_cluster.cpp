#include "pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace costs::testing {

namespace {

namespace fs = std::filesystem;

Error Fail(std::string message) { return MakeError(ErrorCode::kStoreFailed, "PostgreSQL test cluster: " + message); }

// The newest /usr/lib/postgresql/<major>/bin holding initdb and postgres, or $COSTS_PG_BIN.
std::string FindBinDir() {
  if (const char* env = std::getenv("COSTS_PG_BIN"); env != nullptr && *env != '\0') {
    const fs::path bin = env;
    return access((bin / "initdb").c_str(), X_OK) == 0 && access((bin / "postgres").c_str(), X_OK) == 0 ? env : "";
  }
  glob_t g{};
  std::vector<std::pair<int, std::string>> found;
  if (glob("/usr/lib/postgresql/*/bin", 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      const fs::path bin = g.gl_pathv[i];
      if (access((bin / "initdb").c_str(), X_OK) == 0 && access((bin / "postgres").c_str(), X_OK) == 0) {
        found.emplace_back(std::atoi(bin.parent_path().filename().c_str()), bin.string());
      }
    }
  }
  globfree(&g);
  if (found.empty()) return "";
  return std::max_element(found.begin(), found.end())->second;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Forks and execs argv with stdout and stderr appended to `log`, as `user` (when set). The
// child gets SIGQUIT (immediate shutdown) when this process dies. Returns the child's PID or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, const RunAs& user) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  if (user.enabled) {
    if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
  }
  prctl(PR_SET_PDEATHSIG, SIGQUIT);  // after setuid, which clears it
  if (getppid() != parent) _exit(125);
  execv(args[0], args.data());
  _exit(127);
}

// Waits for `pid` up to `timeout`; its exit status, or -1 if it is still running.
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return 255;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 2000) s = "..." + s.substr(s.size() - 2000);
  return s;
}

}  // namespace

std::string PgCluster::Url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Status PgCluster::Start(const std::string& database) {
  bin_ = FindBinDir();
  if (bin_.empty()) {
    return Fail(
        "no PostgreSQL server binaries (initdb, postgres) in $COSTS_PG_BIN or, when unset, under "
        "/usr/lib/postgresql/*/bin; install Debian's `postgresql` package (scripts/install-deps does)");
  }
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return Fail("running as root needs the `postgres` OS user (from the postgresql package)");
    user_ = RunAs{true, pw->pw_uid, pw->pw_gid};
  }
  std::string pattern = (fs::temp_directory_path() / "costs-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return Fail("mkdtemp failed");
  dir_ = pattern;
  const std::string data = dir_ + "/data";
  const std::string log = dir_ + "/postgres.log";
  if (user_.enabled && chown(dir_.c_str(), user_.uid, user_.gid) != 0) return Fail("chown of the temp dir");

  const pid_t initdb =
      Spawn({bin_ + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"},
            log, user_);
  if (initdb < 0) return Fail("fork failed");
  if (const int rc = WaitFor(initdb, std::chrono::seconds(120)); rc != 0) {
    if (rc < 0) {
      kill(initdb, SIGKILL);
      waitpid(initdb, nullptr, 0);
    }
    return Fail("initdb failed (" + std::to_string(rc) + "): " + Tail(log));
  }

  for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
    port_ = FreePort();
    if (Status s = StartServer(); !s) return s;
  }
  if (pid_ < 0) return Fail("postgres exited at start: " + Tail(log));

  const std::string admin = Url("postgres");
  PGconn* conn = PQconnectdb(admin.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    const std::string sql = "CREATE DATABASE \"" + database + "\"";
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) {
    Stop();
    return Fail("creating the database failed: " + error);
  }
  return {};
}

Status PgCluster::StartServer() {
  const std::string log = dir_ + "/postgres.log";
  pid_ = Spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
                "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
                "synchronous_commit=off", "-c", "max_connections=200", "-c", "timezone=UTC"},
               log, user_);
  if (pid_ < 0) return Fail("fork failed");
  const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (PQping(ping.c_str()) != PQPING_OK) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited (e.g. the port was taken meanwhile)
      return {};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      StopServer();
      return Fail("postgres did not get ready within 60 s: " + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

void PgCluster::StopServer() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown
    if (WaitFor(pid_, std::chrono::seconds(30)) < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
}

void PgCluster::Stop() {
  StopServer();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace costs::testing
