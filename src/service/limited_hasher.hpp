#pragma once

#include <semaphore>
#include <string>
#include <string_view>

#include "service/ports.hpp"

namespace costs::service {

// A PasswordHasher that lets at most `max_concurrent` slow calls (Hash, Verify) of another run
// at once; further callers wait for a turn. argon2id takes ~64 MiB and tens of ms of a core
// per call: this keeps hashing to a share of the cores however many threads ask (the server's
// hash pool has more threads than that, so that a slow store lookup before a hash does not
// hold up the other logins). The fast calls go straight through. Thread-safe.
class LimitedHasher final : public PasswordHasher {
 public:
  // REQUIRES: 1 <= max_concurrent <= kMaxConcurrent.
  static constexpr int kMaxConcurrent = 1024;
  LimitedHasher(const PasswordHasher& inner, int max_concurrent) : inner_(inner), turns_(max_concurrent) {}

  std::string Hash(std::string_view password) const override {
    Turn turn(turns_);
    return inner_.Hash(password);
  }
  bool Verify(std::string_view encoded_hash, std::string_view password) const override {
    Turn turn(turns_);
    return inner_.Verify(encoded_hash, password);
  }
  std::string Fingerprint(std::string_view secret) const override { return inner_.Fingerprint(secret); }
  std::string SecretDigest(std::string_view secret) const override { return inner_.SecretDigest(secret); }
  std::string RandomHex(std::size_t bytes) const override { return inner_.RandomHex(bytes); }

 private:
  using Semaphore = std::counting_semaphore<kMaxConcurrent>;
  class Turn {
   public:
    explicit Turn(Semaphore& s) : s_(s) { s_.acquire(); }
    ~Turn() { s_.release(); }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    Semaphore& s_;
  };
  const PasswordHasher& inner_;
  mutable Semaphore turns_;
};

}  // namespace costs::service
