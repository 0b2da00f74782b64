"""The pure parts of the HTTP benchmark (bench/http_bench.py): reading wrk's and pgbench's
output, percentiles, the targets and the RESULTS.md tables. No I/O here, so that
tests/unit/test_bench_report.py can check them without wrk, a server or a database."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")


def duration_ms(text: str) -> float:
    """One of wrk's durations ("812.00us", "12.34ms", "1.02s", "1.50m") in milliseconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured. `statuses`: responses by HTTP status, from the Lua script's
    `statuses` line (bench/wrk/ledger.lua); empty when the script did not print it."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Answers that were not 2xx, and requests that got no answer."""
        return self.non_2xx + self.socket_errors


def parse_wrk(output: str) -> WrkRun:
    """Read `wrk --latency` output (with the summary lines of bench/wrk/ledger.lua, if any)."""
    requests = re.search(r"^\s*(\d+) requests in ([\d.]+\w+)", output, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
    if not (requests and rate and p50 and p99):
        raise ValueError("not the output of wrk --latency:\n" + output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    statuses = re.search(r"^statuses(.*)$", output, re.MULTILINE)
    return WrkRun(
        requests=int(requests[1]), seconds=duration_ms(requests[2]) / 1000,
        rate=float(rate[1]), p50_ms=duration_ms(p50[1]), p99_ms=duration_ms(p99[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        statuses={int(s): int(n) for s, n in re.findall(r"(\d{3})=(\d+)", statuses[1])}
        if statuses else {})


@dataclass(frozen=True)
class PgbenchRun:
    tps: float
    latency_ms: float
    failed: int = 0


def parse_pgbench(output: str) -> PgbenchRun:
    """Read pgbench's summary: tps (without the initial connection time), average latency
    and failed transactions."""
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", output, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", output, re.MULTILINE)
    failed = re.search(r"^number of failed transactions: (\d+)", output, re.MULTILINE)
    if not (tps and latency):
        raise ValueError("not pgbench's summary:\n" + output)
    return PgbenchRun(float(tps[1]), float(latency[1]), int(failed[1]) if failed else 0)


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of some samples: the smallest sample with at
    least p% of the samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


# ---- targets -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One line of the results: a figure against its target."""

    what: str
    figure: str
    target: str
    ratio: float | None  # figure over target for an "at least", target over figure for "at most"
    met: bool | None  # None: printed beside, no target

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "-"
        return "met" if self.met else "**missed**"


def at_least(what: str, value: float, target: float, unit: str, figure: str | None = None
             ) -> Check:
    """A figure that must reach a target (e.g. requests per second)."""
    return Check(what, figure or f"{value:,.0f} {unit}".strip(), f">= {target:,g} {unit}".strip(),
                 value / target if target else None, value >= target)


def at_most(what: str, value: float, target: float, unit: str, figure: str | None = None
            ) -> Check:
    """A figure that must stay under a bound (a latency, a memory peak); its ratio is the
    bound over the figure, so that above 1 is met here too."""
    return Check(what, figure or f"{value:,.1f} {unit}", f"<= {target:,g} {unit}",
                 target / value if value else math.inf, value <= target)


def beside(what: str, figure: str) -> Check:
    return Check(what, figure, "(printed beside)", None, None)


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    if math.isinf(ratio):
        return "inf"
    return f"{ratio:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def checks_table(checks: Sequence[Check]) -> str:
    return table(["what", "figure", "target", "ratio to target", "met"],
                 [[c.what, c.figure, c.target, ratio_text(c.ratio), c.verdict]
                  for c in checks])


def mib(rss_kib: int) -> float:
    return rss_kib / 1024


# ---- one run and its RESULTS.md ----------------------------------------------------------------

@dataclass(frozen=True)
class Peak:
    """A command's exit code, wall time and peak memory: the largest sum of its process tree's
    resident sets seen (sampled), or the kernel's maximum resident set of its largest single
    process if that is larger."""

    code: int
    seconds: float
    rss_kib: int

    @property
    def mb(self) -> float:
        return self.rss_kib * 1024 / 1e6


@dataclass(frozen=True)
class Plan:
    """Sizes (events) and durations (seconds) of one run."""

    large: int
    small: int
    memory: tuple[int, int]  # the memory part's two sizes (the second is the large ledger)
    actions: int  # the command load's actions
    seconds: float
    warmup: float
    lag_seconds: float
    board_seconds: float
    pgbench_seconds: float
    catch_up_seconds: float = 240  # at most, waiting for the views before the Board part
    lag_threads: int = 8
    lag_samples: int = 1000


@dataclass
class Results:
    """Everything one run measured. `ledgers`: bench.http_seed.Seeded by role (large, small,
    memory); `library` and `lag`: plain figures (rate, p50_ms, p99_ms, samples, ...)."""

    started: datetime
    load_start: tuple[float, float, float]
    command: str
    plan: Plan
    ledgers: dict[str, Any] = field(default_factory=dict)
    pgbench: dict[str, PgbenchRun] = field(default_factory=dict)
    library: dict[str, Any] = field(default_factory=dict)
    commands: WrkRun | None = None
    lag: dict[str, Any] = field(default_factory=dict)
    board: dict[str, dict[str, WrkRun]] = field(default_factory=dict)  # endpoint -> size -> run
    # Where the time went (bench.http_bench.watching): cores used by each part, the PostgreSQL
    # backends' waits (mean number of active backends in each).
    commands_where: dict[str, Any] = field(default_factory=dict)
    # The views catching up after the command load, before the Board part (http_bench.catch_up)
    catch_up: dict[str, Any] = field(default_factory=dict)
    board_where: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    memory: dict[str, dict[str, Peak]] = field(default_factory=dict)  # size -> job -> peak
    # What a FastAPI endpoint that does almost nothing serves here (bench/ceiling_app.py)
    ceilings: dict[str, WrkRun] = field(default_factory=dict)


TARGETS = {"commands": 1200, "commands_p99": 100, "http_over_library": 2.0, "board": 3000,
           "board_p99": 20, "board_spread": 1.2, "lag_p99": 250, "lag_samples": 1000,
           "memory_mb": 300, "flat": 1.2}  # flat: the larger ledger's peak over the smaller's


def size_name(events: int) -> str:
    """~1M, ~100k, ~52k, ~10k: the size a ledger was asked for, or about how many it holds."""
    if events >= 950_000:
        return f"~{events / 1e6:.2g}M"
    return f"~{events / 1000:.2g}k" if events < 100_000 else f"~{events / 1000:.3g}k"


def checks(r: Results) -> list[Check]:
    """Every target of issue 15 against this run's figure."""
    t = TARGETS
    out: list[Check] = []
    large = size_name(r.plan.large)
    if r.commands is not None:
        out += [at_least(f"commands over HTTP at {large} events", r.commands.rate,
                         t["commands"], "req/s"),
                at_most("commands over HTTP, p99", r.commands.p99_ms, t["commands_p99"], "ms")]
        if r.library:
            ratio = r.commands.rate / r.library["rate"]
            out.append(at_least("HTTP over the bare library (req/s)", ratio,
                                t["http_over_library"], "x", figure=f"{ratio:.2f}x "
                                f"({r.commands.rate:,.0f} / {r.library['rate']:,.0f})"))
    for name, run in r.pgbench.items():
        out.append(beside(f"pgbench {name}", f"{run.tps:,.0f} tps"))
    for endpoint, runs in r.board.items():
        big, small = runs["large"], runs["small"]
        out += [at_least(f"`{endpoint}` at {large}", big.rate, t["board"], "req/s"),
                at_most(f"`{endpoint}` at {large}, p99", big.p99_ms, t["board_p99"], "ms")]
        spread = small.rate / big.rate if big.rate else math.inf
        out.append(at_most(f"`{endpoint}`: {size_name(r.plan.small)} over {large} req/s",
                           spread, t["board_spread"], "x", figure=f"{spread:.2f}x"))
    for name, run in r.ceilings.items():
        out.append(beside(f"ceiling: FastAPI, {name}",
                          f"{run.rate:,.0f} req/s, p99 {_ms(run.p99_ms)} ms"))
    if "p99_ms" in r.lag:
        out += [at_most("projection lag p99", r.lag["p99_ms"], t["lag_p99"], "ms",
                        figure=_lag_ms(r.lag, "p99_ms") + " ms"),
                at_least("projection lag samples", r.lag["samples"], t["lag_samples"], "")]
    sizes = sorted(r.memory, key=lambda k: r.ledgers[k].events if k in r.ledgers else 0)
    if len(sizes) == 2:
        small_jobs, large_jobs = r.memory[sizes[0]], r.memory[sizes[1]]
        for job, peak in large_jobs.items():
            out.append(at_most(f"`ledger {job}` peak memory at {large}", peak.mb,
                               t["memory_mb"], "MB"))
            if job in small_jobs:
                grew = peak.mb / small_jobs[job].mb
                out.append(at_most(f"`ledger {job}` peak, {large} over "
                                   f"{size_name(r.plan.memory[0])}", grew, t["flat"], "x",
                                   figure=f"{grew:.2f}x (flat if <= {t['flat']}x)"))
    return out


def render_results(r: Results, machine: dict[str, str], load_end: tuple[float, float, float],
                   label: str = "") -> str:
    """bench/RESULTS.md for one run."""
    def load(avg: tuple[float, float, float]) -> str:
        return " / ".join(f"{x:.2f}" for x in avg)

    p = r.plan
    lines = [("# HTTP benchmark: commands and Board queries against the library and the "
             "database (issue 15)"), ""]
    if label:
        lines += [f"**{label}**", ""]
    lines += [
        f"- command: `{r.command}` (`make bench` runs it with the other benchmarks)",
        (f"- date: {r.started:%Y-%m-%d %H:%M} UTC; commit {machine['commit']} "
        f"(branch {machine['branch']}); Python {machine['python']}"),
        (f"- machine: {machine['nproc']} CPUs (nproc), {machine['cpu']}; PostgreSQL on the "
        "same machine; shared with other work while it ran"),
        (f"- load average (1 / 5 / 15 min): {load(r.load_start)} at the start, "
        f"{load(load_end)} at the end"),
        (f"- setup: `ledger serve --workers 2` (LEDGER_API_THREADS 8, the default) and "
        f"`ledger project`, LEDGER_PROJECTIONS=external, text in clear; wrk -t{2} -c32, "
        f"{p.seconds:g} s measured after a {p.warmup:g} s warm-up"),
        "", "## Targets", "", checks_table(checks(r)), ""]
    lines += _commands(r) + _board(r) + _lag(r) + _memory(r) + _ledgers(r)
    return "\n".join(lines) + "\n"


def _ms(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def _commands(r: Results) -> list[str]:
    rows = []
    if r.commands is not None:
        c = r.commands
        rows.append(["progress reports over HTTP (wrk -c32)", f"{c.rate:,.0f}", _ms(c.p50_ms),
                     _ms(c.p99_ms), _failed(c)])
    if r.library:
        lib = r.library
        rows.append(["the bare library, 2 processes x 16 threads", f"{lib['rate']:,.0f}",
                     _ms(lib["p50_ms"]), _ms(lib["p99_ms"]),
                     ", ".join(f"{k} {v}" for k, v in lib["errors"].items()) or "0"])
    for name, run in r.pgbench.items():
        rows.append([f"pgbench, 32 clients, one ~400-byte row a transaction, {name}",
                     f"{run.tps:,.0f} tps", f"avg {_ms(run.latency_ms)}", "-", str(run.failed)])
    if not rows:
        return []
    return ["## Commands", "", (f"POST /actions/{{id}}/progress over {r.plan.actions:,} open "
            f"actions of the {size_name(r.plan.large)} ledger, each with its agency lead's "
            "token (20 leads); the bare library does its own load-change-save of the same "
            "progress report (repository.get, the aggregate's method, Application.save: one "
            "transaction a command) on the same actions, without authenticating."), "",
            table(["what", "per second", "p50 ms", "p99 ms", "not 2xx / errors"], rows), "",
            *([f"During the HTTP run, {where_text(r.commands_where)}.", ""]
              if r.commands_where else [])]


def where_text(where: dict[str, Any], top: int = 5) -> str:
    """Where the time went during one measured run (bench.http_bench.watching), in words."""
    if not where:
        return ""
    cores = ", ".join(f"{name} {n:.2f}" for name, n in where["cores"].items())
    text = f"cores busy on average: {cores} (of {where['cpus']:.0f})"
    waits = where["waits"]
    active = sum(waits.values())
    if active:
        ranked = sorted(waits.items(), key=lambda kv: -kv[1])[:top]
        text += (f"; the ledger's active PostgreSQL backends, {active:.1f} on average "
                 f"({where['samples']:,} samples of pg_stat_activity): " + ", ".join(
                     f"{label} {100 * n / active:.0f}%" for label, n in ranked))
    return text


def _lag_ms(lag: dict[str, Any], key: str) -> str:
    """A lag percentile; one among the samples never seen is "> N s" (N: how long the
    sampler waited for them after the load)."""
    value = lag[key]
    return f"> {lag['give_up_s'] * 1000:,}" if math.isinf(value) else _ms(value)


def _failed(run: WrkRun) -> str:
    if not run.failed:
        return "0"
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items()) if s >= 300)
    return f"{run.failed} ({statuses}; socket errors {run.socket_errors})"


def _board(r: Results) -> list[str]:
    if not r.board:
        return []
    big, small = size_name(r.plan.large), size_name(r.plan.small)
    rows = []
    for endpoint, runs in r.board.items():
        a, b = runs["large"], runs["small"]
        rows.append([f"`{endpoint}`", f"{a.rate:,.0f}", _ms(a.p50_ms), _ms(a.p99_ms),
                     f"{b.rate:,.0f}", _ms(b.p50_ms), _ms(b.p99_ms),
                     f"{a.rate / b.rate:.2f}" if b.rate else "-",
                     f"{a.p99_ms / b.p99_ms:.2f}" if b.p99_ms else "-",
                     f"{a.failed} / {b.failed}"])
    return ["## Board queries", "", (
            f"wrk -c32 with a Board member's token, {r.plan.board_seconds:g} s each, the "
            f"{big} and {small} ledgers' services up together and measured endpoint by "
            "endpoint in alternation; ids are real (the generator's first review, an action "
            "with five events)."), "",
            table(["endpoint", f"{big} req/s", "p50 ms", "p99 ms", f"{small} req/s", "p50 ms",
                   "p99 ms", f"req/s {big}/{small}", f"p99 {big}/{small}", "not 2xx"], rows), "",
            *_ceilings(r),
            *_caught_up(r.catch_up, big),
            *[f"- `{endpoint}` at {big}: {where_text(sizes['large'])}"
              for endpoint, sizes in r.board_where.items() if sizes.get("large")], ""]


def _ceilings(r: Results) -> list[str]:
    if not r.ceilings:
        return []
    rows = [[name, f"{run.rate:,.0f}", _ms(run.p50_ms), _ms(run.p99_ms), str(run.failed)]
            for name, run in r.ceilings.items()]
    return [("The ceilings, under the same load: the same server (uvicorn, 2 workers, h11) "
             "with FastAPI endpoints that do almost nothing (bench/ceiling_app.py), the "
             "ledger's services stopped. A Board endpoint does strictly more."), "",
            table(["FastAPI endpoint", "req/s", "p50 ms", "p99 ms", "not 2xx"], rows), ""]


def _caught_up(caught: dict[str, Any], size: str) -> list[str]:
    if not caught:
        return []
    rate = f" ({caught['rate']:,.0f} events/s)" if caught.get("rate") else ""
    if caught["caught_up"]:
        text = (f"Before these runs the {size} ledger's views were {caught['behind']:,} events "
                f"behind the commands; they caught up in {caught['seconds']:,.0f} s{rate}.")
    else:
        text = (f"Before these runs the {size} ledger's views were {caught['behind']:,} events "
                f"behind the commands, and still {caught['left']:,} behind after "
                f"{caught['seconds']:,.0f} s{rate}: the queries ran while the projection worker "
                "caught up.")
    return [text, ""]


def _lag(r: Results) -> list[str]:
    if not r.lag:
        return []
    lag = r.lag
    load = lag.get("load")
    figures = (f"p50 {_lag_ms(lag, 'p50_ms')} ms, p99 {_lag_ms(lag, 'p99_ms')} ms over "
               f"{lag['samples']:,} samples" if "p50_ms" in lag else "no sample")
    if lag.get("unseen"):
        figures += (f" ({lag['unseen']:,} of them not yet visible {lag['give_up_s']} s after "
                    "the load stopped: counted as longer than any seen)")
        if r.catch_up.get("rate") and load is not None:
            figures += (f". After the load the projection worker applied "
                        f"{r.catch_up['rate']:,.0f} events/s catching up, fewer than the "
                        f"{load.rate:,.0f}/s that wrk's commands alone appended: under a "
                        "sustained load like this one the views fall further behind the "
                        "longer it lasts")
    lines = ["## Projection lag", "", f"{figures}; {lag['failed']} sampler failures"
             + (f" ({'; '.join(lag['failures'])})" if lag["failures"] else "") + ".", ""]
    if load is not None:
        lines += [(f"Under wrk -c32 posting progress reports for {r.plan.lag_seconds:g} s "
                  f"({load.rate:,.0f}/s, p99 {_ms(load.p99_ms)} ms, {load.failed} not 2xx), "
                  f"{r.plan.lag_threads} sampler threads posted progress reports to 200 other "
                  "actions; the time each answer was received and its X-Ledger-Position were "
                  "queued to one thread polling the actions view's tracking position "
                  "(`view_tracking`) every 2 ms on its own connection. A sample's lag is the "
                  "time of the first poll that saw its position reached minus the time its "
                  "answer was received (at most one poll interval and one round trip late)."),
                  ""]
    return lines


def _memory(r: Results) -> list[str]:
    if not r.memory:
        return []
    sizes = sorted(r.memory, key=lambda k: r.ledgers[k].events if k in r.ledgers else 0)
    names = [f"{size_name(r.ledgers[s].events) if s in r.ledgers else s} "
             f"({r.ledgers[s].events:,} events)" if s in r.ledgers else s for s in sizes]
    jobs = list(r.memory[sizes[-1]])
    rows = []
    for job in jobs:
        peaks = [r.memory[s].get(job) for s in sizes]
        rows.append([f"`ledger {job}`", *[f"{x.mb:,.0f} MB in {x.seconds:,.0f} s" if x else "-"
                                            for x in peaks]])
    return ["## Peak memory", "", ("The whole process tree's resident set (sampled every "
            "20 ms; or the kernel's max RSS of its largest process if higher), 1 MB = "
            "10^6 bytes. `init` builds the Merkle log from the first event (its tables are "
            "dropped first); `verify` checks the export bundle with `ledger verify BUNDLE` "
            "(one process per CPU)."), "", table(["job", *names], rows), ""]


def _ledgers(r: Results) -> list[str]:
    rows = []
    for role, s in r.ledgers.items():
        how = ("reused" if s.reused else "seeded in this run")
        steps = ", ".join(f"{k} {v:,.0f} s" for k, v in s.steps.items())
        rows.append([role, f"{s.spec.dbname}.{s.spec.schema}", f"{s.events:,}",
                     f"{how}; seeded {s.seeded_at} in {s.seconds:,.0f} s ({steps})"])
    if not rows:
        return []
    return ["## Ledgers", "", ("Kept between runs, reused while their marker (generator "
            "version and size) matches; seeded by bench/projections_data.py (the domain's "
            "aggregates saved in bulk), 20 agency leads, a Board member and a scrutineer with "
            "tokens, then `ledger rebuild` and `ledger init`. The commands of each run add "
            f"events; a ledger grown past {1.15:.2f}x its seeded size is seeded again."), "",
            table(["ledger", "where", "events now", "seeding"], rows), ""]
