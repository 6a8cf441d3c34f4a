#pragma once

#include <string>
#include <string_view>

#include "domain/time.hpp"

namespace costs::service {

// The clock port: tests fix "now". Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual domain::Instant Now() const = 0;
  // A monotonic reading in nanoseconds, for rate limits and cache expiry.
  virtual std::int64_t MonotonicNs() const = 0;
};

// Slow, salted password hashing (argon2id in production). Thread-safe.
class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // A self-describing encoded hash of `password` with a fresh salt. Empty on failure (out of
  // memory).
  virtual std::string Hash(std::string_view password) const = 0;
  // Whether `password` matches `encoded_hash`.
  virtual bool Verify(std::string_view encoded_hash, std::string_view password) const = 0;
  // A short fast digest of `secret` (keyed per process), to key caches without keeping
  // secrets in memory as they are.
  virtual std::string Fingerprint(std::string_view secret) const = 0;
  // Lower-case hex SHA-256 of `secret`: the same in every process, for storing high-entropy
  // secrets (API keys) that must be checked fast.
  virtual std::string SecretDigest(std::string_view secret) const = 0;
  // `bytes` random bytes as lower-case hex (2 × bytes characters), from a CSPRNG.
  virtual std::string RandomHex(std::size_t bytes) const = 0;
};

}  // namespace costs::service
