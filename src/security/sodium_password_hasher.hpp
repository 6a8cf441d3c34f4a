#pragma once

#include <string>
#include <string_view>

#include "service/ports.hpp"

namespace costs::security {

// PasswordHasher on libsodium: argon2id (crypto_pwhash_str, interactive limits: ~64 MiB and
// tens of milliseconds per hash), and BLAKE2b keyed with a per-process random key for
// fingerprints, SHA-256 for secret digests, randombytes for keys. Thread-safe.
class SodiumPasswordHasher final : public service::PasswordHasher {
 public:
  // Initializes libsodium; aborts the process if it cannot (no usable randomness).
  SodiumPasswordHasher();

  std::string Hash(std::string_view password) const override;
  bool Verify(std::string_view encoded_hash, std::string_view password) const override;
  std::string Fingerprint(std::string_view secret) const override;
  std::string SecretDigest(std::string_view secret) const override;
  std::string RandomHex(std::size_t bytes) const override;

 private:
  unsigned char key_[32];
};

}  // namespace costs::security
