#include "http/pools.hpp"

namespace costs::http {
namespace {

std::size_t WorkThreads(const ServerOptions& options) {
  return static_cast<std::size_t>(options.worker_threads > 0 ? options.worker_threads : 16);
}
std::size_t HashThreads(const ServerOptions& options) {
  return static_cast<std::size_t>(options.hash_threads > 0 ? options.hash_threads : 8);
}

}  // namespace

Pools::Pools(const ServerOptions& options)
    : work(WorkThreads(options)),
      hash(HashThreads(options)),
      probe(1),
      hash_capacity_(HashThreads(options) + options.hash_queue) {}

bool Pools::ReserveHash(std::size_t credentials) {
  std::lock_guard lock(hash_mu_);
  auto it = hash_pending_.find(credentials);
  if (it == hash_pending_.end()) {
    if (hash_pending_.size() >= hash_capacity_) return false;
    it = hash_pending_.emplace(credentials, 0).first;
  }
  ++it->second;
  return true;
}

void Pools::ReleaseHash(std::size_t credentials) {
  std::lock_guard lock(hash_mu_);
  if (auto it = hash_pending_.find(credentials); it != hash_pending_.end() && --it->second == 0) {
    hash_pending_.erase(it);
  }
}

}  // namespace costs::http
