#include "app/json_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "common/log.hpp"

namespace costs::app {
namespace {

// A logger writing JSON lines into a string, for the test's lifetime.
class JsonLogTest : public ::testing::Test {
 protected:
  JsonLogTest() : logger_("json_log_test", std::make_shared<spdlog::sinks::ostream_sink_st>(out_)) {
    logger_.set_formatter(std::make_unique<JsonLogFormatter>());
  }
  // The one line logged, parsed (fails the test when it is not one JSON object).
  boost::json::object Line() {
    std::string text = out_.str();
    EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    EXPECT_FALSE(ec) << "not JSON: " << text;
    return value.is_object() ? value.as_object() : boost::json::object{};
  }
  std::ostringstream out_;
  spdlog::logger logger_;
};

TEST_F(JsonLogTest, PlainLineHasTimeLevelAndMessage) {
  logger_.warn("store is slow");
  boost::json::object line = Line();
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["message"], "store is slow");
  const std::string time(line["time"].as_string());
  // 2026-11-01T00:00:00.000Z
  EXPECT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_FALSE(line.contains("request_id"));
}

// The seconds part is kept per thread between lines: a line of the same second, of the next and
// of an earlier one each get their own instant.
TEST(Rfc3339MillisTest, EachInstantInFullWhateverCameBefore) {
  using std::chrono::milliseconds;
  const std::chrono::system_clock::time_point nov_1{milliseconds(1793491200000)};  // 2026-11-01T00:00:00Z
  const std::pair<std::chrono::system_clock::time_point, const char*> cases[] = {
      {nov_1, "2026-11-01T00:00:00.000Z"},
      {nov_1 + milliseconds(999), "2026-11-01T00:00:00.999Z"},
      {nov_1 + milliseconds(1005), "2026-11-01T00:00:01.005Z"},
      {nov_1 - milliseconds(1), "2026-10-31T23:59:59.999Z"},
      {nov_1 + milliseconds(86'400'042), "2026-11-02T00:00:00.042Z"},
      {std::chrono::system_clock::time_point{milliseconds(-1)}, "1969-12-31T23:59:59.999Z"},
  };
  for (const auto& [time, want] : cases) {
    std::string out = "x";
    AppendRfc3339Millis(time, out);
    EXPECT_EQ(out, std::string("x") + want);
  }
}

TEST_F(JsonLogTest, ControlBytesAndIllFormedUtf8StayValidJson) {
  const ScopedRequestId id("r-1");
  logger_.info("path /a\"b\\c\n\x01\x7f \xff\xc3 \xc3\xa9 end");
  boost::json::object line = Line();
  EXPECT_EQ(line["request_id"], "r-1");
  EXPECT_EQ(line["message"], "path /a\"b\\c\n\x01\x7f \xEF\xBF\xBD\xEF\xBF\xBD \xc3\xa9 end");
}

TEST_F(JsonLogTest, AccessLineCarriesItsFields) {
  AccessRecord record;
  record.request_id = "r-2";
  record.remote = "127.0.0.1";
  record.principal = "alice";
  record.method = "GET";
  record.route = "/api/v1/billing/costs/{organization_id}/charts";
  record.target = "/api/v1/billing/costs/org-a/charts?from=2026-11-01";
  record.status = 404;
  record.bytes = 120;
  record.duration_us = 75;
  record.error_code = "organization.not_found";
  {
    const ScopedRequestId id(record.request_id);
    const ScopedAccessRecord access(record);
    logger_.info("the text line");
  }
  boost::json::object line = Line();
  EXPECT_EQ(line["event"], "access");
  EXPECT_EQ(line["request_id"], "r-2");
  EXPECT_EQ(line["remote"], "127.0.0.1");
  EXPECT_EQ(line["principal"], "alice");
  EXPECT_EQ(line["route"], "/api/v1/billing/costs/{organization_id}/charts");
  EXPECT_EQ(line["status"], 404);
  EXPECT_EQ(line["bytes"], 120);
  EXPECT_EQ(line["duration_us"], 75);
  EXPECT_EQ(line["error_code"], "organization.not_found");
  EXPECT_FALSE(line.contains("message"));
}

}  // namespace
}  // namespace costs::app
