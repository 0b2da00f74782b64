"""Whose key seals what (domain/protection.py): a review's key covers its actions' and its
challenges' text; an agency's text has a key of its own; old events in clear still load."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.data_protection import FieldCipher, LocalKeyWrapper, SqliteKeyStore
from domain.ledger import Ledger
from domain.protection import TOKEN_PATTERN
from tests.principals import AS_MANAGER, AS_OPERATOR, as_lead_of
from tests.scenarios import Scenario


@pytest.fixture
def protected() -> Iterator[Ledger]:
    cipher = FieldCipher(SqliteKeyStore(":memory:"), LocalKeyWrapper(b"k" * 32))
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, text_cipher=cipher)
    yield ledger
    ledger.close()


def keys_of(ledger: Ledger, originator: object) -> set[str]:
    rows = [r for r in ledger.iter_notifications() if r.originator_id == originator]
    return {m.group(1) for r in rows for m in TOKEN_PATTERN.finditer(r.state.decode())}


def test_a_reviews_key_seals_its_actions_and_challenges_and_erasure_reaches_them(
        protected: Ledger):
    scenario = Scenario(protected)
    agency = scenario.agency("Police")
    recommended = scenario.review([agency])
    action = scenario.assign(recommended, agency).id
    protected.text_cipher._aliases.clear()  # type: ignore[union-attr]  # a new process
    protected.report_progress(as_lead_of(agency), action, narrative="Sessions held",
                              rag="green", evidence=["register"])
    challenge = protected.raise_challenge(
        AS_MANAGER, subject_type="action_update", subject_id=action,
        grounds="The sessions missed night staff", addressed_to=agency).id
    protected.rename_agency(AS_OPERATOR, agency, name="Staffs Police", reason="New brand")
    review_key = {recommended.review_id.hex}
    assert keys_of(protected, action) == review_key
    assert keys_of(protected, challenge) == review_key
    assert keys_of(protected, agency) == {agency.hex}

    protected.erase_review_text(AS_MANAGER, recommended.review_id, reason="retention",
                                basis="retention_ended")
    erased = protected.get_action(action)
    assert erased.description.startswith("[erased on ")
    assert erased.progress[0].narrative.startswith("[erased on ")
    assert protected.get_challenge(challenge).grounds.startswith("[erased on ")
    assert erased.status == "open" and erased.due_on is not None  # structure unchanged
    assert len(protected.get_agency(agency).names) == 2


def test_a_wrong_master_key_shows_text_as_erased_never_an_error(protected: Ledger):
    scenario = Scenario(protected)
    recommended = scenario.review([scenario.agency("Police")])
    cipher = protected.text_cipher
    assert isinstance(cipher, FieldCipher)
    other = FieldCipher(cipher.keys, LocalKeyWrapper(b"x" * 32))
    token = next(m.group(0) for r in protected.iter_notifications()
                 for m in TOKEN_PATTERN.finditer(r.state.decode())
                 if r.originator_id == recommended.review_id)
    assert cipher.unseal(token) != "[erased]"
    assert other.unseal(token) == "[erased]"
