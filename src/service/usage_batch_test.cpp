#include "service/usage_batch.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "service/ndjson.hpp"

namespace costs::service {
namespace {

using domain::RawField;
using domain::RawValue;

// The batch as IngestNdjson parsed it before ParseUsageBatch: line by line, DecodeJsonObject,
// ValidateUsage under the line's prefix, then the organization (asked once per distinct id).
// Every faster path must agree with it.
Result<ParsedUsageBatch> ReferenceParse(std::string_view body, const OrganizationExists& exists) {
  ParsedUsageBatch batch;
  std::map<std::string, bool, std::less<>> known_orgs;
  std::size_t index = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string prefix = "records[" + std::to_string(index++) + "]";
    auto raw = DecodeJsonObject(line);
    if (!raw) {
      batch.problems.push_back({prefix, "the line " + raw.error().message});
      continue;
    }
    auto record = domain::ValidateUsage(*raw, prefix, batch.problems);
    const auto org = std::find_if(raw->begin(), raw->end(), [](const auto& m) { return m.first == "organization_id"; });
    if (org != raw->end() && org->second.type == RawValue::Type::kString && !org->second.text.empty()) {
      auto known = known_orgs.find(org->second.text);
      if (known == known_orgs.end()) {
        auto found = exists(org->second.text);
        if (!found) return std::move(found).error();
        known = known_orgs.emplace(org->second.text, *found).first;
      }
      if (!known->second) {
        batch.problems.push_back(
            {prefix + ".organization_id", "organization_id '" + org->second.text + "' names no existing organization"});
        continue;
      }
    }
    if (record) batch.records.push_back(std::move(*record));
  }
  if (!batch.problems.empty()) batch.records.clear();
  return batch;
}

// Everything an outcome says, one line each, for readable comparisons.
std::string Describe(const Result<ParsedUsageBatch>& r) {
  if (!r) return "error " + std::to_string(static_cast<int>(r.error().code)) + ": " + r.error().message + "\n";
  std::string out;
  for (const auto& p : r->problems) out += "problem " + p.field + ": " + p.message + "\n";
  for (const auto& x : r->records) {
    out += "record " + x.id + "|" + x.organization_id + "|" + x.deployment_id + "|" + x.deployment_name + "|" +
           std::string(domain::DimensionId(x.dimension)) + "|" +
           (x.kind ? std::string(domain::ResourceKindId(*x.kind)) : "-") + "|" + std::to_string(x.instance_count) +
           "|" + x.sku + "|" + x.name + "|" + std::to_string(x.start.ns) + "|" + std::to_string(x.end.ns) + "|" +
           domain::FormatDecimal(x.quantity) + "|" + x.unit + "|" + domain::FormatDecimal(x.rate) + "|" +
           std::to_string(x.cost_nanos) + "|" + (x.trial ? "trial" : "paid") + "\n";
  }
  return out;
}

// Organizations org-a and org-b exist; org-down and org-down-2 make the lookup fail.
struct Orgs {
  std::vector<std::string> asked;
  std::set<std::thread::id> threads;
  OrganizationExists Exists() {
    return [this](std::string_view id) -> Result<bool> {
      asked.emplace_back(id);
      threads.insert(std::this_thread::get_id());
      if (id.starts_with("org-down")) return MakeError(ErrorCode::kStoreFailed, "store down at " + std::string(id));
      return id == "org-a" || id == "org-b";
    };
  }
};

std::string Record(const std::string& id, const std::string& org, const std::string& rate = "\"0.5\"",
                   const std::string& extra = "") {
  return R"({"id":")" + id + R"(","organization_id":")" + org +
         R"(","deployment_id":"d1","dimension":"data_in","start":"2026-11-01T00:00:00Z","end":"2026-11-01T01:00:00Z","quantity":"2","rate":)" +
         rate + extra + "}";
}

// A batch with a bit of everything: blank lines, CRLF, escapes, lines that are not objects,
// bad fields, repeats, numbers as JSON numbers and as strings, unknown organizations.
std::string MixedBody() {
  return Record("a", "org-a") + "\n" +                              // records[0]
         "\n  \t\r\n" +                                             // blank
         Record("b", "org-b", "0.25") + "\r\n" +                    // records[1]: CRLF, a number
         R"({"id":"c\u0041\"q","organization_id":"org-\u0061",)" +  // records[2]: escapes
         R"("deployment_id":"d\\1","dimension":"data_out","start":"2026-11-01T00:00:00Z",)" +
         R"("end":"2026-11-01T01:00:00Z","quantity":1.5e1,"rate":"0.1"})" + "\n" + "not json\n" +  // records[3]
         Record("e", "org-x", "\"-1\"") + "\n" +  // records[4]: bad rate, unknown org
         "[1,2]\n" +                              // records[5]
         Record("g", "org-\\u0079", "\"0.5\"", R"(,"rate":"1","trial":"no")") + "\n" +  // records[6]
         "   \n" +                                                                      // blank
         Record("h", "org-x") + "\n" +                                                  // records[7]: unknown org again
         R"({"id":"i","organization_id":"org-b"} trailing)" + "\n" +                    // records[8]
         Record("j", "org-a", "1", R"(,"cost":"2","trial":true,"":1,"":2)") + "\r\n" +  // records[9]
         "\r\n" +                                                                       // blank
         Record("k", "", "0.5");  // records[10]: empty org, no final newline
}

const std::vector<std::string> kMixedProblems = {
    "problem records[3]: the line is not valid JSON (syntax error)",
    "problem records[4].rate: rate must not be negative",
    "problem records[4].organization_id: organization_id 'org-x' names no existing organization",
    "problem records[5]: the line is not a JSON object",
    "problem records[6].rate: rate appears more than once",
    "problem records[6].trial: trial must be true or false",
    "problem records[6].organization_id: organization_id 'org-y' names no existing organization",
    "problem records[7].organization_id: organization_id 'org-x' names no existing organization",
    "problem records[8]: the line has text after the JSON object",
    "problem records[9].:  appears more than once",
    "problem records[10].organization_id: organization_id must not be empty",
};

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// A valid batch covering what the mixed one covers but its problems.
std::string ValidBody() {
  return Record("a", "org-a") + "\n\n  \t\r\n" + Record("b", "org-b", "0.25") + "\r\n" +
         R"({"id":"c\u0041\"q","organization_id":"org-\u0061","deployment_id":"d\\1","dimension":"data_out",)" +
         R"("start":"2026-11-01T00:00:00Z","end":"2026-11-01T01:00:00Z","quantity":1.5e1,"rate":"0.1"})" + "\n" +
         Record("j", "org-a", "1", R"(,"cost":"2","trial":true,"unknown":{"x":[1]})") + "\r\n\r\n" +
         Record("k", "org-b", " 0.5 ") + "\n   ";
}

// ---------------------------------------------------------------------------------------------
// DecodeFlatJsonObject: the fast path reads what Boost.JSON reads, or leaves the line to it.

std::string DescribeMembers(std::span<const RawField> fields) {
  std::string out;
  for (const RawField& f : fields) {
    out += "[" + std::string(f.name) + "]" + std::to_string(static_cast<int>(f.type)) + "[" + std::string(f.text) + "]";
  }
  return out;
}

std::string DescribeMembers(const domain::RawUsage& raw) {
  std::vector<RawField> fields;
  for (const auto& [name, value] : raw) fields.push_back({name, value.type, value.text});
  return DescribeMembers(fields);
}

// True when the fast path read `line`; then it must have read exactly what Boost.JSON reads.
bool FastPathAgrees(const std::string& line, bool* agrees) {
  std::vector<RawField> fast;
  const bool read = DecodeFlatJsonObject(line, fast);
  auto slow = DecodeJsonObject(line);
  *agrees = !read || (slow && DescribeMembers(fast) == DescribeMembers(*slow));
  return read;
}

TEST(DecodeFlatJsonObjectTest, ReadsPlainFlatObjectsAsBoostJsonDoes) {
  const std::vector<std::string> lines = {
      Record("a", "org-a"),
      "{}",
      " \t{ } \r\n",
      R"({"a":1,"b":-0,"c":0.5,"d":-12.250,"e":true,"f":false,"g":null,"h":"","i":" x "})",
      "{ \"a\" :\t\"1\" ,\r\"a\" : 2 }\r",
      "{\"\":\"\",\"x\":\"\x7f\"}",
      R"({"n":12345678901234567890123456789012})",  // 32 characters
  };
  for (const std::string& line : lines) {
    bool agrees = false;
    EXPECT_TRUE(FastPathAgrees(line, &agrees)) << "the fast path should read " << line;
    EXPECT_TRUE(agrees) << "the fast path read other members than Boost.JSON from " << line;
  }
}

TEST(DecodeFlatJsonObjectTest, LeavesEverythingElseToBoostJson) {
  const std::vector<std::string> lines = {
      R"({"a":"\u0041"})",
      R"({"\u0061":"x"})",
      R"({"a":"\\"})",
      "{\"a\":\"\xc3\xa9\"}",
      "{\"a\xff\":1}",
      "{\"a\":\"x\x01\"}",
      R"({"a":1e5})",
      R"({"a":1E-2})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":-})",
      R"({"a":+1})",
      R"({"a":123456789012345678901234567890123})",
      R"({"a":{}})",
      R"({"a":[]})",
      R"({"a":tru})",
      R"({"a":truex})",
      R"({"a":nul})",
      R"({"a":1,})",
      R"({,})",
      R"({"a" 1})",
      R"({"a":1}x)",
      R"({"a":1}})",
      R"({"a":1} {})",
      R"({"a":"x)",
      R"({"a":1)",
      "{",
      "",
      "   ",
      "[]",
      "1",
      "\"x\"",
      "null",
      "/*c*/{}",
      "{\"a\":1}//c",
      "\xef\xbb\xbf{}",
      "{'a':1}",
      R"({"a":1 2})",
      R"({a:1})",
  };
  for (const std::string& line : lines) {
    std::vector<RawField> fast;
    EXPECT_FALSE(DecodeFlatJsonObject(line, fast)) << "the fast path should leave " << line << " to Boost.JSON";
  }
}

TEST(DecodeFlatJsonObjectTest, AgreesWithBoostJsonOnMutatedLines) {
  const std::string base = Record("a-1", "org-a", "0.5", R"(,"n":-10.25,"t":true,"f":false,"z":null)");
  const std::string alphabet = "{}[]:,\"\\ \t\r0123456789-+.eEtrufalsn\x01\x7f\xc3\xa9u";
  std::mt19937 rng(42);
  int fast = 0;
  int boost_ok = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string line = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (at < line.size()) line.erase(at, 1);
          break;
        case 1:
          line.insert(at, 1, c);
          break;
        default:
          if (at < line.size()) line[at] = c;
          break;
      }
    }
    bool agrees = false;
    fast += FastPathAgrees(line, &agrees) ? 1 : 0;
    boost_ok += DecodeJsonObject(line) ? 1 : 0;
    ASSERT_TRUE(agrees) << "the fast path and Boost.JSON disagree on " << line;
  }
  EXPECT_GT(fast, 5000) << "the mutations should leave many lines to the fast path";
  EXPECT_GT(boost_ok, fast) << "and some valid lines to Boost.JSON";
}

TEST(DecodeFlatJsonObjectTest, FindsASpecialByteWhereverItFallsInALongString) {
  // The fast path looks at strings eight bytes at a time: each special byte at each offset.
  for (const std::string special : {"\\n", "\\u00e9", "\x01", "\x1f", "\xc3\xa9", "\x80", "\xff", "\"", "\x7f", " "}) {
    for (std::size_t at = 0; at <= 24; ++at) {
      for (std::size_t tail = 0; tail <= 9; ++tail) {
        const std::string text = std::string(at, 'a') + special + std::string(tail, 'b');
        for (const std::string& line : {"{\"k\":\"" + text + "\"}", "{\"" + text + "\":1}"}) {
          std::vector<RawField> fast;
          const bool read = DecodeFlatJsonObject(line, fast);
          const bool plain = special == "\x7f" || special == " ";
          EXPECT_EQ(read, plain) << line;
          bool agrees = false;
          FastPathAgrees(line, &agrees);
          EXPECT_TRUE(agrees) << line;
        }
      }
    }
  }
}

TEST(JsonLineDecoderTest, DecodesEscapesThroughBoostJsonAndKeepsItsErrors) {
  JsonLineDecoder decoder;
  auto fields = decoder.Decode(R"({"r\u0061te":"0.\u0035","id":"a\"b","n":1e2})");
  ASSERT_TRUE(fields);
  EXPECT_EQ(DescribeMembers(*fields), "[rate]0[0.5][id]0[a\"b][n]1[1e2]");
  auto plain = decoder.Decode(R"({"rate":"0.5"})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(DescribeMembers(*plain), "[rate]0[0.5]");
  for (const std::string line : {"not json", "[1]", R"({"a":1} x)", R"({"a":"\x"})", R"({"a":)"}) {
    auto bad = decoder.Decode(line);
    auto reference = DecodeJsonObject(line);
    ASSERT_FALSE(bad);
    ASSERT_FALSE(reference);
    EXPECT_EQ(bad.error().message, reference.error().message) << line;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidData);
  }
}

// ---------------------------------------------------------------------------------------------
// ParseUsageBatch

TEST(ParseUsageBatchTest, ReportsEveryProblemInLineOrder) {
  Orgs orgs;
  auto batch = ParseUsageBatch(MixedBody(), orgs.Exists(), {});
  ASSERT_TRUE(batch);
  EXPECT_EQ(Describe(batch), Joined(kMixedProblems)) << "and no records when there are problems";
  Orgs reference_orgs;
  EXPECT_EQ(Describe(ReferenceParse(MixedBody(), reference_orgs.Exists())), Joined(kMixedProblems));
}

TEST(ParseUsageBatchTest, EverySplitOfAMixedBatchGivesTheSameProblems) {
  const std::string body = MixedBody();
  for (std::size_t at = 0; at <= body.size() + 1; ++at) {
    Orgs orgs;
    const std::vector<std::size_t> split = {at};
    EXPECT_EQ(Describe(ParseUsageBatch(body, orgs.Exists(), split)), Joined(kMixedProblems)) << "split at " << at;
    EXPECT_EQ(orgs.asked, (std::vector<std::string>{"org-a", "org-b", "org-x", "org-y"})) << "split at " << at;
  }
  for (std::size_t a = 0; a <= body.size(); a += 17) {
    for (std::size_t b = a; b <= body.size(); b += 29) {
      Orgs orgs;
      const std::vector<std::size_t> split = {a, b, b + 5};
      EXPECT_EQ(Describe(ParseUsageBatch(body, orgs.Exists(), split)), Joined(kMixedProblems))
          << "split at " << a << ", " << b << ", " << b + 5;
    }
  }
}

TEST(ParseUsageBatchTest, EverySplitOfAValidBatchGivesEveryRecordInOrder) {
  const std::string body = ValidBody();
  Orgs reference_orgs;
  const std::string expected = Describe(ReferenceParse(body, reference_orgs.Exists()));
  ASSERT_EQ(std::count(expected.begin(), expected.end(), '\n'), 5) << expected;
  EXPECT_NE(expected.find("record cA\"q|org-a|d\\1|"), std::string::npos) << "escapes are decoded: " << expected;
  EXPECT_NE(expected.find("|15|"), std::string::npos) << "1.5e1 is read exactly: " << expected;
  for (std::size_t at = 0; at <= body.size(); ++at) {
    Orgs orgs;
    const std::vector<std::size_t> split = {at};
    EXPECT_EQ(Describe(ParseUsageBatch(body, orgs.Exists(), split)), expected) << "split at " << at;
  }
}

TEST(ParseUsageBatchTest, InstanceTypesPassThroughTheFastAndTheEscapedPaths) {
  // The fast flat-object path and a line with an escape (decoded by Boost.JSON) both carry the
  // member to ValidateUsage; a bad one is named like any field.
  const std::string body = Record("1", "org-a", "\"0.5\"", R"(,"instance_type":"observability")") + "\n" +
                           Record("2", "org-a", "\"0.5\"", R"(,"instance_type":"secur\u0069ty")") + "\n" +
                           Record("3", "org-a", "\"0.5\"", R"(,"instance_type":null)") + "\n";
  Orgs orgs;
  auto batch = ParseUsageBatch(body, orgs.Exists(), {});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->problems.empty()) << Describe(batch);
  ASSERT_EQ(batch->records.size(), 3u);
  EXPECT_EQ(batch->records[0].instance_type, domain::InstanceType::kObservability);
  EXPECT_EQ(batch->records[1].instance_type, domain::InstanceType::kSecurity);
  EXPECT_EQ(batch->records[2].instance_type, domain::InstanceType::kDeployment);
  Orgs again;
  auto bad =
      ParseUsageBatch(Record("1", "org-a") + "\n" + Record("2", "org-a", "\"0.5\"", R"(,"instance_type":"Serverless")"),
                      again.Exists(), {});
  ASSERT_TRUE(bad);
  EXPECT_EQ(Describe(bad),
            "problem records[1].instance_type: instance_type must be one of deployment, elasticsearch, observability, "
            "security\n");
}

TEST(ParseUsageBatchTest, AsksForEachOrganizationOnceInOrderOfFirstUseFromTheCallingThread) {
  const std::string body = Record("1", "org-b") + "\n" + Record("2", "org-a") + "\n" + Record("3", "org-b") + "\n" +
                           Record("4", "org-z") + "\n" + Record("5", "org-a") + "\n" + Record("6", "org-z") + "\n";
  for (std::size_t at = 0; at <= body.size(); at += 11) {
    Orgs orgs;
    const std::vector<std::size_t> split = {at, at + body.size() / 3};
    auto batch = ParseUsageBatch(body, orgs.Exists(), split);
    ASSERT_TRUE(batch);
    EXPECT_EQ(orgs.asked, (std::vector<std::string>{"org-b", "org-a", "org-z"})) << "split at " << at;
    EXPECT_EQ(orgs.threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_EQ(Describe(batch),
              "problem records[3].organization_id: organization_id 'org-z' names no existing organization\n"
              "problem records[5].organization_id: organization_id 'org-z' names no existing organization\n");
  }
}

TEST(ParseUsageBatchTest, TheFirstFailedLookupIsTheAnswerEvenWithProblems) {
  const std::string body =
      "nonsense\n" + Record("1", "org-a") + "\n" + Record("2", "org-down-2") + "\n" + Record("3", "org-down") + "\n";
  for (std::size_t at = 0; at <= body.size(); ++at) {
    Orgs orgs;
    const std::vector<std::size_t> split = {at};
    auto batch = ParseUsageBatch(body, orgs.Exists(), split);
    ASSERT_FALSE(batch);
    EXPECT_EQ(batch.error().code, ErrorCode::kStoreFailed);
    EXPECT_EQ(batch.error().message, "store down at org-down-2");
    EXPECT_EQ(orgs.asked, (std::vector<std::string>{"org-a", "org-down-2"})) << "no lookup after a failed one";
  }
}

TEST(ParseUsageBatchTest, BlankBodiesHoldNothing) {
  for (const std::string body : {"", "\n", "\r\n \t\n", "   "}) {
    Orgs orgs;
    auto batch = ParseUsageBatch(body, orgs.Exists());
    ASSERT_TRUE(batch);
    EXPECT_TRUE(batch->records.empty());
    EXPECT_TRUE(batch->problems.empty());
    EXPECT_TRUE(orgs.asked.empty());
  }
}

// A body large enough that ParseUsageBatch splits it itself (on a machine with two cores).
std::string LargeBody(bool with_problems) {
  std::string body;
  for (int i = 0; i < 4000; ++i) {
    std::string line =
        Record("r" + std::to_string(i), i % 3 == 0 ? "org-b" : "org-a", "\"0.0" + std::to_string(i) + "\"");
    if (with_problems && (i == 0 || i == 1999 || i == 2000 || i == 2001 || i == 3999)) {
      line = i % 2 == 0 ? "{\"id\":" : Record("r", "org-q" + std::to_string(i), "-1");
    }
    body += line + (i % 500 == 0 ? "\r\n\n" : "\n");
  }
  return body;
}

TEST(ParseUsageBatchTest, LargeBodiesAgreeWithTheReference) {
  for (bool with_problems : {false, true}) {
    const std::string body = LargeBody(with_problems);
    ASSERT_GT(body.size(), 512u * 1024);
    Orgs orgs;
    Orgs reference_orgs;
    auto batch = ParseUsageBatch(body, orgs.Exists());
    auto reference = ReferenceParse(body, reference_orgs.Exists());
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->records.size(), with_problems ? 0u : 4000u);
    EXPECT_EQ(batch->problems.size(), with_problems ? 8u : 0u);
    EXPECT_EQ(Describe(batch), Describe(reference));
    EXPECT_EQ(orgs.asked, reference_orgs.asked);
  }
}

// Many bad lines: the first kMaxReportedProblems problems are kept, in line order, the others
// only counted, whichever path (flat fast path or Boost.JSON) read each line and however the
// body is split.
std::string ManyBadLines(bool escaped, int lines) {
  std::string body;
  for (int i = 0; i < lines; ++i) {
    // Escapes send a line to Boost.JSON; "\u0031" is "1", so both bodies say the same.
    const std::string id = escaped ? "r\\u0031-" + std::to_string(i) : "r1-" + std::to_string(i);
    if (i % 3 == 0) {
      body += "x\n";
    } else if (i % 3 == 1) {
      body += Record(id, "org-a", "\"-1\"") + "\n";  // one problem
    } else {
      body += Record(id, "org-x", "\"-1\"", R"(,"trial":"no")") + "\n";  // three problems
    }
  }
  return body;
}

std::string FirstLines(const std::string& text, std::size_t n) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  return pos == std::string::npos ? text : text.substr(0, pos);
}

TEST(ParseUsageBatchTest, KeepsTheFirstHundredProblemsAndCountsTheRest) {
  constexpr int kLines = 300;  // 100 + 100 + 300 problems
  const std::string plain = ManyBadLines(false, kLines);
  const std::string escaped = ManyBadLines(true, kLines);
  ASSERT_NE(plain, escaped);
  Orgs reference_orgs;
  auto reference = ReferenceParse(plain, reference_orgs.Exists());
  ASSERT_TRUE(reference);
  ASSERT_EQ(reference->problems.size(), 500u);
  const std::string expected = FirstLines(Describe(reference), kMaxReportedProblems);
  for (const std::string* body : {&plain, &escaped}) {
    for (std::size_t at : {std::size_t{0}, body->size() / 3, body->size() / 2, body->size()}) {
      Orgs orgs;
      const std::vector<std::size_t> split = {at, at + 7};
      auto batch = ParseUsageBatch(*body, orgs.Exists(), split);
      ASSERT_TRUE(batch);
      EXPECT_EQ(batch->problems.size(), kMaxReportedProblems);
      EXPECT_EQ(batch->problem_count, 500u) << "every problem is counted";
      EXPECT_EQ(Describe(batch), expected) << (body == &plain ? "flat" : "escaped") << " body split at " << at;
      EXPECT_EQ(batch->unchecked_organizations, 0u);
    }
  }
}

TEST(ParseUsageBatchTest, StopsLookingUpOrganizationsAfterAHundredUnknownOnes) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += Record("r" + std::to_string(i), "org-u" + std::to_string(i)) + "\n";
  body += Record("last", "org-a") + "\n";
  for (std::size_t at : {std::size_t{0}, body.size() / 2}) {
    Orgs orgs;
    const std::vector<std::size_t> split = {at};
    auto batch = ParseUsageBatch(body, orgs.Exists(), split);
    ASSERT_TRUE(batch);
    EXPECT_EQ(orgs.asked.size(), kMaxUnknownOrganizations) << "one lookup per unknown organization, up to the cap";
    EXPECT_EQ(orgs.asked.back(), "org-u99");
    EXPECT_EQ(batch->problems.size(), kMaxReportedProblems);
    EXPECT_EQ(batch->problems.back().field, "records[99].organization_id");
    EXPECT_EQ(batch->problem_count, 100u) << "only the organizations looked up are counted";
    EXPECT_EQ(batch->unchecked_organizations, 201u) << "org-u100 .. org-u299 and org-a";
  }
}

}  // namespace
}  // namespace costs::service
