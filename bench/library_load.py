"""The bare library under the command load (no HTTP): one process of `threads` threads, each
loading an action from the library's repository, recording a progress report on it (the
aggregate's own method) and saving it with the library's `Application.save` (one
transaction a command), on its own slice of the actions, as the agency's lead. With
`--through use-case`, the Ledger's `report_progress` use case instead (its checks and the
service's group commit: domain/group_commit.py). bench/http_bench.py starts several of these
processes side by side; each prints one JSON line: the calls completed in the measured window
and their latencies.

    python -m bench.library_load --dbname D --schema S --actions FILE --part 0 --parts 2
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from api.composition import build_ledger
from bench import http_seed
from domain import clock
from domain.application import Context
from domain.ledger import Ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--schema", default="public")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--password", default="postgres")
    parser.add_argument("--actions", type=Path, required=True,
                        help="one 'action_id token' line per action")
    parser.add_argument("--part", type=int, default=0, help="this process's share of them")
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--through", choices=("library", "use-case"), default="library")
    args = parser.parse_args()
    conn = {"host": args.host, "port": args.port, "user": args.user, "password": args.password}
    spec = http_seed.Spec("library", args.dbname, args.schema, 0)
    settings = http_seed.settings(spec, conn).model_copy(update={"api_threads": args.threads})
    ledger = build_ledger(settings)
    try:
        lines = [line.split() for line in args.actions.read_text().splitlines() if line]
        mine = [(UUID(a), t) for i, (a, t) in enumerate(lines) if i % args.parts == args.part]
        actors = {t: ledger.authenticate(t) for t in {t for _, t in mine}}
        work = [(a, Context(actors[t])) for a, t in mine]  # type: ignore[arg-type]
        command = bare if args.through == "library" else use_case
        print(json.dumps(run(ledger, work, args.threads, args.warmup, args.seconds, command)))
    finally:
        ledger.close()


NARRATIVE = "Audit of referrals completed; training booked."


def bare(ledger: Ledger, ctx: Context, action_id: UUID) -> None:
    """The library's load-change-save."""
    action = ledger.repository.get(action_id)
    action.report_progress(actor=ctx.actor, occurred_on=clock.today(), narrative=NARRATIVE,
                           rag="amber")
    ledger.save(action)


def use_case(ledger: Ledger, ctx: Context, action_id: UUID) -> None:
    """The service's use case, as the HTTP route calls it."""
    ledger.report_progress(ctx, action_id, rag="amber", narrative=NARRATIVE)


def run(ledger: Ledger, work: list[tuple[UUID, Context]], threads: int, warmup: float,
        seconds: float, command: Callable[[Ledger, Context, UUID], None] = bare,
        ) -> dict[str, object]:
    start = time.perf_counter() + warmup
    end = start + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: Counter[str] = Counter()

    def loop(i: int) -> None:
        mine = work[i::threads]
        n = 0
        while True:
            action, ctx = mine[n % len(mine)]
            n += 1
            began = time.perf_counter()
            if began >= end:
                return
            try:
                command(ledger, ctx, action)
            except Exception as error:  # noqa: BLE001 - counted and reported, not hidden
                errors[type(error).__name__] += 1
                continue
            if began >= start:
                latencies[i].append((time.perf_counter() - began) * 1000)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"latencies_ms": [x for lane in latencies for x in lane], "seconds": seconds,
            "errors": dict(errors)}


if __name__ == "__main__":
    main()
