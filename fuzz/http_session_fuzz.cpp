// Fuzz target: raw bytes through a whole HTTP session, as the server reads them, against the
// real services and the in-memory store: Beast's parser (header first, at most 16 KiB), then
// AdmitRequest on the header, the body under the admitted limit, then ServeAdmitted; requests
// follow one another on the connection (pipelining) until the bytes run out, a request is
// malformed, or a refusal leaves a body unread (the server closes then).
// The world: organizations org-a and org-b with usage, alice (member of org-a; password
// pw-alice; API key kAliceKey), root (platform admin; pw-root), a fake clock and hasher, and
// the sessions (POST /api/v1/session, the costs_session cookie: the fake hasher's ids are
// predictable, so a seed can sign in and use its cookie).
// Properties of every response: a known status, never 500; error responses carry an error
// code and a JSON body; JSON responses are JSON; no header name or value holds CR, LF or NUL;
// a successful read of an organization (or a credit or an ingest) is only ever answered to a
// caller who may (alice never reads org-b, nobody but root writes); only the sign-in and the
// sign-out set a cookie.

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/body_cache.hpp"
#include "http/handler.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/rate_limiter.hpp"
#include "service/sessions.hpp"
#include "service/testing/fakes.hpp"
#include "store/memory/memory_store.hpp"

namespace {

namespace bhttp = boost::beast::http;
using costs::http::Response;

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kIngestLimit = 64 * 1024;
// The key the fake hasher's counter gives alice's API key (the seeds use it).
constexpr std::string_view kAliceKey =
    "costs_0000000000000001_0000000000000000000000000000000000000000000000000000000000000002";

const char* const kUsage =
    R"({"id":"u1","organization_id":"org-a","deployment_id":"d1","deployment_name":"search","dimension":"capacity",)"
    R"("kind":"elasticsearch","start":"2026-11-01T00:00:00Z","end":"2026-11-01T01:00:00Z","quantity":"3","rate":"0.1"})"
    "\n"
    R"({"id":"u2","organization_id":"org-b","deployment_id":"d2","dimension":"data_out","sku":"out",)"
    R"("start":"2026-11-02T00:00:00Z","end":"2026-11-03T00:00:00Z","quantity":"12.5","rate":"0.02"})"
    "\n";

// One connection's world, fresh for every input.
struct World {
  World() {
    clock.now = *costs::domain::ParseRfc3339("2026-11-15T12:00:00Z");
    FUZZ_CHECK(admin.CreateOrganization("org-a", "Org A").has_value(), "setup");
    FUZZ_CHECK(admin.CreateOrganization("org-b", "Org B").has_value(), "setup");
    FUZZ_CHECK(admin.PutUser("alice", "pw-alice", false, {"org-a"}).has_value(), "setup");
    FUZZ_CHECK(admin.PutUser("root", "pw-root", true, {}).has_value(), "setup");
    FUZZ_CHECK(admin.IngestNdjson(kUsage).has_value(), "setup");
    const auto key = admin.CreateApiKey("alice", "fuzz", std::nullopt, clock.now);
    FUZZ_CHECK(key.has_value() && key->key == kAliceKey, "setup: alice's key");
  }

  costs::service::testing::FakeClock clock;
  costs::service::testing::FakeHasher hasher;
  costs::store::memory::MemoryStore store;
  costs::service::CostsService costs{store, clock};
  costs::service::AdminService admin{store, hasher};
  costs::service::Authenticator auth{store, hasher, clock};
  costs::service::LocalRateLimiter per_principal{clock, 1, 20};
  costs::service::LocalRateLimiter failed_logins{clock, 1, 5};
  costs::http::BodyCache body_cache;
  costs::service::SessionService sessions{store, auth, hasher, clock};
  costs::http::Services services{costs,       admin,   auth,    per_principal, failed_logins,
                                 &body_cache, nullptr, nullptr, &sessions};
};

bool Clean(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

void CheckResponse(const Response& res, const costs::http::Admission* admission) {
  static constexpr unsigned kKnown[] = {200, 201, 204, 400, 401, 403, 404, 405, 406, 409, 413, 415, 429};
  bool known = false;
  for (unsigned s : kKnown) known = known || res.status == s;
  FUZZ_CHECK(known, "status " + std::to_string(res.status) + ": " + std::string(res.BodyView()));
  FUZZ_CHECK(Clean(res.content_type), "Content-Type holds CR, LF or NUL");
  for (const auto& [name, value] : res.headers) {
    FUZZ_CHECK(Clean(name) && Clean(value), "header " + name + " holds CR, LF or NUL");
  }
  if (res.status >= 400) {
    FUZZ_CHECK(res.FindHeader("x-cloud-error-codes") != nullptr, "an error without its code");
  }
  if (res.content_type.starts_with("application/json")) {
    boost::system::error_code ec;
    boost::json::parse(res.BodyView(), ec);
    FUZZ_CHECK(!ec, "a JSON response that is not JSON: " + std::string(res.BodyView().substr(0, 200)));
  }
  if (res.FindHeader("Set-Cookie") != nullptr) {
    FUZZ_CHECK(
        admission != nullptr && ((admission->route.endpoint == costs::http::Endpoint::kSignIn && res.status == 201) ||
                                 (admission->route.endpoint == costs::http::Endpoint::kSignOut && res.status == 204)),
        "a cookie set outside a sign-in or sign-out");
  }
  if (res.status != 200 || admission == nullptr) return;
  const costs::service::Principal& who = admission->principal;
  const std::string& org = admission->route.organization_id;
  const auto endpoint = admission->route.endpoint;
  if (endpoint == costs::http::Endpoint::kIngestUsage || endpoint == costs::http::Endpoint::kAddCredit) {
    FUZZ_CHECK(who.is_admin, "a write answered 200 to " + who.name);
  } else if (endpoint == costs::http::Endpoint::kListOrganizations) {
    FUZZ_CHECK(who.is_admin || res.BodyView().find("org-b") == std::string_view::npos, "org-b listed to " + who.name);
  } else if (endpoint != costs::http::Endpoint::kWhoAmI) {
    FUZZ_CHECK(who.is_admin || org == "org-a", "organization " + org + " answered 200 to " + who.name);
  }
}

costs::http::Request ViewOf(const bhttp::request_header<>& head) {
  costs::http::Request request;
  request.method = head.method_string();
  request.target = head.target();
  request.authorization = head[bhttp::field::authorization];
  request.content_type = head[bhttp::field::content_type];
  request.accept = head[bhttp::field::accept];
  request.client_address = "192.0.2.1";
  request.cookie = head[bhttp::field::cookie];
  request.origin = head[bhttp::field::origin];
  request.host = head[bhttp::field::host];
  request.requested_with = head["X-Requested-With"];
  return request;
}

// Feeds `parser` from `bytes` until its header is parsed (`header_only`) or its message is.
// False when the bytes run out first (`error` is need_more then) or do not parse (`error` says
// why).
template <class Parser>
bool Feed(Parser& parser, std::string_view& bytes, bool header_only, boost::beast::error_code& error) {
  while (!(header_only ? parser.is_header_done() : parser.is_done())) {
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), error);
    bytes.remove_prefix(used);
    if (error && error != bhttp::error::need_more) return false;
    if (used == 0) {  // it needs more than there is
      error = bhttp::error::need_more;
      return false;
    }
    error = {};
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  World world;
  for (int requests = 0; !bytes.empty() && requests < 64; ++requests) {
    bhttp::request_parser<bhttp::empty_body> header;
    header.header_limit(kHeaderLimit);
    header.body_limit(boost::none);
    boost::beast::error_code ec;
    Feed(header, bytes, /*header_only=*/true, ec);
    if (!header.is_header_done()) return 0;  // ran out, or a 400 (or 431-like 400) and close

    costs::http::Request head = ViewOf(header.get());
    if (const auto length = header.content_length()) head.content_length = *length;
    const costs::http::Admission admission = costs::http::AdmitRequest(head, world.services, kIngestLimit);
    if (admission.refusal) {
      CheckResponse(*admission.refusal, nullptr);
      if (!header.is_done()) return 0;  // the body stays unread: the server closes
      continue;
    }

    bhttp::request_parser<bhttp::string_body> parser(std::move(header));
    parser.body_limit(static_cast<std::uint64_t>(admission.body_limit));
    parser.eager(true);
    if (!Feed(parser, bytes, /*header_only=*/false, ec)) {
      if (ec == bhttp::error::body_limit) return 0;  // 413 and close
      return 0;                                      // ran out mid-body, or malformed framing: 400 and close
    }
    const bhttp::request<bhttp::string_body> req = parser.release();
    costs::http::Request request = ViewOf(req);
    request.body = req.body();
    FUZZ_CHECK(request.body.size() <= admission.body_limit, "a body over the admitted limit");
    const Response res = costs::http::ServeAdmitted(admission, request, world.services);
    CheckResponse(res, &admission);
    world.clock.mono += costs::domain::kNsPerSecond / 10;
    if (!req.keep_alive()) return 0;
  }
  return 0;
}
