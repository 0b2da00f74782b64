"""`make bench`: every benchmark, one after the other (they would disturb each other's
figures if run at once). Needs the PostgreSQL test server (127.0.0.1:5432, database test);
the HTTP benchmark also needs wrk and pgbench, keeps its ledgers in bench_http_1m and
bench_http_10k, and writes bench/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    [sys.executable, "-m", "bench.projections_bench"],
    [sys.executable, "bench/integrity_bench.py", "--stores", "sqlite", "postgres"],
    [sys.executable, "-m", "bench.http_bench"],
]


def main() -> None:
    failed = 0
    for command in BENCHMARKS:
        print(f"\n$ {' '.join(command[1:])}", flush=True)
        failed |= subprocess.call(command)
    sys.exit(failed)


if __name__ == "__main__":
    main()
