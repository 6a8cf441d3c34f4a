#include "app/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace costs::app {
namespace {

// The default logger writes "LEVEL message" lines into `out` for the test's lifetime.
class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("logging_test", sink);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::ostringstream out_;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LoggingTest, StoreLineOutsideARequestIsWrittenAtItsLevel) {
  Log(SpdlogSink(), LogLevel::kWarn, "sqlite: commit failed: disk I/O error (10)");
  EXPECT_EQ(out_.str(), "warning sqlite: commit failed: disk I/O error (10)\n");
}

TEST_F(LoggingTest, StoreLineDuringARequestNamesTheRequest) {
  const LogSink sink = SpdlogSink();
  {
    ScopedRequestId request("r-42");
    Log(sink, LogLevel::kError, "postgres: query failed: timeout");
  }
  Log(sink, LogLevel::kError, "after the request");
  EXPECT_EQ(out_.str(), "error request r-42: postgres: query failed: timeout\nerror after the request\n");
}

TEST_F(LoggingTest, LogLevelErrorHidesStoreWarnings) {
  ASSERT_TRUE(SetUpServerLogging("error"));  // costsd --log-level error
  // costsd's logger, its stderr swapped for the test's stream.
  spdlog::default_logger()->sinks() = {std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)};
  spdlog::set_pattern("%l %v");
  const LogSink sink = SpdlogSink();
  Log(sink, LogLevel::kWarn, "store: a stored series has no end");
  Log(sink, LogLevel::kDebug, "sqlite: debug detail");
  Log(sink, LogLevel::kError, "sqlite: kept");
  EXPECT_EQ(out_.str(), "error sqlite: kept\n");
}

TEST(ServerLoggingTest, UnknownLevelIsAUsageError) {
  const Status status = SetUpServerLogging("loud");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "--log-level must be trace, debug, info, warn, error or off");
}

}  // namespace
}  // namespace costs::app
