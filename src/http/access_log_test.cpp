// LogAccess: the text line, or with a structured format (AccessLinesStructured) only the record
// the formatter writes.
#include "http/access_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "http/testing/handler_fixture.hpp"

namespace costs::http {
namespace {

// What each logged line held: its text and, when one was set, its access record's target.
struct Seen {
  std::string text;
  std::string access_target;
};

class CapturingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<Seen> seen;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const AccessRecord* access = CurrentAccessRecord();
    seen.push_back(Seen{std::string(msg.payload.data(), msg.payload.size()),
                        access ? std::string(access->target) : std::string("<none>")});
  }
  void flush_() override {}
};

class AccessLogTest : public HandlerTest {
 protected:
  AccessLogTest() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~AccessLogTest() override {
    SetAccessLinesStructured(false);
    spdlog::set_default_logger(previous_);
  }

  void Log() {
    Response res;
    res.status = 200;
    res.body = "hello";
    res.principal = "alice";
    LogAccess(services_, AccessLine{"r1", "192.0.2.1", "GET", "/api/v1/x?y=1", std::chrono::microseconds(42)}, res);
  }

  std::shared_ptr<CapturingSink> sink_ = std::make_shared<CapturingSink>();
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(AccessLogTest, TextFormatsTheLineWithTheRecordSet) {
  Log();
  ASSERT_EQ(sink_->seen.size(), 1u);
  EXPECT_EQ(sink_->seen[0].text, "r1 192.0.2.1 \"GET /api/v1/x?y=1\" 200 5B 42us principal=alice");
  EXPECT_EQ(sink_->seen[0].access_target, "/api/v1/x?y=1");
}

TEST_F(AccessLogTest, AStructuredFormatGetsTheRecordWithoutTheText) {
  SetAccessLinesStructured(true);
  Log();
  ASSERT_EQ(sink_->seen.size(), 1u);
  EXPECT_EQ(sink_->seen[0].text, "access");
  EXPECT_EQ(sink_->seen[0].access_target, "/api/v1/x?y=1");
}

}  // namespace
}  // namespace costs::http
