// The session over plain TCP (session.hpp).

#include <memory>
#include <string>
#include <utility>

#include "http/session.hpp"
#include "http/sessions.hpp"

namespace costs::http {
namespace {

using session_detail::beast::tcp_stream;
using tcp = boost::asio::ip::tcp;

class PlainSession final : public HttpSession<PlainSession> {
 public:
  static constexpr bool kTls = false;

  PlainSession(tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer)
      : HttpSession(socket.get_executor(), std::move(registry), std::move(peer)), stream_(std::move(socket)) {}

 private:
  friend class HttpSession<PlainSession>;

  void Begin() { DoRead(); }
  void CloseStream() { ShutdownSendAndDrain(); }

  tcp_stream stream_;
};

}  // namespace

void StartPlainSession(tcp::socket&& socket, std::shared_ptr<Registry> registry, std::string peer) {
  std::make_shared<PlainSession>(std::move(socket), std::move(registry), std::move(peer))->Start();
}

}  // namespace costs::http
