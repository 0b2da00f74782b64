"""Data protection on SQLite and PostgreSQL (docs/data-protection.md): free text sealed per
review, erasure by destroying the review's key with every proof still valid, and nothing of
the text at rest (database files or dump, views, logs, exports)."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from domain.ledger import Ledger
from ledger_verifier import bundle
from ledger_verifier.verifier import Verifier
from tests.conftest import PG
from tests.principals import AS_MANAGER, bearer_token
from tests.scenarios import Scenario

SECRET = "Mrs Ōtautahi Zebrafinch said the baby bruised"
FORMS = [SECRET.encode(), json.dumps(SECRET).encode()[1:-1], b"Zebrafinch"]


@dataclass
class Protected:
    client: TestClient
    ledger: Ledger
    settings: Settings
    headers: dict[str, str]
    tmp: Path

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers)


def _settings(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if store == "sqlite":
        return Settings(store="sqlite", data_dir=tmp_path, protect_text=True)
    schema = request.getfixturevalue("pg_schema")
    return Settings(store="postgres", data_dir=tmp_path, protect_text=True,
                    postgres_host=PG["host"], postgres_port=int(PG["port"]),
                    postgres_dbname=PG["dbname"], postgres_user=PG["user"],
                    postgres_password=PG["password"], postgres_schema=schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def protected(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Protected]:
    settings = _settings(request.param, tmp_path, request)
    app = create_app(settings)
    with TestClient(app) as client:
        ledger = app.state.services.ledger
        token = bearer_token(ledger, "scb_manager")
        yield Protected(client, ledger, settings, {"Authorization": f"Bearer {token}"},
                        tmp_path)


def at_rest(p: Protected) -> bytes:
    """Every byte the store holds: the SQLite files, or a dump of the PostgreSQL schema."""
    if p.settings.store == "sqlite":
        return b"".join(f.read_bytes() for f in sorted(p.tmp.glob("*.sqlite3*")))
    return subprocess.run(
        ["pg_dump", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"], "-n",
         p.settings.postgres_schema, PG["dbname"]], check=True, capture_output=True,
        env={"PGPASSWORD": PG["password"]}).stdout


def record(p: Protected) -> tuple[Any, int]:
    scenario = Scenario(p.ledger)
    agency = scenario.agency("Staffordshire Police")
    recommended = scenario.review([agency])
    p.ledger.record_finding(AS_MANAGER, recommended.review_id, text=SECRET, themes=["bruising"])
    action = scenario.assign(recommended, agency, description=f"Training: {SECRET}")
    p.ledger.raise_challenge(AS_MANAGER, subject_type="action_update",
                             subject_id=action.id, grounds=SECRET, addressed_to=agency)
    return recommended, p.ledger.head_position()


def export(p: Protected) -> bytes:
    made = p.client.post("/integrity/checkpoints", json={"reason": "before and after"},
                         headers=p.headers)
    assert made.status_code == 201, made.text
    token = bearer_token(p.ledger, "scrutineer")
    answer = p.client.get("/integrity/export", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.content


def verifies(p: Protected, exported: bytes) -> bool:
    vkey = p.get("/integrity/public-key").json()["vkey"]
    verdict = bundle.verify_bundle(io.BytesIO(exported), [Verifier.from_vkey(vkey)])
    return verdict.ok


def counts(p: Protected, head: int) -> Any:
    actions = p.get("/board/actions", min_position=head).json()["items"]
    reviews = p.get("/board/reviews", min_position=head).json()["items"]
    challenges = p.get("/board/challenges", min_position=head).json()["items"]
    return ([(a["status"], a["due_on"], a["rag"]) for a in actions],
            [(r["stage"], r.get("deadlines")) for r in reviews], len(challenges))


def test_text_is_sealed_at_rest_and_shown_to_readers(protected: Protected):
    recommended, head = record(protected)
    review = protected.get(f"/reviews/{recommended.review_id}").json()
    assert SECRET in [f["text"] for f in review["findings"]]
    board = protected.get("/board/actions", min_position=head)
    assert f"Training: {SECRET}" in board.text.encode().decode()
    csv = protected.client.get("/board/actions", headers={**protected.headers,
                                                          "Accept": "text/csv"})
    assert f'"Training: {SECRET}"' not in csv.text and f"Training: {SECRET}" in csv.text
    stored = at_rest(protected)
    assert b"sealed:v1:" in stored  # the tokens are there, the text is not
    assert all(form not in stored for form in FORMS)
    assert all(form not in export(protected) for form in FORMS)


def test_erasure_keeps_counts_and_proofs_and_leaves_no_byte_of_the_text(
        protected: Protected, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    recommended, head = record(protected)
    before, exported_before = counts(protected, head), export(protected)
    erased = protected.client.post(
        f"/reviews/{recommended.review_id}/erasure", headers=protected.headers,
        json={"reason": "retention period ended", "basis": "retention_ended"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["erasure"]["basis"] == "retention_ended"
    head = int(erased.headers["X-Ledger-Position"])
    assert counts(protected, head) == before

    review = protected.get(f"/reviews/{recommended.review_id}").json()
    assert re.fullmatch(r"\[erased on \d{4}-\d\d-\d\d\]", review["findings"][-1]["text"])
    for path in ("/board/actions", "/board/challenges", "/reports/yearly",
                 f"/reviews/{recommended.review_id}/history"):
        answer = protected.get(path, min_position=head)
        assert answer.status_code == 200 and "Zebrafinch" not in answer.text, path
    assert "[erased on" in protected.get("/board/actions").text
    for path in ("/board/actions", "/reports/yearly"):
        csv = protected.client.get(path, headers={**protected.headers, "Accept": "text/csv"})
        assert csv.status_code == 200 and "Zebrafinch" not in csv.text
        assert "[erased on" in csv.text and "sealed:v1:" not in csv.text, path

    exported_after = export(protected)
    assert verifies(protected, exported_before) and verifies(protected, exported_after)
    stored = at_rest(protected)
    for form in FORMS:
        assert form not in stored and form not in exported_after
        assert form.decode() not in caplog.text


def test_a_second_erasure_and_a_bad_basis_are_refused_writing_nothing(protected: Protected):
    recommended, head = record(protected)
    path = f"/reviews/{recommended.review_id}/erasure"
    bad = protected.client.post(path, headers=protected.headers,
                                json={"reason": "r", "basis": "because"})
    assert bad.status_code == 422 and protected.ledger.head_position() == head
    first = protected.client.post(path, headers=protected.headers,
                                  json={"reason": "r", "basis": "right_to_erasure"})
    assert first.status_code == 200
    again = protected.client.post(path, headers=protected.headers,
                                  json={"reason": "r", "basis": "right_to_erasure"})
    assert again.status_code == 409
    assert protected.ledger.head_position() == head + 1


def test_a_reference_outside_the_partnerships_pattern_is_refused(protected: Protected):
    head = protected.ledger.head_position()
    answer = protected.client.post("/reviews", headers=protected.headers, json={
        "reference": "John Smith", "partnership": "SSSCB", "local_authority_area": "Stoke",
        "age_band": "under_1", "harm": "death", "category": "neglect", "legal_status": "none"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["reference"]
    assert protected.ledger.head_position() == head


def test_new_text_for_an_erased_review_is_refused_and_structure_still_moves(
        protected: Protected):
    recommended, head = record(protected)
    path = f"/reviews/{recommended.review_id}"
    assert protected.client.post(f"{path}/erasure", headers=protected.headers, json={
        "reason": "r", "basis": "right_to_erasure"}).status_code == 200
    head = protected.ledger.head_position()
    finding = protected.client.post(f"{path}/findings", headers=protected.headers,
                                    json={"text": "more", "themes": []})
    assert finding.status_code == 409 and "erased" in finding.json()["detail"]
    assert protected.ledger.head_position() == head


def test_the_whole_store_cipher_leaves_nothing_of_an_event_readable(tmp_path: Path):
    from eventsourcing.cipher import AESCipher

    settings = Settings(store="sqlite", data_dir=tmp_path,
                        store_cipher_key=AESCipher.create_key(32))
    app = create_app(settings)
    with TestClient(app):
        scenario = Scenario(app.state.services.ledger)
        scenario.review([scenario.agency("Staffordshire Police")])
    stored = (tmp_path / "ledger.sqlite3").read_bytes()
    assert b"SSSCB-2025-03" not in stored and b"Staffordshire Police" not in stored
    assert b"Review.IncidentRecorded" in stored  # topics stay in clear


def test_pages_and_the_pack_show_erased_text_as_erased(protected: Protected):
    recommended, head = record(protected)
    client = protected.client
    form = client.get("/sign-in")
    token = protected.headers["Authorization"].split()[1]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert client.post("/sign-in", data={"token": token, "next": "/", "csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    page = f"/view/reviews/{recommended.review_id}"
    assert SECRET in client.get(page, params={"min_position": head}).text.replace(
        "&#39;", "'")
    erased = protected.client.post(f"/reviews/{recommended.review_id}/erasure",
                                   headers=protected.headers,
                                   json={"reason": "r", "basis": "right_to_erasure"})
    head = int(erased.headers["X-Ledger-Position"])
    for path in (page, "/view/actions", "/board/pack"):
        shown = client.get(path, params={"min_position": head})
        assert shown.status_code == 200, path
        assert "Zebrafinch" not in shown.text, path
    assert "[erased on" in client.get(page).text
