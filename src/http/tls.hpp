#pragma once

// The TLS side of the server (--listen-tls, --tls-cert, --tls-key): server contexts on OpenSSL
// through Asio, TLS 1.2 and 1.3 only, and their reload (SIGHUP) without touching open
// connections: a reload makes a new context for the handshakes to come, while each session
// keeps the one it shook hands with. Asio's SSL headers stay in tls.cpp and tls_session.cpp.

#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace costs::http {

using TlsContext = boost::asio::ssl::context;

// A server context from a PEM certificate chain (the server's certificate first) and its PEM
// private key: TLS 1.2 and 1.3 only, no renegotiation. kInvalidData with a message naming the
// file and OpenSSL's reason when a file cannot be read or parsed, or the key is not the
// certificate's.
Result<std::shared_ptr<TlsContext>> MakeTlsContext(const std::string& cert_file, const std::string& key_file);

// The context new TLS connections shake hands with. Thread-safe.
class TlsContexts {
 public:
  // Loads the files once (MakeTlsContext's errors).
  static Result<std::unique_ptr<TlsContexts>> Load(std::string cert_file, std::string key_file);

  std::shared_ptr<TlsContext> Current() const;

  // Reads the files again: on success new connections get the new context; on failure the
  // current one stays and the error says why.
  Status Reload();

 private:
  TlsContexts(std::string cert_file, std::string key_file, std::shared_ptr<TlsContext> context);

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<TlsContext> current_;  // GUARDED_BY(mu_)
};

}  // namespace costs::http
