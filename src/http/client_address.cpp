#include "http/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace costs::http {
namespace {

struct Address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Address> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string z(text);  // inet_pton wants a terminated string
  Address a;
  if (inet_pton(AF_INET, z.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), a.bytes.begin())) {
      std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
      a.v6 = false;
    }
    return a;
  }
  return std::nullopt;
}

}  // namespace

std::string LoginLimitKey(std::string_view address) {
  std::optional<Address> a = ParseAddress(address);
  if (!a) return std::string(address);
  char text[INET6_ADDRSTRLEN] = {};
  if (!a->v6) {
    inet_ntop(AF_INET, a->bytes.data(), text, sizeof text);
    return text;
  }
  std::fill(a->bytes.begin() + 8, a->bytes.end(), std::uint8_t{0});
  inet_ntop(AF_INET6, a->bytes.data(), text, sizeof text);
  return std::string(text) + "/64";
}

Result<TrustedProxies> TrustedProxies::Parse(std::string_view list) {
  TrustedProxies out;
  while (!Trim(list).empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view entry = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;  // a stray comma
    const Error bad =
        MakeError(ErrorCode::kInvalidData, "--trusted-proxies: '" + std::string(entry) +
                                               "' is not an IP address or network (like 10.0.0.0/8 or ::1)");
    const std::size_t slash = entry.find('/');
    const auto address = ParseAddress(entry.substr(0, slash));
    if (!address) return bad;
    Net net{address->v6, address->bytes, address->v6 ? 128 : 32};
    if (slash != std::string_view::npos) {
      const std::string_view bits = entry.substr(slash + 1);
      int prefix = -1;
      const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() || prefix < 0 || prefix > net.prefix) {
        return bad;
      }
      net.prefix = prefix;
    }
    out.nets_.push_back(net);
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view address) const {
  if (nets_.empty()) return false;
  const auto a = ParseAddress(address);
  if (!a) return false;
  for (const Net& net : nets_) {
    if (net.v6 != a->v6) continue;
    int bits = net.prefix;
    bool match = true;
    for (std::size_t i = 0; bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = (net.bytes[i] & mask) == (a->bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::ClientAddress(std::string_view peer, std::string_view forwarded_for) const {
  if (!Contains(peer)) return std::string(peer);
  std::string_view client = peer;
  // Right to left: each hop was added by the proxy on its right.
  while (!Trim(forwarded_for).empty()) {
    const std::size_t comma = forwarded_for.rfind(',');
    const std::string_view hop =
        Trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    if (!ParseAddress(hop)) break;
    client = hop;
    if (!Contains(hop)) break;
  }
  return std::string(client);
}

}  // namespace costs::http
