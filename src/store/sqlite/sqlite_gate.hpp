#pragma once

// A test-only SQLite VFS that holds a store call at a chosen point until the test lets it go,
// so that tests put a call in a known state by events, not by timing. While a SqliteGate lives
// it is the process's default VFS (connections opened meanwhile use it); it forwards everything
// to the previous default, except that the first thread to reach its point is held there:
//  - kBusyWait: a connection waiting for a lock another connection holds (SQLite's busy
//    handler sleeps through the VFS's xSleep), so the caller keeps its pooled connection;
//  - kWalCommit: a commit whose frames are in the WAL but not yet visible to readers (the
//    WAL's xSync, which synchronous=FULL runs before the commit is published).
// One gate at a time; not for use with connections that outlive it. Thread-safe.

#include <chrono>

namespace costs::testing {

class SqliteGate {
 public:
  enum class Point { kBusyWait, kWalCommit };

  explicit SqliteGate(Point point);
  // Opens the gate and restores the previous default VFS.
  ~SqliteGate();
  SqliteGate(const SqliteGate&) = delete;
  SqliteGate& operator=(const SqliteGate&) = delete;

  // Until a thread is held at the point: true, or false after `guard`.
  bool WaitUntilHeld(std::chrono::milliseconds guard = std::chrono::seconds(30));
  // Lets the held thread go on, and every later one pass. Idempotent.
  void Open();
  // Holds the next thread that reaches the point again (after Open()).
  void Rearm();
};

}  // namespace costs::testing
