#include "service/usage_batch.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "service/ndjson.hpp"

namespace costs::service {
namespace {

// Bodies from this size on are parsed in two halves on two threads (when there are two cores):
// below it, starting a thread costs more than it saves.
constexpr std::size_t kMinBytesToSplit = 256 * 1024;

// Hashes std::string and std::string_view alike, for lookups without a copy.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What parsing one chunk of whole lines yields. Lines are numbered within the chunk, counting
// non-blank lines from 0; the batch adds the lines of the chunks before.
struct ChunkOutcome {
  struct ProblemAt {
    std::size_t line;
    bool whole_line;  // the line is not a JSON object: field is empty, nothing follows "records[i]"
  };
  // A line whose organization_id is a non-empty string: `org` indexes `orgs`, and the line's
  // problems end before problems[problems_before].
  struct OrgUse {
    std::size_t line;
    std::size_t problems_before;
    std::uint32_t org;
  };

  std::vector<domain::UsageRecord> records;    // pushed only while problems is empty
  std::vector<domain::FieldProblem> problems;  // fields without the "records[i]." prefix
  std::vector<ProblemAt> problem_at;           // one per problem
  std::vector<OrgUse> org_uses;                // in line order
  std::vector<std::string> orgs;               // distinct organization ids, in order of first use
  std::size_t lines = 0;                       // non-blank lines
};

// The number of lines of `text`, blank ones included: one more than its '\n's.
std::size_t CountLines(std::string_view text) {
  std::size_t lines = 1;
  if (text.empty()) return lines;
  const char* p = text.data();
  const char* const end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr) {
    ++lines;
    ++p;
  }
  return lines;
}

// Parses and validates the lines of `chunk` (whole lines: it ends at a '\n' or at the body's
// end), with room for `room` records. Lines holding only spaces, tabs and CRs are skipped.
void ParseChunk(std::string_view chunk, std::size_t room, ChunkOutcome& out) {
  out.records.reserve(room);
  std::unordered_map<std::string, std::uint32_t, TextHash, std::equal_to<>> org_index;
  std::uint32_t last_org = 0;  // the previous line's organization, if out.orgs is not empty
  JsonLineDecoder decoder;
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    std::size_t eol = chunk.find('\n', pos);
    if (eol == std::string_view::npos) eol = chunk.size();
    const std::string_view text = chunk.substr(pos, eol - pos);
    pos = eol + 1;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::size_t line = out.lines++;
    auto fields = decoder.Decode(text);
    if (!fields) {
      out.problems.push_back({std::string(), "the line " + fields.error().message});
      out.problem_at.push_back({line, true});
      continue;
    }
    auto record = domain::ValidateUsage(*fields, "", out.problems);
    out.problem_at.resize(out.problems.size(), {line, false});
    // The organization must exist: the batch asks once per distinct id, after every chunk, so
    // that unknown ones are reported with the other problems (the store checks again inside
    // its transaction).
    const auto org = std::find_if(fields->begin(), fields->end(), [](const auto& m) { return m.name == "organization_id"; });
    if (org != fields->end() && org->type == domain::RawValue::Type::kString && !org->text.empty()) {
      if (out.orgs.empty() || out.orgs[last_org] != org->text) {
        auto known = org_index.find(org->text);
        if (known == org_index.end()) {
          known = org_index.emplace(std::string(org->text), static_cast<std::uint32_t>(out.orgs.size())).first;
          out.orgs.emplace_back(org->text);
        }
        last_org = known->second;
      }
      out.org_uses.push_back({line, out.problems.size(), last_org});
    }
    if (record && out.problems.empty()) out.records.push_back(std::move(*record));
  }
}

// Where each chunk begins: at the first line start at or after each of `split_at`.
std::vector<std::string_view> Chunks(std::string_view body, std::span<const std::size_t> split_at) {
  std::vector<std::string_view> chunks;
  std::size_t begin = 0;
  for (std::size_t at : split_at) {
    std::size_t start = std::clamp(at, begin, body.size());
    if (start > 0 && start < body.size() && body[start - 1] != '\n') {
      const std::size_t eol = body.find('\n', start);
      start = eol == std::string_view::npos ? body.size() : eol + 1;
    }
    chunks.push_back(body.substr(begin, start - begin));
    begin = start;
  }
  chunks.push_back(body.substr(begin));
  return chunks;
}

std::string RecordPath(std::size_t index) { return "records[" + std::to_string(index) + "]"; }

}  // namespace

Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists) {
  std::vector<std::size_t> split_at;
  if (body.size() >= kMinBytesToSplit && std::thread::hardware_concurrency() >= 2) split_at.push_back(body.size() / 2);
  return ParseUsageBatch(body, exists, split_at);
}

Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists,
                                         std::span<const std::size_t> split_at) {
  const std::vector<std::string_view> chunks = Chunks(body, split_at);
  std::vector<ChunkOutcome> outcomes(chunks.size());
  {
    // Chunks after the first on threads of their own (or here, when no thread can be started).
    // What a thread throws (std::bad_alloc) is thrown again here, as if parsed here.
    std::vector<std::exception_ptr> thrown(chunks.size());
    std::vector<std::jthread> threads;  // joined when leaving this block, however it is left
    threads.reserve(chunks.size());
    std::vector<std::size_t> here = {0};
    for (std::size_t i = 1; i < chunks.size(); ++i) {
      try {
        threads.emplace_back([&chunks, &outcomes, &thrown, i] {
          try {
            ParseChunk(chunks[i], CountLines(chunks[i]), outcomes[i]);
          } catch (...) {
            thrown[i] = std::current_exception();
          }
        });
      } catch (const std::system_error&) {
        here.push_back(i);
      }
    }
    // The first chunk's records become the batch's: room for every line, so that the others'
    // are moved in once, without moving its own again.
    for (std::size_t i : here) ParseChunk(chunks[i], CountLines(i == 0 ? body : chunks[i]), outcomes[i]);
    for (std::jthread& t : threads) t.join();
    for (const std::exception_ptr& e : thrown) {
      if (e) std::rethrow_exception(e);
    }
  }

  // Each distinct organization is looked up once, in the order of first use.
  std::unordered_map<std::string_view, bool, TextHash> known;
  std::vector<std::vector<bool>> org_exists(outcomes.size());
  for (std::size_t c = 0; c < outcomes.size(); ++c) {
    for (const std::string& org : outcomes[c].orgs) {
      auto it = known.find(org);
      if (it == known.end()) {
        auto found = exists(org);
        if (!found) return std::move(found).error();
        it = known.emplace(org, *found).first;
      }
      org_exists[c].push_back(it->second);
    }
  }

  // Problems in line order: each line's own, then its unknown organization.
  ParsedUsageBatch batch;
  std::size_t base = 0;  // lines of the chunks before
  for (std::size_t c = 0; c < outcomes.size(); ++c) {
    ChunkOutcome& out = outcomes[c];
    std::size_t next = 0;
    auto take_problems_before = [&](std::size_t end) {
      for (; next < end; ++next) {
        const ChunkOutcome::ProblemAt at = out.problem_at[next];
        std::string field = RecordPath(base + at.line);
        if (!at.whole_line) field += "." + out.problems[next].field;
        batch.problems.push_back({std::move(field), std::move(out.problems[next].message)});
      }
    };
    for (const ChunkOutcome::OrgUse& use : out.org_uses) {
      if (org_exists[c][use.org]) continue;
      take_problems_before(use.problems_before);
      batch.problems.push_back({RecordPath(base + use.line) + ".organization_id",
                                "organization_id '" + out.orgs[use.org] + "' names no existing organization"});
    }
    take_problems_before(out.problems.size());
    base += out.lines;
  }
  if (!batch.problems.empty()) return batch;

  std::size_t total = 0;
  for (const ChunkOutcome& out : outcomes) total += out.records.size();
  batch.records = std::move(outcomes[0].records);
  batch.records.reserve(total);
  for (std::size_t c = 1; c < outcomes.size(); ++c) {
    std::move(outcomes[c].records.begin(), outcomes[c].records.end(), std::back_inserter(batch.records));
  }
  return batch;
}

}  // namespace costs::service
