"""Projections benchmark on PostgreSQL (not a test): run `python -m bench.projections_bench`.

Prints, in one run:
  - the rate of merely reading and decoding every event (select_notifications in batches of
    5,000 + mapper.to_domain_event), and beside it the rate of rebuilding all views from the
    first event (same reads, plus every view's handlers and writes);
  - p50 / p99 of each Board query, in-process (the Board object the HTTP routes call), at 10k
    and at 100k actions;
  - the cost of a point-in-time answer (replaying events into a throwaway SQLite copy).

Data: bench/projections_data.py (domain aggregates, saved in bulk) into a fresh schema of
the given database, dropped afterwards unless --keep. Targets (issue 3): rebuild >= 50% of
read-and-decode; each query p99 <= 10 ms at 100k actions and <= 20% slower than at 10k.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from api.settings import Settings
from bench.projections_data import Generator
from domain import clock
from domain.ledger import Ledger
from projections.board import Board
from projections.point_in_time import replay
from projections.readside import ReadSide
from projections.runner import rebuild


def read_and_decode(ledger: Any, batch: int = 5000) -> tuple[int, float]:
    started = time.perf_counter()
    n, position = 0, 0
    decode = ledger.mapper.to_domain_event
    while True:
        rows = ledger.recorder.select_notifications(position, batch, inclusive_of_start=False)
        if not rows:
            break
        for row in rows:
            decode(row)
        n += len(rows)
        position = rows[-1].id
    return n, time.perf_counter() - started


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    for _ in range(max(3, runs // 20)):
        fn()  # warm caches and prepared statements
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def queries(board: Board, side: ReadSide) -> dict[str, Callable[[], Any]]:
    today = clock.today()
    one = side.db.query("SELECT agency_id, review_id, action_id FROM {view_actions} "
                        "ORDER BY action_id LIMIT 1")[0]
    return {
        "actions (first page)": lambda: board.actions(today=today),
        "actions overdue": lambda: board.actions(today=today, rag="overdue"),
        "actions at risk": lambda: board.actions(today=today, rag="at_risk"),
        "actions stalled 60 days": lambda: board.actions(today=today, stalled_days=60),
        "actions of one agency": lambda: board.actions(today=today, agency_id=one["agency_id"]),
        "actions of one review": lambda: board.actions(today=today, review_id=one["review_id"]),
        "agencies (accountability)": lambda: board.agencies(today=today),
        "reviews (first page)": lambda: board.reviews(today=today),
        "challenges open": lambda: board.challenges(today=today, status="open"),
        "themes": lambda: board.themes(),
        "audit (first page)": lambda: board.audit(),
        "audit newest first": lambda: board.audit(descending=True),
        "audit of one action": lambda: board.audit(entity_id=one["action_id"]),
        "audit of one agency": lambda: board.audit(agency_id=one["agency_id"]),
    }


def measure(board: Board, side: ReadSide, runs: int) -> dict[str, tuple[float, float]]:
    # A long-running server freezes what it built at startup out of the collector's way
    # (gc.freeze); without it a full collection walking the generator's leftovers lands in
    # the p99 of whichever query it interrupts.
    gc.collect()
    gc.freeze()
    try:
        return {name: timed(fn, runs) for name, fn in queries(board, side).items()}
    finally:
        gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--dbname", default="test")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--password", default="postgres")
    parser.add_argument("--small", type=int, default=10_000, help="actions, first size")
    parser.add_argument("--large", type=int, default=100_000, help="actions, second size")
    parser.add_argument("--runs", type=int, default=300, help="timed runs per query")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conninfo = {"host": args.host, "port": args.port, "dbname": args.dbname,
                "user": args.user, "password": args.password}
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    ledger = Ledger(env={
        "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": args.dbname,
        "POSTGRES_HOST": args.host, "POSTGRES_PORT": args.port, "POSTGRES_USER": args.user,
        "POSTGRES_PASSWORD": args.password, "POSTGRES_SCHEMA": schema})
    settings = Settings(data_dir=Path("bench/out"))
    side = ReadSide(settings, ledger)
    board = Board(side)
    print(f"PostgreSQL schema {schema} in {args.dbname}; views in the same schema; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    try:
        generator = Generator(ledger)
        generator.setup()
        results: dict[int, dict[str, tuple[float, float]]] = {}
        for size in (args.small, args.large):
            started = time.perf_counter()
            generator.add_actions(size - generator.actions)
            head = ledger.head_position()
            print(f"\n== {generator.actions:,} actions, {generator.reviews:,} reviews, "
                  f"{head:,} events (generated and saved in "
                  f"{time.perf_counter() - started:.1f} s)")
            n, seconds = read_and_decode(ledger)
            decode_rate = n / seconds
            print(f"read and decode:        {n:>9,} events in {seconds:6.2f} s "
                  f"= {decode_rate:>9,.0f} events/s")
            started = time.perf_counter()
            rebuild(settings, ledger, read_side=side)
            seconds = time.perf_counter() - started
            rate = head / seconds
            print(f"rebuild all {len(side.views)} views:  {head:>9,} events in {seconds:6.2f} s "
                  f"= {rate:>9,.0f} events/s ({100 * rate / decode_rate:.0f}% of read and "
                  "decode)")
            results[generator.actions] = measure(board, side, args.runs)
            position = head // 2
            started = time.perf_counter()
            replay(side, position, ("actions", "directory", "reviews")).close()
            seconds = time.perf_counter() - started
            print(f"point in time (actions at position {position:,}): replayed in "
                  f"{seconds:.2f} s = {position / seconds:,.0f} events/s")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        small, large = results
        print(f"\n{'Board query (in-process, ms)':32} {'p50':>7} {'p99':>7}   {'p50':>7} "
              f"{'p99':>7}   {'p99 ratio':>9}")
        print(f"{'':32} {f'{small:,} actions':>15}   {f'{large:,} actions':>15}")
        for name in results[small]:
            (a50, a99), (b50, b99) = results[small][name], results[large][name]
            print(f"{name:32} {a50:7.2f} {a99:7.2f}   {b50:7.2f} {b99:7.2f}   "
                  f"{b99 / a99:9.2f}")
    finally:
        board.close()
        side.close()
        ledger.close()
        if not args.keep:
            with psycopg.connect(**conninfo, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
