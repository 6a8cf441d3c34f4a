#include "ratelimit/redis/redis_rate_limiter.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

namespace costs::ratelimit::redis {
namespace {

// KEYS[1]: the bucket, a hash {t = tokens, u = when they were counted, microseconds of Redis
// TIME}. ARGV: rate (tokens/s, > 0), burst (>= 1), take ("1" takes a token, "0" only looks).
// The arithmetic of service::LocalRateLimiter, on Redis's clock so that replicas whose clocks
// differ agree. A missing bucket is a full one, so a bucket is written only when a token is
// taken and expires once it would be full again; looking or refusing writes nothing.
constexpr std::string_view kScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(state[1])
local counted = tonumber(state[2])
if tokens == nil or counted == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - counted) * 1e-6 * rate)
end
if tokens >= 1 then
  if ARGV[3] == '1' then
    tokens = tokens - 1
    redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.17g', now))
    local full_in_ms = math.ceil((burst - tokens) / rate * 1000) + 1000
    redis.call('PEXPIRE', KEYS[1], math.min(full_in_ms, 86400000))
  end
  return 0
end
return math.max(1, math.min(86400, math.ceil((1 - tokens) / rate)))
)lua";

constexpr std::string_view kUrlForm = "redis://[:PASSWORD@]HOST[:PORT][/DB]";

Error BadUrl(const std::string& why) {
  return MakeError(ErrorCode::kInvalidData, why + " (expected " + std::string(kUrlForm) + ")");
}

Error Failed(std::string message) { return MakeError(ErrorCode::kStoreFailed, std::move(message)); }

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Sends one command (binary-safe arguments). nullptr on an I/O error or timeout: c->err says
// which, and the connection is unusable afterwards.
Reply Command(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return Reply(
      static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data())));
}

Error IoFailure(const redisContext* c, std::string_view what) {
  return Failed(std::string(what) + ": " + (c->errstr[0] != '\0' ? c->errstr : "connection lost"));
}

std::string ReplyText(const redisReply* r) {
  if (r->str == nullptr) return {};
  return std::string(r->str, std::min<std::size_t>(r->len, 200));
}

// A reply that is not the one expected (an error reply, usually): the connection stays usable.
Error UnexpectedReply(const redisReply* r, std::string_view what) {
  if (r->type == REDIS_REPLY_ERROR) return Failed(std::string(what) + ": Redis replied " + ReplyText(r));
  return Failed(std::string(what) + ": unexpected reply of type " + std::to_string(r->type));
}

// "OK"-style status replies of AUTH and SELECT.
Status Expect(redisContext* c, const std::vector<std::string_view>& args, std::string_view what) {
  Reply r = Command(c, args);
  if (!r) return IoFailure(c, what);
  if (r->type != REDIS_REPLY_STATUS) return UnexpectedReply(r.get(), what);
  return {};
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

// Shortest text that reads back as the same double (Lua's tonumber reads it exactly).
std::string NumberText(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

std::optional<std::int64_t> Digits(std::string_view text, std::int64_t max) {
  std::int64_t value = 0;
  if (text.empty() || text.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string_view TokenBucketScript() { return kScript; }

std::string RedisEndpoint::Describe() const {
  std::string out = "redis://";
  if (!password.empty()) out += (user.empty() ? ":***@" : user + ":***@");
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db);
  return out;
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view text) {
  // The URL itself is never repeated in a message: it may hold a password.
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) return BadUrl("not a URL");
  const boost::urls::url_view& url = *parsed;
  if (url.scheme() == "rediss") return BadUrl("TLS (rediss://) is not supported");
  if (url.scheme() != "redis") return BadUrl("the scheme must be redis://");
  if (url.has_query() || url.has_fragment()) return BadUrl("no query or fragment is allowed");
  RedisEndpoint endpoint;
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:  // without the brackets
      endpoint.host = std::string(url.host_address());
      break;
    case boost::urls::host_type::name:
      endpoint.host = url.host_name();
      break;
    default:
      break;
  }
  if (endpoint.host.empty()) return BadUrl("no host");
  if (url.has_port()) {
    auto port = Digits(std::string_view(url.port().data(), url.port().size()), 65535);
    if (!port || *port == 0) return BadUrl("the port must be a number from 1 to 65535");
    endpoint.port = static_cast<int>(*port);
  }
  const std::string_view path(url.encoded_path().data(), url.encoded_path().size());
  if (!path.empty() && path != "/") {
    auto db = Digits(path.substr(1), std::numeric_limits<int>::max());
    if (!db) return BadUrl("the path must be a database number, like /0");
    endpoint.db = static_cast<int>(*db);
  }
  if (url.has_userinfo()) {
    if (!url.has_password() || url.password().empty()) {
      return BadUrl("a user needs a password: redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST");
    }
    endpoint.user = url.user();
    endpoint.password = url.password();
  }
  return endpoint;
}

void RedisBuckets::ContextFree::operator()(redisContext* c) const { redisFree(c); }

// A connection lent to one call; `reused` when it came from the pool (and may be stale).
struct RedisBuckets::Lease {
  Context context;
  bool reused = false;
};

RedisBuckets::RedisBuckets(const service::Clock& clock, RedisOptions options)
    : clock_(clock), options_(std::move(options)) {}

RedisBuckets::~RedisBuckets() = default;

Result<RedisBuckets::Context> RedisBuckets::Connect() const {
  const RedisEndpoint& e = options_.endpoint;
  const timeval timeout = ToTimeval(options_.timeout);
  Context c(redisConnectWithTimeout(e.host.c_str(), e.port, timeout));
  if (!c) return Failed("connect: out of memory");
  if (c->err != 0) return IoFailure(c.get(), "connect");
  if (redisSetTimeout(c.get(), timeout) != REDIS_OK) return IoFailure(c.get(), "set the timeout");
  if (!e.password.empty()) {
    Status auth = e.user.empty() ? Expect(c.get(), {"AUTH", e.password}, "AUTH")
                                 : Expect(c.get(), {"AUTH", e.user, e.password}, "AUTH");
    if (!auth) return std::move(auth).error();
  }
  if (e.db != 0) {
    const std::string db = std::to_string(e.db);
    if (Status selected = Expect(c.get(), {"SELECT", db}, "SELECT"); !selected) return std::move(selected).error();
  }
  return c;
}

void RedisBuckets::Drop(Lease lease) {
  std::vector<Context> stale;
  std::lock_guard lock(mu_);
  stale.swap(idle_);
  probing_ = false;
  (void)lease;
}

Result<RedisBuckets::Lease> RedisBuckets::Borrow() {
  {
    std::lock_guard lock(mu_);
    const std::int64_t now = clock_.MonotonicNs();
    if (failing_) {
      if (probing_ || now < retry_at_ns_) {
        ++fallbacks_since_warning_;
        return Failed("Redis failed recently; not tried again yet");
      }
      // This call tries again; the others keep away until it has its answer, however long
      // that takes (a connect may wait on a slow name resolution, beyond any timeout).
      probing_ = true;
      retry_at_ns_ = now + std::chrono::nanoseconds(options_.retry_after_failure).count();
    }
    if (!idle_.empty()) {
      Lease lease{std::move(idle_.back()), true};
      idle_.pop_back();
      return lease;
    }
  }
  auto connected = Connect();
  if (!connected) {
    Return(Lease{}, &connected.error());
    return std::move(connected).error();
  }
  return Lease{std::move(*connected), false};
}

void RedisBuckets::Return(Lease lease, const Error* failure) {
  std::string warning;
  bool recovered = false;
  std::vector<Context> stale;
  {
    std::lock_guard lock(mu_);
    const std::int64_t now = clock_.MonotonicNs();
    probing_ = false;
    const bool usable = lease.context && lease.context->err == 0;
    if (!usable) {
      // Whatever broke this connection (a restart, a network fault) most likely broke the
      // idle ones too: close them rather than fail one call per stale connection.
      stale.swap(idle_);
    } else if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(std::move(lease.context));
    }
    if (failure != nullptr) {
      failing_ = true;
      retry_at_ns_ = now + std::chrono::nanoseconds(options_.retry_after_failure).count();
      ++fallbacks_since_warning_;
      if (!warned_ || now - warned_at_ns_ >= std::chrono::nanoseconds(options_.warn_every).count()) {
        warning = failure->message + " (" + std::to_string(fallbacks_since_warning_) +
                  " rate-limit decisions made locally since the last warning)";
        warned_ = true;
        warned_at_ns_ = now;
        fallbacks_since_warning_ = 0;
      }
    } else if (failing_) {
      failing_ = false;
      recovered = true;
    }
  }
  if (!warning.empty()) {
    spdlog::warn("rate limits: Redis at {} is unavailable, limiting per replica until it answers: {}",
                 options_.endpoint.Describe(), warning);
  }
  if (recovered)
    spdlog::info("rate limits: Redis at {} answers again; limits are global again", options_.endpoint.Describe());
}

Result<int> RedisBuckets::RunScript(redisContext* c, const std::vector<std::string>& args) {
  std::string sha;
  {
    std::lock_guard lock(mu_);
    sha = script_sha_;
  }
  if (sha.empty()) {
    Reply loaded = Command(c, {"SCRIPT", "LOAD", kScript});
    if (!loaded) return IoFailure(c, "SCRIPT LOAD");
    if (loaded->type != REDIS_REPLY_STRING) return UnexpectedReply(loaded.get(), "SCRIPT LOAD");
    sha = ReplyText(loaded.get());
    std::lock_guard lock(mu_);
    script_sha_ = sha;
  }
  std::vector<std::string_view> command = {"EVALSHA", sha, "1"};
  command.insert(command.end(), args.begin(), args.end());
  Reply reply = Command(c, command);
  if (reply && reply->type == REDIS_REPLY_ERROR && ReplyText(reply.get()).starts_with("NOSCRIPT")) {
    // Redis lost its script cache (a restart, SCRIPT FLUSH): EVAL sends the source and caches
    // it again for the next EVALSHA.
    command[0] = "EVAL";
    command[1] = kScript;
    reply = Command(c, command);
  }
  if (!reply) return IoFailure(c, "EVALSHA");
  if (reply->type != REDIS_REPLY_INTEGER) return UnexpectedReply(reply.get(), "EVALSHA");
  return static_cast<int>(std::clamp<long long>(reply->integer, 0, 86400));
}

Result<int> RedisBuckets::Step(std::string_view key, double rate, double burst, bool take) {
  const std::vector<std::string> args = {std::string(key), NumberText(rate), NumberText(std::max(1.0, burst)),
                                         take ? "1" : "0"};
  for (int attempt = 0;; ++attempt) {
    auto lease = Borrow();
    if (!lease) return std::move(lease).error();
    Result<int> result = RunScript(lease->context.get(), args);
    if (!result && lease->reused && lease->context->err != 0 && attempt == 0) {
      // A pooled connection that went stale (Redis restarted since): one fresh connection is
      // tried before the call counts as failed.
      Drop(std::move(*lease));
      continue;
    }
    Return(std::move(*lease), result ? nullptr : &result.error());
    return result;
  }
}

Status RedisBuckets::Ping() {
  auto lease = Borrow();
  if (!lease) return std::move(lease).error();
  Status result;
  Reply reply = Command(lease->context.get(), {"PING"});
  if (!reply) {
    result = IoFailure(lease->context.get(), "PING");
  } else if (reply->type != REDIS_REPLY_STATUS) {
    result = UnexpectedReply(reply.get(), "PING");
  }
  Return(std::move(*lease), result ? nullptr : &result.error());
  return result;
}

RedisRateLimiter::RedisRateLimiter(std::shared_ptr<RedisBuckets> redis, const service::Clock& clock, std::string name,
                                   double rate, double burst)
    : redis_(std::move(redis)), prefix_("costs:rl:" + name + ":"), fallback_(clock, rate, burst) {}

int RedisRateLimiter::Acquire(std::string_view key) { return Take(key, true); }
int RedisRateLimiter::Peek(std::string_view key) { return Take(key, false); }

int RedisRateLimiter::Take(std::string_view key, bool take) {
  if (!enabled()) return 0;
  Result<int> global = redis_->Step(KeyOf(key), fallback_.rate(), fallback_.burst(), take);
  if (global) return *global;
  return take ? fallback_.Acquire(key) : fallback_.Peek(key);
}

}  // namespace costs::ratelimit::redis
