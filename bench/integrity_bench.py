"""Integrity benchmark: verify rate of a whole export beside a plain read + SHA-256 of the same
file, peak memory of the verifier, and proof latency, at 100k and 1M events. Beside them, the
rates of the two parts of the work no verifier of the bundle can skip, each alone in one
process: decoding every leaf's base64, and the RFC 6962 hashing (every leaf and every
interior node): they bound what the verifier can reach.

    .venv/bin/python bench/integrity_bench.py [--sizes 100000 1000000] [--stores sqlite postgres]

Events are written straight through the library's recorder (the verifier and the log do not
care how they were made) with realistic sizes: JSON states of 250-700 bytes like the demo
ledger's. Each verification runs in a fresh subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import binascii
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.persistence import StoredEvent

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import Signer, generate_signer
from projections.integrity import export_lines
from projections.merkle_log import MerkleLog

ORIGIN = "bench.example/log"
MANAGER = Context(Actor("u-bench", Role.SCB_MANAGER))
TOPICS = ["domain.action:Action.ProgressReported", "domain.review:Review.FindingRecorded",
          "domain.challenge:Challenge.Responded", "domain.agency:Agency.Renamed"]


def fill(ledger: Ledger, n: int, batch: int = 20_000) -> None:
    rng = random.Random(7)
    aggregates = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(max(1, n // 20))]
    versions = dict.fromkeys(aggregates, 0)
    done = 0
    while done < n:
        events = []
        for _ in range(min(batch, n - done)):
            agg = rng.choice(aggregates)
            versions[agg] += 1
            narrative = "x" * rng.randint(150, 600)
            state = json.dumps({"timestamp": {"_type_": "datetime_iso",
                                              "_data_": "2025-03-03T10:00:00+00:00"},
                                "actor": {"_type_": "actor", "_data_": {
                                    "user_id": "u-1", "role": "agency_lead"}},
                                "narrative": narrative, "rag": "amber"}).encode()
            events.append(StoredEvent(agg, versions[agg], rng.choice(TOPICS), state))
        ledger.recorder.insert_events(events)
        done += len(events)


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def floors(path: Path, chunk: int = 50_000) -> dict[str, float]:
    """Rates of the work no verifier of this format can skip, each alone, in one process, on
    the bundle's own leaves (a chunk at a time, so memory stays flat): decoding the base64 of
    every leaf, and the RFC 6962 hashing (SHA-256 of every leaf, and the interior nodes)."""
    decode_s = hash_s = 0.0
    events = 0
    with path.open("rb") as f:
        while True:
            texts = [line.split(b" ", 2)[1].rstrip(b"\n") for line in
                     (f.readline() for _ in range(chunk)) if line.startswith(b"e ")]
            if not texts:
                if f.read(1) == b"":
                    break
                continue
            start = time.perf_counter()
            leaves = [binascii.a2b_base64(t, strict_mode=True) for t in texts]
            middle = time.perf_counter()
            tree = MemoryTree(compact=True)
            for leaf in leaves:
                tree.append(hashlib.sha256(b"\x00" + leaf).digest())
            tree.root()
            decode_s += middle - start
            hash_s += time.perf_counter() - middle
            events += len(leaves)
    return {"base64_decode_only_events_per_s": events / decode_s,
            "rfc6962_hashing_only_events_per_s": events / hash_s}


def sha_rate(path: Path, events: int) -> float:
    def run() -> None:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    _, seconds = timed(run)
    return events / seconds


VERIFY = """
import sys, time, resource
from pathlib import Path
sys.path.insert(0, {root!r})
from ledger_verifier import parallel
from ledger_verifier.verifier import Verifier
keys = [Verifier.from_vkey({vkey!r})]
start = time.perf_counter()
verdict = parallel.verify_file(Path({path!r}), keys, jobs={jobs})
seconds = time.perf_counter() - start
# This process's own high-water mark (ru_maxrss would also count the benchmark's memory at the
# fork that started it), or a worker's, whichever is larger.
own = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(verdict.ok, verdict.events, seconds,
      max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def verify_in_subprocess(path: Path, vkey: str, jobs: int) -> tuple[bool, int, float, int]:
    """jobs=1: the single-process reference pass; jobs=0: one worker per CPU."""
    root = str(Path(__file__).resolve().parents[1])
    code = VERIFY.format(root=root, vkey=vkey, path=str(path), jobs=jobs or None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1]), float(out[2]), int(out[3])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def proof_latency(merkle: MerkleLog, size: int, root: bytes, samples: int = 2000
                  ) -> dict[str, float]:
    """Proofs as the API serves them: self-checked before they are served (the inclusion
    proof against the signed root of `size`; the consistency proof against the first size's
    root recomputed from the stored nodes and the signed root), each read in one snapshot."""
    rng = random.Random(11)
    inclusion, consistency = [], []
    for _ in range(samples):
        index, first = rng.randrange(size), rng.randrange(1, size)
        start = time.perf_counter()
        merkle.checked_inclusion(index, size, root)
        middle = time.perf_counter()
        merkle.checked_consistency(first, size, None, root)
        inclusion.append((middle - start) * 1000)
        consistency.append((time.perf_counter() - middle) * 1000)
    return {"inclusion_p50_ms": statistics.median(inclusion),
            "inclusion_p99_ms": percentile(inclusion, 99),
            "consistency_p50_ms": statistics.median(consistency),
            "consistency_p99_ms": percentile(consistency, 99)}


def run(n: int, workdir: Path, postgres: bool, proofs_only: bool = False) -> dict[str, Any]:
    settings = Settings(data_dir=workdir)
    if postgres:
        import psycopg

        schema = f"integrity_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("host=127.0.0.1 dbname=test user=postgres password=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_HOST": "127.0.0.1",
               "POSTGRES_PORT": "5432", "POSTGRES_DBNAME": "test", "POSTGRES_USER": "postgres",
               "POSTGRES_PASSWORD": "postgres", "POSTGRES_SCHEMA": schema}
    else:
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
               "SQLITE_DBNAME": str(workdir / "ledger.sqlite3")}
    ledger = Ledger(env=env)
    signer = Signer.from_skey(generate_signer(ORIGIN)[0])
    row: dict[str, Any] = {"events": n, "store": "postgres" if postgres else "sqlite"}
    try:
        _, row["fill_s"] = timed(lambda: fill(ledger, n, 2_000 if postgres else 20_000))
        merkle = MerkleLog(settings, ledger)
        _, seconds = timed(merkle.catch_up)
        row["merkle_log_events_per_s"] = round(n / seconds)
        for fraction in (0.25, 0.5, 0.75, 1.0):  # checkpoints along the log
            merkle.catch_up()
            ledger.make_checkpoint(MANAGER, origin=ORIGIN, signer=signer, tree=merkle,
                                   reason="bench", size=int(merkle.size * fraction))
        merkle.catch_up()
        latest = ledger.get_integrity_log(ORIGIN).latest
        assert latest is not None
        if proofs_only:
            row.update({k: round(v, 3) for k, v in
                        proof_latency(merkle, latest.size, latest.root).items()})
            merkle.close()
            return row
        path = workdir / f"export-{n}.sglb"

        def export() -> None:
            log = ledger.get_integrity_log(ORIGIN)
            with path.open("wb") as f:
                for line in export_lines(ledger, merkle, log, ORIGIN, signer.verifier.vkey):
                    f.write(line)
        _, seconds = timed(export)
        row["export_events_per_s"] = round(n / seconds)
        row["bundle_mb"] = round(path.stat().st_size / 1e6, 1)
        row["sha256_events_per_s"] = round(sha_rate(path, n))
        for name, rate in floors(path).items():
            row[name] = round(rate)
            row[name.replace("_events_per_s", "_vs_sha256")] = round(
                rate / row["sha256_events_per_s"], 3)
        for label, jobs in (("single", 1), ("parallel", 0)):
            ok, events, seconds, rss_kb = verify_in_subprocess(path, signer.verifier.vkey, jobs)
            assert ok and events >= n, "the benchmark bundle must verify"
            row[f"verify_{label}_events_per_s"] = round(events / seconds)
            row[f"verify_{label}_vs_sha256"] = round(events / seconds
                                                     / row["sha256_events_per_s"], 3)
            row[f"verify_{label}_peak_rss_mb"] = round(rss_kb / 1024, 1)
        row.update({k: round(v, 3) for k, v in
                    proof_latency(merkle, latest.size, latest.root).items()})
        merkle.close()
        path.unlink()
    finally:
        ledger.close()
        if postgres:
            import psycopg

            with psycopg.connect("host=127.0.0.1 dbname=test user=postgres password=postgres",
                                 autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "postgres"],
                        default=["sqlite"], help="PostgreSQL: 127.0.0.1, db test, user postgres")
    parser.add_argument("--proofs-only", action="store_true",
                        help="fill, build the log and time proofs (no export or verify)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; baseline RSS of a bare "
          f"interpreter ~{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    for postgres in (store == "postgres" for store in args.stores):
        for n in args.sizes:
            with tempfile.TemporaryDirectory(prefix="sgl-bench-") as tmp:
                print(json.dumps(run(n, Path(tmp), postgres, args.proofs_only)), flush=True)


if __name__ == "__main__":
    main()
