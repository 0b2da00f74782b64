"""Processes for the HTTP benchmark: the tools it needs (checked before anything starts), the
servers (each in its own process group, always stopped, whatever happens), readiness, and a
command's peak memory (its whole process tree, sampled)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import report

TOOLS = {"wrk": "Debian's wrk (apt-get install wrk)",
         "pgbench": "PostgreSQL's pgbench (apt-get install postgresql-contrib or postgresql-15)"}


class CannotRun(Exception):
    """A tool, the database or a server the benchmark needs is missing or did not start."""


def require_tools(names: list[str]) -> dict[str, str]:
    """The path of each tool, or CannotRun naming every missing one and how to get it."""
    found = {name: shutil.which(name) for name in names}
    missing = [f"{name}: {TOOLS.get(name, name)}" for name, path in found.items() if not path]
    if missing:
        raise CannotRun("missing tools: " + "; ".join(missing))
    return {name: path for name, path in found.items() if path}


def require_postgres(conninfo: Mapping[str, str]) -> str:
    try:
        with psycopg.connect(**conninfo, dbname="postgres", connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError as error:
        raise CannotRun(f"PostgreSQL at {conninfo.get('host')}:{conninfo.get('port')} cannot "
                        f"be reached: {error}") from None
    return str(row[0]) if row else "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Started:
    """A process started in its own process group (it and every child it makes)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 15) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after `grace` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            # The group's leader is gone; its children may linger a moment (uvicorn's workers).
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(self.process.pid):
                time.sleep(0.05)
            if not _group_alive(self.process.pid):
                return

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def started(name: str, command: list[str], env: Mapping[str, str], log: Path
            ) -> Iterator[Started]:
    """Run `command` in a new process group for the duration of the block; stopped (the whole
    group) when the block ends, by an error or an interrupt too."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    proc = Started(name, process, log)
    try:
        yield proc
    finally:
        proc.stop()


def wait_ready(url: str, proc: list[Started], timeout: float = 180, streak: int = 4) -> None:
    """Wait until GET {url}/readyz answers 200 `streak` times in a row (each API worker may
    answer; the projection worker must have caught up). CannotRun if a process exits first
    or the time runs out."""
    deadline = time.monotonic() + timeout
    ok, last = 0, "no answer"
    while time.monotonic() < deadline:
        for p in proc:
            if not p.alive():
                raise CannotRun(f"{p.name} exited ({p.process.returncode}) before the service "
                                f"was ready; its log ({p.log}):\n{p.tail()}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
                ok = ok + 1 if answer.status == 200 else 0
        except urllib.error.HTTPError as error:
            ok, last = 0, f"{error.code} {error.read()[:300]!r}"
        except OSError as error:
            ok, last = 0, str(error)
        if ok >= streak:
            return
        time.sleep(0.2 if ok else 0.5)
    raise CannotRun(f"{url}/readyz not ready after {timeout:.0f} s (last: {last})")


def run_measuring_memory(command: list[str], env: Mapping[str, str], log: Path,
                         interval: float = 0.02) -> report.Peak:
    log.parent.mkdir(parents=True, exist_ok=True)
    started_at = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    peak = 0
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss_kib(process.pid))
            time.sleep(interval)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss: the largest resident set of the child or of any descendant it waited for.
    return report.Peak(process.returncode, time.perf_counter() - started_at,
                max(peak, int(usage.ru_maxrss)))


def tree_rss_kib(pid: int) -> int:
    """The summed resident set (KiB) of a process and all its descendants, from /proc."""
    total = 0
    for current in tree_pids(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time so far of these processes (those still running)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def postgres_pids() -> list[int]:
    """Every process of the PostgreSQL server on this machine (its backends included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / ticks, sum(values) / ticks
