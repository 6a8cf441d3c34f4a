#include "service/sessions.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "service/testing/forwarding_store.hpp"
#include "service/testing/service_fixture.hpp"

namespace costs::service {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Counts the session writes and every store call, so that tests see what a resolve costs.
class SessionCountingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status TouchSession(std::string_view id_digest, domain::Instant last_used) override {
    ++touches;
    if (fail_writes) return MakeError(ErrorCode::kStoreFailed, "the database is locked");
    return ForwardingStore::TouchSession(id_digest, last_used);
  }
  Result<std::optional<Session>> FindSession(std::string_view id_digest) override {
    ++finds;
    return ForwardingStore::FindSession(id_digest);
  }
  Status DeleteSession(std::string_view id_digest) override {
    ++deletes;
    if (fail_writes) return MakeError(ErrorCode::kStoreFailed, "the database is locked");
    return ForwardingStore::DeleteSession(id_digest);
  }
  Result<std::int64_t> DeleteExpiredSessions(domain::Instant idle_cutoff, domain::Instant absolute_cutoff) override {
    ++sweeps;
    if (fail_writes) return MakeError(ErrorCode::kStoreFailed, "the database is locked");
    return ForwardingStore::DeleteExpiredSessions(idle_cutoff, absolute_cutoff);
  }
  std::atomic<int> touches{0};
  std::atomic<int> finds{0};
  std::atomic<int> deletes{0};
  std::atomic<int> sweeps{0};
  // The session writes (touch, delete, sweep) fail with kStoreFailed, as under a foreign lock.
  std::atomic<bool> fail_writes{false};
};

class SessionServiceTest : public ServiceTest {
 protected:
  void Advance(nanoseconds d) {
    clock_.now.ns += d.count();
    clock_.mono += d.count();
  }
  std::string SignIn() {
    Result<SignedIn> in = sessions_.SignInWithPassword("alice", "pw-alice");
    EXPECT_TRUE(in.has_value());
    return in ? in->id : std::string();
  }
  std::optional<Session> Stored(const std::string& id) { return *store_.FindSession(hasher_.SecretDigest(id)); }
  static bool IsExpired(const Result<SessionCaller>& r) {
    return !r.has_value() && r.error().code == ErrorCode::kUnauthenticated;
  }

  SessionCountingStore counting_{store_};
  std::vector<std::string> warnings_;  // what the service logged (warn), in order
  SessionService sessions_{counting_, auth_, hasher_, clock_, [this](LogLevel level, std::string_view line) {
                             if (level == LogLevel::kWarn) warnings_.emplace_back(line);
                           }};
};

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Url("\xfb\xff"), "-_8");
}

TEST_F(SessionServiceTest, SignInGivesAnIdStoredOnlyAsItsDigest) {
  Result<SignedIn> in = sessions_.SignInWithPassword("alice", "pw-alice");
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->id.size(), 43u);
  EXPECT_TRUE(SessionService::IsWellFormedId(in->id));
  EXPECT_EQ(in->principal.name, "alice");
  EXPECT_EQ(in->expires, At("2026-11-16T00:00:00Z")) << "12 h after sign-in";
  std::optional<Session> row = Stored(in->id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->id_digest, hasher_.SecretDigest(in->id));
  EXPECT_NE(row->id_digest, in->id);
  EXPECT_EQ(row->user, "alice");
  EXPECT_FALSE(row->api_key_id.has_value());
  EXPECT_EQ(row->created, clock_.now);
  EXPECT_EQ(row->last_used, clock_.now);
  EXPECT_NE(SignIn(), in->id) << "every sign-in gets a new id";
}

TEST_F(SessionServiceTest, AWrongPasswordOpensNoSession) {
  Result<SignedIn> in = sessions_.SignInWithPassword("alice", "wrong");
  ASSERT_FALSE(in.has_value());
  EXPECT_EQ(in.error().code, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(sessions_.SignInWithPassword("nobody", "pw-alice").has_value());
  EXPECT_FALSE(sessions_.SignInWithApiKey("costs_0000000000000001_" + std::string(64, '0')).has_value());
}

TEST_F(SessionServiceTest, ResolveGivesTheUserAndTheAbsoluteEnd) {
  const std::string id = SignIn();
  Result<SessionCaller> caller = sessions_.Resolve(id);
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->principal.name, "alice");
  EXPECT_FALSE(caller->principal.is_admin);
  EXPECT_EQ(caller->principal.organizations, std::vector<std::string>{"org-a"});
  EXPECT_EQ(caller->expires, At("2026-11-16T00:00:00Z"));
}

// Idle expiry: kIdleLifetime + kTouchInterval (31 min) after the written last use, so 30 to 31
// min after the real last use (that use may have gone unwritten for up to a minute).
TEST_F(SessionServiceTest, IdleExpiryIsThirtyOneMinutesAfterTheLastWrittenUse) {
  const std::string id = SignIn();
  Advance(minutes(31) - nanoseconds(1));
  EXPECT_TRUE(sessions_.Resolve(id).has_value()) << "one nanosecond before 31 min idle";
  Advance(minutes(31) - nanoseconds(1));
  EXPECT_TRUE(sessions_.Resolve(id).has_value()) << "the use above was written (30:59.999 > 1 min)";
  Advance(minutes(31));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(id))) << "exactly 31 min after the written use";
  EXPECT_FALSE(Stored(id).has_value()) << "an expired session's row is deleted";
}

TEST_F(SessionServiceTest, LastUseIsWrittenAtMostOnceAMinute) {
  const std::string id = SignIn();
  const domain::Instant signed_in = clock_.now;
  Advance(seconds(59));
  ASSERT_TRUE(sessions_.Resolve(id).has_value());
  EXPECT_EQ(counting_.touches, 0) << "59 s after the last write";
  EXPECT_EQ(Stored(id)->last_used, signed_in);
  Advance(seconds(1));
  ASSERT_TRUE(sessions_.Resolve(id).has_value());
  EXPECT_EQ(counting_.touches, 1) << "60 s after the last write";
  EXPECT_EQ(Stored(id)->last_used, clock_.now);
  Advance(seconds(59));
  ASSERT_TRUE(sessions_.Resolve(id).has_value());
  EXPECT_EQ(counting_.touches, 1) << "a use 59 s after the written one goes unwritten";
  // That real last use (+119 s) is followed by exactly 30 min of idle time at +31 min after the
  // written one (+60 s): one nanosecond before, the session holds; then it is over.
  Advance(minutes(30) - nanoseconds(1));
  EXPECT_TRUE(sessions_.Resolve(id).has_value()) << "30 min minus 1 ns after the real last use";
}

TEST_F(SessionServiceTest, AbsoluteExpiryIsTwelveHoursAfterSignInHoweverBusy) {
  const std::string id = SignIn();
  for (int i = 0; i < 12 * 3 - 1; ++i) {
    Advance(minutes(20));
    ASSERT_TRUE(sessions_.Resolve(id).has_value()) << "after " << (i + 1) * 20 << " min";
  }
  Advance(minutes(20) - nanoseconds(1));
  EXPECT_TRUE(sessions_.Resolve(id).has_value()) << "one nanosecond before 12 h";
  Advance(nanoseconds(1));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(id))) << "exactly 12 h";
  EXPECT_FALSE(Stored(id).has_value());
}

TEST_F(SessionServiceTest, SignOutEndsTheSessionAndIsIdempotent) {
  const std::string id = SignIn();
  const std::string other = SignIn();
  ASSERT_TRUE(sessions_.SignOut(id));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(id)));
  EXPECT_TRUE(sessions_.Resolve(other).has_value()) << "only that session ends";
  EXPECT_TRUE(sessions_.SignOut(id)) << "again";
  EXPECT_TRUE(sessions_.SignOut("not-an-id"));
}

TEST_F(SessionServiceTest, MalformedIdsAreRefusedWithoutAStoreRead) {
  for (const std::string& id : {std::string(), std::string(42, 'A'), std::string(44, 'A'), std::string(42, 'A') + "=",
                                std::string(42, 'A') + "+", std::string(42, 'A') + "/"}) {
    EXPECT_TRUE(IsExpired(sessions_.Resolve(id))) << id;
  }
  EXPECT_EQ(counting_.finds, 0);
  EXPECT_TRUE(IsExpired(sessions_.Resolve(std::string(43, 'A')))) << "well-formed, unknown";
  EXPECT_EQ(counting_.finds, 1);
}

TEST_F(SessionServiceTest, AnApiKeySessionActsAsItsUserAndEndsWithTheKey) {
  Result<AdminService::CreatedApiKey> key = admin_.CreateApiKey("alice", "dash", std::nullopt, clock_.now);
  ASSERT_TRUE(key.has_value());
  Result<SignedIn> in = sessions_.SignInWithApiKey(key->key);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->principal.name, "alice");
  EXPECT_EQ(Stored(in->id)->api_key_id, key->id);
  const std::string by_password = SignIn();
  ASSERT_TRUE(sessions_.Resolve(in->id).has_value());
  ASSERT_TRUE(admin_.RevokeApiKey(key->id));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(in->id))) << "revoked: at once, not after a cache TTL";
  EXPECT_FALSE(Stored(in->id).has_value());
  EXPECT_TRUE(sessions_.Resolve(by_password).has_value()) << "the user's other sessions stay";
}

TEST_F(SessionServiceTest, AnApiKeySessionEndsWhenTheKeyExpires) {
  Result<AdminService::CreatedApiKey> key = admin_.CreateApiKey(
      "alice", "dash", domain::Instant{clock_.now.ns + nanoseconds(minutes(10)).count()}, clock_.now);
  ASSERT_TRUE(key.has_value());
  Result<SignedIn> in = sessions_.SignInWithApiKey(key->key);
  ASSERT_TRUE(in.has_value());
  Advance(minutes(10) - nanoseconds(1));
  Result<SessionCaller> before = sessions_.Resolve(in->id);
  EXPECT_TRUE(before.has_value()) << (before ? "" : before.error().message);
  Advance(nanoseconds(1));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(in->id)));
}

TEST_F(SessionServiceTest, AChangedUserIsSeenAtOnceAndAMissingOneEndsTheSession) {
  const std::string id = SignIn();
  Result<std::optional<User>> alice = store_.FindUser("alice");
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  User changed = **alice;  // the same password hash: the session stays
  changed.is_admin = true;
  changed.organizations = {"org-a", "org-b"};
  ASSERT_TRUE(store_.PutUser(changed));
  Result<SessionCaller> caller = sessions_.Resolve(id);
  ASSERT_TRUE(caller.has_value());
  EXPECT_TRUE(caller->principal.is_admin);
  EXPECT_EQ(caller->principal.organizations, (std::vector<std::string>{"org-a", "org-b"}));

  // Users are never deleted through the API; a row naming a user the store does not have
  // (restored from elsewhere, or removed by hand) is treated as a deleted user.
  const std::string ghost(43, 'g');
  ASSERT_TRUE(
      store_.CreateSession(Session{hasher_.SecretDigest(ghost), "ghost", std::nullopt, clock_.now, clock_.now}));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(ghost)));
  EXPECT_FALSE(Stored(ghost).has_value());
}

TEST_F(SessionServiceTest, SignInSweepsExpiredSessions) {
  const std::string old = SignIn();
  Advance(minutes(31) - nanoseconds(1));
  SignIn();
  EXPECT_TRUE(Stored(old).has_value()) << "31 min idle less 1 ns: not swept";
  Advance(nanoseconds(1));
  const std::string fresh = SignIn();
  EXPECT_TRUE(Stored(old).has_value()) << "the sweep ran less than a minute ago";
  Advance(minutes(1));
  SignIn();
  EXPECT_FALSE(Stored(old).has_value()) << "idle 31 min: swept by the next sign-in a minute on";
  EXPECT_TRUE(Stored(fresh).has_value());
}

TEST_F(SessionServiceTest, TheSweepRunsAtMostOnceAMinuteAndItsFailureFailsNoSignIn) {
  SignIn();
  SignIn();
  EXPECT_EQ(counting_.sweeps, 1) << "two sign-ins within a minute: one sweep";
  Advance(seconds(59));
  SignIn();
  EXPECT_EQ(counting_.sweeps, 1);
  Advance(seconds(1));
  counting_.fail_writes = true;
  Result<SignedIn> in = sessions_.SignInWithPassword("alice", "pw-alice");
  EXPECT_EQ(counting_.sweeps, 2) << "a minute after the last sweep";
  ASSERT_TRUE(in.has_value()) << "a failed sweep fails no sign-in: " << in.error().message;
  EXPECT_TRUE(Stored(in->id).has_value());
}

TEST_F(SessionServiceTest, AFailedTouchIsIgnoredAndRetriedOnALaterUse) {
  const std::string id = SignIn();
  const domain::Instant signed_in = clock_.now;
  counting_.fail_writes = true;
  Advance(minutes(2));
  Result<SessionCaller> caller = sessions_.Resolve(id);
  ASSERT_TRUE(caller.has_value()) << "the touch failed, the read did not: " << caller.error().message;
  EXPECT_EQ(counting_.touches, 1);
  EXPECT_EQ(Stored(id)->last_used, signed_in);
  ASSERT_EQ(warnings_.size(), 1u) << "the failed touch is logged at warn";
  EXPECT_EQ(warnings_[0].find(id), std::string::npos) << warnings_[0];
  EXPECT_EQ(warnings_[0].find(hasher_.SecretDigest(id)), std::string::npos) << warnings_[0];
  counting_.fail_writes = false;
  ASSERT_TRUE(sessions_.Resolve(id).has_value());
  EXPECT_EQ(counting_.touches, 2) << "retried on the next use";
  EXPECT_EQ(Stored(id)->last_used, clock_.now);
}

TEST_F(SessionServiceTest, AnExpiredSessionIsUnauthenticatedWhateverItsDeleteDid) {
  const std::string id = SignIn();
  counting_.fail_writes = true;
  Advance(minutes(40));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(id))) << "401, not 503: the lazy delete is best-effort";
  EXPECT_EQ(counting_.deletes, 1);
  EXPECT_TRUE(Stored(id).has_value()) << "the row stays for the sweep";
  ASSERT_EQ(warnings_.size(), 1u) << "the failed delete is logged at warn";
  EXPECT_EQ(warnings_[0].find(id), std::string::npos) << warnings_[0];
}

TEST_F(SessionServiceTest, SigningOutAnUnknownSessionWritesNothing) {
  EXPECT_TRUE(sessions_.SignOut(std::string(43, 'A')));
  EXPECT_EQ(counting_.deletes, 0) << "read first: no write for an unknown id";
  const std::string id = SignIn();
  ASSERT_TRUE(sessions_.SignOut(id));
  EXPECT_EQ(counting_.deletes, 1);
  EXPECT_FALSE(Stored(id).has_value());
}

TEST_F(SessionServiceTest, AChangedPasswordEndsTheUsersSessions) {
  const std::string id = SignIn();
  ASSERT_TRUE(admin_.PutUser("alice", "pw-alice-2", false, {"org-a"}));
  EXPECT_TRUE(IsExpired(sessions_.Resolve(id))) << "a password reset signs the user out everywhere";
  EXPECT_FALSE(Stored(id).has_value());
}

TEST_F(SessionServiceTest, AStoreFailureIsNotAnExpiry) {
  const std::string id = SignIn();
  store_.SetUnavailable(true);
  Result<SessionCaller> caller = sessions_.Resolve(id);
  ASSERT_FALSE(caller.has_value());
  EXPECT_EQ(caller.error().code, ErrorCode::kStoreFailed);
  store_.SetUnavailable(false);
  EXPECT_TRUE(sessions_.Resolve(id).has_value()) << "the session survived the outage";
}

}  // namespace
}  // namespace costs::service
