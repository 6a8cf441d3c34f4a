// Fuzz target: the one-file import in parts (src/service/usage_import.hpp): the input's first
// byte picks the part size (1..256 bytes), its second the bytes per read (1..256, as a pipe
// yields them); the rest is the file. Property: ImportNdjson of it, read in parts, answers as
// AdminService::IngestNdjson of the whole file does (the same outcome, or the same error code,
// message and fields), and both stores then hold the same records in the same order.
// Organizations org-a and org-b exist (in both stores).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "service/costs_service.hpp"
#include "service/testing/fakes.hpp"
#include "service/usage_import.hpp"
#include "store/memory/memory_store.hpp"

namespace {

using costs::Result;
using costs::service::IngestOutcome;

std::string Describe(const Result<IngestOutcome>& r) {
  if (r) return "stored " + std::to_string(r->stored) + ", duplicates " + std::to_string(r->duplicates);
  std::string out = std::to_string(static_cast<int>(r.error().code)) + " " + r.error().message;
  for (const std::string& f : r.error().fields) out += "\n  " + f;
  return out;
}

std::string Usage(costs::store::memory::MemoryStore& store) {
  std::string out;
  for (const char* org : {"org-a", "org-b"}) {
    costs::service::RangeReadPlan plan;
    plan.usage = true;
    auto read = store.ReadRange(org, plan);
    FUZZ_CHECK(read.has_value(), "ReadRange failed");
    for (const auto& r : read->usage) out += r.id + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t part_bytes = 1 + data[0];
  const std::size_t step = 1 + data[1];
  const std::string_view file(reinterpret_cast<const char*>(data) + 2, size - 2);

  costs::service::testing::FakeHasher hasher;
  costs::store::memory::MemoryStore whole_store, parts_store;
  costs::service::AdminService whole_admin(whole_store, hasher), parts_admin(parts_store, hasher);
  for (auto* admin : {&whole_admin, &parts_admin}) {
    FUZZ_CHECK(admin->CreateOrganization("org-a", "A").has_value(), "org-a");
    FUZZ_CHECK(admin->CreateOrganization("org-b", "B").has_value(), "org-b");
  }
  const Result<IngestOutcome> whole = whole_admin.IngestNdjson(file);
  std::size_t at = 0;
  const Result<IngestOutcome> parts = parts_admin.ImportNdjson(
      [&](std::span<char> buffer) -> Result<std::size_t> {
        const std::size_t n = std::min({step, buffer.size(), file.size() - at});
        std::memcpy(buffer.data(), file.data() + at, n);
        at += n;
        return n;
      },
      part_bytes);
  FUZZ_CHECK(Describe(parts) == Describe(whole), "in parts: " + Describe(parts) + "\nwhole: " + Describe(whole));
  FUZZ_CHECK(Usage(parts_store) == Usage(whole_store), "the stores hold other records");
  return 0;
}
