#include "store/sqlite/sqlite_gate.hpp"

#include <sqlite3.h>

#include <cassert>
#include <condition_variable>
#include <mutex>

namespace costs::testing {
namespace {

// The gate's state; one gate at a time, so process-wide.
struct State {
  std::mutex mu;
  std::condition_variable cv;
  SqliteGate::Point point = SqliteGate::Point::kBusyWait;
  bool armed = false;  // a thread reaching the point is held
  bool held = false;   // a thread is (or was) held since the last arming
  bool open = true;    // the held thread may go on
};

State& Gate() {
  static State state;
  return state;
}

sqlite3_vfs* g_real = nullptr;  // the default VFS the gate forwards to
sqlite3_vfs g_vfs{};            // the gate itself

void MaybeHold(SqliteGate::Point point) {
  State& s = Gate();
  std::unique_lock lock(s.mu);
  if (!s.armed || s.point != point) return;
  s.armed = false;
  s.held = true;
  s.cv.notify_all();
  s.cv.wait(lock, [&] { return s.open; });
}

// A file of the gate: the real VFS's file follows it in the same allocation.
struct GateFile {
  sqlite3_file base;
  bool wal;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<GateFile*>(f) + 1); }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) { return Real(f)->pMethods->xTruncate(Real(f), size); }
int Sync(sqlite3_file* f, int flags) {
  const int rc = Real(f)->pMethods->xSync(Real(f), flags);
  if (reinterpret_cast<GateFile*>(f)->wal) MaybeHold(SqliteGate::Point::kWalCommit);
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return Real(f)->pMethods->xUnfetch(Real(f), off, p); }

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int OpenFile(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  GateFile* g = reinterpret_cast<GateFile*>(f);
  g->base.pMethods = nullptr;
  g->wal = (flags & SQLITE_OPEN_WAL) != 0;
  Real(f)->pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, Real(f), flags, out_flags);
  assert(Real(f)->pMethods == nullptr || Real(f)->pMethods->iVersion >= 3);
  if (Real(f)->pMethods != nullptr) g->base.pMethods = &kMethods;  // xClose must run even after a failure
  return rc;
}

int SleepOrHold(sqlite3_vfs*, int micros) {
  MaybeHold(SqliteGate::Point::kBusyWait);
  return g_real->xSleep(g_real, micros);
}

}  // namespace

SqliteGate::SqliteGate(Point point) {
  State& s = Gate();
  {
    std::lock_guard lock(s.mu);
    s.point = point;
    s.armed = true;
    s.held = false;
    s.open = false;
  }
  g_real = sqlite3_vfs_find(nullptr);
  g_vfs = *g_real;
  g_vfs.szOsFile = static_cast<int>(sizeof(GateFile)) + g_real->szOsFile;
  g_vfs.zName = "costs-test-gate";
  g_vfs.pNext = nullptr;
  g_vfs.xOpen = OpenFile;
  g_vfs.xSleep = SleepOrHold;
  g_vfs.xDelete = [](sqlite3_vfs*, const char* name, int sync) { return g_real->xDelete(g_real, name, sync); };
  g_vfs.xAccess = [](sqlite3_vfs*, const char* name, int flags, int* out) {
    return g_real->xAccess(g_real, name, flags, out);
  };
  g_vfs.xFullPathname = [](sqlite3_vfs*, const char* name, int n, char* out) {
    return g_real->xFullPathname(g_real, name, n, out);
  };
  g_vfs.xRandomness = [](sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); };
  g_vfs.xCurrentTime = [](sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); };
  g_vfs.xGetLastError = [](sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); };
  g_vfs.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); };
  sqlite3_vfs_register(&g_vfs, 1);
}

SqliteGate::~SqliteGate() {
  Open();
  sqlite3_vfs_register(g_real, 1);
  sqlite3_vfs_unregister(&g_vfs);
}

bool SqliteGate::WaitUntilHeld(std::chrono::milliseconds guard) {
  State& s = Gate();
  std::unique_lock lock(s.mu);
  return s.cv.wait_for(lock, guard, [&] { return s.held; });
}

void SqliteGate::Open() {
  State& s = Gate();
  std::lock_guard lock(s.mu);
  s.armed = false;
  s.open = true;
  s.cv.notify_all();
}

void SqliteGate::Rearm() {
  State& s = Gate();
  std::lock_guard lock(s.mu);
  s.armed = true;
  s.held = false;
  s.open = false;
}

}  // namespace costs::testing
