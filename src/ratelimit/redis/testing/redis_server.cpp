#include "ratelimit/redis/testing/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace costs::ratelimit::redis::testing {
namespace {

std::string FindRedisServer() {
  if (const char* env = std::getenv("COSTS_REDIS_SERVER"); env != nullptr && *env != '\0') {
    return ::access(env, X_OK) == 0 ? env : "";
  }
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/bin:/usr/sbin:/usr/local/bin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

bool AnswersPing(int port) {
  const timeval timeout{0, 200'000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr) return false;
  bool ok = false;
  if (c->err == 0 && redisSetTimeout(c, timeout) == REDIS_OK) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    // A server with --requirepass answers NOAUTH: it is up all the same.
    ok = reply != nullptr && (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR);
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(c);
  return ok;
}

}  // namespace

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

RedisServer::RedisServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {}

RedisServer::~RedisServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string RedisServer::url(const std::string& userinfo, int db) const {
  return "redis://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_) + "/" +
         std::to_string(db);
}

std::string RedisServer::LogTail() const {
  std::ifstream in(dir_ + "/redis.log");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

std::string RedisServer::Start() {
  if (running()) return {};
  if (dir_.empty()) {
    char tmpl[] = "/tmp/costs-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "cannot create a temp dir";
    dir_ = tmpl;
  }
  const bool fixed_port = port_ != 0;
  std::string why;
  // A port picked free may be taken before redis-server binds it: pick another.
  for (int attempt = 0; attempt < (fixed_port ? 1 : 5); ++attempt) {
    if (!fixed_port) port_ = FreeLoopbackPort();
    why = TryStart();
    if (why.empty()) return {};
  }
  return why;
}

std::string RedisServer::TryStart() {
  const std::string exe = FindRedisServer();
  if (exe.empty()) {
    return "redis-server not found (on PATH or $COSTS_REDIS_SERVER): install Debian's redis-server "
           "package (scripts/install-deps does)";
  }
  std::vector<std::string> args = {exe,      "--port",    std::to_string(port_), "--bind",      "127.0.0.1",
                                   "--save", "",          "--appendonly",        "no",          "--dir",
                                   dir_,     "--logfile", dir_ + "/redis.log",   "--daemonize", "no"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    // The child: dies with the test process, so that a crashed test leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "redis-server exited at start-up (port " + std::to_string(port_) + "); its log:\n" + LogTail();
    }
    if (AnswersPing(port_)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop();
  return "redis-server did not answer within 10 s; its log:\n" + LogTail();
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

}  // namespace costs::ratelimit::redis::testing
