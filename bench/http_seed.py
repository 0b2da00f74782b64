"""The kept ledgers of the HTTP benchmark: each seeded once and reused while its marker (the
generator's version and the size asked for) matches.

A ledger is a PostgreSQL schema (by default `public` of its own database: bench_http_1m,
bench_http_10k, ...). Seeding: bench/projections_data.py's generator (the domain's aggregates,
saved many at a time), then the people (an agency lead with a token per agency, a Board
member, a scrutineer: registered and issued tokens through the Ledger's use cases), then the
views built by the service's own `ledger rebuild`, and the Merkle log and the integrity log by
`ledger init`. The marker table `bench_marker` keeps the tokens (a benchmark's ledger: nothing
here is secret), when it was seeded and how long each step took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from api.cli_common import operator
from api.composition import build_ledger
from api.settings import Settings
from bench.projections_data import Generator

# Bump when the generator or the people seeded change: every kept ledger is then seeded again.
GENERATOR_VERSION = "projections_data-1/people-1"
EVENTS_PER_ACTION = 5.44  # what the generator makes (543,843 events for 100k actions)
RESEED_GROWTH = 1.15  # the benchmark's commands add events; past this, a ledger is seeded again
OUT = Path("bench/out")


@dataclass(frozen=True)
class Spec:
    """A ledger to keep: its name (and data directory), where it lives, its size."""

    name: str
    dbname: str
    schema: str
    events: int  # about this many

    @property
    def actions(self) -> int:
        return max(20, round(self.events / EVENTS_PER_ACTION))

    @property
    def data_dir(self) -> Path:
        return (OUT / self.name).resolve()


@dataclass
class Seeded:
    spec: Spec
    events: int
    seeded_at: str
    steps: dict[str, float]  # seconds per step of the seeding that made it
    tokens: dict[str, Any]  # "leads": {agency_id: token}, "board": token, "scrutineer": token
    reused: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


def env(spec: Spec, conn: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment a `ledger` command needs to work on this ledger (with the process's
    own environment, for PATH and the like)."""
    import os

    values = {**os.environ,
              "LEDGER_ENVIRONMENT": "development", "LEDGER_STORE": "postgres",
              "LEDGER_POSTGRES_HOST": conn["host"], "LEDGER_POSTGRES_PORT": conn["port"],
              "LEDGER_POSTGRES_USER": conn["user"], "LEDGER_POSTGRES_PASSWORD": conn["password"],
              "LEDGER_POSTGRES_DBNAME": spec.dbname, "LEDGER_POSTGRES_SCHEMA": spec.schema,
              "LEDGER_DATA_DIR": str(spec.data_dir), "LEDGER_PROJECTIONS": "external",
              "LEDGER_LOG_LEVEL": "WARNING", "LEDGER_PROTECT_TEXT": "false"}
    values.pop("LEDGER_STORE_CIPHER_KEY", None)
    values.update(extra)
    return values


def ledger_command() -> str:
    """The `ledger` console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("ledger"))


def settings(spec: Spec, conn: dict[str, str]) -> Settings:
    return Settings(_env_file=None,  # type: ignore[call-arg]
                    store="postgres", postgres_host=conn["host"],
                    postgres_port=int(conn["port"]), postgres_user=conn["user"],
                    postgres_password=conn["password"], postgres_dbname=spec.dbname,
                    postgres_schema=spec.schema, data_dir=spec.data_dir, protect_text=False,
                    api_threads=4)


def ensure(spec: Spec, conn: dict[str, str], log: Any = print) -> Seeded:
    """The ledger of `spec`, seeded now if its marker does not match (or it grew too much)."""
    _create_database(spec, conn)
    with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(spec.schema)))
        found = _marker(db, spec)
        if found is not None:
            events = _head(db, spec)
            kept = spec.data_dir.joinpath("log.key").exists()
            if events <= found.events * RESEED_GROWTH and kept:
                found.events, found.reused = events, True
                return found
            log(f"{spec.name}: {events:,} events, more than {RESEED_GROWTH:.2f}x the "
                f"{found.events:,} seeded, or its data directory is gone: seeding again")
        _drop_schema_contents(db, spec)
    return _seed(spec, conn, log)


def _create_database(spec: Spec, conn: dict[str, str]) -> None:
    with psycopg.connect(**conn, dbname="postgres", autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (spec.dbname,)).fetchone():
            return
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(spec.dbname)))


def _marker(db: psycopg.Connection[Any], spec: Spec) -> Seeded | None:
    try:
        row = db.execute(sql.SQL("SELECT value FROM {}.bench_marker WHERE id = 1").format(
            sql.Identifier(spec.schema))).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    if row is None:
        return None
    marker = json.loads(row[0])
    if marker.get("version") != GENERATOR_VERSION or marker.get("actions") != spec.actions:
        return None
    return Seeded(spec, marker["events"], marker["seeded_at"], marker["steps"],
                  marker["tokens"])


def _head(db: psycopg.Connection[Any], spec: Spec) -> int:
    row = db.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}.ledger_events"
                             ).format(sql.Identifier(spec.schema))).fetchone()
    return int(row[0]) if row else 0


def _drop_schema_contents(db: psycopg.Connection[Any], spec: Spec) -> None:
    """A fresh, empty schema of the same name (the events table's append-only guard refuses
    DELETE and TRUNCATE, not DROP)."""
    name = sql.Identifier(spec.schema)
    db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))
    db.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    for stale in ("log.key", "log.key.state", "session.key"):
        spec.data_dir.joinpath(stale).unlink(missing_ok=True)


def _seed(spec: Spec, conn: dict[str, str], log: Any) -> Seeded:
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    log(f"{spec.name}: seeding about {spec.events:,} events ({spec.actions:,} actions) into "
        f"{spec.dbname}.{spec.schema}")
    started = time.perf_counter()
    ledger = build_ledger(settings(spec, conn))
    try:
        generator = Generator(ledger)
        generator.setup()
        generator.add_actions(spec.actions)
        steps["generate and save"] = time.perf_counter() - started
        started = time.perf_counter()
        tokens = _people(ledger, generator.agencies)
        steps["people and tokens"] = time.perf_counter() - started
        events = ledger.head_position()
    finally:
        ledger.close()
    log(f"{spec.name}: {events:,} events saved in {steps['generate and save']:.1f} s")
    for step, command in (("views (ledger rebuild)", ["rebuild"]),
                          ("Merkle log (ledger init)", ["init"])):
        started = time.perf_counter()
        done = subprocess.run([ledger_command(), *command], check=False, env=env(spec, conn),
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"ledger {' '.join(command)} failed on {spec.name}:\n"
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        steps[step] = time.perf_counter() - started
        log(f"{spec.name}: {step} in {steps[step]:.1f} s")
    seeded = Seeded(spec, events, datetime.now(tz=UTC).isoformat(timespec="seconds"), steps,
                    tokens)
    with psycopg.connect(**conn, dbname=spec.dbname, autocommit=True) as db:
        events = _head(db, spec)  # with the integrity log's first event
        seeded.events = events
        db.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {}.bench_marker "
                           "(id INTEGER PRIMARY KEY, value TEXT NOT NULL)").format(
            sql.Identifier(spec.schema)))
        db.execute(sql.SQL("INSERT INTO {}.bench_marker VALUES (1, %s) ON CONFLICT (id) DO "
                           "UPDATE SET value = excluded.value").format(
            sql.Identifier(spec.schema)),
            (json.dumps({"version": GENERATOR_VERSION, "actions": spec.actions,
                         "events": events, "seeded_at": seeded.seeded_at, "steps": steps,
                         "tokens": tokens}),))
    return seeded


def _people(ledger: Any, agencies: list[Any]) -> dict[str, Any]:
    """An agency lead per agency, a Board member and a scrutineer, each with a token."""
    ctx = operator()

    def person(name: str, role: str, agency: Any = None) -> str:
        user = ledger.register_user(ctx, name=name, role=role, agency_id=agency)
        return str(ledger.issue_token(ctx, user.id).token)

    return {"leads": {str(a): person(f"Lead of agency {i}", "agency_lead", a)
                      for i, a in enumerate(agencies)},
            "board": person("Board Member", "board_member"),
            "scrutineer": person("Scrutineer", "scrutineer")}


def open_actions(spec: Spec, conn: dict[str, str], count: int, skip: int = 0
                 ) -> list[tuple[str, str]]:
    """`count` open actions (after the first `skip`), taken in turn from each agency, those
    with the fewest progress reports first (the benchmark's own reports spread over runs):
    (action id, agency id) pairs."""
    with psycopg.connect(**conn, dbname=spec.dbname) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(spec.schema)))
        rows = db.execute(
            "SELECT action_id, agency_id FROM (SELECT action_id, agency_id, row_number() OVER "
            "(PARTITION BY agency_id ORDER BY progress_reports, action_id) AS turn "
            "FROM view_actions WHERE status = 'open') AS ranked "
            "ORDER BY turn, agency_id LIMIT %s OFFSET %s", (count, skip)).fetchall()
    return [(str(a), str(g)) for a, g in rows]
