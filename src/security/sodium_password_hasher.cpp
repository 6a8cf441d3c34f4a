#include "security/sodium_password_hasher.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

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
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     key_, sizeof key_);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

}  // namespace costs::security
