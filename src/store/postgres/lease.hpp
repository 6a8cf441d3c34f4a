#pragma once

// A connection borrowed from the PostgresStore's pool. Internal to src/store/postgres/.

#include <memory>
#include <utility>

#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"

namespace costs::store::postgres {

// Returns its connection to the pool on destruction.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<detail::Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_ != nullptr) store_->Release(std::move(connection_));
  }

  detail::Connection& operator*() const { return *connection_; }
  detail::Connection* operator->() const { return connection_.get(); }

 private:
  PostgresStore* store_;
  std::unique_ptr<detail::Connection> connection_;
};

}  // namespace costs::store::postgres
