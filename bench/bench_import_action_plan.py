"""Benchmark: import a generated 500-row action plan into a fresh SQLite ledger and time
the preview and the recording. Target: under 10 s (measured: about 2 s).

    .venv/bin/python -m bench.bench_import_action_plan [rows]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from api.action_plan import agency_lookup, generated_plan, read_preview, record
from api.settings import Settings
from domain.ledger import Ledger
from tests.principals import AS_OPERATOR, MANAGER
from tests.scenarios import Scenario


def main(rows: int = 500) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store="sqlite", data_dir=Path(tmp))
        from api.composition import open_services

        with open_services(settings) as services:
            ledger: Ledger = services.ledger
            names = ["Staffordshire Police", "Stoke-on-Trent City Council", "ICB"]
            ids = [ledger.register_agency(AS_OPERATOR, name=n, kind="health", statutory_partner=False,
                                          partnerships=["SSSCB"]).id for n in names]
            scenario = Scenario(ledger)
            recommended = scenario.review(ids)
            review = ledger.get_review(recommended.review_id)
            data = generated_plan(names, rows, recommendations=1)
            started = time.perf_counter()
            preview = read_preview(data, "plan.xlsx", review, review.reference,
                                   agency_lookup({"agency_id": i, "name": n}
                                                 for i, n in zip(ids, names, strict=True)),
                                   MANAGER, ledger)
            previewed = time.perf_counter()
            made = record(ledger, MANAGER, preview)
            done = time.perf_counter()
    print(f"{rows} rows: preview {previewed - started:.2f} s, record {done - previewed:.2f} s, "
          f"total {done - started:.2f} s; {len(made)} actions recorded")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
