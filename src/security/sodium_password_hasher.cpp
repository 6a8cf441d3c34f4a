#include "security/sodium_password_hasher.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace costs::security {

SodiumPasswordHasher::SodiumPasswordHasher() {
  if (sodium_init() < 0) {
    std::fputs("fatal: libsodium could not be initialized\n", stderr);
    std::abort();
  }
  randombytes_buf(key_, sizeof key_);
}

std::string SodiumPasswordHasher::Hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return {};
  }
  return out;
}

bool SodiumPasswordHasher::Verify(std::string_view encoded_hash, std::string_view password) const {
  // crypto_pwhash_str_verify wants a NUL-terminated string.
  const std::string hash(encoded_hash);
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string SodiumPasswordHasher::Fingerprint(std::string_view secret) const {
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key_,
                     sizeof key_);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string SodiumPasswordHasher::SecretDigest(std::string_view secret) const {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string SodiumPasswordHasher::RandomHex(std::size_t bytes) const {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(2 * bytes + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

}  // namespace costs::security
