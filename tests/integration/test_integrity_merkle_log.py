"""The Merkle log projection: one leaf per stored event, exactly once, fed by the shared
runner; its stored nodes give the same roots and proofs as a tree built in memory."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.errors import ServiceUnavailable
from api.integrity_service import IntegrityService
from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from ledger_verifier import bundle
from ledger_verifier.proofs import MemoryTree
from ledger_verifier.verifier import leaf_hash
from projections.integrity import export_lines
from projections.merkle_log import NAME, MerkleLog, MerkleLogError, leaf_of
from projections.runner import Runner

OPERATOR = Context(Actor("operator:test", Role.OPERATOR))
MANAGER = Context(Actor("u-manager", Role.SCB_MANAGER))


@pytest.fixture
def merkle(ledger: Ledger, settings: Settings) -> Iterator[MerkleLog]:
    log = MerkleLog(settings, ledger)
    yield log
    log.close()


def add_agencies(ledger: Ledger, n: int) -> None:
    for i in range(n):
        ledger.register_agency(OPERATOR, name=f"Agency {i}", kind="other",
                               statutory_partner=False, partnerships=["SSSCB"])


def memory_tree(ledger: Ledger) -> MemoryTree:
    tree = MemoryTree()
    for row in ledger.iter_notifications():
        tree.append(leaf_hash(leaf_of(row)))
    return tree


def test_stored_nodes_give_the_roots_and_proofs_of_a_tree_built_in_memory(ledger: Ledger,
                                                                           merkle: MerkleLog):
    add_agencies(ledger, 21)
    assert merkle.catch_up() == 21
    tree = memory_tree(ledger)
    for n in range(1, 22):
        assert merkle.root(n) == tree.root(n)
        assert all(merkle.inclusion_proof(i, n) == tree.inclusion_proof(i, n) for i in range(n))
        assert all(merkle.consistency_proof(m, n) == tree.consistency_proof(m, n)
                   for m in range(1, n + 1))


def test_the_log_grows_in_batches_as_events_arrive(ledger: Ledger, merkle: MerkleLog):
    for n in (3, 1, 8):
        add_agencies(ledger, n)
        merkle.catch_up()
    assert merkle.root() == memory_tree(ledger).root()
    assert merkle.leaf_index_of(5) == 4 and merkle.leaf_index_of(99) is None


def test_the_shared_runner_feeds_the_log_with_tracking(ledger: Ledger, merkle: MerkleLog):
    add_agencies(ledger, 7)
    Runner(merkle.side, (NAME,)).catch_up()
    assert (merkle.tree_size(), merkle.position()) == (7, 7)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_writers_racing_apply_each_event_exactly_once(ledger: Ledger, settings: Settings,
                                                          merkle: MerkleLog):
    add_agencies(ledger, 30)
    other = MerkleLog(settings, ledger)
    try:
        threads = [threading.Thread(target=log.catch_up) for log in (merkle, other, merkle)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        other.catch_up()
    finally:
        other.close()
    assert merkle.tree_size() == 30
    assert not merkle.side.states()[NAME].failed
    assert [p for p, _ in merkle.iter_leaves()] == list(range(1, 31))
    assert merkle.root() == memory_tree(ledger).root()


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_changed_last_event_stops_the_log_before_anything_is_signed(
        ledger: Ledger, settings: Settings):
    import sqlite3

    add_agencies(ledger, 4)
    service = IntegrityService(settings.model_copy(update={"store": "sqlite"}), ledger)
    try:
        service.catch_up()
        db = sqlite3.connect(str(ledger.store.path), isolation_level=None)  # type: ignore[attr-defined]
        db.execute("UPDATE stored_events SET state = CAST(state || x'20' AS BLOB) "
                   "WHERE rowid = 4")
        db.close()
        with pytest.raises(MerkleLogError):
            service.merkle.catch_up()
        with pytest.raises(ServiceUnavailable):
            service.make_checkpoint(MANAGER, reason="would sign a changed log")
    finally:
        service.close()


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_log_file_pointed_at_another_event_store_is_rebuilt_not_trusted(
        ledger: Ledger, settings: Settings, tmp_path: Path):
    from domain.ledger import Ledger
    from projections.db import SqliteDb

    add_agencies(ledger, 5)
    shared = tmp_path / "shared.merkle.sqlite3"
    MerkleLog(settings, ledger, db=SqliteDb(shared)).catch_up()
    other = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": str(tmp_path / "other.sqlite3")})
    try:
        add_agencies(other, 2)
        log = MerkleLog(settings, other, db=SqliteDb(shared))
        assert log.catch_up() == 2
        assert log.root() == memory_tree(other).root()
        log.close()
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["postgres"])
def test_a_log_built_again_keeps_its_tables_keys_and_indexes(ledger: Ledger,
                                                            settings: Settings) -> None:
    """Emptying the log's tables for another store drops their indexes (as for a rebuild);
    the log is built again event by event, so they are made again at once."""
    from projections.merkle_log import MerkleReadSide
    from tests.integration.test_projection_rebuild import indexes as indexes_of
    from tests.integration.test_projection_rebuild import keyed as keyed_of

    add_agencies(ledger, 3)
    side = MerkleReadSide(settings, ledger)
    try:
        side.setup(fresh=True)
        tables = {t.name for t in side.views[NAME].projection_class.tables}
        keyed, indexes = keyed_of(side), indexes_of(side)
    finally:
        side.close()
    assert tables <= keyed
    wanted = {i for t in side.views[NAME].projection_class.tables for i in t.index_names()}
    assert wanted <= indexes
    log = MerkleLog(settings, ledger)
    try:
        assert log.catch_up() == 3
        assert log.root() == memory_tree(ledger).root()
    finally:
        log.close()


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["postgres"])
def test_positions_with_gaps_give_gapless_leaf_indexes(ledger: Ledger, settings: Settings,
                                                       pg_env: dict[str, dict[str, str]]):
    import psycopg

    add_agencies(ledger, 3)
    lib = pg_env["library"]
    with psycopg.connect(host=lib["POSTGRES_HOST"], port=lib["POSTGRES_PORT"],
                         dbname=lib["POSTGRES_DBNAME"], user=lib["POSTGRES_USER"],
                         password=lib["POSTGRES_PASSWORD"]) as conn:
        conn.execute(f'INSERT INTO "{lib["POSTGRES_SCHEMA"]}".ledger_events '
                     "(originator_id, originator_version, topic, state) "
                     "VALUES (gen_random_uuid(), 1, 't', '')")
        conn.rollback()  # the sequence moved on: position 4 will never exist
    add_agencies(ledger, 2)
    service = IntegrityService(settings, ledger)
    try:
        service.make_checkpoint(MANAGER, reason="gaps")
        assert [p for p, _ in service.merkle.iter_leaves()][:5] == [1, 2, 3, 5, 6]
        verdict = bundle.verify_bundle(io.BytesIO(b"".join(service.export_lines())),
                                       [service.verifier])
        assert verdict.ok, verdict.report()
    finally:
        service.close()


def test_export_of_an_empty_log_never_verifies(ledger: Ledger, merkle: MerkleLog):
    data = b"".join(export_lines(ledger, merkle, None, "x.example/log", _vkey("x.example/log")))
    verdict = bundle.verify_bundle(io.BytesIO(data), bundle.load_keys([_vkey("x.example/log")]))
    assert (verdict.ok, verdict.kind) == (False, bundle.Kind.EMPTY)


_KEYS: dict[str, str] = {}


def _vkey(origin: str) -> str:
    from ledger_verifier.verifier import generate_signer

    return _KEYS.setdefault(origin, generate_signer(origin)[1])
