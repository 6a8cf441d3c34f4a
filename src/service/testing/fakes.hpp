#pragma once

// Test doubles for the service ports. Tests only.

#include <atomic>
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
    return hash == "h:" + std::string(password);
  }
  std::string Fingerprint(std::string_view secret) const override { return "f:" + std::string(secret); }
  mutable std::atomic<int> verifications{0};
};

}  // namespace costs::service::testing
