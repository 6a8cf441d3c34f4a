#pragma once
// Calls that must not let an exception escape into an I/O loop or a pool job.

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace costs::http {

// What `f` returns, or T{} and what it threw as text (the server answers that 500 with
// InternalError on the session's thread). Touches nothing but `f`.
template <class T, class F>
std::pair<T, std::optional<std::string>> Catching(F&& f) {
  try {
    return {f(), std::nullopt};
  } catch (const std::exception& e) {
    return {T{}, std::string(e.what())};
  } catch (...) {
    return {T{}, std::string("(unknown type)")};
  }
}

}  // namespace costs::http
