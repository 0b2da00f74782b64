"""The HTTP benchmark's pure parts (bench/report.py): reading wrk's and pgbench's output, the
percentiles, the targets and RESULTS.md. No wrk, no server, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import report

WRK = """Running 8s test @ http://127.0.0.1:36813
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   273.18ms  504.88ms   1.89s    84.62%
    Req/Sec    53.40     38.50   110.00     50.00%
  Latency Distribution
     50%  812.00us
     75%  234.49ms
     90%    1.26s
     99%    1.89s
  2062 requests in 8.07s, 103.12KB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:    255.51
Transfer/sec:     33.64KB
statuses 200=2057 409=5
"""

PGBENCH = """pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: bench/out/ledger_1m/pgbench.sql
number of clients: 32
number of threads: 2
duration: 10 s
number of transactions actually processed: 16240
number of failed transactions: 0 (0.000%)
latency average = 19.704 ms
initial connection time = 52.343 ms
tps = 1624.012 (without initial connection time)
"""


def test_wrk_output_gives_the_rate_and_the_latency_percentiles_in_milliseconds():
    run = report.parse_wrk(WRK)
    assert (run.requests, run.seconds, run.rate) == (2062, 8.07, 255.51)
    assert (run.p50_ms, run.p99_ms) == (pytest.approx(0.812), 1890.0)


def test_wrk_output_counts_answers_not_2xx_and_requests_without_answer_as_failed():
    assert report.parse_wrk(WRK).failed == 5 + 3


def test_wrk_output_gives_the_scripts_answers_by_status():
    assert report.parse_wrk(WRK).statuses == {200: 2057, 409: 5}


def test_wrk_output_without_a_latency_distribution_is_refused():
    without = "\n".join(line for line in WRK.splitlines() if "%  " not in line)
    with pytest.raises(ValueError, match="wrk --latency"):
        report.parse_wrk(without)


@pytest.mark.parametrize(("text", "ms"), [("812.00us", 0.812), ("12.5ms", 12.5), ("1.02s", 1020),
                                          ("1.50m", 90_000)])
def test_a_wrk_duration_is_read_in_milliseconds(text, ms):
    assert report.duration_ms(text) == pytest.approx(ms)


def test_pgbench_output_gives_tps_latency_and_failures():
    assert report.parse_pgbench(PGBENCH) == report.PgbenchRun(1624.012, 19.704, 0)


def test_a_percentile_is_the_nearest_rank():
    samples = list(range(100, 0, -1))  # 1..100, unordered
    assert (report.percentile(samples, 50), report.percentile(samples, 99)) == (50, 99)
    assert report.percentile([7.0], 99) == 7.0


def test_a_rate_under_its_target_is_missed_with_its_ratio():
    check = report.at_least("commands", 600, 1200, "req/s")
    assert (check.met, check.ratio, check.verdict) == (False, 0.5, "**missed**")


def test_a_latency_within_its_bound_is_met_with_the_bound_over_the_figure():
    check = report.at_most("p99", 50, 100, "ms")
    assert (check.met, check.ratio) == (True, 2.0)


def results() -> report.Results:
    plan = report.Plan(large=1_000_000, small=10_000, memory=(100_000, 1_000_000),
                       actions=20_000, seconds=20, warmup=5, lag_seconds=30, board_seconds=10,
                       pgbench_seconds=10)
    run = report.parse_wrk(WRK)
    return report.Results(
        started=datetime(2026, 12, 6, 14, 0, tzinfo=UTC), load_start=(1.5, 1.2, 1.0),
        command="python -m bench.http_bench", plan=plan, commands=run,
        library={"rate": 400.0, "calls": 8000, "p50_ms": 60.0, "p99_ms": 130.0, "errors": {}},
        pgbench={"plain": report.parse_pgbench(PGBENCH)},
        lag={"samples": 1200, "p50_ms": 70.0, "p99_ms": 200.0, "failed": 0, "failures": [],
             "load": run},
        board={"/board/agencies": {"large": run, "small": run}},
        memory={"memory": {"rebuild": report.Peak(0, 30, 200_000)},
                "large": {"rebuild": report.Peak(0, 300, 250_000)}},
        ceilings={"a constant page (no I/O)": run})


MACHINE = {"cpu": "Test CPU", "nproc": "2", "commit": "abc1234", "branch": "issue15b",
           "python": "3.11.2"}


def test_the_results_say_the_machine_the_load_the_commit_and_the_command():
    text = report.render_results(results(), MACHINE, (2.5, 2.0, 1.5), "baseline")
    for expected in ("2 CPUs (nproc), Test CPU", "1.50 / 1.20 / 1.00 at the start",
                     "2.50 / 2.00 / 1.50 at the end", "commit abc1234",
                     "`python -m bench.http_bench`", "**baseline**", "2026-12-06 14:00 UTC"):
        assert expected in text


def test_the_results_mark_each_target_met_or_missed_with_its_ratio():
    lines = report.render_results(results(), MACHINE, (0, 0, 0)).splitlines()
    commands = next(line for line in lines if line.startswith("| commands over HTTP at"))
    lag = next(line for line in lines if line.startswith("| projection lag p99"))
    assert "| 0.21 | **missed** |" in commands  # 255.51 / 1,200
    assert "| 1.25 | met |" in lag  # 250 / 200


def test_the_ceilings_are_printed_beside_the_board_targets_and_in_the_board_section():
    text = report.render_results(results(), MACHINE, (0, 0, 0))
    beside = next(line for line in text.splitlines()
                  if line.startswith("| ceiling: FastAPI, a constant page (no I/O)"))
    assert "256 req/s, p99 1,890 ms" in beside and beside.endswith("| (printed beside) | - | - |")
    board = text[text.index("## Board queries"):]
    assert "| a constant page (no I/O) | 256 | 0.8 | 1,890 | 8 |" in board


def test_a_peak_more_than_a_fifth_higher_on_the_larger_ledger_is_not_flat():
    lines = report.render_results(results(), MACHINE, (0, 0, 0)).splitlines()
    grew = next(line for line in lines if line.startswith("| `ledger rebuild` peak, ~1M over"))
    assert "1.25x (flat if <= 1.2x)" in grew and grew.endswith("| **missed** |")


def test_where_the_time_went_ranks_the_backends_waits_by_share():
    where = {"cores": {"API workers": 1.2, "PostgreSQL": 0.5}, "cpus": 2.0, "samples": 900,
             "waits": {"on a core (no wait)": 1.0, "Lock: relation": 8.0, "IO: WALSync": 1.0}}
    text = report.where_text(where)
    assert "API workers 1.20, PostgreSQL 0.50 (of 2)" in text
    assert "10.0 on average (900 samples" in text
    assert text.endswith("Lock: relation 80%, on a core (no wait) 10%, IO: WALSync 10%")
