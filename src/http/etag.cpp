#include "http/etag.hpp"

#include <cstddef>
#include <cstdint>
#include <random>

#include "http/text.hpp"

namespace costs::http {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

std::uint64_t Fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

// The digits are written back to front into a buffer and appended at once: one append, not a
// push_back (with its capacity check) per digit, on every tagged request.
void AppendHex(std::string& out, std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[16];
  char* first = buf + sizeof buf;
  do {
    *--first = kDigits[value & 0xf];
    value >>= 4;
  } while (value != 0);
  out.append(first, buf + sizeof buf);
}

void AppendPart(std::string& out, std::int64_t value) {
  out.push_back('-');
  AppendHex(out, static_cast<std::uint64_t>(value));
}

// An entity-tag at the front of `s` (RFC 9110: [ "W/" ] DQUOTE *etagc DQUOTE), its opaque
// part without quotes; advances `s` past it. nullopt when `s` does not start with one.
std::optional<std::string_view> TakeEntityTag(std::string_view& s) {
  if (s.starts_with("W/")) s.remove_prefix(2);
  if (s.empty() || s.front() != '"') return std::nullopt;
  const std::size_t close = s.find('"', 1);
  if (close == std::string_view::npos) return std::nullopt;
  const std::string_view opaque = s.substr(1, close - 1);
  for (const char c : opaque) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f) return std::nullopt;  // etagc = %x21 / %x23-7E / obs-text
  }
  s.remove_prefix(close + 1);
  return opaque;
}

// This process's part of every tag: random at start. Data versions are counters of one database,
// and a restored backup (or another build, rendering otherwise) may hold other data at a version
// a client saw before; a tag of another process never matches, so such a client gets the whole
// answer, never a 304 for a body it no longer matches. (PostgreSQL replicas tag apart: a client
// moved to another replica gets one 200 more.)
std::uint64_t ProcessEpoch() {
  static const std::uint64_t epoch = [] {
    std::random_device random;
    return (static_cast<std::uint64_t>(random()) << 32) ^ random();
  }();
  return epoch;
}

}  // namespace

std::string EntityTagOf(const BodyKey& key, std::optional<std::int64_t> now_ns) {
  std::uint64_t ids = Fnv1a(kFnvOffset, key.organization_id);
  ids = Fnv1a(ids, std::string_view("\0", 1));
  ids = Fnv1a(ids, key.deployment_id);
  std::string tag;
  tag.reserve(112);
  tag.push_back('"');
  AppendHex(tag, ProcessEpoch());
  tag.push_back('-');
  AppendHex(tag, static_cast<std::uint64_t>(key.endpoint) << 24 | static_cast<std::uint64_t>(key.variant) << 16 |
                     static_cast<std::uint64_t>(key.strategy) << 8 | static_cast<std::uint64_t>(key.format));
  AppendPart(tag, key.version);
  AppendPart(tag, key.from_ns);
  AppendPart(tag, key.to_ns);
  if (now_ns) AppendPart(tag, *now_ns);
  tag.push_back('-');
  AppendHex(tag, ids);
  tag.push_back('"');
  return tag;
}

std::string EntityTagOfBody(std::string_view body) {
  std::string tag = "\"o-";
  AppendHex(tag, Fnv1a(kFnvOffset, body));
  AppendPart(tag, static_cast<std::int64_t>(body.size()));
  tag.push_back('"');
  return tag;
}

bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  std::string_view want = etag;
  if (want.starts_with("W/")) want.remove_prefix(2);
  if (want.size() < 2) return false;
  want = want.substr(1, want.size() - 2);
  std::string_view rest = TrimOws(if_none_match);
  if (rest == "*") return true;
  while (!rest.empty()) {
    const std::optional<std::string_view> tag = TakeEntityTag(rest);
    if (tag && *tag == want) return true;
    const std::size_t comma = rest.find(',');  // the next element (a malformed one is skipped)
    if (comma == std::string_view::npos) return false;
    rest = TrimOws(rest.substr(comma + 1));
  }
  return false;
}

}  // namespace costs::http
