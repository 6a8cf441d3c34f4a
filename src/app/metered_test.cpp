#include "app/metered.hpp"

#include <gtest/gtest.h>

#include "service/metrics.hpp"
#include "service/testing/forwarding_store.hpp"
#include "store/memory/memory_store.hpp"

namespace costs::app {
namespace {

// A store that counts its own ReadEdges (a store's native edge read, not the port's default).
class EdgeCountingStore : public service::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<service::EdgeRead> ReadEdges(std::string_view org, const service::RangeReadPlan& plan) override {
    ++edge_reads;
    return ForwardingStore::ReadEdges(org, plan);
  }
  int edge_reads = 0;
};

TEST(MeteredStoreTest, ReadEdgesReachesTheInnerStoresOwnImplementation) {
  store::memory::MemoryStore memory;
  EdgeCountingStore inner(memory);
  ASSERT_TRUE(inner.CreateOrganization(service::Organization{"org-a", "Org A"}));
  MeteredStore metered(inner, service::NullMetrics::Instance());
  ASSERT_TRUE(metered.ReadEdges("org-a", service::RangeReadPlan{}));
  EXPECT_EQ(inner.edge_reads, 1) << "the decorator fell back to the port's default (ReadRange converted)";
}

}  // namespace
}  // namespace costs::app
