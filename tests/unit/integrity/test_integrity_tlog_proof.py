"""C2SP tlog-proof: format, parse, verify; every tampering is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ledger_verifier import proofs
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    TLOG_PROOF_HEADER,
    IntegrityError,
    ProofError,
    Signer,
    TlogProof,
    Verifier,
    cosign_checkpoint,
    format_tlog_proof,
    generate_signer,
    leaf_hash,
    parse_tlog_proof,
    sign_note,
    verify_tlog_proof,
)

# The example from c2sp.org/tlog-proof (signatures elided there, so parse only).
SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u2014 example.com/fancylog hI2DJw[...]1roloI=
"""


def test_parse_spec_example() -> None:
    parsed = parse_tlog_proof(SPEC_EXAMPLE)
    assert parsed.index == 73894 and len(parsed.proof) == 5
    assert parsed.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert parsed.checkpoint_note.startswith("example.com/fancylog\n109482\n")
    assert (
        format_tlog_proof(parsed.index, parsed.proof, parsed.checkpoint_note, parsed.extra)
        == SPEC_EXAMPLE
    )


@pytest.fixture(scope="module")
def log(serverless_log: dict[str, Any]) -> dict[str, Any]:
    tree = proofs.MemoryTree()
    for d in serverless_log["leaves"]:
        tree.append(leaf_hash(d))
    return {**serverless_log, "tree": tree, "verifier": Verifier.from_vkey(serverless_log["vkey"])}


def _proof(log: dict[str, Any], index: int, size: int, with_extra: bool = True) -> str:
    extra = log["leaves"][index] if with_extra else None
    return format_tlog_proof(
        index, log["tree"].inclusion_proof(index, size), log["checkpoints"][size], extra
    )


def test_every_serverless_entry_round_trips_and_verifies(log: dict[str, Any]) -> None:
    for size in range(1, 16):
        for index in range(size):
            text = _proof(log, index, size)
            assert text.startswith(f"{TLOG_PROOF_HEADER}\nextra ")
            parsed = parse_tlog_proof(text)
            assert parsed == TlogProof(
                index,
                tuple(log["tree"].inclusion_proof(index, size)),
                log["checkpoints"][size],
                log["leaves"][index],
            )
            cp = verify_tlog_proof(text, None, [log["verifier"]], origin=log["origin"])
            assert (cp.size, cp.root_hash) == (size, log["tree"].root(size))
            assert verify_tlog_proof(text, log["leaves"][index], [log["verifier"]]) == cp
            bare = _proof(log, index, size, with_extra=False)
            assert "extra" not in bare
            assert verify_tlog_proof(bare, log["leaves"][index], [log["verifier"]]) == cp


def test_proof_for_leaf_zero_of_one_has_no_hash_lines(log: dict[str, Any]) -> None:
    text = _proof(log, 0, 1, with_extra=False)
    assert text == f"{TLOG_PROOF_HEADER}\nindex 0\n\n" + log["checkpoints"][1]
    verify_tlog_proof(text, b"one", [log["verifier"]])


def _tamperings(log: dict[str, Any]) -> dict[str, tuple[str, bytes | None]]:
    index, size = 5, 11
    good = _proof(log, index, size)
    lines = good.split("\n")  # 0 header, 1 extra, 2 index, 3..6 hashes, 7 blank, then checkpoint
    assert lines[2] == "index 5" and lines[7] == ""

    def replace(i: int, value: str) -> str:
        return "\n".join(lines[:i] + [value] + lines[i + 1 :])

    other_extra = "extra " + base64.b64encode(b"seven").decode()
    flipped = base64.b64encode(
        bytes([base64.b64decode(lines[4])[0] ^ 1]) + base64.b64decode(lines[4])[1:]
    ).decode()
    witness = Signer.from_skey(generate_signer("w.example", COSIGNATURE_V1)[0])
    stranger = Signer.from_skey(generate_signer("astra")[0])  # same name, other key
    body = log["checkpoints"][size].split("\n\n")[0] + "\n"
    return {
        "wrong header": (replace(0, "c2sp.org/tlog-proof@v2"), None),
        "other extra": (replace(1, other_extra), None),
        "extra disagrees with leaf": (good, b"seven"),
        "wrong leaf, no extra": (_proof(log, index, size, with_extra=False), b"seven"),
        "no leaf at all": (_proof(log, index, size, with_extra=False), None),
        "index + 1": (replace(2, "index 6"), None),
        "index - 1": (replace(2, "index 4"), None),
        "index leading zero": (replace(2, "index 05"), None),
        "index negative": (replace(2, "index -5"), None),
        "index missing": ("\n".join(lines[:2] + lines[3:]), None),
        "index beyond size": (format_tlog_proof(11, [], log["checkpoints"][size]), b"x"),
        "hash bit flipped": (replace(4, flipped), None),
        "hash dropped": ("\n".join(lines[:4] + lines[5:]), None),
        "hash duplicated": ("\n".join(lines[:4] + [lines[4]] + lines[4:]), None),
        "hash not base64": (replace(4, lines[4][:-2] + "!="), None),
        "hash truncated": (
            replace(4, base64.b64encode(base64.b64decode(lines[4])[:31]).decode()),
            None,
        ),
        "no blank line": ("\n".join(lines[:7] + lines[8:]), None),
        "checkpoint of another size": ("\n".join(lines[:8]) + "\n" + log["checkpoints"][12], None),
        "checkpoint body tampered": (good.replace("\n11\n", "\n12\n"), None),
        "checkpoint signed by unknown key": (
            "\n".join(lines[:8]) + "\n" + sign_note(body, stranger),
            None,
        ),
        "checkpoint only cosigned": (
            "\n".join(lines[:8]) + "\n" + body + "\n" + cosign_checkpoint(body, witness, 1),
            None,
        ),
        "CRLF line endings": (good.replace("\n", "\r\n"), None),
        "trailing garbage": (good + "garbage\n", None),
        "empty": ("", None),
    }


def test_every_tampering_is_refused(log: dict[str, Any]) -> None:
    good = _proof(log, 5, 11)
    verify_tlog_proof(good, None, [log["verifier"]])
    tamperings = _tamperings(log)
    assert len(tamperings) == 24
    for what, (text, leaf) in tamperings.items():
        with pytest.raises(IntegrityError):
            verify_tlog_proof(text, leaf, [log["verifier"]])
            pytest.fail(f"accepted: {what}")  # not an IntegrityError, so it propagates


def test_format_refuses_unrepresentable_fields(log: dict[str, Any]) -> None:
    note = log["checkpoints"][3]
    with pytest.raises(ProofError):
        format_tlog_proof(-1, [], note)
    with pytest.raises(ProofError):
        format_tlog_proof(0, [bytes(31)], note)


def test_min_cosignatures_policy(log: dict[str, Any]) -> None:
    witness = Signer.from_skey(generate_signer("w.example", COSIGNATURE_V1)[0])
    size, index = 9, 2
    body = log["checkpoints"][size].split("\n\n")[0] + "\n"
    cosigned = log["checkpoints"][size] + cosign_checkpoint(body, witness, 1_750_000_000)
    text = format_tlog_proof(
        index, log["tree"].inclusion_proof(index, size), cosigned, log["leaves"][index]
    )
    trusted = [log["verifier"], witness.verifier]
    assert verify_tlog_proof(text, None, trusted, min_cosignatures=1).size == size
    with pytest.raises(IntegrityError):
        verify_tlog_proof(text, None, trusted, min_cosignatures=2)
    with pytest.raises(IntegrityError):
        verify_tlog_proof(text, None, [log["verifier"]], min_cosignatures=1)


def test_extra_must_match_the_expected_leaf(log: dict[str, Any]) -> None:
    """An inconsistent document is refused even when the caller's leaf is in the log."""
    index, size = 4, 9
    proof = log["tree"].inclusion_proof(index, size)
    text = format_tlog_proof(index, proof, log["checkpoints"][size], b"not the leaf")
    with pytest.raises(ProofError, match="extra"):
        verify_tlog_proof(text, log["leaves"][index], [log["verifier"]])
