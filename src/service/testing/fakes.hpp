#pragma once

// Test doubles for the service ports. Tests only.

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "service/ports.hpp"

namespace costs::service::testing {

// A clock the test sets by hand.
class FakeClock final : public Clock {
 public:
  domain::Instant Now() const override { return now; }
  std::int64_t MonotonicNs() const override { return mono; }
  domain::Instant now{0};
  std::int64_t mono = 0;
};

// "Hashes" by prefixing; counts Verify calls so tests can see when credentials were checked.
class FakeHasher final : public PasswordHasher {
 public:
  std::string Hash(std::string_view password) const override { return "h:" + std::string(password); }
  bool Verify(std::string_view hash, std::string_view password) const override {
    ++verifications;
    if (before_verify) before_verify();
    return hash == "h:" + std::string(password);
  }
  std::string Fingerprint(std::string_view secret) const override { return "f:" + std::string(secret); }
  std::string SecretDigest(std::string_view secret) const override { return "d:" + std::string(secret); }
  // Deterministic: "0000...", "0000..1", ... so tests can predict keys.
  std::string RandomHex(std::size_t bytes) const override {
    std::string counter = std::to_string(++random_calls);
    return std::string(2 * bytes - counter.size(), '0') + counter;
  }
  mutable std::atomic<int> random_calls{0};
  mutable std::atomic<int> verifications{0};
  std::function<void()> before_verify;  // runs in every Verify when set (e.g. to make it slow)
};

}  // namespace costs::service::testing
