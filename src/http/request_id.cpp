#include "http/request_id.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>

namespace costs::http {
namespace {

std::string MakePrefix() {
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(r & 0xFFFFFFFFFFFFull));
  return buf;
}

}  // namespace

std::string NewRequestId() {
  static const std::string kPrefix = MakePrefix();
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  char buf[24];
  const int len = std::snprintf(buf, sizeof buf, "-%010llu", static_cast<unsigned long long>(n));
  std::string id;
  id.reserve(kPrefix.size() + static_cast<std::size_t>(len));
  id.append(kPrefix);
  id.append(buf, static_cast<std::size_t>(len));
  return id;
}

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace costs::http
