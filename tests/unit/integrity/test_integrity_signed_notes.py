"""C2SP signed-note, tlog-checkpoint and cosignature/v1 against published vectors."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ledger_verifier import proofs
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CheckpointError,
    NoteError,
    ProofError,
    Signer,
    Verifier,
    compute_key_id,
    cosign_checkpoint,
    format_checkpoint_body,
    generate_signer,
    leaf_hash,
    open_checkpoint,
    open_note,
    parse_checkpoint_body,
    sign_note,
    verify_consistency,
    verify_cosignature,
    verify_inclusion,
)

NOTES = "extracted/signed_note_vectors.json"


@pytest.fixture(scope="module")
def cases(load_json: Callable[[str], Any]) -> list[dict[str, Any]]:
    return load_json(NOTES)["cases"]


def _case(cases: list[dict[str, Any]], source_prefix: str) -> dict[str, Any]:
    return next(c for c in cases if c["source"].startswith(source_prefix))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------- keys


def test_every_vkey_in_the_vectors_parses_and_round_trips(cases: list[dict[str, Any]]) -> None:
    vkeys = [c["vkey"] for c in cases if "vkey" in c]
    vkeys += [
        c["vkey_derived_from_trusted_root"] for c in cases if "vkey_derived_from_trusted_root" in c
    ]
    vkeys += [w for c in cases for w in c.get("witness_vkeys", [])]
    assert len(vkeys) >= 9
    for vkey in vkeys:
        v = Verifier.from_vkey(vkey)
        assert v.vkey == vkey
        assert v.key_id == compute_key_id(v.name, v.key_type, v.public_key)


def test_skeys_match_their_vkeys(cases: list[dict[str, Any]]) -> None:
    with_skey = [c for c in cases if "skey" in c]
    assert len(with_skey) == 2
    for case in with_skey:
        signer = Signer.from_skey(case["skey"])
        assert signer.verifier.vkey == case["vkey"]
        assert signer.skey == case["skey"]
        assert case["skey"] not in repr(signer)


def _vkey(name: str, key_type: int, key: bytes, key_id_hex: str | None = None) -> str:
    """Encode a vkey, with the correct key ID unless one is given."""
    key_id_hex = key_id_hex or compute_key_id(name, key_type, key).hex()
    return f"{name}+{key_id_hex}+{_b64(bytes([key_type]) + key)}"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda v: _vkey(v.name, 1, v.public_key, "00000000"), id="wrong-key-id"),
        pytest.param(
            lambda v: _vkey(v.name, 1, v.public_key, v.key_id.hex().upper()), id="uppercase-id"
        ),
        pytest.param(lambda v: _vkey(v.name, 2, v.public_key), id="ecdsa-type-byte"),
        pytest.param(lambda v: _vkey(v.name, 0xFF, v.public_key), id="unknown-type-byte"),
        pytest.param(lambda v: _vkey(v.name, 1, v.public_key[:31]), id="short-key"),
        pytest.param(lambda v: _vkey(v.name, 1, v.public_key + b"\0"), id="long-key"),
        pytest.param(lambda v: _vkey("bad name", 1, v.public_key), id="space-in-name"),
        pytest.param(lambda v: _vkey("bad\u00a0name", 1, v.public_key), id="nbsp-in-name"),
        pytest.param(lambda v: _vkey("", 1, v.public_key), id="empty-name"),
        pytest.param(lambda v: v.vkey + "=", id="bad-base64"),
        pytest.param(lambda v: "a+" + v.vkey, id="plus-in-name"),
        pytest.param(lambda v: v.vkey.replace("+", "+0", 1), id="nine-hex-digits"),
    ],
)
def test_bad_vkeys_are_refused(
    cases: list[dict[str, Any]], mutate: Callable[[Verifier], str]
) -> None:
    good = Verifier.from_vkey(_case(cases, "golang/mod sumdb/note/note_test.go TestSign")["vkey"])
    with pytest.raises(NoteError):
        Verifier.from_vkey(mutate(good))


def test_skey_with_wrong_key_id_is_refused(cases: list[dict[str, Any]]) -> None:
    skey = _case(cases, "golang/mod sumdb/note/note_test.go TestSign")["skey"]
    with pytest.raises(NoteError):
        Signer.from_skey(skey.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(NoteError):
        Signer.from_skey(skey.replace("PRIVATE+KEY", "PUBLIC+KEY"))


@pytest.mark.parametrize("key_type", [ED25519, COSIGNATURE_V1])
def test_generate_signer_round_trip(key_type: int) -> None:
    skey, vkey = generate_signer("ledger.example/log", key_type)
    signer = Signer.from_skey(skey)
    assert signer.key_type == key_type and signer.verifier.vkey == vkey
    assert Verifier.from_vkey(vkey).key_type == key_type
    with pytest.raises(NoteError):
        generate_signer("has space", key_type)


# ------------------------------------------------------------------ signed notes


def test_c2sp_example_note(cases: list[dict[str, Any]]) -> None:
    case = _case(cases, "C2SP/C2SP signed-note.md")
    note = open_note(case["note"], [Verifier.from_vkey(case["vkey"])])
    assert note.text == "This is an example message.\n"
    assert [(s.name, s.verified) for s in note.signatures] == [("example.com/foo", True)]


def test_peter_neumann_note_verifies_and_resigns_byte_for_byte(cases: list[dict[str, Any]]) -> None:
    case = _case(cases, "golang/mod sumdb/note/note_test.go TestSign")
    note = open_note(case["note"], [Verifier.from_vkey(case["vkey"])])
    assert sign_note(note.text, Signer.from_skey(case["skey"])) == case["note"]
    assert open_note(case["note"].encode(), [Verifier.from_vkey(case["vkey"])]) == note


def test_two_signature_note_each_key_alone_and_neither(cases: list[dict[str, Any]]) -> None:
    enoch = next(c for c in cases if c.get("vkey", "").startswith("EnochRoot"))
    peter = Verifier.from_vkey(_case(cases, "golang/mod sumdb/note/note_test.go TestSign")["vkey"])
    note_text = enoch["note"]
    by_enoch = open_note(note_text, [Verifier.from_vkey(enoch["vkey"])])
    assert [(s.name, s.verified) for s in by_enoch.signatures] == [
        ("PeterNeumann", False),
        ("EnochRoot", True),
    ]
    by_peter = open_note(note_text, [peter])
    assert [(s.name, s.verified) for s in by_peter.signatures] == [
        ("PeterNeumann", True),
        ("EnochRoot", False),
    ]
    assert by_enoch.text == by_peter.text
    with pytest.raises(NoteError, match="no verifiable"):
        open_note(note_text, [])
    stranger = Verifier.from_vkey(generate_signer("Stranger")[1])
    with pytest.raises(NoteError, match="no verifiable"):
        open_note(note_text, [stranger])


def test_every_malformed_note_is_refused(cases: list[dict[str, Any]]) -> None:
    case = next(c for c in cases if "malformed" in c)
    verifier = Verifier.from_vkey(case["vkey"])
    assert len(case["malformed"]) == 6
    for bad in case["malformed"]:
        with pytest.raises(NoteError):
            open_note(bad, [verifier])
    good = _case(cases, "golang/mod sumdb/note/note_test.go TestSign")["note"]
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff" + good.encode(), [verifier])


def test_tampered_note_is_refused(cases: list[dict[str, Any]]) -> None:
    case = _case(cases, "golang/mod sumdb/note/note_test.go TestSign")
    verifier = Verifier.from_vkey(case["vkey"])
    for tampered in (
        case["note"].replace("cryptography", "Cryptography"),
        case["note"].replace("is.\n\n", "is!\n\n"),
        "Extra line.\n" + case["note"],
        case["note"].replace("x08go", "x08gp"),  # key ID changed: now an unknown key
        case["note"].replace("x08go/ZJ", "x08go/ZK"),  # first signature byte changed
    ):
        assert tampered != case["note"]
        with pytest.raises(NoteError):
            open_note(tampered, [verifier])


def test_signature_limits_and_unknown_lookalikes(cases: list[dict[str, Any]]) -> None:
    case = _case(cases, "golang/mod sumdb/note/note_test.go TestSign")
    verifier = Verifier.from_vkey(case["vkey"])
    good_line = case["note"].split("\n\n")[-1]
    # Same name, other key ID (and vice versa): unknown keys, ignored.
    sig = base64.b64decode(good_line.split(" ")[-1])
    other_id = f"\u2014 PeterNeumann {_b64(b'XXXX' + sig[4:])}\n"
    other_name = f"\u2014 PeterNeumann2 {_b64(sig)}\n"
    filler = "".join(f"\u2014 w{i} {_b64(bytes(68))}\n" for i in range(97))
    note = open_note(case["note"] + other_id + other_name + filler, [verifier])
    assert sum(s.verified for s in note.signatures) == 1 and len(note.signatures) == 100
    with pytest.raises(NoteError, match="too many"):
        open_note(case["note"] + other_id + other_name + filler + other_id, [verifier])
    with pytest.raises(NoteError, match="does not verify"):  # a failing known key rejects the note
        open_note(case["note"] + good_line.replace("x08go/ZJ", "x08go/ZK"), [verifier])


def test_sign_note_refuses_bad_text() -> None:
    signer = Signer.from_skey(generate_signer("k")[0])
    for bad in ("", "no newline", "tab\there\n"):
        with pytest.raises(NoteError):
            sign_note(bad, signer)
    text = "line one\n\nline three after a blank line\n"
    assert open_note(sign_note(text, signer), [signer.verifier]).text == text


# ------------------------------------------------------------------ checkpoints


def test_go_sum_tree_body(cases: list[dict[str, Any]]) -> None:
    case = next(c for c in cases if "text" in c)
    cp = parse_checkpoint_body(case["text"])
    assert cp == Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert format_checkpoint_body(cp) == case["text"]


ROOT = _b64(bytes(range(32)))


@pytest.mark.parametrize(
    "body",
    [
        f"\n1\n{ROOT}\n",
        f"o\n01\n{ROOT}\n",
        f"o\n+1\n{ROOT}\n",
        f"o\n 1\n{ROOT}\n",
        f"o\n1.0\n{ROOT}\n",
        f"o\n\u0661\n{ROOT}\n",
        f"o\n{2**64}\n{ROOT}\n",
        f"o\n1\n{_b64(bytes(31))}\n",
        f"o\n1\n{ROOT[:-1]}\n",
        f"o\n1\n{ROOT[:-2]}B=\n",
        f"o\n1\n{ROOT}",
        f"o\n1\n{ROOT}\n\next\n",
        f"o\n1\n{ROOT}\next\r\n",
        "o\n1\n",
        "",
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


def test_checkpoint_format_round_trip_and_refusals() -> None:
    cp = Checkpoint("ledger.example/log", 0, bytes(32), ["ext one", "ext two"])
    assert parse_checkpoint_body(format_checkpoint_body(cp)) == cp
    for bad in (
        Checkpoint("", 1, bytes(32)),
        Checkpoint("a\nb", 1, bytes(32)),
        Checkpoint("o", -1, bytes(32)),
        Checkpoint("o", 1, bytes(31)),
        Checkpoint("o", 1, bytes(32), [""]),
    ):
        with pytest.raises(CheckpointError):
            format_checkpoint_body(bad)


# ------------------------------------------------------------- serverless log


@pytest.mark.parametrize("size", range(16))
def test_serverless_checkpoint(serverless_log: dict[str, Any], size: int) -> None:
    text = serverless_log["checkpoints"][size]
    cp, note = open_checkpoint(
        text, [Verifier.from_vkey(serverless_log["vkey"])], origin=serverless_log["origin"]
    )
    assert cp.size == size and cp.extensions == ()
    assert cp.root_hash == proofs.root_from_leaf_hashes(
        leaf_hash(d) for d in serverless_log["leaves"][:size]
    )
    assert format_checkpoint_body(cp) == note.text
    assert sign_note(note.text, Signer.from_skey(serverless_log["skey"])) == text


def test_serverless_all_proofs(serverless_log: dict[str, Any]) -> None:
    leaves = serverless_log["leaves"]
    assert (
        len(leaves) == 15
        and leaves[0] == b"one"
        and serverless_log["latest"] == serverless_log["checkpoints"][15]
    )
    verifier = Verifier.from_vkey(serverless_log["vkey"])
    roots = {
        n: open_checkpoint(t, [verifier])[0].root_hash
        for n, t in serverless_log["checkpoints"].items()
    }
    tree = proofs.MemoryTree()
    for d in leaves:
        tree.append(leaf_hash(d))
    checked = 0
    for n in range(1, 16):
        for i in range(n):
            verify_inclusion(i, n, leaf_hash(leaves[i]), tree.inclusion_proof(i, n), roots[n])
        for m in range(1, n + 1):
            verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))
            checked += 1
    assert checked == 120


def test_open_checkpoint_policies(serverless_log: dict[str, Any]) -> None:
    text = serverless_log["checkpoints"][3]
    verifier = Verifier.from_vkey(serverless_log["vkey"])
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(text, [verifier], origin="example.com/other")
    with pytest.raises(NoteError, match="cosignatures"):
        open_checkpoint(text, [verifier], min_cosignatures=1)
    # A witness cosignature alone is not a log signature.
    witness = Signer.from_skey(generate_signer("w.example", COSIGNATURE_V1)[0])
    body = text.split("\n\n")[0] + "\n"
    witness_only = body + "\n" + cosign_checkpoint(body, witness, 1700000000)
    with pytest.raises(NoteError, match="log key"):
        open_checkpoint(witness_only, [verifier, witness.verifier])


# ---------------------------------------------------------------- cosignatures


def test_cosign_round_trip_and_tamper(serverless_log: dict[str, Any]) -> None:
    log_verifier = Verifier.from_vkey(serverless_log["vkey"])
    text = serverless_log["checkpoints"][7]
    body = text.split("\n\n")[0] + "\n"
    witnesses = [
        Signer.from_skey(generate_signer(f"w{i}.example", COSIGNATURE_V1)[0]) for i in range(2)
    ]
    lines = [cosign_checkpoint(body, w, 1_700_000_000 + i) for i, w in enumerate(witnesses)]
    assert verify_cosignature(body, lines[0], witnesses[0].verifier) == 1_700_000_000
    with pytest.raises(NoteError):
        verify_cosignature(body, lines[0], witnesses[1].verifier)
    with pytest.raises(NoteError):
        verify_cosignature(body.replace("\n7\n", "\n8\n"), lines[0], witnesses[0].verifier)
    cosigned = text + "".join(lines)
    trusted = [log_verifier] + [w.verifier for w in witnesses]
    cp, note = open_checkpoint(cosigned, trusted, min_cosignatures=2)
    assert cp.size == 7
    assert [s.timestamp for s in note.signatures] == [None, 1_700_000_000, 1_700_000_001]
    prefix, _, value = lines[1].rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(value))
    raw[11] ^= 1  # last byte of the big-endian timestamp (after the 4-byte key ID)
    with pytest.raises(NoteError):  # the timestamp is covered by the signature
        open_note(text + lines[0] + f"{prefix} {_b64(bytes(raw))}\n", trusted)
    with pytest.raises(ValueError):
        cosign_checkpoint(body, Signer.from_skey(serverless_log["skey"]), 1)
    with pytest.raises(ValueError):
        sign_note(body, witnesses[0])
    with pytest.raises(ValueError):
        cosign_checkpoint(body, witnesses[0], 2**63)


# ------------------------------------------------------------------ Rekor v2


@pytest.fixture(scope="module")
def rekor(load_json: Callable[[str], Any]) -> dict[str, Any]:
    bundle = load_json("sigstore-rekor-v2/bundle.sigstore.json")
    trusted_root = load_json("sigstore-rekor-v2/trusted_root.json")
    return {
        "entry": bundle["verificationMaterial"]["tlogEntries"][0],
        "tlogs": trusted_root["tlogs"],
    }


def test_rekor_v2_inclusion_checkpoint_and_witnesses(
    rekor: dict[str, Any], cases: list[dict[str, Any]]
) -> None:
    entry = rekor["entry"]
    proof = entry["inclusionProof"]
    index, size = int(proof["logIndex"]), int(proof["treeSize"])
    assert (index, size) == (4026478, 4026479) and int(entry["logIndex"]) == index
    root = base64.b64decode(proof["rootHash"])
    leaf = leaf_hash(base64.b64decode(entry["canonicalizedBody"]))
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_inclusion(index, size, leaf, hashes, root)

    # Log key: PKIX Ed25519 key from the trusted root, named after the checkpoint origin.
    tlog = next(
        t for t in rekor["tlogs"] if t["baseUrl"] == "https://log2025-alpha3.rekor.sigstage.dev"
    )
    pub = load_der_public_key(base64.b64decode(tlog["publicKey"]["rawBytes"])).public_bytes_raw()
    log_key = Verifier.from_public_key("log2025-alpha3.rekor.sigstage.dev", pub)
    case = next(c for c in cases if "witness_vkeys" in c)
    assert log_key.vkey == case["vkey_derived_from_trusted_root"]

    envelope = proof["checkpoint"]["envelope"]
    assert envelope == case["note"]
    witnesses = [Verifier.from_vkey(v) for v in case["witness_vkeys"]]
    cp, note = open_checkpoint(
        envelope, [log_key, *witnesses], origin=log_key.name, min_cosignatures=3
    )
    assert (cp.size, cp.root_hash) == (size, root)
    assert [s.verified for s in note.signatures] == [True, True, True, True]
    assert {s.timestamp for s in note.signatures[1:]} == {1778700214}
    for line in envelope.split("\n\n")[1].splitlines()[1:]:
        witness = next(w for w in witnesses if line.split(" ")[1] == w.name)
        assert verify_cosignature(note.text, line, witness) == 1778700214
    # The log signature alone is enough to open it; a wrong leaf is not included.
    open_checkpoint(envelope, [log_key])
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"other"), hashes, root)
