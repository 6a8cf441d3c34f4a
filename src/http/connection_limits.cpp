#include "http/connection_limits.hpp"

namespace costs::http {

ConnectionLimits::Admit ConnectionLimits::Reserve(const std::string& peer) {
  const bool capped = !exempt_.Contains(peer);
  std::lock_guard lock(mu_);
  if (static_cast<std::size_t>(live_.load()) >= max_connections_) return Admit::kServerFull;
  std::size_t& mine = per_address_[peer];
  if (capped && mine >= max_per_address_) {
    if (mine == 0) per_address_.erase(peer);
    return Admit::kAddressFull;
  }
  ++mine;
  ++live_;
  return Admit::kAdmitted;
}

void ConnectionLimits::Release(const std::string& peer) {
  std::lock_guard lock(mu_);
  --live_;
  if (auto it = per_address_.find(peer); it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

}  // namespace costs::http
