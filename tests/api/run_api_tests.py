#!/usr/bin/env python3
"""End-to-end API tests: starts the real costsd/costsctl binaries and talks HTTP on 127.0.0.1.

    run_api_tests.py --costsd PATH --costsctl PATH [--db sqlite|postgres] [--spec PATH] [-k PATTERN] [-v] [--keep]

Runs unittest discovery of test_*.py in this folder; exits non-zero on any failure.
--db postgres runs the same tests against PostgreSQL: a throwaway cluster (tests/api/pg.py) is
started first and stopped at the end; each workspace gets a schema of its own. Tests that only
make sense for SQLite are skipped with the reason. Python 3 standard library only."""

import argparse
import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import schema  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--costsd", required=True, help="path to the costsd binary")
    ap.add_argument("--costsctl", required=True, help="path to the costsctl binary")
    ap.add_argument("--spec", default=None,
                    help="swagger spec (default: $COSTS_SPEC or <repo>/../shared/spec/billing-costs.swagger.json)")
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only run tests matching this substring/pattern (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (databases, costsd logs)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                    help="the store costsd and costsctl use (postgres: a throwaway cluster)")
    args = ap.parse_args()

    for name in ("costsd", "costsctl"):
        path = os.path.abspath(getattr(args, name))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print("run_api_tests: --%s %s is not an executable file" % (name, path), file=sys.stderr)
            return 2
        harness.CONFIG[name] = path
    spec_path = args.spec or schema.default_spec_path()
    if not os.path.isfile(spec_path):
        print("run_api_tests: spec not found at %s (set --spec or COSTS_SPEC)" % spec_path, file=sys.stderr)
        return 2
    harness.CONFIG["spec"] = spec_path
    harness.CONFIG["keep"] = harness.CONFIG["keep"] or args.keep

    cluster = None
    if args.db == "postgres":
        import pg
        cluster = pg.start_test_cluster("run_api_tests")
        if cluster is None:
            return 1
    try:
        return run(args)
    finally:
        if cluster is not None:
            cluster.stop()


def run(args):
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.patterns]
    suite = loader.discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
