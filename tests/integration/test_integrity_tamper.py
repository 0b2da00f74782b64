"""Tampering made directly in the database (SQLite, and PostgreSQL as a superuser who
bypasses the append-only trigger) is detected by `ledger verify --live` and by the offline
bundle verifier (`ledger export` + `ledger verify`), naming the kind and the first bad
position."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.integrity_service import IntegrityService
from api.settings import Settings
from domain.ledger import Ledger
from ledger_verifier.verifier import (
    Checkpoint,
    Signer,
    format_checkpoint_body,
    generate_signer,
    parse_tlog_proof,
    sign_note,
)
from tests.integration import page_verifier
from tests.principals import AS_MANAGER, AS_OPERATOR

RESULT = re.compile(r"FAILED \((\w+)\)(?: at position (\d+))?")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Db:
    """Raw access to the events table, as an administrator would have it."""

    def __init__(self, path: Path) -> None:
        self.store, self.table, self.id, self.mark = "sqlite", "stored_events", "rowid", "?"
        self.conn: Any = sqlite3.connect(path, isolation_level=None)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(sql.replace("?", self.mark), params)
        return cursor.fetchall() if cursor.description else []

    def state(self, position: int) -> bytes:
        return bytes(self.run(f"SELECT state FROM {self.table} WHERE {self.id} = ?",
                              (position,))[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self.run(f"UPDATE {self.table} SET state = ? WHERE {self.id} = ?", (state, position))

    def delete(self, position: int) -> None:
        self.run(f"DELETE FROM {self.table} WHERE {self.id} >= ? AND {self.id} <= ?",
                 (position, position))

    def delete_from(self, position: int) -> None:
        self.run(f"DELETE FROM {self.table} WHERE {self.id} >= ?", (position,))

    def move(self, old: int, new: int) -> None:
        self.run(f"UPDATE {self.table} SET {self.id} = ? WHERE {self.id} = ?", (new, old))

    def swap(self, a: int, b: int) -> None:
        self.move(a, -1)
        self.move(b, a)
        self.move(-1, b)

    def insert_at(self, position: int) -> None:
        """Renumber the events from `position` on up by one and put a forged one there."""
        t, i = self.table, self.id
        self.run(f"UPDATE {t} SET {i} = -{i} WHERE {i} >= ?", (position,))
        self.run(f"UPDATE {t} SET {i} = 1 - {i} WHERE {i} < 0")
        topic, state = self.run(f"SELECT topic, state FROM {t} WHERE {i} = ?",
                                (position + 1,))[0]
        forged = uuid4().hex if self.store == "sqlite" else uuid4()
        self.run(f"INSERT INTO {t} ({i}, originator_id, originator_version, topic, state) "
                 "VALUES (?, ?, 1, ?, ?)", (position, forged, topic, bytes(state)))


class PgDb(Db):
    def __init__(self, library: dict[str, str]) -> None:
        import psycopg

        self.store, self.table, self.id, self.mark = ("postgres", "ledger_events",
                                                      "notification_id", "%s")
        self.conn = psycopg.connect(
            host=library["POSTGRES_HOST"], port=library["POSTGRES_PORT"],
            dbname=library["POSTGRES_DBNAME"], user=library["POSTGRES_USER"],
            password=library["POSTGRES_PASSWORD"], autocommit=True)
        self.conn.execute(f'SET search_path TO "{library["POSTGRES_SCHEMA"]}"')
        # A superuser disables the append-only trigger: the guard is not the evidence.
        self.conn.execute("SET session_replication_role = replica")


class World:
    """A ledger with two checkpoints and some later events; the log caught up."""

    def __init__(self, ledger: Ledger, store: str, tmp_path: Path,
                 request: pytest.FixtureRequest) -> None:
        self.ledger = ledger
        self.env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_STORE": store}
        schema = None
        if store == "postgres":
            env = request.getfixturevalue("pg_env")
            self.env.update(env["ledger"])
            schema = env["ledger"]["LEDGER_POSTGRES_SCHEMA"]
            settings = Settings(data_dir=tmp_path, store=store, postgres_schema=schema)
            self.db: Db = PgDb(env["library"])
        else:
            self.env["LEDGER_SQLITE_PATH"] = str(tmp_path / "ledger.sqlite3")
            settings = Settings(data_dir=tmp_path, store=store,
                                sqlite_path=tmp_path / "ledger.sqlite3")
            self.db = Db(tmp_path / "ledger.sqlite3")
        self.tmp = tmp_path
        self.service = IntegrityService(settings, ledger)
        self.agencies(12)
        self.first = self.service.make_checkpoint(AS_MANAGER, reason="first").checkpoint
        self.agencies(10)
        self.second = self.service.make_checkpoint(AS_MANAGER, reason="Board").checkpoint
        self.agencies(4)
        self.service.catch_up()
        self.head = ledger.head_position()
        self.vkey = self.service.vkey

    def agencies(self, n: int) -> None:
        for _ in range(n):
            self.ledger.register_agency(AS_OPERATOR, name=f"Agency {uuid4().hex[:6]}", kind="other",
                                        statutory_partner=False, partnerships=["SSSCB"])

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), env=self.env)
        return result.exit_code, result.output

    def live(self, *extra: str) -> tuple[str | None, int | None]:
        return self._outcome(*self.cli("verify", "--live", "--public-key", self.vkey, *extra))

    def bundle(self, *extra: str) -> tuple[str | None, int | None]:
        """The package's verdict on an export; a verifier written from docs/integrity.md
        alone (page_verifier.py) must agree: the same success or failure, and the same first
        bad position where the package names one."""
        path = self.tmp / "export.sglb"
        code, output = self.cli("export", str(path))
        assert code == 0, output
        kind, position = self._outcome(*self.cli("verify", str(path), "--public-key",
                                                 self.vkey, *extra))
        trusted = [Path(extra[i + 1]).read_text() for i, arg in enumerate(extra)
                   if arg == "--checkpoint"]
        page = page_verifier.verify(path.read_bytes(), [self.vkey], trusted)
        assert page.ok == (kind is None), (kind, position, page)
        if position is not None:
            assert page.position == position, (kind, position, page)
        return kind, position

    def both(self, *extra: str) -> list[tuple[str | None, int | None]]:
        return [self.live(*extra), self.bundle(*extra)]

    @staticmethod
    def _outcome(code: int, output: str) -> tuple[str | None, int | None]:
        if code == 0:
            assert output.startswith("OK"), output
            return None, None
        match = RESULT.search(output)
        assert code == 1 and match, output
        return match.group(1), int(match.group(2)) if match.group(2) else None

    def publish(self, size: int, root: bytes | None = None, origin: str | None = None) -> Path:
        """A checkpoint note as a scrutineer keeps it outside the service."""
        signer = Signer.from_skey((self.tmp / "log.key").read_text().strip())
        body = format_checkpoint_body(Checkpoint(origin or self.service.origin, size,
                                                 root or self.service.merkle.root(size)))
        path = self.tmp / f"checkpoint-{size}-{uuid4().hex[:4]}.note"
        path.write_text(sign_note(body, signer))
        return path

    def close(self) -> None:
        self.service.close()
        self.db.conn.close()


@pytest.fixture
def world(ledger: Ledger, store: str, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[World]:
    w = World(ledger, store, tmp_path, request)
    yield w
    w.close()


def test_an_untouched_ledger_verifies_live_and_from_its_export(world: World):
    assert world.both() == [(None, None), (None, None)]


def test_one_changed_byte_is_altered_at_its_position(world: World):
    state = bytearray(world.db.state(5))
    state[len(state) // 2] ^= 0x20
    world.db.set_state(5, bytes(state))
    assert world.both() == [("altered", 5)] * 2


def test_a_row_deleted_in_the_middle_is_missing(world: World):
    world.db.delete(9)
    assert world.both() == [("missing", 9)] * 2


def test_a_row_deleted_at_the_end_is_missing(world: World):
    world.db.delete(world.head)
    assert world.both() == [("missing", world.head)] * 2


def test_an_inserted_row_is_inserted(world: World):
    world.db.insert_at(7)
    assert world.both() == [("inserted", 7)] * 2


def test_two_swapped_rows_are_reordered(world: World):
    world.db.swap(4, 10)
    assert world.both() == [("reordered", 4)] * 2


def test_truncation_below_a_published_checkpoint_is_truncated(world: World):
    published = world.publish(world.second.size)
    world.db.delete_from(world.second.size - 3)
    expected = ("truncated", world.second.size - 3)
    assert world.both("--checkpoint", str(published)) == [expected] * 2


def test_a_reencoded_but_equal_event_is_altered(world: World):
    state = world.db.state(6)
    reencoded = json.dumps(json.loads(state), indent=1).encode()
    assert json.loads(reencoded) == json.loads(state) and reencoded != state
    world.db.set_state(6, reencoded)
    assert world.both() == [("altered", 6)] * 2


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(world: World):
    fork = world.publish(world.second.size, root=bytes(32))
    assert world.both("--checkpoint", str(fork)) == [("forked", None)] * 2


def test_a_checkpoint_of_another_origin_is_refused(world: World):
    other = world.publish(world.second.size, origin="elsewhere.example/log")
    assert world.both("--checkpoint", str(other)) == [("wrong_key_or_origin", None)] * 2


def test_a_forged_checkpoint_signature_is_refused(world: World):
    note = world.second.note
    sig = note.rsplit(" ", 1)[1].strip()
    forged = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    rows = world.db.run(f"SELECT {world.db.id}, state FROM {world.db.table}")
    for position, state in rows:
        if sig.encode() in bytes(state):
            world.db.set_state(position, bytes(state).replace(sig.encode(), forged.encode()))
    assert world.both() == [("bad_signature", None)] * 2


def test_an_unknown_key_is_refused(world: World):
    world.vkey = Signer.from_skey(generate_signer(world.service.origin)[0]).verifier.vkey
    assert world.both() == [("wrong_key_or_origin", None)] * 2


def test_a_tlog_proof_verifies_offline_and_an_interior_node_as_its_leaf_is_refused(
        world: World):
    proof = world.service.tlog_proof(5)
    good = world.tmp / "event-5.tlog-proof"
    good.write_text(proof)
    code, output = world.cli("verify-proof", str(good), "--public-key", world.vkey)
    assert code == 0 and "position 5" in output, output
    parsed = parse_tlog_proof(proof)
    merkle = world.service.merkle
    node = merkle.leaf(4)[1] + merkle.leaf(5)[1]  # type: ignore[index]
    lines = proof.split("\n")
    lines[1] = "extra " + base64.b64encode(node).decode()
    lines[2] = f"index {parsed.index // 2}"
    bad = world.tmp / "node.tlog-proof"
    bad.write_text("\n".join(lines[:3] + lines[4:]))
    code, output = world.cli("verify-proof", str(bad), "--public-key", world.vkey)
    assert code == 1 and "FAILED" in output, output


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_postgres_refuses_update_and_delete_on_the_events_table(world: World):
    import psycopg

    world.db.conn.execute("SET session_replication_role = origin")
    for statement in (f"UPDATE {world.db.table} SET state = state WHERE notification_id = 1",
                      f"DELETE FROM {world.db.table} WHERE notification_id = 1",
                      f"TRUNCATE {world.db.table}"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            world.db.conn.execute(statement)
