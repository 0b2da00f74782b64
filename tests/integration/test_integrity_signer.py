"""The signer cannot be talked into a fork: its own record of the last checkpoint it signed,
beside the key and outside the database, refuses a rewritten history even when the ledger's
record of its checkpoints and the Merkle log are gone too. Checkpoints cover themselves (the
CLI checkpoint's own event is in the Merkle log and its deletion is detected), and
`ledger checkpoint` tells the operator the truth: first bad position, no traceback."""

from __future__ import annotations

import json

import pytest

from api.signer_state import state_path
from tests.integration import test_integrity_tamper as tamper
from tests.integration.test_integrity_tamper import World

store, world = tamper.store, tamper.world  # the tamper tests' ledger, on both stores

INTEGRITY_LOG = "domain.checkpoint:IntegrityLog%"


def integrity_log_positions(world: World) -> list[int]:
    db = world.db
    return [int(row[0]) for row in db.run(
        f"SELECT {db.id} FROM {db.table} WHERE topic LIKE ? ORDER BY {db.id}",
        (INTEGRITY_LOG,))]


def renumber(world: World) -> None:
    """Close the gaps: positions 1..n again, as a forger who wants no hole would."""
    db = world.db
    positions = [int(r[0]) for r in db.run(f"SELECT {db.id} FROM {db.table} ORDER BY {db.id}")]
    for new, old in enumerate(positions, start=1):
        if new != old:
            db.move(old, new)


def forget_the_merkle_log(world: World) -> None:
    """Drop the Merkle tables (PostgreSQL) or delete the Merkle file (SQLite)."""
    world.service.close()
    world.service.merkle.close()
    if world.db.store == "postgres":
        for table in ("view_merkle_leaves", "view_merkle_nodes", "view_merkle_meta"):
            world.db.run(f"DROP TABLE IF EXISTS {table}")
        world.db.run("DELETE FROM view_tracking WHERE view_name = 'merkle_log'")
    else:
        merkle = world.tmp / "ledger.merkle.sqlite3"
        assert merkle.exists()
        merkle.unlink()


def cli(world: World, *args: str) -> tuple[int, str]:
    """The command's exit code and output, its lines unwrapped."""
    code, output = world.cli(*args)
    return code, " ".join(output.split())


def signed_state(world: World) -> dict:
    return json.loads(state_path(world.tmp / "log.key").read_text())


def test_the_signer_records_what_it_signed_beside_the_key(world: World):
    state = signed_state(world)
    assert (state["origin"], state["size"]) == (world.service.origin, world.second.size)
    assert state["note"] == world.second.note
    assert state_path(world.tmp / "log.key").stat().st_mode & 0o777 == 0o600


def test_a_forged_history_with_the_checkpoints_and_merkle_log_gone_is_never_signed(
        world: World):
    state = bytearray(world.db.state(5))
    state[len(state) // 2] ^= 0x20
    world.db.set_state(5, bytes(state))
    for position in integrity_log_positions(world):
        world.db.delete(position)
    renumber(world)
    forget_the_merkle_log(world)
    key = (world.tmp / "log.key").read_text()

    code, output = cli(world, "init")
    assert code == 1, output
    assert "refusing to sign" in output and "not an extension" in output, output
    assert f"size {world.second.size}, root {world.second.root_hash}" in output, output
    assert "rotate-key" in output
    code, output = cli(world, "checkpoint", "--reason", "x")
    assert code == 1 and "Traceback" not in output, output
    assert "refusing to sign" in output and f"size {world.second.size}" in output, output
    assert (world.tmp / "log.key").read_text() == key
    assert signed_state(world)["size"] == world.second.size
    assert not integrity_log_positions(world)  # nothing was signed, nothing recorded


@pytest.mark.parametrize("merkle", ["kept", "gone"])
def test_truncation_below_a_signed_size_is_never_signed(world: World, merkle: str):
    cut = world.second.size - 3
    world.db.delete_from(cut)
    if merkle == "gone":
        forget_the_merkle_log(world)
    code, output = cli(world, "checkpoint", "--reason", "after the cut")
    assert code in (1, 2) and "Traceback" not in output, output
    if merkle == "gone":
        assert code == 1, output
        assert f"smaller than the checkpoint this key last signed (origin " \
               f"{world.service.origin}, size {world.second.size}" in output, output
    else:  # the Merkle log's last leaf is gone: it is not extended, nothing is signed
        assert "is gone" in output and "verify --live" in output, output
    assert signed_state(world)["size"] == world.second.size


def test_an_alteration_since_the_last_checkpoint_is_refused_with_its_position(world: World):
    position = world.head - 2  # after the second checkpoint, already in the Merkle log
    state = bytearray(world.db.state(position))
    state[len(state) // 2] ^= 0x20
    world.db.set_state(position, bytes(state))
    code, output = cli(world, "checkpoint", "--reason", "x")
    assert code == 1, output
    assert f"first bad position {position}" in output, output
    assert f"log {world.service.origin}, size {world.second.size}" in output, output


def test_the_cli_checkpoint_covers_itself_and_its_deletion_is_detected(world: World):
    code, output = cli(world, "checkpoint", "--reason", "from the shell")
    assert code == 0, output
    own = integrity_log_positions(world)[-1]
    assert own == world.ledger.head_position()
    leaf = world.service.merkle.leaf_index_of(own)
    assert leaf is not None  # its own event is a leaf before any next checkpoint
    path = world.tmp / "with-own.sglb"
    assert cli(world, "export", str(path))[0] == 0
    assert any(line.endswith(f" {own} ".encode()) or f" {own} ".encode() in line
               for line in path.read_bytes().splitlines() if line.startswith(b"e "))
    world.db.delete(own)
    assert world.both() == [("missing", own)] * 2
    code, output = cli(world, "checkpoint", "--reason", "next")
    assert code in (1, 2) and "Traceback" not in output and str(own) in output, output


def test_a_new_origin_is_started_deliberately_after_a_rebuild(world: World):
    for position in integrity_log_positions(world):
        world.db.delete(position)
    renumber(world)
    forget_the_merkle_log(world)
    new_key = world.tmp / "rebuilt.key"
    code, output = cli(world, "rotate-key", "rebuilt.example/log", "--new-key", str(new_key),
                             "--reason", "restored from a backup that lost events",
                             "--rebuilt")
    assert code == 0, output
    assert f"size {world.second.size}" in output  # what the old key signed, to publish
    world.env.update({"LEDGER_INTEGRITY_ORIGIN": "rebuilt.example/log",
                      "LEDGER_INTEGRITY_KEY_PATH": str(new_key)})
    code, output = cli(world, "checkpoint", "--reason", "the new origin's first")
    assert code == 0, output
    assert output.startswith("rebuilt.example/log ")


def test_with_no_checkpoint_left_a_difference_does_not_name_a_checkpoint_of_size_0(
        world: World):
    positions = integrity_log_positions(world)
    for position in positions:
        world.db.delete(position)
    code, output = cli(world, "verify", "--live", "--public-key", world.vkey)
    assert code == 1, output
    assert f"FAILED (missing) at position {positions[0]}" in output, output
    assert "size 0" not in output and "no signed checkpoint covering it" in output, output


def test_a_gap_without_hints_is_not_reported_after_the_last_event(world: World):
    """Without the service's leaf hashes, events gone between two checkpoints cannot be
    placed: the verdict says how many at least, names the checkpoint, and does not claim that
    the events after the last one present are the missing ones."""
    path = world.tmp / "export.sglb"
    assert cli(world, "export", str(path))[0] == 0
    lines = path.read_bytes().splitlines(keepends=True)
    events = [line.split(b" ")[0] + b" " + line.split(b" ")[1].rstrip(b"\n") + b"\n"
              for line in lines if line.startswith(b"e ")]
    # Events between the two checkpoints, enough that fewer remain than the second covers.
    n = len(events) - world.second.size + 2
    gone = events[world.first.size + 1:world.first.size + 1 + n]
    assert world.first.size + 1 + n < world.second.size
    kept = [e for e in events if e not in gone]
    checkpoints = [line for line in lines if line.startswith(b"c ")]
    trailer = json.dumps({"checkpoints": len(checkpoints), "events": len(kept),
                          "extra_leaves": 0}, sort_keys=True)
    path.write_bytes(b"".join(lines[:2] + checkpoints + kept) + f"t {trailer}\n".encode())
    code, output = cli(world, "verify", str(path), "--public-key", world.vkey)
    assert code == 1, output
    assert "FAILED (truncated)" in output, output
    assert (f"fewer than the bundle checkpoint (origin {world.service.origin}, size "
            in output), output
    assert f"at least {world.second.size - (len(events) - n)} of the events it covers are " \
           "gone" in output, output
    assert "events after position" not in output
