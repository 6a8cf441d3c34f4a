// The TLS side of the server (tls.hpp): contexts, their reload, and the session over TLS
// (session.hpp). With asio_beast_impl.cpp, the only TU that includes Asio's SSL headers.

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>
#include <utility>

#include "http/session.hpp"
#include "http/sessions.hpp"
#include "http/tls.hpp"

namespace costs::http {
namespace {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

Error TlsFileError(std::string_view what, const std::string& file, const beast::error_code& ec) {
  return MakeError(ErrorCode::kInvalidData,
                   "cannot load the TLS " + std::string(what) + " from " + file + ": " + ec.message());
}

class TlsSession final : public HttpSession<TlsSession> {
 public:
  static constexpr bool kTls = true;

  TlsSession(tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer,
             std::shared_ptr<TlsContext> context)
      : HttpSession(socket.get_executor(), std::move(registry), std::move(peer)),
        context_(std::move(context)),
        stream_(std::move(socket), *context_) {}

 private:
  friend class HttpSession<TlsSession>;

  // The handshake, within ServerOptions::tls_handshake_timeout: a client that does not finish
  // it in time is dropped. It counts as a read: a stop cancels it as it does an idle read.
  void Begin() {
    reading_ = true;
    Lowest().expires_after(registry_->options().tls_handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server, beast::bind_front_handler(&TlsSession::OnHandshake, Self()));
  }

  void OnHandshake(beast::error_code ec) {
    reading_ = false;
    if (ec) {
      spdlog::debug("connection from {}: TLS handshake: {}", client_address_, ec.message());
      return Abort();
    }
    if (stopping_) return Close();
    DoRead();
  }

  // close_notify, and the client's, for at most the linger time; then, as a plain close, FIN
  // and a drain of what the client still sends (the rest of a body refused with 413, say), so
  // that the client reads the last response rather than a reset.
  void CloseStream() {
    Lowest().expires_after(session_detail::kLingerTimeout);
    stream_.async_shutdown([self = Self()](beast::error_code /*ec*/) { self->ShutdownSendAndDrain(); });
  }

  std::shared_ptr<TlsContext> context_;  // before stream_, which uses it
  beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

Result<std::shared_ptr<TlsContext>> MakeTlsContext(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                           SSL_OP_NO_RENEGOTIATION,
                       ec);
  if (ec) return MakeError(ErrorCode::kInvalidData, "cannot set up TLS: " + ec.message());
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return MakeError(ErrorCode::kInvalidData, "cannot set up TLS: no TLS 1.2");
  }
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return TlsFileError("certificate chain", cert_file, ec);
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return TlsFileError("private key", key_file, ec);
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return MakeError(ErrorCode::kInvalidData,
                     "the TLS private key " + key_file + " is not the key of the certificate " + cert_file);
  }
  return context;
}

Result<std::unique_ptr<TlsContexts>> TlsContexts::Load(std::string cert_file, std::string key_file) {
  Result<std::shared_ptr<TlsContext>> context = MakeTlsContext(cert_file, key_file);
  if (!context) return std::move(context).error();
  return std::unique_ptr<TlsContexts>(new TlsContexts(std::move(cert_file), std::move(key_file), std::move(*context)));
}

TlsContexts::TlsContexts(std::string cert_file, std::string key_file, std::shared_ptr<TlsContext> context)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(std::move(context)) {}

std::shared_ptr<TlsContext> TlsContexts::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Status TlsContexts::Reload() {
  Result<std::shared_ptr<TlsContext>> context = MakeTlsContext(cert_file_, key_file_);
  if (!context) return std::move(context).error();
  std::lock_guard lock(mu_);
  current_ = std::move(*context);
  return {};
}

void StartTlsSession(tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer,
                     std::shared_ptr<TlsContext> context) {
  std::make_shared<TlsSession>(std::move(socket), std::move(registry), std::move(peer), std::move(context))->Start();
}

}  // namespace costs::http
