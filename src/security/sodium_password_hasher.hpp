#pragma once

#include <string>
#include <string_view>

#include "service/ports.hpp"

namespace costs::security {

// PasswordHasher on libsodium: argon2id (crypto_pwhash_str, interactive limits: ~64 MiB and
// tens of milliseconds per hash), and BLAKE2b keyed with a per-process random key for
// fingerprints. Thread-safe.
class SodiumPasswordHasher final : public service::PasswordHasher {
 public:
  // Initializes libsodium; aborts the process if it cannot (no usable randomness).
  SodiumPasswordHasher();

  std::string Hash(std::string_view password) const override;
  bool Verify(std::string_view encoded_hash, std::string_view password) const override;
  std::string Fingerprint(std::string_view secret) const override;

 private:
  unsigned char key_[32];
};

}  // namespace costs::security
