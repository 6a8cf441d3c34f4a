#pragma once

// The caps on open connections (--max-connections, --max-connections-per-address): whether
// the server takes one more connection from an address. Beast-free. Thread-safe.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http/client_address.hpp"

namespace costs::http {

class ConnectionLimits {
 public:
  // At most `max_connections` open in all, and `max_per_address` from one peer address unless
  // that address is in `exempt` (trusted proxies carry many clients' connections).
  ConnectionLimits(std::size_t max_connections, std::size_t max_per_address, TrustedProxies exempt)
      : max_connections_(max_connections), max_per_address_(max_per_address), exempt_(std::move(exempt)) {}

  // Why a new connection from `peer` is not admitted, or kAdmitted after counting it in;
  // Release(peer) counts it out.
  enum class Admit { kAdmitted, kServerFull, kAddressFull };
  Admit Reserve(const std::string& peer);
  // REQUIRES: Reserve(peer) admitted a connection not released yet.
  void Release(const std::string& peer);

  // Connections admitted and not yet released.
  int live() const { return live_.load(); }

 private:
  const std::size_t max_connections_;
  const std::size_t max_per_address_;
  const TrustedProxies exempt_;
  std::atomic<int> live_{0};  // written under mu_
  std::mutex mu_;
  std::unordered_map<std::string, std::size_t> per_address_;  // GUARDED_BY(mu_)
};

}  // namespace costs::http
