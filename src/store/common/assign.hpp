#pragma once

// Folds the check after a read whose value goes into a field:
//   if (Status s = AssignTo(result.credits, SelectCredits(c, org)); !s) return s;

#include <utility>

#include "common/result.hpp"

namespace costs::store {

// Moves the value of `read` into `into`, or returns its error (leaving `into` as it was).
template <typename T>
Status AssignTo(T& into, Result<T> read) {
  if (!read) return std::move(read).error();
  into = std::move(*read);
  return {};
}

}  // namespace costs::store
