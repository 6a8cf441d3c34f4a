#include "service/sessions.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace costs::service {
namespace {

constexpr std::string_view kBase64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kIdBytes = 32;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The bytes of lower-case hex text; empty when it is not hex.
std::string FromHex(std::string_view hex) {
  std::string out;
  if (hex.size() % 2 != 0) return out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

domain::Instant Plus(domain::Instant t, std::chrono::nanoseconds d) { return domain::Instant{t.ns + d.count()}; }

}  // namespace

std::string Base64Url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64UrlAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64UrlAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

SessionService::SessionService(Store& store, Authenticator& auth, const PasswordHasher& hasher, const Clock& clock,
                               LogSink log)
    : store_(store), auth_(auth), hasher_(hasher), clock_(clock), log_(std::move(log)) {}

void SessionService::Warn(std::string_view what, const Error& error) const {
  Log(log_, LogLevel::kWarn, "sessions: could not " + std::string(what) + " (ignored): " + error.message);
}

bool SessionService::IsWellFormedId(std::string_view id) {
  return id.size() == kIdSize &&
         std::all_of(id.begin(), id.end(), [](char c) { return kBase64UrlAlphabet.find(c) != std::string_view::npos; });
}

Error SessionService::Expired() const {
  return MakeError(ErrorCode::kUnauthenticated, "the session has expired or was signed out");
}

Result<SignedIn> SessionService::SignInWithPassword(std::string_view user, std::string_view password,
                                                    const Admit& admit) {
  return Open(auth_.AuthenticateBasic(user, password), std::nullopt, admit);
}

Result<SignedIn> SessionService::SignInWithApiKey(std::string_view key, const Admit& admit) {
  Result<Principal> who = auth_.AuthenticateApiKey(key);
  std::optional<std::string> key_id;
  if (who) key_id = std::string(SplitApiKey(key)->id);  // AuthenticateApiKey accepted its shape
  return Open(std::move(who), std::move(key_id), admit);
}

void SessionService::MaybeSweep(domain::Instant now) {
  const std::int64_t mono = clock_.MonotonicNs();
  std::int64_t last = last_sweep_ns_.load();
  if (last != std::numeric_limits<std::int64_t>::min() && mono - last < kSweepInterval.count()) return;
  if (!last_sweep_ns_.compare_exchange_strong(last, mono)) return;  // another sign-in sweeps
  Result<std::int64_t> swept = store_.DeleteExpiredSessions(Plus(now, -kIdleCutoff), Plus(now, -kAbsoluteLifetime));
  if (!swept) Warn("delete expired sessions", swept.error());
}

Result<SignedIn> SessionService::Open(Result<Principal> who, std::optional<std::string> api_key_id,
                                      const Admit& admit) {
  if (!who) return std::move(who).error();
  Principal principal = std::move(who).value();
  if (admit) {
    if (Status s = admit(principal); !s) return std::move(s).error();
  }
  const domain::Instant now = clock_.Now();
  // Sweep what has expired meanwhile, so that abandoned sessions do not pile up.
  MaybeSweep(now);
  const std::string bytes = FromHex(hasher_.RandomHex(kIdBytes));
  if (bytes.size() != kIdBytes) return MakeError(ErrorCode::kInternal, "the random source failed");
  SignedIn out{Base64Url(bytes), std::move(principal), Plus(now, kAbsoluteLifetime)};
  const Session session{hasher_.SecretDigest(out.id), out.principal.name, std::move(api_key_id), now, now};
  if (Status s = store_.CreateSession(session); !s) return std::move(s).error();
  return out;
}

Status SessionService::CheckApiKey(const std::string& api_key_id, domain::Instant now) {
  Result<std::optional<ApiKey>> key = store_.FindApiKey(api_key_id);
  if (!key) return std::move(key).error();
  if (!key->has_value() || !KeyHolds(**key, now)) return Expired();
  return {};
}

Result<SessionCaller> SessionService::Resolve(std::string_view id) {
  if (!IsWellFormedId(id)) return Expired();
  const std::string digest = hasher_.SecretDigest(id);
  Result<std::optional<Session>> found = store_.FindSession(digest);
  if (!found) return std::move(found).error();
  if (!found->has_value()) return Expired();
  const Session& session = **found;
  const domain::Instant now = clock_.Now();
  const auto end = [&]() -> Result<SessionCaller> {
    if (Status s = store_.DeleteSession(digest); !s) Warn("delete an expired session", s.error());
    return Expired();
  };
  if (now.ns - session.last_used.ns >= kIdleCutoff.count() ||
      now.ns - session.created.ns >= kAbsoluteLifetime.count()) {
    return end();
  }
  if (session.api_key_id) {
    if (Status s = CheckApiKey(*session.api_key_id, now); !s) {
      if (s.error().code == ErrorCode::kUnauthenticated) return end();
      return std::move(s).error();
    }
  }
  Result<std::optional<User>> user = store_.FindUser(session.user);
  if (!user) return std::move(user).error();
  if (!user->has_value()) return end();
  if (now.ns - session.last_used.ns >= kTouchInterval.count()) {
    if (Status s = store_.TouchSession(digest, now); !s) Warn("write a session's last use", s.error());
  }
  return SessionCaller{PrincipalOf(**user), Plus(session.created, kAbsoluteLifetime)};
}

Status SessionService::SignOut(std::string_view id) {
  if (!IsWellFormedId(id)) return {};
  const std::string digest = hasher_.SecretDigest(id);
  Result<std::optional<Session>> found = store_.FindSession(digest);
  if (!found) return std::move(found).error();
  if (!found->has_value()) return {};
  return store_.DeleteSession(digest);
}

}  // namespace costs::service
