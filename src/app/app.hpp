#pragma once

// The composition root: the one place that names concrete adapters (SqliteStore,
// SodiumPasswordHasher, RedisRateLimiter, the Beast server). cmd/ mains call these and return their result.

namespace costs::app {

// costsd [--db URL] [--listen HOST:PORT] [--rate-limit N] [--rate-burst N]
//        [--max-range-days N] [--log-level L] [--threads N] [--body-cache-mib N]
//        [--rate-limit-redis redis://[:PASSWORD@]HOST[:PORT][/DB]]
// Returns the process exit code: 0 after a clean shutdown, 1 on a start-up failure, 2 on a
// usage error.
int CostsdMain(int argc, char** argv);

// costsctl [--db URL] init | org create ... | user create ... | usage import ... | demo ...
// Returns 0 on success, 1 when the operation failed, 2 on a usage error.
int CostsctlMain(int argc, char** argv);

}  // namespace costs::app
