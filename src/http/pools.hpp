#pragma once

// The threads of the HTTP server that may block, beside the I/O threads, and the places on the
// password-hash pool. Included by server.cpp only (Asio's thread_pool).

#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <mutex>
#include <unordered_map>

#include "http/server.hpp"

namespace costs::http {

// `work` serves requests and looks up API keys (store calls), `hash` verifies passwords (a
// bounded number at a time), `probe` runs the readiness checks (one at a time, so that a hung
// store holds one thread). Thread-safe.
class Pools {
 public:
  // ServerOptions::worker_threads (0 = 16), hash_threads (0 = 8) and hash_queue size them.
  explicit Pools(const ServerOptions& options);

  // Takes a place for verifying the credentials whose Authorization header hashes to
  // `credentials` (running or waiting); false when all places are taken. Requests with the
  // same credentials as one already holding a place share it: they wait behind it, and find
  // its verification cached (a client opening many connections at once pays one hash and
  // takes one place). Different credentials take one place each, up to hash threads + queue.
  bool ReserveHash(std::size_t credentials);
  // REQUIRES: ReserveHash(credentials) returned true and was not released yet.
  void ReleaseHash(std::size_t credentials);

  boost::asio::thread_pool work;
  boost::asio::thread_pool hash;
  boost::asio::thread_pool probe;

 private:
  const std::size_t hash_capacity_;
  std::mutex hash_mu_;
  std::unordered_map<std::size_t, std::size_t> hash_pending_;  // credentials -> requests; GUARDED_BY(hash_mu_)
};

}  // namespace costs::http
