#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace costs::http {

// The networks of the reverse proxies in front of costsd (--trusted-proxies). A request that
// comes from one of them names its client in X-Forwarded-For; from anywhere else that header
// is the client's own claim and is ignored. The client address keys the failed-login limit
// and goes to the access log: behind a proxy without this, every client would share the
// proxy's address (and its failed logins would lock out everyone).
// The key of a client address in the failed-login limiter: an IPv4 address (or IPv4-mapped
// IPv6 address) as dotted quad; an IPv6 address as its /64 network ("2001:db8:0:1::/64"),
// since one subscriber commonly holds a whole /64 and would otherwise get a burst per address.
// Anything else (a malformed text) as it is.
std::string LoginLimitKey(std::string_view address);

class TrustedProxies {
 public:
  TrustedProxies() = default;

  // A comma-separated list of IPv4/IPv6 addresses or networks in CIDR notation, e.g.
  // "127.0.0.1,10.0.0.0/8,::1". Empty: no proxy is trusted. kInvalidData naming the bad entry.
  static Result<TrustedProxies> Parse(std::string_view list);

  bool empty() const { return nets_.empty(); }

  // Whether `address` (text, as the socket reports it) lies in a trusted network.
  bool Contains(std::string_view address) const;

  // The client of a request whose connection comes from `peer`: `peer` itself unless it is
  // trusted; then, walking X-Forwarded-For (`forwarded_for`, "client, proxy1, proxy2") from
  // the right, the first address that is not a trusted proxy (or the leftmost, if all are).
  // A malformed entry stops the walk: the address right of it (a trusted proxy) is the client.
  std::string ClientAddress(std::string_view peer, std::string_view forwarded_for) const;

 private:
  struct Net {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;  // leading bits that must match
  };
  std::vector<Net> nets_;
};

}  // namespace costs::http
