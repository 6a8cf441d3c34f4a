#pragma once

// The session of one HTTP connection, over a plain or a TLS stream (after Beast's advanced
// server examples): it owns its buffer, reads a fresh parser per request, puts timeouts on every
// read and write, caps queued (pipelined) responses, and knows no resources: it reads a
// request's header, lets AdmitRequest (handler.hpp) decide on it from the header alone, reads
// the body (up to the limit it chose) only when it was admitted, hands the request to
// ServeAdmitted and writes back its answer. Included by plain_session.cpp and tls_session.cpp
// only, which instantiate it.

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/none.hpp>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/log.hpp"
#include "http/access_log.hpp"
#include "http/catching.hpp"
#include "http/errors.hpp"
#include "http/handler.hpp"
#include "http/header_fields.hpp"
#include "http/probes.hpp"
#include "http/registry.hpp"
#include "http/request_id.hpp"
#include "http/route_label.hpp"
#include "http/session_handler.hpp"
#include "http/wire_response.hpp"

namespace costs::http {
namespace session_detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

inline constexpr auto kHeaderTimeout = std::chrono::seconds(60);     // receiving a request's header, once begun
inline constexpr auto kBodyTimeout = std::chrono::seconds(300);      // receiving a usage ingest body
inline constexpr auto kSmallBodyTimeout = std::chrono::seconds(60);  // receiving any other body
inline constexpr auto kWriteTimeout = std::chrono::seconds(60);      // sending a response
inline constexpr auto kLingerTimeout = std::chrono::seconds(2);      // draining input (TLS: close_notify) before close
inline constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// The most a connection buffers of what it has not parsed yet: a header (kHeaderLimit), a
// chunk-size line with its extensions, a trailer. Body bytes pass through to the body. A chunk
// line or trailer that does not fit is malformed framing (400), never a growing buffer.
inline constexpr std::size_t kReadBufferLimit = 64 * 1024;
inline constexpr std::size_t kFirstReadBytes = 4096;
inline constexpr std::size_t kMaxQueuedResponses = 16;
inline constexpr std::size_t kMaxDrainBytes = 64 * 1024;  // read and dropped at most before a close

// One connection over a stream of Derived's (PlainSession: TCP; TlsSession: TLS over TCP).
// All its handlers run on the one thread that runs its io_context (the executor of its
// stream): no strand is needed. Derived holds `stream_` (its lowest layer a beast::tcp_stream,
// which carries the timeouts), says `static constexpr bool kTls`, and gives Begin() (the first
// step once started: a handshake, or the first read) and CloseStream() (the graceful close,
// after the last response went out).
template <class Derived>
class HttpSession : public SessionBase {
 public:
  // REQUIRES: registry->limits().Reserve(peer) admitted this connection; the session releases it.
  HttpSession(const net::any_io_executor& executor, std::shared_ptr<Registry> registry, std::string peer)
      : registry_(std::move(registry)),
        client_address_(std::move(peer)),
        buffer_(kReadBufferLimit),
        probe_timer_(executor) {
    // costs_http_open_connections counts the API's connections: not --metrics-listen's.
    if (!registry_->services().metrics_only) registry_->services().metrics->ConnectionOpened();
  }

  ~HttpSession() override {
    if (!registry_->services().metrics_only) registry_->services().metrics->ConnectionClosed();
    if (id_ != 0) registry_->Remove(id_);
    registry_->limits().Release(client_address_);
  }

  void Start() {
    id_ = registry_->Add(shared_from_this());
    net::dispatch(Stream().get_executor(), beast::bind_front_handler(&HttpSession::OnStart, Self()));
  }

  // Thread-safe: asks the session to close once the request in flight (if any) is answered.
  void Shutdown() override {
    net::post(Stream().get_executor(), beast::bind_front_handler(&HttpSession::OnShutdown, Self()));
  }

 private:
  friend Derived;

  Derived& derived() { return static_cast<Derived&>(*this); }
  auto& Stream() { return derived().stream_; }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(derived().stream_); }
  std::shared_ptr<Derived> Self() { return std::static_pointer_cast<Derived>(shared_from_this()); }

  void OnStart() {
    if (registry_->stopping()) {
      stopping_ = true;
      return Close();
    }
    derived().Begin();
  }

  void OnShutdown() {
    stopping_ = true;
    MaybeCloseIdle();
  }

  // Between requests nothing is lost by closing; mid-request we finish first.
  void MaybeCloseIdle() {
    if (!stopping_ || !reading_ || writing_ || !queue_.empty()) return;
    if (buffer_.size() != 0 || parser_ || (header_parser_ && header_parser_->got_some())) return;
    beast::error_code ec;
    Lowest().socket().cancel(ec);  // the read completes with operation_aborted
  }

  // Waits for the next request: an idle connection (nothing buffered) gets the keep-alive
  // timeout to send its first byte, then the header deadline for the whole header.
  void DoRead() {
    reading_ = true;
    if (buffer_.size() != 0) return ReadHeader();
    Lowest().expires_after(registry_->options().keep_alive_timeout);
    Stream().async_read_some(buffer_.prepare(kFirstReadBytes),
                             beast::bind_front_handler(&HttpSession::OnFirstBytes, Self()));
  }

  void OnFirstBytes(beast::error_code ec, std::size_t bytes) {
    buffer_.commit(bytes);
    if (ec == net::error::eof) ec = bhttp::error::end_of_stream;
    if (ec) {
      reading_ = false;
      return OnReadError(ec);
    }
    ReadHeader();
  }

  // Reads the next request's header; the body waits for AdmitRequest's decision.
  void ReadHeader() {
    header_parser_.emplace();
    header_parser_->header_limit(kHeaderLimit);
    header_parser_->body_limit(boost::none);  // AdmitRequest decides, OnHeader applies it
    Lowest().expires_after(kHeaderTimeout);
    bhttp::async_read_header(Stream(), buffer_, *header_parser_,
                             beast::bind_front_handler(&HttpSession::OnHeader, Self()));
  }

  void OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
    reading_ = false;
    if (ec) return OnReadError(ec);
    request_start_ = Clock::now();
    const bhttp::request<bhttp::empty_body>& req = header_parser_->get();
    if (std::optional<Error> framing = CheckFraming(req, header_parser_->chunked())) {
      Answer(MakeErrorResponse(*framing), req, /*force_close=*/true);
      header_parser_.reset();
      return MaybeRead();
    }
    Request head = HeadOf(req);
    Admission admission = Admit(head, /*may_block=*/false);
    switch (admission.deferred) {
      case Deferral::kNone:
        return OnAdmitted(std::move(admission));
      case Deferral::kReadiness:
        return CheckReadiness();
      case Deferral::kLookUpKey:
      case Deferral::kLookUpSession:
        return AdmitOn(registry_->pools().work, head, std::nullopt);
      case Deferral::kVerifyPassword: {
        // A hash of the header, not the secret itself, names the credentials in the pools.
        const std::size_t credentials = std::hash<std::string_view>{}(head.authorization);
        if (!registry_->pools().ReserveHash(credentials)) return AnswerUnread(TooManyLogins(registry_->services()));
        return AdmitOn(registry_->pools().hash, head, credentials);
      }
    }
  }

  // The request whose header header_parser_ holds, for AdmitRequest (views into it).
  Request HeadOf(const bhttp::request<bhttp::empty_body>& req) {
    Request head = ViewOf(req);
    if (const auto length = header_parser_->content_length()) head.content_length = *length;
    head.chunked = header_parser_->chunked();
    return head;
  }

  // ServeHeld on this session's thread (nullopt also when it throws: the pool then answers).
  std::optional<Response> ServeHeldHere(const Admission& admission, const Request& request, const std::string& id) {
    ScopedRequestId scope(id);
    auto [held, failure] =
        Catching<std::optional<Response>>([&] { return ServeHeld(admission, request, registry_->services()); });
    return failure ? std::nullopt : std::move(held);
  }

  // AdmitRequest on this session's thread, without blocking.
  Admission Admit(const Request& head, bool may_block) {
    ScopedRequestId scope(RequestId(header_parser_->get()));
    auto [admission, failure] = Catching<Admission>(
        [&] { return AdmitRequest(head, registry_->services(), registry_->options().max_body_bytes, may_block); });
    if (failure) admission.refusal = InternalError(header_parser_->get(), *failure);
    return admission;
  }

  // Admits the request on `pool` (where it may block), then goes on on this session's thread.
  // The job touches no member of the session: header_parser_ (which `head` views) is left
  // alone meanwhile (no read is in flight, in_pool_ holds off a close).
  // `hash_place`: the credentials whose place in the hash pool this request holds.
  void AdmitOn(net::thread_pool& pool, Request head, std::optional<std::size_t> hash_place) {
    in_pool_ = true;
    net::post(pool, [self = Self(), head, hash_place, request_id = RequestId(header_parser_->get())] {
      ScopedRequestId scope(request_id);
      Registry& registry = *self->registry_;
      auto [admission, failure] = Catching<Admission>(
          [&] { return AdmitRequest(head, registry.services(), registry.options().max_body_bytes, true); });
      if (hash_place) registry.pools().ReleaseHash(*hash_place);
      net::post(self->Stream().get_executor(),
                [self, admission = std::move(admission), failure = std::move(failure)]() mutable {
                  self->in_pool_ = false;
                  if (failure) admission.refusal = self->InternalError(self->header_parser_->get(), *failure);
                  self->OnAdmitted(std::move(admission));
                });
    });
  }

  // Answers the request whose header header_parser_ holds without reading its body. An
  // announced body (Content-Length > 0 or chunked) stays unread, so the stream cannot be
  // resynchronised: close after the answer.
  void AnswerUnread(Response&& response) {
    Answer(std::move(response), header_parser_->get(), /*force_close=*/!header_parser_->is_done());
    header_parser_.reset();
    MaybeRead();
  }

  // GET /readyz: services.readiness() on the probe thread, answered 503 if it has not returned
  // within readiness_timeout (a check still running then is left to finish on its own).
  void CheckReadiness() {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    probe_timer_.expires_after(registry_->options().readiness_timeout);
    probe_timer_.async_wait([self = Self(), answered](beast::error_code ec) {
      if (ec || answered->exchange(true)) return;
      self->in_pool_ = false;  // the check may go on; its outcome is dropped
      self->AnswerReadiness(MakeError(ErrorCode::kStoreFailed, "the readiness check timed out"));
    });
    in_pool_ = true;
    net::post(registry_->pools().probe, [self = Self(), answered, request_id = RequestId(header_parser_->get())] {
      ScopedRequestId scope(request_id);
      auto [ready, failure] =
          Catching<Status>([&] { return costs::http::CheckReadiness(self->registry_->services()); });
      if (failure) ready = MakeError(ErrorCode::kStoreFailed, *failure);
      net::post(self->Stream().get_executor(), [self, answered, ready = std::move(ready)] {
        if (answered->exchange(true)) return;
        self->in_pool_ = false;
        self->probe_timer_.cancel();
        self->AnswerReadiness(ready);
      });
    });
  }

  // REQUIRES: the readiness check's request is in header_parser_ (not yet answered).
  void AnswerReadiness(const Status& ready) {
    const Request head = ViewOf(header_parser_->get());
    Response res = ProbeResponse(Probe::kReady, head, ready);
    res.route = kReadyzRoute;  // counted and logged as /readyz, not `unmatched`
    AnswerUnread(std::move(res));
  }

  // Goes on with a request AdmitRequest decided on: answers a refusal, or reads the body.
  void OnAdmitted(Admission&& admission) {
    if (admission.refusal) return AnswerUnread(std::move(*admission.refusal));

    const bool small_body = admission.body_limit <= kSmallBodyLimit;
    parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    parser_->body_limit(static_cast<std::uint64_t>(admission.body_limit));
    body_limit_ = admission.body_limit;
    body_timeout_ = small_body ? kSmallBodyTimeout : kBodyTimeout;
    admission_ = std::move(admission);

    reading_ = true;
    const bool expects_continue = beast::iequals(parser_->get()[bhttp::field::expect], "100-continue");
    // A client that asks before sending an admitted body gets its 100 Continue, unless
    // responses are still going out (then it sends after its own timeout).
    if (expects_continue && !parser_->is_done() && !writing_ && queue_.empty()) {
      continue_ = bhttp::response<bhttp::empty_body>{bhttp::status::continue_, parser_->get().version()};
      writing_ = true;
      Lowest().expires_after(kWriteTimeout);
      bhttp::async_write(Stream(), continue_, beast::bind_front_handler(&HttpSession::OnContinueWritten, Self()));
      return;
    }
    ReadBody();
  }

  void OnContinueWritten(beast::error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    if (ec) {
      reading_ = false;
      return Abort();
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(body_timeout_);
    bhttp::async_read(Stream(), buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnRead, Self()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    reading_ = false;
    if (ec) return OnReadError(ec);
    auto req = std::make_shared<bhttp::request<bhttp::string_body>>(parser_->release());
    parser_.reset();
    auto admission = std::make_shared<Admission>(std::move(*admission_));
    admission_.reset();
    Request request = ViewOf(*req);  // views into *req, which the job keeps alive
    request.body = req->body();
    // A body cached and found from memory alone (ServeHeld) is answered here; the rest on the
    // work pool (store calls may block), a sign-in (a slow hash) on the hash pool, holding a
    // place there as a Basic login does. The job touches no member of the session.
    if (auto held = ServeHeldHere(*admission, request, RequestId(*req))) {
      Answer(std::move(*held), *req, /*force_close=*/false);
      return MaybeRead();
    }
    const bool sign_in = admission->route.endpoint == Endpoint::kSignIn;
    const std::size_t place = sign_in ? std::hash<std::string_view>{}(request.body) : 0;
    if (sign_in && !registry_->pools().ReserveHash(place)) {
      Answer(TooManyLogins(registry_->services()), *req, /*force_close=*/false);
      return MaybeRead();
    }
    in_pool_ = true;
    net::post(sign_in ? registry_->pools().hash : registry_->pools().work,
              [self = Self(), req, admission, request, sign_in, place, request_id = RequestId(*req)] {
                ScopedRequestId scope(request_id);
                auto [response, failure] =
                    Catching<Response>([&] { return ServeAdmitted(*admission, request, self->registry_->services()); });
                if (sign_in) self->registry_->pools().ReleaseHash(place);
                net::post(self->Stream().get_executor(), [self, req, admission, response = std::move(response),
                                                          failure = std::move(failure)]() mutable {
                  self->in_pool_ = false;
                  if (failure) response = self->InternalError(*req, *failure);
                  if (response.principal.empty()) response.principal = admission->principal.name;
                  self->Answer(std::move(response), *req, /*force_close=*/false);
                  self->MaybeRead();
                });
              });
  }

  // The parts of a request's header the handlers read (views into `req`).
  // REQUIRES: the request's header is complete (its client is chosen from it, once).
  template <class Body>
  Request ViewOf(const bhttp::request<Body>& req) {
    if (request_client_.empty()) {
      request_client_ = registry_->trusted_proxies().ClientAddress(client_address_, ForwardedFor(req));
    }
    Request request;
    request.method = req.method_string();
    request.target = req.target();
    request.authorization = req[bhttp::field::authorization];
    request.content_type = req[bhttp::field::content_type];
    request.accept = req[bhttp::field::accept];
    request.accept_encoding = req[bhttp::field::accept_encoding];
    request.if_none_match = req[bhttp::field::if_none_match];
    request.client_address = request_client_;
    request.cookie = req[bhttp::field::cookie];
    request.origin = req[bhttp::field::origin];
    request.host = req[bhttp::field::host];
    request.requested_with = req["X-Requested-With"];
    request.https = Derived::kTls || (registry_->trusted_proxies().Contains(client_address_) && ForwardedHttps(req));
    return request;
  }

  // The id of the request being read: the client's x-request-id when sane, else a new one.
  // Chosen once per request; Answer forgets it.
  template <class Body>
  const std::string& RequestId(const bhttp::request<Body>& req) {
    if (request_id_.empty()) {
      const std::string_view sent = req["x-request-id"];
      request_id_ = IsSaneRequestId(sent) ? std::string(sent) : NewRequestId();
    }
    return request_id_;
  }

  // A 500 for an exception that escaped a handler; logs it with the request id.
  template <class Body>
  Response InternalError(const bhttp::request<Body>& req, std::string_view what) {
    spdlog::error("request {}: unhandled exception: {}", RequestId(req), what);
    return MakeErrorResponse(MakeError(ErrorCode::kInternal, "unhandled exception"));
  }

  // Logs and queues the response to `req`, with its request id.
  // `force_close`: the connection closes after it whatever the client asked.
  template <class Body>
  void Answer(Response&& response, const bhttp::request<Body>& req, bool force_close) {
    const std::string request_id = RequestId(req);
    request_id_.clear();
    ++requests_;
    const bool keep_alive =
        req.keep_alive() && !stopping_ && !force_close && requests_ < registry_->options().max_requests_per_connection;
    if (!keep_alive) closing_ = true;
    LogRequest(request_id, req.method_string(), req.target(), response);
    request_client_.clear();
    Enqueue(ToWire(std::move(response), req.version(), keep_alive, request_id, req.method() == bhttp::verb::head));
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == bhttp::error::partial_message) {
      // The client closed (or went away mid-request), or we stopped an idle read.
      closing_ = true;
      if (!writing_ && queue_.empty()) Close();
      return;
    }
    if (ec == bhttp::error::body_limit) {
      return Refuse(MakeError(ErrorCode::kPayloadTooLarge,
                              "The request body is larger than " + std::to_string(body_limit_) + " bytes."));
    }
    if (ec == bhttp::error::header_limit) {
      return Refuse(MakeError(ErrorCode::kInvalidData, "The request header is too large."));
    }
    if (ec == bhttp::error::buffer_overflow) {
      return Refuse(MakeError(ErrorCode::kInvalidData,
                              "The request's chunked framing is malformed: a chunk-size line or the trailer is "
                              "longer than " +
                                  std::to_string(kReadBufferLimit) + " bytes."));
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return Refuse(MakeError(ErrorCode::kInvalidData, "The request is not valid HTTP/1.1."));
    }
    // A timeout (the stream closed the socket already) or a network error: nobody to answer.
    if (ec != beast::error::timeout) spdlog::debug("connection from {}: read: {}", client_address_, ec.message());
    Abort();
  }

  // Answers a request we could not read completely, then closes the connection. When its
  // header was read, the response carries the client's x-request-id (when sane) and principal.
  void Refuse(const Error& error) {
    closing_ = true;
    Response response = MakeErrorResponse(error);
    if (parser_ && parser_->is_header_done()) {
      if (admission_) response.principal = admission_->principal.name;
      if (admission_) response.route = RouteOf(admission_->route.endpoint);
      Answer(std::move(response), parser_->get(), /*force_close=*/true);
    } else if (header_parser_ && header_parser_->is_header_done()) {
      Answer(std::move(response), header_parser_->get(), /*force_close=*/true);
    } else {
      const std::string request_id = NewRequestId();
      LogRequest(request_id, "-", "-", response);
      Enqueue(ToWire(std::move(response), 11, false, request_id));
    }
    parser_.reset();
    header_parser_.reset();
    admission_.reset();
  }

  // The access-log line and the metrics of one answer (access_log.hpp).
  void LogRequest(const std::string& request_id, std::string_view method, std::string_view target,
                  const Response& response) {
    const std::chrono::microseconds duration(request_start_ ? MicrosSince(*request_start_) : 0);
    request_start_.reset();
    const std::string_view client = request_client_.empty() ? client_address_ : request_client_;
    LogAccess(registry_->services(), AccessLine{request_id, client, method, target, duration}, response);
  }

  void Enqueue(WireResponse&& res) {
    queue_.push_back(std::move(res));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    Lowest().expires_after(kWriteTimeout);
    const WireResponse& res = queue_.front();
    const std::array<net::const_buffer, 2> buffers{net::buffer(res.head),
                                                   res.body ? net::buffer(*res.body) : net::const_buffer()};
    net::async_write(Stream(), buffers, beast::bind_front_handler(&HttpSession::OnWrite, Self()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    if (ec) {
      spdlog::debug("connection from {}: write: {}", client_address_, ec.message());
      return Abort();
    }
    const bool close = queue_.front().close;
    queue_.pop_front();
    if (close) {
      closing_ = true;
      queue_.clear();
      return Close();
    }
    if (!queue_.empty()) return DoWrite();
    if ((closing_ || stopping_) && !reading_ && !in_pool_) return Close();
    MaybeCloseIdle();
    MaybeRead();
  }

  void MaybeRead() {
    if (reading_ || in_pool_ || closing_ || closed_ || stopping_ || queue_.size() >= kMaxQueuedResponses) return;
    DoRead();
  }

  // Graceful close: send FIN, then drain what the client still sends (a body we refused,
  // say) for a moment and up to kMaxDrainBytes, so that it reads our last response rather
  // than a reset.
  void Close() {
    assert(!reading_ && !writing_);
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    derived().CloseStream();
  }

  // The plain close: FIN, then Drain.
  void ShutdownSendAndDrain() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Abort();
    linger_until_ = Clock::now() + kLingerTimeout;
    Drain();
  }

  void Drain() {
    Lowest().expires_at(linger_until_);
    Lowest().async_read_some(net::buffer(drain_buffer_), beast::bind_front_handler(&HttpSession::OnDrain, Self()));
  }

  void OnDrain(beast::error_code ec, std::size_t bytes) {
    if (ec) return Abort();  // EOF, timeout or error: done either way
    drained_ += bytes;
    if (drained_ >= kMaxDrainBytes) return Abort();
    Drain();
  }

  void Abort() {
    closed_ = true;
    closing_ = true;
    queue_.clear();
    beast::error_code ec;
    Lowest().socket().close(ec);
  }

  std::shared_ptr<Registry> registry_;
  std::uint64_t id_ = 0;
  const std::string client_address_;  // the peer's address
  std::string request_client_;        // the client of the request being read (TrustedProxies), once known
  beast::flat_buffer buffer_;         // at most kReadBufferLimit bytes
  std::size_t requests_ = 0;          // answered on this connection
  // Reads a request's header; moved into parser_ once the request is admitted.
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  // Reads an admitted request's body, up to body_limit_ bytes.
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<Admission> admission_;  // of the request parser_ reads
  std::string request_id_;              // of the request being read, once chosen (RequestId)
  std::size_t body_limit_ = 0;
  Clock::duration body_timeout_ = kSmallBodyTimeout;
  bhttp::response<bhttp::empty_body> continue_;
  net::steady_timer probe_timer_;   // GET /readyz's deadline
  bool in_pool_ = false;            // a pool works on this session's request: no read, no close until it is back
  std::deque<WireResponse> queue_;  // responses in request order; front() is being written
  std::optional<Clock::time_point> request_start_;
  Clock::time_point linger_until_;
  char drain_buffer_[4096];
  std::size_t drained_ = 0;
  bool reading_ = false;   // a read of a request is in flight
  bool writing_ = false;   // a write is in flight
  bool closing_ = false;   // read no more requests
  bool closed_ = false;    // shut down or closed; no more I/O but the drain
  bool stopping_ = false;  // the server is stopping: answer what is in flight, then close
};

}  // namespace session_detail

using session_detail::HttpSession;

}  // namespace costs::http
