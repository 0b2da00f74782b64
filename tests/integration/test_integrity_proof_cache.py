"""The Merkle log's node table is a cache of hashes the events determine: `ledger verify
--live` recomputes every node from the events and compares, `ledger merkle-rebuild` makes
the table again from the events, and (tests/api/test_api_integrity_proof_cache.py) a proof
over a corrupt node is never served."""

from __future__ import annotations

import pytest

from projections.merkle_log import MerkleLog
from tests.integration import test_integrity_tamper as tamper
from tests.integration.test_integrity_tamper import World

store, world = tamper.store, tamper.world  # the tamper tests' ledger, on both stores


def corrupt(merkle: MerkleLog, level: int, index: int) -> bytes:
    """Edit one stored interior node, as an administrator could; returns the old hash."""
    with merkle.db.transaction() as tx:
        old = tx.one("SELECT hash FROM {view_merkle_nodes} WHERE level = ? AND node_index = ?",
                     (level, index))
        assert old is not None
        tx.execute("UPDATE {view_merkle_nodes} SET hash = ? WHERE level = ? AND node_index = ?",
                   ("ab" * 32, level, index))
    return bytes.fromhex(old["hash"])


@pytest.mark.parametrize("node", [(1, 3), (3, 1)])
def test_an_edited_interior_node_is_found_by_verify_live_and_rebuilt(
        world: World, node: tuple[int, int]):
    merkle = world.service.merkle
    corrupt(merkle, *node)
    first_leaf = node[1] << node[0]
    position = merkle.leaf(first_leaf)[0]  # type: ignore[index]
    assert world.live() == ("corrupt_node", position)
    code, output = world.cli("verify", "--live", "--public-key", world.vkey)
    assert f"node (level {node[0]}, index {node[1]};" in " ".join(output.split()), output
    assert world.bundle() == (None, None)  # the events are intact: an export verifies

    code, output = world.cli("merkle-rebuild")
    assert code == 0, output
    assert world.live() == (None, None)


def test_merkle_rebuild_refuses_when_an_event_differs_from_its_leaf(world: World):
    state = bytearray(world.db.state(5))
    state[3] ^= 0x01
    world.db.set_state(5, bytes(state))
    code, output = world.cli("merkle-rebuild")
    assert code in (1, 2) and "Traceback" not in output, output
    assert "first bad position 5" in " ".join(output.split()), output
