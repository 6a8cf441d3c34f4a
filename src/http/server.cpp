// The Beast/Asio side of the HTTP server, after Beast's advanced server example: listeners that
// accept (plain and TLS), a session per connection (session.hpp: a fresh parser per request,
// timeouts on every read and write, a cap on queued (pipelined) responses), a cap on
// connections, a signal_set for a graceful stop and, with TLS, one that reloads the certificate
// on SIGHUP.

#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/body_cache.hpp"
#include "http/connection_limits.hpp"
#include "http/pools.hpp"
#include "http/registry.hpp"
#include "http/sessions.hpp"
#include "http/tls.hpp"

namespace costs::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kHardStopAfter = std::chrono::seconds(10);  // after SIGINT/SIGTERM
constexpr auto kStopPollInterval = std::chrono::milliseconds(50);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr auto kConnectionLimitLogInterval = std::chrono::seconds(1);

// Accepts connections and starts a session for each: plain, or TLS with `tls`'s current context.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Accepts on the first of `iocs`; each new connection goes to the next io_context in turn.
  // `tls`: nullptr for plain HTTP; else it outlives the listener.
  Listener(const std::vector<std::unique_ptr<net::io_context>>& iocs, std::shared_ptr<Registry> registry,
           const TlsContexts* tls)
      : iocs_(iocs),
        acceptor_(*iocs.front()),
        retry_timer_(acceptor_.get_executor()),
        registry_(std::move(registry)),
        tls_(tls) {}

  // Opens, binds and listens; the error says why not.
  beast::error_code Listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return ec;
    acceptor_.bind(endpoint, ec);
    if (ec) return ec;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  std::uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void Start() {
    net::dispatch(acceptor_.get_executor(), beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
  }

  // Thread-safe: stops accepting.
  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      self->stopped_ = true;
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_timer_.cancel();
    });
  }

 private:
  void DoAccept() {
    if (stopped_) return;
    net::io_context& next = *iocs_[next_++ % iocs_.size()];
    acceptor_.async_accept(next, beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, say: back off a little instead of spinning.
      spdlog::warn("accept: {}", ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
        if (!timer_ec) self->DoAccept();
      });
      return;
    }
    beast::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    std::string address = peer_ec ? std::string("-") : peer.address().to_string();
    const ConnectionLimits::Admit admit = registry_->limits().Reserve(address);
    if (admit != ConnectionLimits::Admit::kAdmitted) {
      beast::error_code ignored;
      socket.close(ignored);
      LogRefusal(admit, address);
      return DoAccept();
    }
    try {  // a session that cannot start (no memory, SSL_new failing) must not end the accepting
      if (tls_ != nullptr) {
        StartTlsSession(std::move(socket), registry_, std::move(address), tls_->Current());
      } else {
        StartPlainSession(std::move(socket), registry_, std::move(address));
      }
    } catch (const std::exception& e) {
      spdlog::error("a connection could not start: {}", e.what());
    }
    DoAccept();
  }

  // A warning at most every kConnectionLimitLogInterval, with how many were closed since.
  void LogRefusal(ConnectionLimits::Admit why, const std::string& address) {
    ++refused_;
    const Clock::time_point now = Clock::now();
    if (now - last_refusal_log_ < kConnectionLimitLogInterval) return;
    const ServerOptions& o = registry_->options();
    if (why == ConnectionLimits::Admit::kServerFull) {
      spdlog::warn("connection limit ({}) reached: closed {} new connection(s) since the last warning",
                   o.max_connections, refused_);
    } else {
      spdlog::warn(
          "per-address connection limit ({}) reached by {}: closed {} new connection(s) since the last "
          "warning",
          o.max_connections_per_address, address, refused_);
    }
    last_refusal_log_ = now;
    refused_ = 0;
  }

  const std::vector<std::unique_ptr<net::io_context>>& iocs_;
  std::size_t next_ = 0;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::shared_ptr<Registry> registry_;
  const TlsContexts* tls_;
  bool stopped_ = false;
  // Connections closed at once for the connection limit since the last warning, and when
  // that was (a warning at most every kConnectionLimitLogInterval).
  std::uint64_t refused_ = 0;
  Clock::time_point last_refusal_log_{};
};

// Stops the server on SIGINT/SIGTERM: stop accepting, let sessions answer what is in flight
// and close, and stop the io_context after kHardStopAfter if some are still busy. A second
// signal during the stop gets the default action (the process ends).
class Stopper {
 public:
  // Runs on the first of `iocs`; `release` lets every io_context run out of work.
  Stopper(const std::vector<std::unique_ptr<net::io_context>>& iocs, std::shared_ptr<Registry> registry,
          std::vector<std::shared_ptr<Listener>> listeners, std::function<void()> release)
      : iocs_(iocs),
        signals_(*iocs.front(), SIGINT, SIGTERM),
        timer_(*iocs.front()),
        registry_(std::move(registry)),
        listeners_(std::move(listeners)),
        release_(std::move(release)) {}

  // Whether the stop gave up waiting for busy connections. Read after the io threads joined.
  bool hard_stopped() const { return hard_stopped_; }

  void Start() {
    signals_.async_wait([this](beast::error_code ec, int signal) {
      if (ec) return;
      spdlog::info("signal {}: stopping; finishing requests in flight", signal);
      beast::error_code ignored;
      signals_.clear(ignored);
      BeginStop();
    });
  }

 private:
  void BeginStop() {
    deadline_ = Clock::now() + kHardStopAfter;
    for (const auto& listener : listeners_) listener->Stop();
    for (const auto& session : registry_->BeginStop()) session->Shutdown();
    Poll();
  }

  void Poll() {
    if (registry_->live_sessions() == 0) {
      spdlog::info("all connections closed");
      release_();
      return;  // nothing keeps the io_contexts busy any more
    }
    if (Clock::now() >= deadline_) {
      spdlog::warn("{} connection(s) still busy after {} s; stopping anyway", registry_->live_sessions(),
                   std::chrono::duration_cast<std::chrono::seconds>(kHardStopAfter).count());
      hard_stopped_ = true;
      for (const auto& ioc : iocs_) ioc->stop();
      return;
    }
    timer_.expires_after(kStopPollInterval);
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) Poll();
    });
  }

  const std::vector<std::unique_ptr<net::io_context>>& iocs_;
  net::signal_set signals_;
  net::steady_timer timer_;
  std::shared_ptr<Registry> registry_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::function<void()> release_;
  Clock::time_point deadline_;
  bool hard_stopped_ = false;
};

// Reloads the TLS certificate and key on SIGHUP (TlsContexts::Reload): new connections shake
// hands with the new ones, open connections keep theirs; a file that does not load leaves the
// old ones in place and is logged as an error. Without TLS (`tls` nullptr) a SIGHUP is logged
// and changes nothing: `systemctl reload` never stops the server.
class Reloader {
 public:
  Reloader(net::io_context& ioc, TlsContexts* tls) : signals_(ioc, SIGHUP), tls_(tls) {}

  void Start() {
    signals_.async_wait([this](beast::error_code ec, int /*signal*/) {
      if (ec) return;  // cancelled: the server stops
      if (tls_ == nullptr) {
        spdlog::info("SIGHUP: nothing to reload (no --listen-tls)");
      } else if (Status reloaded = tls_->Reload(); !reloaded) {
        spdlog::error("SIGHUP: keeping the current TLS certificate: {}", reloaded.error().message);
      } else {
        spdlog::info("SIGHUP: reloaded the TLS certificate and key for new connections");
      }
      Start();
    });
  }

  // On the io_context's thread: stops waiting (the io_context may then run out of work).
  void Stop() {
    beast::error_code ignored;
    signals_.cancel(ignored);
  }

 private:
  net::signal_set signals_;
  TlsContexts* tls_;
};

// A listener on host:port (plain when `tls` is nullptr), or nullptr after logging why not.
std::shared_ptr<Listener> OpenListener(const std::vector<std::unique_ptr<net::io_context>>& iocs,
                                       const std::shared_ptr<Registry>& registry, const std::string& host,
                                       std::uint16_t port, const TlsContexts* tls) {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) {
    spdlog::error("cannot listen on {}: not an IP address", host);
    return nullptr;
  }
  auto listener = std::make_shared<Listener>(iocs, registry, tls);
  ec = listener->Listen(tcp::endpoint(address, port));
  if (ec) {
    spdlog::error("cannot listen{} on {}:{}: {}", tls ? " (TLS)" : "", host, port, ec.message());
    return nullptr;
  }
  return listener;
}

// Runs the io_context until it is out of work or stopped. Handlers catch what they expect;
// anything else escaping one is logged and the loop goes on.
void RunIo(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("io thread: unhandled exception: {}", e.what());
    } catch (...) {
      spdlog::error("io thread: unhandled exception of unknown type");
    }
  }
}

}  // namespace

int RunServer(const ServerOptions& options, Services services,
              const std::function<void(std::uint16_t port)>& on_listening,
              const std::function<void(std::uint16_t port)>& on_listening_tls) {
  // The certificate first: a server that cannot serve TLS as asked does not serve at all.
  std::unique_ptr<TlsContexts> tls;
  if (!options.tls_cert.empty()) {
    Result<std::unique_ptr<TlsContexts>> loaded = TlsContexts::Load(options.tls_cert, options.tls_key);
    if (!loaded) {
      spdlog::error("{}", loaded.error().message);
      return kTlsSetupFailed;
    }
    tls = std::move(*loaded);
  }
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Declared before the io_context: sessions destroyed with its queued handlers never see it gone.
  std::optional<BodyCache> body_cache;
  if (services.body_cache == nullptr && options.body_cache_bytes > 0) {
    body_cache.emplace(BodyCache::Limits{options.body_cache_bytes, options.body_cache_entries});
    services.body_cache = &*body_cache;
  }
  // One io_context per thread, each run by its thread alone: a connection lives on one of
  // them, so its handlers need no strand and the io_contexts share no scheduler lock.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  for (int i = 0; i < threads; ++i) iocs.push_back(std::make_unique<net::io_context>(1));
  // Until the stop is done, io_contexts without connections must keep running.
  using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;
  std::vector<WorkGuard> guards;
  for (const auto& ioc : iocs) guards.push_back(net::make_work_guard(*ioc));
  // After the io_contexts: destroyed (joined) first, so that a job's answer is posted to a live
  // io_context. A hard stop leaves them (see below).
  auto pools = std::make_unique<Pools>(options);
  auto registry = std::make_shared<Registry>(services, options, *pools);

  std::vector<std::shared_ptr<Listener>> listeners;
  if (options.listen_plain) {
    listeners.push_back(OpenListener(iocs, registry, options.host, options.port, nullptr));
    if (!listeners.back()) return 1;
  }
  if (tls) {
    listeners.push_back(OpenListener(iocs, registry, options.tls_host, options.tls_port, tls.get()));
    if (!listeners.back()) return 1;
  }
  std::optional<Reloader> reloader;  // not on costsd's metrics-only listener: the API's answers SIGHUP
  if (!registry->services().metrics_only) {
    reloader.emplace(*iocs.front(), tls.get());
    reloader->Start();
  }
  // Runs on iocs[0]'s thread; the guards and the reloader are only touched there (and after
  // the joins).
  Stopper stopper(iocs, registry, listeners, [&guards, &reloader] {
    for (WorkGuard& guard : guards) guard.reset();
    if (reloader) reloader->Stop();
  });
  stopper.Start();
  for (const auto& listener : listeners) listener->Start();
  if (on_listening && options.listen_plain) on_listening(listeners.front()->port());
  if (on_listening_tls && tls) on_listening_tls(listeners.back()->port());

  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) pool.emplace_back([ioc = iocs[static_cast<std::size_t>(i)].get()] { RunIo(*ioc); });
  RunIo(*iocs.front());
  for (std::thread& t : pool) t.join();
  if (stopper.hard_stopped()) {
    // Requests still busy after kHardStopAfter may be stuck in the store for long: the
    // process exits without waiting for their threads (joining them could take for ever).
    (void)pools.release();
  }
  spdlog::info("server stopped");
  return 0;
}

}  // namespace costs::http
