#include "service/usage_batch.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "service/ndjson.hpp"

namespace costs::service {
namespace {

// The fewest bytes a line holding a valid record can have (its required members alone take
// more): records are reserved by body size over this, never by line count, so a body of short
// bad lines reserves little.
constexpr std::size_t kMinRecordLineBytes = 128;

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

  std::vector<domain::UsageRecord> records;  // pushed only while problem_count is 0
  // The first kMaxReportedProblems problems (fields without the "records[i]." prefix): the
  // batch reports no more, and the first ones of the batch are among the first ones of each
  // chunk.
  std::vector<domain::FieldProblem> problems;
  std::vector<ProblemAt> problem_at;  // one per kept problem
  std::size_t problem_count = 0;      // every problem, kept or not
  std::vector<OrgUse> org_uses;       // in line order
  std::vector<std::string> orgs;      // distinct organization ids, in order of first use
  std::size_t lines = 0;              // non-blank lines
};

// Records a body of `bytes` can hold at most, to reserve room for.
std::size_t RecordRoom(std::size_t bytes) { return bytes / kMinRecordLineBytes + 1; }

// Parses and validates the lines of `chunk` (whole lines: it ends at a '\n' or at the body's
// end), with room for `room` records. Lines holding only spaces, tabs and CRs are skipped.
void ParseChunk(std::string_view chunk, std::size_t room, ChunkOutcome& out) {
  out.records.reserve(room);
  std::vector<domain::FieldProblem> line_problems;
  // Keeps a line's problem while fewer than kMaxReportedProblems are kept; counts it always.
  auto add_problem = [&out](std::size_t line, bool whole_line, auto&& make) {
    if (out.problems.size() < kMaxReportedProblems) {
      out.problems.push_back(make());
      out.problem_at.push_back({line, whole_line});
    }
    ++out.problem_count;
  };
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
      add_problem(line, true, [&] {
        return domain::FieldProblem{std::string(), "the line " + fields.error().message};
      });
      continue;
    }
    line_problems.clear();
    auto record = domain::ValidateUsage(*fields, "", line_problems);
    for (domain::FieldProblem& p : line_problems) add_problem(line, false, [&] { return std::move(p); });
    // The organization must exist: the batch asks once per distinct id, after every chunk, so
    // that unknown ones are reported with the other problems (the store checks again inside
    // its transaction).
    const auto org =
        std::find_if(fields->begin(), fields->end(), [](const auto& m) { return m.name == "organization_id"; });
    if (org != fields->end() && org->type == domain::RawValue::Type::kString && !org->text.empty()) {
      if (out.orgs.empty() || out.orgs[last_org] != org->text) {
        auto known = org_index.find(org->text);
        if (known == org_index.end()) {
          known = org_index.emplace(std::string(org->text), static_cast<std::uint32_t>(out.orgs.size())).first;
          out.orgs.emplace_back(org->text);
        }
        last_org = known->second;
      }
      out.org_uses.push_back({line, out.problem_count, last_org});
    }
    if (record && out.problem_count == 0) out.records.push_back(std::move(*record));
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

// Parses each chunk: those after the first on threads of their own (or here, when no thread can
// be started). What a thread throws (std::bad_alloc) is thrown again here, as if parsed here.
std::vector<ChunkOutcome> ParseChunks(std::size_t body_size, const std::vector<std::string_view>& chunks) {
  std::vector<ChunkOutcome> outcomes(chunks.size());
  std::vector<std::exception_ptr> thrown(chunks.size());
  std::vector<std::jthread> threads;  // joined when leaving, however this is left
  threads.reserve(chunks.size());
  std::vector<std::size_t> here = {0};
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    try {
      threads.emplace_back([&chunks, &outcomes, &thrown, i] {
        try {
          ParseChunk(chunks[i], RecordRoom(chunks[i].size()), outcomes[i]);
        } catch (...) {
          thrown[i] = std::current_exception();
        }
      });
    } catch (const std::system_error&) {
      here.push_back(i);
    }
  }
  // The first chunk's records become the batch's: room for the whole body's, so that the
  // others' are moved in once, without moving its own again.
  for (std::size_t i : here) ParseChunk(chunks[i], RecordRoom(i == 0 ? body_size : chunks[i].size()), outcomes[i]);
  for (std::jthread& t : threads) t.join();
  for (const std::exception_ptr& e : thrown) {
    if (e) std::rethrow_exception(e);
  }
  return outcomes;
}

enum class Org : std::uint8_t { kExists, kUnknown, kUnchecked };

// Each distinct organization is looked up once per batch (`lookups`, over its parts), in the
// order of first use, until kMaxUnknownOrganizations of them were unknown: the batch is refused
// then anyway, and the organizations after them are not looked up (kUnchecked, counted in the
// batch). Per chunk, the state of each of its organizations.
Result<std::vector<std::vector<Org>>> LookUpOrganizations(const std::vector<ChunkOutcome>& outcomes,
                                                          const OrganizationExists& exists,
                                                          OrganizationLookups& lookups, ParsedUsageBatch& batch) {
  std::vector<std::vector<Org>> org_state(outcomes.size());
  for (std::size_t c = 0; c < outcomes.size(); ++c) {
    for (const std::string& org : outcomes[c].orgs) {
      auto it = lookups.state.find(org);
      if (it == lookups.state.end()) {
        Org state = Org::kUnchecked;
        if (lookups.unknown < kMaxUnknownOrganizations) {
          auto found = exists(org);
          if (!found) return std::move(found).error();
          state = *found ? Org::kExists : Org::kUnknown;
          if (state == Org::kUnknown) ++lookups.unknown;
        } else {
          ++batch.unchecked_organizations;
        }
        it = lookups.state.emplace(org, static_cast<std::uint8_t>(state)).first;
      }
      org_state[c].push_back(static_cast<Org>(it->second));
    }
  }
  return org_state;
}

// Problems in line order: each line's own, then its unknown organization. The first
// kMaxReportedProblems are kept, the others counted.
void GatherProblems(std::vector<ChunkOutcome>& outcomes, const std::vector<std::vector<Org>>& org_state,
                    std::size_t first_line, ParsedUsageBatch& batch) {
  auto add = [&batch](auto&& make) {
    if (batch.problems.size() < kMaxReportedProblems) batch.problems.push_back(make());
    ++batch.problem_count;
  };
  std::size_t base = first_line;  // lines of the chunks before
  for (std::size_t c = 0; c < outcomes.size(); ++c) {
    ChunkOutcome& out = outcomes[c];
    std::size_t next = 0;
    auto take_problems_before = [&](std::size_t end) {
      for (; next < end; ++next) {
        if (next >= out.problems.size()) {  // not kept: then no later one of the batch is either
          add([] { return domain::FieldProblem{}; });
          continue;
        }
        add([&] {
          const ChunkOutcome::ProblemAt at = out.problem_at[next];
          std::string field = RecordPath(base + at.line);
          if (!at.whole_line) field += "." + out.problems[next].field;
          return domain::FieldProblem{std::move(field), std::move(out.problems[next].message)};
        });
      }
    };
    for (const ChunkOutcome::OrgUse& use : out.org_uses) {
      if (org_state[c][use.org] != Org::kUnknown) continue;
      take_problems_before(use.problems_before);
      add([&] {
        return domain::FieldProblem{RecordPath(base + use.line) + ".organization_id",
                                    "organization_id '" + out.orgs[use.org] + "' names no existing organization"};
      });
    }
    take_problems_before(out.problem_count);
    base += out.lines;
  }
}

// The chunks' records, in order, into the batch (the first chunk's vector has room for all).
void MergeRecords(std::vector<ChunkOutcome>& outcomes, ParsedUsageBatch& batch) {
  std::size_t total = 0;
  for (const ChunkOutcome& out : outcomes) total += out.records.size();
  batch.records = std::move(outcomes[0].records);
  batch.records.reserve(total);
  for (std::size_t c = 1; c < outcomes.size(); ++c) {
    std::move(outcomes[c].records.begin(), outcomes[c].records.end(), std::back_inserter(batch.records));
  }
}

// The chunks' outcomes, numbered from `first_line`, with their organizations looked up in
// `lookups`: the batch.
Result<ParsedUsageBatch> FinishLines(std::vector<ChunkOutcome>& outcomes, const OrganizationExists& exists,
                                     std::size_t first_line, OrganizationLookups& lookups) {
  ParsedUsageBatch batch;
  for (const ChunkOutcome& out : outcomes) batch.lines += out.lines;
  auto org_state = LookUpOrganizations(outcomes, exists, lookups, batch);
  if (!org_state) return std::move(org_state).error();
  GatherProblems(outcomes, *org_state, first_line, batch);
  if (batch.problem_count > 0) return batch;
  MergeRecords(outcomes, batch);
  return batch;
}

// ParseUsageBatch with its lines numbered from `first_line` and its organizations' lookups
// in `lookups`.
Result<ParsedUsageBatch> ParseLines(std::string_view body, const OrganizationExists& exists,
                                    std::span<const std::size_t> split_at, std::size_t first_line,
                                    OrganizationLookups& lookups) {
  std::vector<ChunkOutcome> outcomes = ParseChunks(body.size(), Chunks(body, split_at));
  return FinishLines(outcomes, exists, first_line, lookups);
}

// Split points for `body`: in two halves when it is large and there are two cores.
std::vector<std::size_t> SplitPoints(std::string_view body) {
  std::vector<std::size_t> split_at;
  if (body.size() >= kMinBytesToSplit && std::thread::hardware_concurrency() >= 2) split_at.push_back(body.size() / 2);
  return split_at;
}

constexpr std::size_t kMaxProblemsInMessage = 5;

}  // namespace

Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists) {
  OrganizationLookups lookups;
  return ParseLines(body, exists, SplitPoints(body), 0, lookups);
}

Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists,
                                         std::span<const std::size_t> split_at) {
  OrganizationLookups lookups;
  return ParseLines(body, exists, split_at, 0, lookups);
}

struct ScannedUsagePart::Chunks {
  explicit Chunks(std::vector<ChunkOutcome> o) : outcomes(std::move(o)) {}
  std::vector<ChunkOutcome> outcomes;
};

ScannedUsagePart::ScannedUsagePart(std::unique_ptr<Chunks> chunks) : chunks_(std::move(chunks)) {}
ScannedUsagePart::ScannedUsagePart(ScannedUsagePart&&) noexcept = default;
ScannedUsagePart& ScannedUsagePart::operator=(ScannedUsagePart&&) noexcept = default;
ScannedUsagePart::~ScannedUsagePart() = default;

ScannedUsagePart ScanUsagePart(std::string_view lines) {
  return ScannedUsagePart(
      std::make_unique<ScannedUsagePart::Chunks>(ParseChunks(lines.size(), Chunks(lines, SplitPoints(lines)))));
}

Result<ParsedUsageBatch> FinishUsagePart(ScannedUsagePart scanned, const OrganizationExists& exists,
                                         std::size_t first_line, OrganizationLookups& lookups) {
  return FinishLines(scanned.chunks_->outcomes, exists, first_line, lookups);
}

Error UsageProblemsError(const ParsedUsageBatch& batch) {
  const auto& problems = batch.problems;
  std::string message = std::to_string(batch.problem_count) + " problem(s) in the usage batch; nothing was stored: ";
  std::vector<std::string> fields;  // each once, in order of first problem
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i < kMaxProblemsInMessage) {
      if (i > 0) message += "; ";
      message += problems[i].field + ": " + problems[i].message;
    }
    if (seen.insert(problems[i].field).second) fields.push_back(problems[i].field);
  }
  if (problems.size() > kMaxProblemsInMessage) message += "; ...";
  if (batch.problem_count > problems.size()) {
    message += " (fields names the first " + std::to_string(problems.size()) + " problems, and " +
               std::to_string(batch.problem_count - problems.size()) + " more)";
  }
  if (batch.unchecked_organizations > 0) {
    message += " (" + std::to_string(batch.unchecked_organizations) +
               " more organization ids were not looked up after " + std::to_string(kMaxUnknownOrganizations) +
               " unknown ones)";
  }
  return MakeError(ErrorCode::kInvalidRecord, std::move(message), std::move(fields));
}

}  // namespace costs::service
