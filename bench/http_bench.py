"""The service over HTTP against the bare library and the database (issue 15), on PostgreSQL,
side by side in one run; writes bench/RESULTS.md. Not a test.

    python -m bench.http_bench            # ~1M and ~10k events (seeded once, then kept)
    python -m bench.http_bench --quick    # small ledgers, short runs: a couple of minutes
    python -m bench.http_bench --quick --database h15w   # every ledger a schema of h15w

Measured, in this order (the servers are stopped before the memory part):
  1. pgbench, 32 clients, one ~400-byte row per transaction into a scratch table: plain, and
     with the library's `LOCK TABLE ... IN EXCLUSIVE MODE` first (ceilings, printed beside);
  2. the bare library: 2 processes x 16 threads doing the library's own load-change-save of a
     progress report (repository.get, the aggregate's method, Application.save;
     bench/library_load.py) on the same actions, for the same duration;
  3. commands over HTTP: `ledger serve --workers 2` and `ledger project` on the large ledger,
     wrk -c32 posting progress reports (POST /actions/{id}/progress) spread over 20,000 open
     actions, each with its agency lead's token (bench/wrk/ledger.lua);
  4. projection lag under that load: wrk -c32 again, and beside it a sampler: threads posting
     progress reports to other actions; for each answer, the time it was received and its
     X-Ledger-Position; one thread polls the actions view's tracking position (view_tracking)
     every 2 ms on its own connection, and a sample's lag is the time of the first poll that
     saw the position reached minus the time the answer was received (so it includes up to
     one poll interval and one poll's round trip);
  5. Board queries over HTTP: wrk -c32 with a Board member's token against the large and the
     small ledger (both services up), endpoint by endpoint in alternation;
  6. the ceilings of a Board query here: the same server (uvicorn, 2 workers, h11) with
     FastAPI endpoints that do almost nothing (bench/ceiling_app.py: a constant page, and one
     query through an asynchronous pool), wrk -c32 as for the Board, the ledger's services
     stopped;
  7. peak memory (the whole process tree's resident set, sampled every 20 ms, or the kernel's
     max RSS of its largest process if higher) of `ledger rebuild`, `ledger init` (the Merkle
     log built from the first event: its tables are dropped first), `ledger export` and
     `ledger verify BUNDLE`, on a ~100k and the ~1M ledger.
Figures, the machine (nproc, CPU, load average at the start and end), the date, the git commit
and the command go to bench/RESULTS.md (--results to write elsewhere).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import math
import os
import platform
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import http_seed, procs, report
from bench.http_seed import Seeded, Spec
from bench.report import Plan, Results

WRK_SCRIPT = Path(__file__).with_name("wrk") / "ledger.lua"
RESULTS = Path(__file__).with_name("RESULTS.md")
CLIENTS = 32
LAG_GIVE_UP = 30  # seconds after the load stops that a sample may still become visible
WRK_THREADS = 2
BOARD_ENDPOINTS = ["/board/agencies", "/board/actions?limit=25", "/audit?limit=25",
                   "/reviews/{review}", "/actions/{action}/history"]

FULL = Plan(large=1_000_000, small=10_000, memory=(100_000, 1_000_000), actions=20_000,
            seconds=20, warmup=5, lag_seconds=30, board_seconds=10, pgbench_seconds=10)
QUICK = Plan(large=50_000, small=10_000, memory=(10_000, 50_000), actions=2_000, seconds=8,
             warmup=4, lag_seconds=8, board_seconds=3, pgbench_seconds=4)


def log(message: str) -> None:
    print(f"[{datetime.now(tz=UTC):%H:%M:%S}] {message}", flush=True)


# ---- the ledgers -----------------------------------------------------------------------------

def specs(plan: Plan, database: str | None) -> dict[str, Spec]:
    """Where each ledger lives: by default the large one in bench_http_1m (and the smaller
    memory one in a schema there) and the small one in bench_http_10k; with --database, each
    a schema of that database."""
    def name(events: int) -> str:
        if events >= 1_000_000:
            return f"ledger_{events // 1_000_000}m"
        return f"ledger_{events // 1000}k"

    sizes = {"large": plan.large, "small": plan.small, "memory": plan.memory[0]}
    found: dict[str, Spec] = {}
    for role, events in sizes.items():
        if database:
            found[role] = Spec(name(events), database, name(events), events)
        elif events >= 1_000_000:
            found[role] = Spec(name(events), "bench_http_1m", "public", events)
        elif events == 10_000:
            found[role] = Spec(name(events), "bench_http_10k", "public", events)
        else:  # a schema beside the 1M ledger (100k), or beside the 10k one (--quick's 50k)
            found[role] = Spec(name(events), "bench_http_1m" if plan.large >= 1_000_000 else
                               "bench_http_10k", name(events), events)
    return found


def action_file(spec: Spec, seeded: Seeded, conn: dict[str, str], count: int, skip: int,
                label: str) -> Path:
    """A file of "action_id token" lines: `count` open actions, each with its lead's token."""
    rows = http_seed.open_actions(spec, conn, count, skip)
    if len(rows) < count:
        raise procs.CannotRun(f"{spec.name} has {len(rows) + skip} open actions; the run "
                              f"needs {count + skip}")
    path = spec.data_dir / f"{label}.txt"
    path.write_text("".join(f"{a} {seeded.tokens['leads'][g]}\n" for a, g in rows))
    return path


# ---- the services ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Service:
    url: str
    api: procs.Started
    worker: procs.Started


@contextmanager
def service(spec: Spec, conn: dict[str, str]) -> Iterator[Service]:
    """Two API workers and the projection worker on this ledger, once /readyz answers. Both
    are stopped (their whole process groups) when the block ends."""
    port = procs.free_port()
    metrics = tempfile.mkdtemp(prefix="bench-metrics-")
    env = http_seed.env(spec, conn, PROMETHEUS_MULTIPROC_DIR=metrics)
    ledger = http_seed.ledger_command()
    url = f"http://127.0.0.1:{port}"
    try:
        with ExitStack() as stack:
            worker = stack.enter_context(procs.started(
                f"{spec.name} projection worker", [ledger, "project"], env,
                spec.data_dir / "project.log"))
            api = stack.enter_context(procs.started(
                f"{spec.name} API", [ledger, "serve", "--workers", "2", "--port", str(port)],
                env, spec.data_dir / "serve.log"))
            procs.wait_ready(url, [worker, api])
            yield Service(url, api, worker)
    finally:
        shutil.rmtree(metrics, ignore_errors=True)


def warm_up(url: str, args: list[str], seconds: float) -> None:
    """The same load, unmeasured: the workers' pools, caches and prepared statements warm."""
    _wrk(url, args, seconds)


def wrk(url: str, args: list[str], seconds: float) -> report.WrkRun:
    return report.parse_wrk(_wrk(url, args, seconds))


def _wrk(url: str, args: list[str], seconds: float) -> str:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "--latency", "-s", str(WRK_SCRIPT), url, "--", *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True,
                          timeout=seconds + 60)
    if done.returncode:
        raise procs.CannotRun(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


@contextmanager
def watching(spec: Spec, conn: dict[str, str], served: Service) -> Iterator[dict[str, Any]]:
    """Where the time goes while the block runs: the cores used on average by the API
    workers, the projection worker, PostgreSQL and the whole machine (from /proc), and what
    the ledger's active PostgreSQL backends were doing (pg_stat_activity, sampled every
    20 ms: their wait events, or on a core). The figures are in the yielded dict at the end."""
    figures: dict[str, Any] = {}
    stop = threading.Event()
    waits: dict[str, int] = {}
    samples = [0]

    def sample() -> None:
        with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
            while not stop.is_set():
                for kind, event in db.execute(
                        "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE datname = %s AND state = 'active' AND backend_type = "
                        "'client backend' AND pid <> pg_backend_pid()", (spec.dbname,)):
                    label = f"{kind}: {event}" if kind else "on a core (no wait)"
                    waits[label] = waits.get(label, 0) + 1
                samples[0] += 1
                time.sleep(0.02)

    groups = {"API workers": lambda: procs.tree_pids(served.api.process.pid),
              "projection worker": lambda: procs.tree_pids(served.worker.process.pid),
              "PostgreSQL": procs.postgres_pids}
    before = {name: procs.cpu_seconds(pids()) for name, pids in groups.items()}
    busy, total = procs.machine_cpu()
    started = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield figures
    finally:
        stop.set()
        sampler.join()
        seconds = time.perf_counter() - started
        cores = {name: (procs.cpu_seconds(pids()) - before[name]) / seconds
                 for name, pids in groups.items()}
        busy_now, total_now = procs.machine_cpu()
        cores["the whole machine"] = (busy_now - busy) / seconds
        figures.update(cores=cores, cpus=(total_now - total) / seconds,
                       waits={k: n / max(1, samples[0]) for k, n in waits.items()},
                       samples=samples[0])


# ---- 1. pgbench ------------------------------------------------------------------------------

def pgbench(spec: Spec, conn: dict[str, str], seconds: float) -> dict[str, report.PgbenchRun]:
    table = f"{spec.schema}.bench_pgbench_rows"
    insert = (f"INSERT INTO {table} (aggregate, payload) VALUES (gen_random_uuid(), "
              "repeat('x', 400));")
    scripts = {"plain": insert,
               "with LOCK TABLE ... IN EXCLUSIVE MODE": (
                   f"BEGIN;\nLOCK TABLE {table} IN EXCLUSIVE MODE;\n{insert}\nEND;")}
    out: dict[str, report.PgbenchRun] = {}
    with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (id BIGSERIAL PRIMARY KEY, "
                   "aggregate UUID NOT NULL, payload TEXT NOT NULL)")
        for name, script in scripts.items():
            db.execute(f"TRUNCATE {table}")
            path = spec.data_dir / "pgbench.sql"
            path.write_text(script + "\n")
            command = ["pgbench", "-n", "-c", str(CLIENTS), "-j", "2", "-T",
                       str(max(1, round(seconds))), "-f", str(path), "-h", conn["host"],
                       "-p", conn["port"], "-U", conn["user"], spec.dbname]
            done = subprocess.run(command, check=False, capture_output=True, text=True,
                                  env={**os.environ, "PGPASSWORD": conn["password"]})
            if done.returncode:
                raise procs.CannotRun(f"pgbench failed: {done.stderr[-1000:]}")
            out[name] = report.parse_pgbench(done.stdout)
            log(f"pgbench {name}: {out[name].tps:,.0f} tps")
        db.execute(f"DROP TABLE {table}")
    return out


# ---- 2. the bare library ---------------------------------------------------------------------

def library(spec: Spec, conn: dict[str, str], actions: Path, plan: Plan) -> dict[str, Any]:
    """2 processes x 16 threads (CLIENTS in all), the same duration as the HTTP run."""
    parts = 2
    command = [sys.executable, "-m", "bench.library_load", "--dbname", spec.dbname,
               "--schema", spec.schema, "--host", conn["host"], "--port", conn["port"],
               "--user", conn["user"], "--password", conn["password"], "--actions", str(actions),
               "--parts", str(parts), "--threads", str(CLIENTS // parts),
               "--warmup", str(plan.warmup), "--seconds", str(plan.seconds)]
    with ExitStack() as stack:
        running = [stack.enter_context(_popen([*command, "--part", str(i)]))
                   for i in range(parts)]
        outputs = [p.communicate(timeout=plan.warmup + plan.seconds + 120) for p in running]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    for (stdout, stderr), process in zip(outputs, running, strict=True):
        if process.returncode:
            raise procs.CannotRun(f"bench.library_load failed: {stderr[-2000:]}")
        part = json.loads(stdout.strip().splitlines()[-1])
        latencies += part["latencies_ms"]
        for name, n in part["errors"].items():
            errors[name] = errors.get(name, 0) + n
    if not latencies:
        raise procs.CannotRun(f"the bare library completed no call: errors {errors}")
    return {"rate": len(latencies) / plan.seconds, "calls": len(latencies),
            "p50_ms": report.percentile(latencies, 50), "p99_ms": report.percentile(latencies, 99),
            "errors": errors}


@contextmanager
def _popen(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()


# ---- 4. projection lag -----------------------------------------------------------------------

def lag(url: str, spec: Spec, conn: dict[str, str], load_actions: Path, own: Path,
        plan: Plan) -> tuple[dict[str, Any], report.WrkRun]:
    """Command answered -> visible in the actions view, sampled under wrk's command load."""
    answered: queue.Queue[tuple[float, int]] = queue.Queue()
    stop = threading.Event()
    stopped: list[float] = []  # when the load and the samplers stopped
    failures: list[str] = []
    pairs = [line.split() for line in own.read_text().splitlines() if line]
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"narrative": "Lag sample.", "rag": "green"})

    def sampler(i: int) -> None:
        client = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = pairs[i::plan.lag_threads]
        n = 0
        try:
            while not stop.is_set():
                action, token = mine[n % len(mine)]
                n += 1
                client.request("POST", f"/actions/{action}/progress", body,
                               {"Authorization": f"Bearer {token}",
                                "Content-Type": "application/json"})
                answer = client.getresponse()
                answer.read()
                at = time.perf_counter()
                if answer.status != 200:
                    failures.append(str(answer.status))
                    continue
                answered.put((at, int(answer.headers["X-Ledger-Position"])))
        except Exception as error:  # noqa: BLE001 - reported with the figures
            failures.append(f"{type(error).__name__}: {error}")
        finally:
            client.close()

    lags: list[float] = []
    unseen: list[tuple[float, int]] = []

    def poller() -> None:
        pending: list[tuple[float, int]] = []
        with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
            db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(spec.schema)))
            query = "SELECT position FROM view_tracking WHERE view_name = 'actions'"
            while not (stop.is_set() and answered.empty() and not pending):
                while True:
                    try:
                        pending.append(answered.get_nowait())
                    except queue.Empty:
                        break
                row = db.execute(query).fetchone()
                seen, now = (int(row[0]) if row else 0), time.perf_counter()
                still = []
                for at, position in pending:
                    if position <= seen:
                        lags.append((now - at) * 1000)
                    else:
                        still.append((at, position))
                pending = still
                if stopped and pending and now - stopped[0] > LAG_GIVE_UP:
                    unseen.extend(pending)  # counted as lags longer than any seen
                    return
                time.sleep(0.002)

    threads = [threading.Thread(target=sampler, args=(i,)) for i in range(plan.lag_threads)]
    watcher = threading.Thread(target=poller)
    watcher.start()
    try:
        for t in threads:
            t.start()
        load = wrk(url, ["progress", str(load_actions), str(WRK_THREADS)], plan.lag_seconds)
    finally:
        stop.set()
        for t in threads:
            t.join()
        stopped.append(time.perf_counter())
        watcher.join()
    figures: dict[str, Any] = {"samples": len(lags) + len(unseen), "unseen": len(unseen),
                               "give_up_s": LAG_GIVE_UP, "failures": failures[:5],
                               "failed": len(failures)}
    if lags or unseen:
        everything = lags + [math.inf] * len(unseen)
        figures.update(p50_ms=report.percentile(everything, 50),
                       p99_ms=report.percentile(everything, 99))
    return figures, load


def catch_up(spec: Spec, conn: dict[str, str], timeout: float) -> dict[str, Any]:
    """Wait (at most `timeout` seconds) until every view has applied every stored event: the
    Board is measured on views at rest, not while the worker catches up with the commands.
    Returns how far behind the slowest view was, how long it took, and at what rate."""
    query = sql.SQL("SELECT (SELECT coalesce(max(notification_id), 0) FROM {}.ledger_events), "
                    "(SELECT min(position) FROM {}.view_tracking)").format(
        sql.Identifier(spec.schema), sql.Identifier(spec.schema))
    started = time.perf_counter()
    with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
        head, first = db.execute(query).fetchone() or (0, 0)
        position = first
        while position < head and time.perf_counter() - started < timeout:
            time.sleep(0.5)
            position = (db.execute(query).fetchone() or (0, 0))[1]
    seconds = time.perf_counter() - started
    return {"behind": head - first, "seconds": seconds, "caught_up": position >= head,
            "rate": (position - first) / seconds if seconds > 1 else None,
            "left": max(0, head - position)}


# ---- 5. Board queries ------------------------------------------------------------------------

def real_ids(spec: Spec, conn: dict[str, str]) -> dict[str, str]:
    """A review (the generator's first: the same shape in every ledger) and an action with
    five events in its history (common, and the same work at every size)."""
    with psycopg.connect(**conn, dbname=spec.dbname) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(spec.schema)))
        review = db.execute("SELECT review_id FROM view_reviews ORDER BY reference LIMIT 1"
                            ).fetchone()
        action = db.execute("SELECT entity_id FROM view_audit WHERE entity_type = 'action' "
                            "GROUP BY entity_id HAVING count(*) = 5 ORDER BY entity_id LIMIT 1"
                            ).fetchone()
    if not (review and action):
        raise procs.CannotRun(f"{spec.name}: no review or no action with five events")
    return {"review": str(review[0]), "action": str(action[0])}


def board(served: dict[str, tuple[Spec, Service]], conn: dict[str, str],
          tokens: dict[str, str], plan: Plan, results: Results) -> None:
    """Each endpoint on each ledger (in alternation), into results.board and .board_where."""
    ids = {size: real_ids(spec, conn) for size, (spec, _) in served.items()}
    for endpoint in BOARD_ENDPOINTS:
        results.board[endpoint], results.board_where[endpoint] = {}, {}
        for size, (spec, service_) in served.items():
            url = service_.url + endpoint.format(**ids[size])
            warm_up(url, ["get", tokens[size]], plan.warmup)
            with watching(spec, conn, service_) as where:
                run = wrk(url, ["get", tokens[size]], plan.board_seconds)
            results.board[endpoint][size], results.board_where[endpoint][size] = run, where
            log(f"{endpoint} at {size}: {run.rate:,.0f}/s p50 {run.p50_ms:.1f} ms p99 "
                f"{run.p99_ms:.1f} ms, {run.failed} not 2xx")


# ---- 6. ceilings -----------------------------------------------------------------------------

CEILINGS = {"a constant page (no I/O)": "/constant",
            "one query through an asynchronous pool": "/one-query"}


def ceilings(conn: dict[str, str], plan: Plan) -> dict[str, report.WrkRun]:
    """Each endpoint of bench/ceiling_app.py under the Board's load."""
    port = procs.free_port()
    url = f"http://127.0.0.1:{port}"
    dsn = psycopg.conninfo.make_conninfo(**conn, dbname="postgres")
    command = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--workers", "2",
               "--http", "h11", "--port", str(port), "--no-access-log", "--log-level",
               "warning"]
    out: dict[str, report.WrkRun] = {}
    log_file = Path(tempfile.gettempdir()) / "bench-ceiling.log"
    with procs.started("ceiling app", command, {**os.environ, "CEILING_DSN": dsn},
                       log_file) as app:
        procs.wait_ready(url, [app])
        for name, path in CEILINGS.items():
            warm_up(url + path, ["get", "-"], plan.warmup)
            out[name] = run = wrk(url + path, ["get", "-"], plan.board_seconds)
            log(f"ceiling, {name}: {run.rate:,.0f}/s p50 {run.p50_ms:.1f} ms p99 "
                f"{run.p99_ms:.1f} ms, {run.failed} not 2xx")
    return out


# ---- 7. memory -------------------------------------------------------------------------------

def memory(spec: Spec, conn: dict[str, str]) -> dict[str, report.Peak]:
    env = http_seed.env(spec, conn)
    ledger = http_seed.ledger_command()
    out: dict[str, report.Peak] = {}

    def measure(name: str, *args: str) -> report.Peak:
        peak = procs.run_measuring_memory([ledger, *args], env, spec.data_dir / f"{name}.log")
        if peak.code:
            output = (spec.data_dir / f"{name}.log").read_text()[-2000:]
            raise procs.CannotRun(f"ledger {' '.join(args)} failed on {spec.name} "
                                  f"({peak.code}):\n{output}")
        log(f"{spec.name}: {name} peak {report.mib(peak.rss_kib):,.0f} MiB in {peak.seconds:.1f} s")
        return peak

    out["rebuild"] = measure("rebuild", "rebuild")
    with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
        schema = sql.Identifier(spec.schema)
        for table in ("view_merkle_leaves", "view_merkle_nodes", "view_merkle_meta"):
            db.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(schema,
                                                                   sql.Identifier(table)))
        db.execute(sql.SQL("DELETE FROM {}.view_tracking WHERE view_name = 'merkle_log'"
                           ).format(schema))
    out["init (Merkle log)"] = measure("init", "init")
    vkey = next(line.split(None, 2)[2] for line in
                (spec.data_dir / "init.log").read_text().splitlines()
                if line.startswith("public key"))
    measure("checkpoint", "checkpoint", "--reason", "benchmark export")
    bundle = spec.data_dir / "export.bundle"
    try:
        out["export"] = measure("export", "export", str(bundle))
        out["verify"] = measure("verify", "verify", str(bundle), "--public-key", vkey)
    finally:
        bundle.unlink(missing_ok=True)
    return out


# ---- the run ---------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> Results:
    plan = QUICK if args.quick else FULL
    if args.seconds:
        plan = dataclasses.replace(plan, seconds=args.seconds)
    conn = {"host": args.host, "port": args.port, "user": args.user, "password": args.password}
    results = Results(datetime.now(tz=UTC), os.getloadavg(),
                      shlex.join(["python", "-m", "bench.http_bench", *sys.argv[1:]]), plan)
    procs.require_tools(["wrk", "pgbench"])
    log(f"PostgreSQL {procs.require_postgres(conn)} at {args.host}:{args.port}; "
        f"{os.cpu_count()} CPUs, load average {results.load_start[0]:.2f}")
    where = specs(plan, args.database)
    for role in ("large", "small", "memory"):
        same = next((r for r, s in results.ledgers.items() if s.spec == where[role]), None)
        if same:  # --quick measures memory on its small ledger
            results.ledgers[role] = results.ledgers[same]
            continue
        started = time.perf_counter()
        results.ledgers[role] = seeded = http_seed.ensure(where[role], conn, log)
        log(f"{where[role].name}: {seeded.events:,} events, "
            + (f"reused (seeded {seeded.seeded_at} in {seeded.seconds:.0f} s)" if seeded.reused
               else f"seeded in {time.perf_counter() - started:.0f} s"))
    large, small = where["large"], where["small"]
    seeded = results.ledgers["large"]
    load_actions = action_file(large, seeded, conn, plan.actions, 0, "commands")
    own_actions = action_file(large, seeded, conn, 200, plan.actions, "lag")
    if not args.skip_pgbench:
        results.pgbench = pgbench(large, conn, plan.pgbench_seconds)
    results.library = library(large, conn, load_actions, plan)
    log(f"bare library: {results.library['rate']:,.0f}/s p99 {results.library['p99_ms']:.0f} ms")
    with ExitStack() as stack:
        served = stack.enter_context(service(large, conn))
        url = served.url
        progress = ["progress", str(load_actions), str(WRK_THREADS)]
        warm_up(url, progress, plan.warmup)
        with watching(large, conn, served) as results.commands_where:
            results.commands = wrk(url, progress, plan.seconds)
        log(f"commands over HTTP: {results.commands.rate:,.0f}/s p50 "
            f"{results.commands.p50_ms:.0f} ms p99 {results.commands.p99_ms:.0f} ms, "
            f"{results.commands.failed} not 2xx")
        results.lag, lag_load = lag(url, large, conn, load_actions, own_actions, plan)
        results.lag["load"] = lag_load
        log(f"projection lag: {results.lag}")
        results.catch_up = catch_up(large, conn, plan.catch_up_seconds)
        log(f"views caught up: {results.catch_up}")
        small_served = stack.enter_context(service(small, conn))
        board({"large": (large, served), "small": (small, small_served)}, conn,
              {"large": seeded.tokens["board"], "small": results.ledgers["small"].tokens["board"]},
              plan, results)
    results.ceilings = ceilings(conn, plan)
    if not args.skip_memory:
        for role in ("memory", "large"):
            results.memory[role] = memory(where[role], conn)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small ledgers (~50k and ~10k events) and short runs")
    parser.add_argument("--database", help="every ledger as a schema of this database "
                        "(default: bench_http_1m and bench_http_10k, created if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--password", default="postgres")
    parser.add_argument("--seconds", type=float, help="override the measured duration")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="where to write the results (Markdown)")
    parser.add_argument("--label", default="", help="a line saying what this run measured "
                        "(e.g. 'baseline before the levers')")
    args = parser.parse_args()
    # A stopped run stops its servers too: SIGTERM unwinds like Ctrl-C (the blocks that
    # started them stop their process groups on the way out).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run(args)
    except procs.CannotRun as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    text = render(results, args.label)
    args.results.write_text(text)
    print(text)
    log(f"written to {args.results}")


# ---- RESULTS.md --------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, capture_output=True,
                              text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return {"cpu": cpu, "nproc": str(os.cpu_count()), "commit": commit + (" (with uncommitted "
            "changes)" if dirty else ""), "branch": branch, "python": platform.python_version()}


def render(r: Results, label: str) -> str:
    return report.render_results(r, machine(), os.getloadavg(), label)


if __name__ == "__main__":
    main()
