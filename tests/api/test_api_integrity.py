"""The integrity routes: checkpoints (who may make them), witnesses' cosignatures, proofs a
client checks against signed checkpoints, tlog-proofs, export, and the sign-off checkpoint."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest

from domain.ledger import Ledger
from ledger_verifier import bundle
from ledger_verifier.verifier import (
    COSIGNATURE_V1,
    Signer,
    Verifier,
    cosign_checkpoint,
    generate_signer,
    open_checkpoint,
)
from tests.principals import AS_MANAGER
from tests.scenarios import Scenario


@pytest.fixture
def iapi(api: Any) -> Any:
    """The shared API client (its key file and views are in this test's directory)."""
    return api


def vkey(api: Any) -> str:
    return api.get("auditor", "/integrity/public-key").json()["vkey"]


def checkpoint(api: Any, who: str = "scb_manager", reason: str = "quarterly") -> Any:
    return api.post(who, "/integrity/checkpoints", {"reason": reason})


def test_the_public_key_is_a_note_verifier_key_from_a_private_key_file(iapi: Any,
                                                                       tmp_path: Path):
    body = iapi.get("scrutineer", "/integrity/public-key").json()
    assert Verifier.from_vkey(body["vkey"]).name == body["origin"]
    assert stat.S_IMODE((tmp_path / "log.key").stat().st_mode) == 0o600


def test_a_checkpoint_records_who_asked_and_why_and_verifies(iapi: Any):
    response = checkpoint(iapi, "board_member", "before the Board meeting")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["reason"], body["requested_by"]["role"]) == ("before the Board meeting",
                                                              "board_member")
    cp, _ = open_checkpoint(body["note"], [Verifier.from_vkey(vkey(iapi))])
    assert cp.size == body["size"] >= 1


@pytest.mark.parametrize("who", ["agency_lead", "scrutineer", "auditor"])
def test_only_the_scb_manager_and_board_members_make_checkpoints(iapi: Any, who: str):
    assert checkpoint(iapi, who).status_code == 403


def test_checkpoints_are_listed_and_the_latest_is_served_as_a_note(iapi: Any):
    checkpoint(iapi)
    second = checkpoint(iapi).json()
    listed = iapi.get("auditor", "/integrity/checkpoints").json()["checkpoints"]
    assert [c["size"] for c in listed] == sorted(c["size"] for c in listed)
    assert len(listed) == 2
    response = iapi.client.get("/integrity/checkpoints/latest", headers=iapi.headers(
        "auditor", Accept="text/plain"))
    assert response.text == second["note"]


def test_a_scrutineer_witness_cosigns_and_the_latest_note_carries_it(iapi: Any):
    skey, wkey = generate_signer("scrutineer.example", COSIGNATURE_V1)
    checkpoint(iapi)  # witnesses join a log that exists
    assert iapi.post("scrutineer", "/integrity/witnesses", {"vkey": wkey}).status_code == 201
    cp = checkpoint(iapi).json()
    body = cp["note"][: cp["note"].rfind("\n\n") + 1]
    line = cosign_checkpoint(body, Signer.from_skey(skey), 1_760_000_000)
    response = iapi.post("scrutineer", f"/integrity/checkpoints/{cp['size']}/cosignatures",
                         {"signature": line})
    assert response.status_code == 201, response.text
    latest = iapi.get("auditor", "/integrity/checkpoints/latest").json()
    keys = [Verifier.from_vkey(vkey(iapi)), Verifier.from_vkey(wkey)]
    open_checkpoint(latest["note"], keys, min_cosignatures=1)


def test_a_cosignature_that_does_not_verify_is_refused(iapi: Any):
    skey, wkey = generate_signer("scrutineer.example", COSIGNATURE_V1)
    first = checkpoint(iapi).json()
    iapi.post("scrutineer", "/integrity/witnesses", {"vkey": wkey})
    second = checkpoint(iapi).json()
    body = first["note"][: first["note"].rfind("\n\n") + 1]
    line = cosign_checkpoint(body, Signer.from_skey(skey), 1_760_000_000)
    response = iapi.post("scrutineer", f"/integrity/checkpoints/{second['size']}/cosignatures",
                         {"signature": line})
    assert response.status_code == 422


def test_only_scrutineers_register_witnesses(iapi: Any):
    _, wkey = generate_signer("manager.example", COSIGNATURE_V1)
    checkpoint(iapi)
    assert iapi.post("scb_manager", "/integrity/witnesses", {"vkey": wkey}).status_code == 403


def test_inclusion_and_consistency_answers_check_out_against_signed_checkpoints(iapi: Any):
    old = checkpoint(iapi).json()
    new = checkpoint(iapi).json()
    keys, origin = [Verifier.from_vkey(vkey(iapi))], new["origin"]
    for position in (1, 3, old["size"]):
        answer = iapi.get("auditor", "/integrity/proofs/inclusion", position=position,
                          size=new["size"]).json()
        bundle.verify_inclusion_answer(answer, new["note"], keys, origin)
    answer = iapi.get("auditor", "/integrity/proofs/consistency", **{
        "from": old["size"], "to": new["size"]}).json()
    bundle.verify_consistency_answer(answer, old["note"], new["note"], keys, origin)


def test_a_tlog_proof_is_self_contained_and_refused_beyond_the_latest_checkpoint(iapi: Any):
    cp = checkpoint(iapi).json()
    text = iapi.get("scrutineer", "/integrity/events/2/tlog-proof").text
    result = bundle.verify_proof_text(text, [Verifier.from_vkey(vkey(iapi))])
    assert (result.position, result.checkpoint.size) == (2, cp["size"])
    beyond = iapi.get("scrutineer", f"/integrity/events/{cp['size'] + 1}/tlog-proof")
    assert beyond.status_code == 409


def test_the_export_round_trips_through_the_offline_verifier(iapi: Any):
    checkpoint(iapi)
    response = iapi.get("scrutineer", "/integrity/export")
    assert response.status_code == 200
    verdict = bundle.verify_bundle(io.BytesIO(response.content),
                                   [Verifier.from_vkey(vkey(iapi))])
    assert verdict.ok, verdict.report()


@pytest.mark.parametrize("who, status", [("scrutineer", 200), ("auditor", 200),
                                         ("scb_manager", 403), ("board_member", 403),
                                         ("agency_lead", 403)])
def test_only_the_roles_the_readme_names_may_export(iapi: Any, who: str, status: int):
    response = iapi.get(who, "/integrity/export")
    assert response.status_code == status, response.text


def test_signing_off_a_report_records_the_tree_and_makes_its_checkpoint(iapi: Any):
    review = scrutinised_review(iapi.ledger, iapi.agency_a)
    response = iapi.post("board_member", f"/reviews/{review}/sign-off",
                         {"meeting": "Full Board, 12 March"})
    assert response.status_code == 200, response.text
    signed = response.json()["sign_off"]
    latest = iapi.get("auditor", "/integrity/checkpoints/latest").json()
    assert (latest["size"], latest["root_hash"]) == (signed["checkpoint_size"],
                                                     signed["checkpoint_root"])
    assert "signed off at Full Board, 12 March" in latest["reason"]


def scrutinised_review(ledger: Ledger, agency: Any) -> Any:
    return Scenario(ledger).review([agency], reference="SSSCB-2025-09", to="scrutinised").review_id


def test_a_records_history_comes_with_inclusion_proofs_against_the_latest_checkpoint(iapi: Any):
    cp = checkpoint(iapi).json()
    later = iapi.ledger.rename_agency(AS_MANAGER, iapi.agency_a, name="Staffordshire Police HQ",
                                      reason="renamed")
    body = iapi.get("auditor", f"/integrity/records/{iapi.agency_a}/proofs").json()
    keys = [Verifier.from_vkey(vkey(iapi))]
    assert body["checkpoint_size"] == cp["size"]
    first, last = body["events"][0], body["events"][-1]
    bundle.verify_inclusion_answer(first["proof"], body["checkpoint_note"], keys, cp["origin"])
    assert (last["version"], last["proof"]) == (later.version, None)
