"""Field-level protection's cost, in one run: command throughput and the views' rebuild rate
on SQLite with text in clear, with field encryption (LEDGER_PROTECT_TEXT), and with the
library's whole-store cipher (LEDGER_STORE_CIPHER_KEY). Each variant gets its own store in a
temporary directory; the variants alternate over `--rounds` and the median is printed.

    python -m bench.protection_bench --actions 300 --updates 4 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eventsourcing.cipher import AESCipher

from api.composition import open_services
from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from projections.rebuild import rebuild
from tests.scenarios import Scenario

VARIANTS = ("clear", "field", "store")


def settings_for(variant: str, directory: Path) -> Settings:
    extra: dict[str, Any] = {}
    if variant == "field":
        extra["protect_text"] = True
    if variant == "store":
        extra["store_cipher_key"] = AESCipher.create_key(32)
    return Settings(store="sqlite", data_dir=directory, projections="external", **extra)


def one_round(variant: str, actions: int, updates: int) -> tuple[float, float, int]:
    """(commands per second, events per second rebuilt, events)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(variant, Path(tmp))
        with open_services(settings, integrity=False, merkle=False,
                           run_projections=False) as services:
            ledger = services.ledger
            scenario = Scenario(ledger)
            agency = scenario.agency("Police")
            lead = Context(Actor("u-lead", Role.AGENCY_LEAD, agency_id=agency))
            recommended = scenario.review([agency])
            commands = 0
            started = time.perf_counter()
            for i in range(actions):
                action = scenario.assign(recommended, agency,
                                         description=f"Deliver training round {i}")
                commands += 1
                for u in range(updates):
                    ledger.report_progress(lead, action.id, rag="green",
                                           narrative=f"Session {u} held with 20 staff",
                                           evidence=[f"register-{i}-{u}"])
                    commands += 1
            command_rate = commands / (time.perf_counter() - started)
            events = ledger.head_position()
            started = time.perf_counter()
            rebuild(settings, ledger, read_side=services.read_models.read_side)
            rebuild_rate = events / (time.perf_counter() - started)
    return command_rate, rebuild_rate, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            results[variant].append(one_round(variant, args.actions, args.updates))
    base_c = statistics.median(r[0] for r in results["clear"])
    base_r = statistics.median(r[1] for r in results["clear"])
    print(f"{'variant':8} {'events':>7} {'commands/s':>11} {'vs clear':>9} "
          f"{'rebuild ev/s':>13} {'vs clear':>9}")
    for variant in VARIANTS:
        c = statistics.median(r[0] for r in results[variant])
        r = statistics.median(r[1] for r in results[variant])
        print(f"{variant:8} {results[variant][0][2]:>7} {c:>11.0f} {c / base_c:>9.0%} "
              f"{r:>13.0f} {r / base_r:>9.0%}")


if __name__ == "__main__":
    main()
