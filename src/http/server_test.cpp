// RunServer in this process on 127.0.0.1:0, over the in-memory store, with test doubles whose
// slow parts (password hashing, store reads) block until the test opens their gate: what must
// go on answering while they block. No timing assertions: a request that should be answered
// is waited for with a 30 s guard (a hang fails the test), and the doubles report when a call
// is blocked so the test never sleeps.

#include "http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/rate_limiter.hpp"
#include "service/testing/fakes.hpp"
#include "service/testing/forwarding_store.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::http {
namespace {

using namespace std::chrono_literals;
constexpr auto kGuard = 30s;  // how long an answer that must come may take before the test fails

// Blocks its callers while closed; counts them, so a test can wait until N are blocked.
class Gate {
 public:
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  void Pass() const {
    std::unique_lock lock(mu_);
    if (!closed_) return;
    ++blocked_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !closed_; });
    --blocked_;
  }
  // Whether `n` callers are blocked within the guard time.
  bool WaitBlocked(int n) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kGuard, [&] { return blocked_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool closed_ = false;
  mutable int blocked_ = 0;
};

// FakeHasher whose Verify passes a gate first (a slow argon2id, held by the test).
class GatedHasher final : public service::PasswordHasher {
 public:
  std::string Hash(std::string_view password) const override { return inner_.Hash(password); }
  bool Verify(std::string_view hash, std::string_view password) const override {
    gate.Pass();
    return inner_.Verify(hash, password);
  }
  std::string Fingerprint(std::string_view secret) const override { return inner_.Fingerprint(secret); }
  std::string SecretDigest(std::string_view secret) const override { return inner_.SecretDigest(secret); }
  std::string RandomHex(std::size_t bytes) const override { return inner_.RandomHex(bytes); }
  Gate gate;

 private:
  service::testing::FakeHasher inner_;
};

// The memory store, whose reads of organizations and data versions pass a gate first (a
// database behind a silent network partition, held by the test).
class GatedStore final : public service::testing::ForwardingStore {
 public:
  GatedStore() : ForwardingStore(memory_) {}
  Result<std::optional<service::Organization>> FindOrganization(std::string_view id) override {
    gate.Pass();
    if (log) Log(log, LogLevel::kWarn, "FindOrganization");
    return ForwardingStore::FindOrganization(id);
  }
  Result<std::int64_t> DataVersion(std::string_view org) override {
    gate.Pass();
    if (throw_once.exchange(false)) throw std::runtime_error("a store bug");
    return ForwardingStore::DataVersion(org);
  }
  // Held versions never pass the gate: none unless the test says so (then the memory store's).
  std::optional<std::int64_t> HeldDataVersion(std::string_view org) override {
    return hold_versions ? ForwardingStore::HeldDataVersion(org) : std::nullopt;
  }
  // Logs a line through `log` (when set), as a store adapter logs its diagnostics.
  Result<std::optional<service::User>> FindUser(std::string_view name) override {
    if (log) Log(log, LogLevel::kWarn, "FindUser");
    return ForwardingStore::FindUser(name);
  }
  Gate gate;
  std::atomic<bool> throw_once{false};     // the next DataVersion throws (a bug in an adapter)
  std::atomic<bool> hold_versions{false};  // HeldDataVersion answers (a store that caches versions)
  LogSink log;

 private:
  store::memory::MemoryStore memory_;
};

// One HTTP/1.1 exchange on a fresh connection from `source` (a 127.0.0.0/8 address).
class Client {
 public:
  Client(std::uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Send(std::string_view target, std::string_view authorization = {}, std::string_view request_id = {}) {
    std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n";
    if (!authorization.empty()) req += "Authorization: " + std::string(authorization) + "\r\n";
    if (!request_id.empty()) req += "x-request-id: " + std::string(request_id) + "\r\n";
    req += "\r\n";
    ASSERT_EQ(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }

  void SendRaw(std::string_view req) {
    ASSERT_EQ(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }

  // Whether a response has begun to arrive within `wait`.
  bool Ready(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }

  // The status of the response (its header read whole), or 0 when none came within kGuard.
  int Status() {
    std::string buf;
    char chunk[4096];
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    while (buf.find("\r\n\r\n") == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Ready(left)) return 0;
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return 0;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    head_ = buf.substr(0, buf.find("\r\n\r\n"));
    return std::stoi(buf.substr(9, 3));
  }
  const std::string& head() const { return head_; }

  // Whether the server closes the connection (EOF or a reset) within kGuard, sending nothing.
  bool ClosedByServer() const {
    char byte = 0;
    return Ready(std::chrono::duration_cast<std::chrono::milliseconds>(kGuard)) && ::recv(fd_, &byte, 1, 0) <= 0;
  }

 private:
  int fd_ = -1;
  std::string head_;
};

constexpr const char* kAliceAuth = "Basic YWxpY2U6cHctYWxpY2U=";  // alice:pw-alice
constexpr const char* kBobAuth = "Basic Ym9iOnB3LWJvYg==";        // bob:pw-bob
constexpr const char* kWrongAuth = "Basic bWFsbG9yeTp3cm9uZw==";  // mallory:wrong
constexpr const char* kOrgA = "/api/v1/organizations/org-a";
constexpr const char* kChart = "/api/v1/billing/costs/org-a/charts?from=2026-11-01&to=2026-11-02";

class ServerTest : public ::testing::Test {
 protected:
  ServerTest()
      : costs_(store_, clock_),
        admin_(store_, hasher_),
        auth_(store_, hasher_, clock_),
        per_principal_(clock_, 0, 0),
        failed_logins_(clock_, 0.5, 10) {
    clock_.now = *domain::ParseRfc3339("2026-11-15T12:00:00Z");
    EXPECT_TRUE(admin_.CreateOrganization("org-a", "Org A"));
    EXPECT_TRUE(admin_.PutUser("alice", "pw-alice", false, {"org-a"}));
    EXPECT_TRUE(admin_.PutUser("bob", "pw-bob", false, {"org-a"}));
    EXPECT_TRUE(admin_.PutUser("mallory", "pw-mallory", false, {}));
    options_.port = 0;
    options_.threads = 2;
    spdlog::set_level(spdlog::level::off);  // the tests read statuses, not logs
  }

  ~ServerTest() override { Stop(); }

  void Start() {
    Services services{costs_, admin_, auth_, per_principal_, failed_logins_};
    services.sessions = &sessions_;
    services.readiness = [this]() -> costs::Status {
      Result<std::int64_t> version = store_.DataVersion("");
      if (!version) return std::move(version).error();
      return {};
    };
    std::promise<std::uint16_t> listening;
    std::future<std::uint16_t> port = listening.get_future();
    std::promise<std::uint16_t> listening_tls;
    std::future<std::uint16_t> tls_port = listening_tls.get_future();
    server_ = std::thread([this, services, &listening, &listening_tls] {
      RunServer(
          options_, services, [&](std::uint16_t p) { listening.set_value(p); },
          [&](std::uint16_t p) { listening_tls.set_value(p); });
    });
    port_ = port.get();
    if (!options_.tls_cert.empty()) tls_port_ = tls_port.get();
  }

  // Opens every gate (so that blocked calls finish) and stops the server as SIGTERM would.
  void Stop() {
    if (!server_.joinable()) return;
    hasher_.gate.Open();
    store_.gate.Open();
    std::raise(SIGTERM);
    server_.join();
  }

  int Get(std::string_view target, std::string_view authorization = {}, const char* source = "127.0.0.1") {
    Client c(port_, source);
    c.Send(target, authorization);
    return c.Status();
  }

  service::testing::FakeClock clock_;
  GatedHasher hasher_;
  GatedStore store_;
  service::CostsService costs_;
  service::AdminService admin_;
  service::Authenticator auth_;
  service::LocalRateLimiter per_principal_;
  service::LocalRateLimiter failed_logins_;
  service::SessionService sessions_{store_, auth_, hasher_, clock_};
  ServerOptions options_;
  std::uint16_t tls_port_ = 0;  // with options_.tls_cert set
  std::thread server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, WrongPasswordsBeingHashedDoNotStallOtherUsers) {
  Start();
  ASSERT_EQ(Get(kOrgA, kAliceAuth), 200);  // alice's credentials are now cached
  hasher_.gate.Close();
  // More slow logins than there are I/O threads, from other addresses.
  std::vector<std::unique_ptr<Client>> attackers;
  for (int i = 0; i < 4; ++i) {
    attackers.push_back(std::make_unique<Client>(port_, "127.0.0.2"));
    attackers.back()->Send(kOrgA, kWrongAuth);
  }
  ASSERT_TRUE(hasher_.gate.WaitBlocked(1)) << "no wrong password reached the hasher";
  EXPECT_EQ(Get(kOrgA, kAliceAuth), 200) << "a cached user waited for other users' password hashing";
  EXPECT_EQ(Get("/healthz"), 200) << "/healthz waited for password hashing";
  hasher_.gate.Open();
  for (auto& a : attackers) EXPECT_EQ(a->Status(), 401);
}

TEST_F(ServerTest, SignInsBeingHashedDoNotStallOtherUsers) {
  Start();
  ASSERT_EQ(Get(kOrgA, kAliceAuth), 200);  // alice's credentials are now cached
  hasher_.gate.Close();
  std::vector<std::unique_ptr<Client>> sign_ins;
  for (int i = 0; i < 4; ++i) {  // more than there are I/O threads
    const std::string body = R"({"username":"mallory","password":"wrong-)" + std::to_string(i) + "\"}";
    sign_ins.push_back(std::make_unique<Client>(port_, "127.0.0.2"));
    sign_ins.back()->SendRaw(
        "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  ASSERT_TRUE(hasher_.gate.WaitBlocked(1)) << "no sign-in reached the hasher";
  EXPECT_EQ(Get(kOrgA, kAliceAuth), 200) << "a cached user waited for sign-ins' password hashing";
  EXPECT_EQ(Get("/healthz"), 200) << "/healthz waited for a sign-in's password hashing";
  hasher_.gate.Open();
  for (auto& s : sign_ins) EXPECT_EQ(s->Status(), 401);
}

TEST_F(ServerTest, StoreLinesLoggedDuringARequestCarryItsId) {
  struct Lines {
    std::mutex mu;
    std::vector<std::string> lines;  // "REQUEST-ID MESSAGE"
  };
  auto logged = std::make_shared<Lines>();  // outlives the server's threads, whatever happens
  store_.log = [logged](LogLevel, std::string_view message) {
    std::lock_guard lock(logged->mu);
    logged->lines.push_back(std::string(CurrentRequestId()) + " " + std::string(message));
  };
  Start();
  Client c(port_);
  c.Send(kChart, kAliceAuth, "store-line-1");  // a password verified on the hash pool, a read on the work pool
  ASSERT_EQ(c.Status(), 200);
  Stop();
  const std::vector<std::string>& lines = logged->lines;
  EXPECT_NE(std::find(lines.begin(), lines.end(), "store-line-1 FindUser"), lines.end())
      << "the store's line while verifying the password names the request";
  EXPECT_NE(std::find(lines.begin(), lines.end(), "store-line-1 FindOrganization"), lines.end())
      << "the store's line while serving the request names it";
  for (const std::string& line : lines) EXPECT_EQ(line.rfind("store-line-1 ", 0), 0u) << line;
  EXPECT_EQ(CurrentRequestId(), "") << "no request id outside a request";
}

TEST_F(ServerTest, SlowStoreCallsDoNotStallProbesOrOtherConnections) {
  Start();
  ASSERT_EQ(Get(kChart, kAliceAuth), 200);
  store_.gate.Close();
  std::vector<std::unique_ptr<Client>> stuck;
  for (int i = 0; i < 4; ++i) {  // more than there are I/O threads
    stuck.push_back(std::make_unique<Client>(port_));
    stuck.back()->Send(kChart, kAliceAuth);
  }
  ASSERT_TRUE(store_.gate.WaitBlocked(2)) << "the requests did not reach the store";
  EXPECT_EQ(Get("/healthz"), 200) << "/healthz waited for the store";
  EXPECT_EQ(Get("/no/such/path"), 404) << "a request needing no store waited for the store";
  store_.gate.Open();
  for (auto& s : stuck) EXPECT_EQ(s->Status(), 200);
}

// Indices of `clients` whose answer has begun to arrive, once at least `n` have (or when the
// guard runs out).
std::vector<std::size_t> WaitAnswered(const std::vector<std::unique_ptr<Client>>& clients, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  for (;;) {
    std::vector<std::size_t> ready;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (clients[i]->Ready(0ms)) ready.push_back(i);
    }
    if (ready.size() >= n || std::chrono::steady_clock::now() >= deadline) return ready;
    clients.front()->Ready(10ms);  // a short poll before looking again
  }
}

TEST_F(ServerTest, ACachedBodyWhoseVersionIsHeldNeedsNoStoreCall) {
  store_.hold_versions = true;
  Start();
  ASSERT_EQ(Get(kChart, kAliceAuth), 200);  // rendered and cached; the organization is known
  store_.gate.Close();                      // any store call would now wait for the gate
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {  // more than there are I/O threads
    clients.push_back(std::make_unique<Client>(port_));
    clients.back()->Send(kChart, kAliceAuth);
  }
  // Answered while the gate is still shut (or the guard runs out: a failure, not a hang).
  const std::vector<std::size_t> answered = WaitAnswered(clients, clients.size());
  store_.gate.Open();
  EXPECT_EQ(answered.size(), clients.size()) << "a cached chart waited for the store";
  for (auto& c : clients) EXPECT_EQ(c->Status(), 200) << "answered from memory on the I/O thread";
}

TEST_F(ServerTest, LoginsBeyondTheHashQueueAreRefusedAtOnce) {
  options_.hash_threads = 1;
  options_.hash_queue = 2;
  Start();
  hasher_.gate.Close();
  std::vector<std::unique_ptr<Client>> logins;
  for (const char* auth : {"Basic bWFsbG9yeTp3cm9uZy0x", "Basic bWFsbG9yeTp3cm9uZy0y", "Basic bWFsbG9yeTp3cm9uZy0z",
                           "Basic bWFsbG9yeTp3cm9uZy00", "Basic bWFsbG9yeTp3cm9uZy01"}) {  // mallory:wrong-1..5
    logins.push_back(std::make_unique<Client>(port_, "127.0.0.2"));
    logins.back()->Send(kOrgA, auth);
  }
  ASSERT_TRUE(hasher_.gate.WaitBlocked(1));
  // Five different credentials: one verifying and two waiting fill the 3 places, the other two
  // are refused while the hasher is still held.
  const std::vector<std::size_t> answered = WaitAnswered(logins, 2);
  ASSERT_EQ(answered.size(), 2u);
  for (std::size_t i : answered) {
    EXPECT_EQ(logins[i]->Status(), 429);
    EXPECT_NE(logins[i]->head().find("Retry-After: 1"), std::string::npos) << logins[i]->head();
  }
  hasher_.gate.Open();
  for (std::size_t i = 0; i < logins.size(); ++i) {
    if (std::find(answered.begin(), answered.end(), i) == answered.end()) {
      EXPECT_EQ(logins[i]->Status(), 401);
    }
  }
  EXPECT_EQ(Get(kOrgA, kBobAuth, "127.0.0.2"), 200) << "the refused logins were not counted as failed";
}

TEST_F(ServerTest, ManyConnectionsWithTheSameCredentialsShareOnePlace) {
  // A client opening many connections at once with credentials not yet verified (wrk, a
  // dashboard, the soak) must not be refused for the hash pool's capacity.
  options_.hash_threads = 1;
  options_.hash_queue = 0;  // one place in all
  Start();
  hasher_.gate.Close();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    clients.back()->Send(kOrgA, kAliceAuth);
  }
  ASSERT_TRUE(hasher_.gate.WaitBlocked(1));
  const std::vector<std::unique_ptr<Client>> third = [&] {
    std::vector<std::unique_ptr<Client>> v;
    v.push_back(std::make_unique<Client>(port_));
    v.back()->Send(kOrgA, kWrongAuth);
    return v;
  }();
  ASSERT_EQ(WaitAnswered(third, 1).size(), 1u);
  EXPECT_EQ(third.front()->Status(), 429) << "other credentials, no place left";
  hasher_.gate.Open();
  for (auto& c : clients) EXPECT_EQ(c->Status(), 200);
}

TEST_F(ServerTest, ReadinessIs503WhileTheStoreHangs) {
  options_.readiness_timeout = 1s;
  Start();
  const auto ready_again = [&] {
    for (const auto deadline = std::chrono::steady_clock::now() + kGuard;
         std::chrono::steady_clock::now() < deadline;) {
      if (Get("/readyz") == 200) return true;
    }
    return false;
  };
  ASSERT_TRUE(ready_again());
  store_.gate.Close();
  EXPECT_EQ(Get("/readyz"), 503);
  EXPECT_EQ(Get("/readyz"), 503) << "a second probe while the first check still hangs";
  EXPECT_EQ(Get("/healthz"), 200);
  store_.gate.Open();
  EXPECT_TRUE(ready_again()) << "ready again once the store answers";
}

TEST_F(ServerTest, AnExceptionInAPoolJobIsA500AndTheServerGoesOn) {
  Start();
  ASSERT_EQ(Get(kChart, kAliceAuth), 200);
  store_.throw_once = true;
  Client c(port_);
  c.Send("/api/v1/billing/costs/org-a/charts?from=2026-11-02&to=2026-11-03", kAliceAuth);
  EXPECT_EQ(c.Status(), 500);
  EXPECT_NE(c.head().find("x-cloud-error-codes: billing_service.failed_request"), std::string::npos) << c.head();
  EXPECT_FALSE(store_.throw_once) << "the request did not reach the store";
  EXPECT_EQ(Get(kChart, kAliceAuth), 200) << "the next request is served";
  EXPECT_EQ(Get("/healthz"), 200);
}

// A TLS client that connects and never finishes its handshake is dropped after
// tls_handshake_timeout, as a slow request is; plain requests go on meanwhile.
TEST_F(ServerTest, ATlsHandshakeThatNeverFinishesIsDropped) {
  char dir_template[] = "/tmp/costs-server-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string make_cert =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 1 -subj /CN=127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0) << make_cert;
  options_.tls_cert = dir + "/cert.pem";
  options_.tls_key = dir + "/key.pem";
  options_.tls_port = 0;
  options_.tls_handshake_timeout = 100ms;
  Start();
  Client silent(tls_port_);
  Client half(tls_port_);
  half.SendRaw(std::string("\x16\x03\x01\x00\x80", 5));  // a ClientHello's record header, and no more
  EXPECT_EQ(Get("/healthz"), 200);
  EXPECT_TRUE(silent.ClosedByServer()) << "a client that never starts the handshake";
  EXPECT_TRUE(half.ClosedByServer()) << "a client that never finishes it";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace costs::http
