"""Partnerships as records, on every store: registered with their areas and statutory
safeguarding partners (Stoke-on-Trent and Staffordshire each with their own, sharing one ICB
and one police force); once registered, references to a partnership must name one; users
belong to partnerships. Refusals write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import AlreadyExists, Forbidden, InvalidInput
from tests.principals import AS_BOARD, AS_MANAGER, AS_OPERATOR
from tests.scenarios import Scenario


def two_partnerships(ledger: Any) -> dict[str, Any]:
    scenario = Scenario(ledger)
    police = scenario.agency("Staffordshire Police", "police", statutory_partner=True)
    icb = scenario.agency("Staffordshire and Stoke-on-Trent ICB", statutory_partner=True)
    stoke_cc = scenario.agency("Stoke-on-Trent City Council", "local_authority",
                               statutory_partner=True)
    staffs_cc = scenario.agency("Staffordshire County Council", "local_authority",
                                statutory_partner=True)
    for name, la in (("Stoke-on-Trent", stoke_cc), ("Staffordshire", staffs_cc)):
        ledger.register_partnership(AS_MANAGER, name=name, areas=[name],
                                    safeguarding_partners=[la, police, icb])
    return {"police": police, "icb": icb, "stoke_cc": stoke_cc, "staffs_cc": staffs_cc}


def refused(ledger: Any, error: type[Exception], call: Any, field: str | None = None) -> None:
    before = ledger.head_position()
    with pytest.raises(error) as caught:
        call()
    if field is not None:
        assert caught.value.field == field  # type: ignore[attr-defined]
    assert ledger.head_position() == before


def test_two_partnerships_share_the_icb_and_the_police(ledger: Any) -> None:
    a = two_partnerships(ledger)
    found = {p.name: p for p in ledger.list_partnerships()}
    assert sorted(found) == ["Staffordshire", "Stoke-on-Trent"]
    assert a["icb"] in found["Stoke-on-Trent"].safeguarding_partners
    assert a["icb"] in found["Staffordshire"].safeguarding_partners
    assert ledger.get_partnership("stoke-on-trent ").areas == ["Stoke-on-Trent"]


def test_references_must_name_a_registered_partnership(ledger: Any) -> None:
    a = two_partnerships(ledger)
    refused(ledger, InvalidInput, lambda: Scenario(ledger).agency(
        "Schools", "education", partnerships=("W",)), "partnerships")
    refused(ledger, InvalidInput, lambda: Scenario(ledger).incident(
        [a["police"]], partnership="W"), "partnership")
    Scenario(ledger).agency("Probation", "other",
                            partnerships=("Stoke-on-Trent", "Staffordshire"))
    Scenario(ledger).incident([a["police"]], partnership="Staffordshire")


def test_a_partnership_is_registered_once_with_statutory_partners(ledger: Any) -> None:
    a = two_partnerships(ledger)
    refused(ledger, AlreadyExists, lambda: ledger.register_partnership(
        AS_MANAGER, name="STOKE-ON-TRENT", areas=["x"], safeguarding_partners=[]), "name")
    schools = Scenario(ledger).agency("Schools", "education", partnerships=("Staffordshire",))
    refused(ledger, InvalidInput, lambda: ledger.register_partnership(
        AS_MANAGER, name="Other", areas=["x"], safeguarding_partners=[schools]),
        "safeguarding_partners")
    refused(ledger, InvalidInput, lambda: ledger.register_partnership(
        AS_MANAGER, name="Other", areas=[], safeguarding_partners=[a["police"]]), "areas")
    refused(ledger, Forbidden, lambda: ledger.register_partnership(
        AS_BOARD, name="Other", areas=["x"], safeguarding_partners=[]))


def test_users_belong_to_partnerships(ledger: Any) -> None:
    two_partnerships(ledger)
    user = ledger.register_user(AS_OPERATOR, name="Board member", role="board_member",
                                partnerships=["Stoke-on-Trent"]).id
    assert ledger.get_user(user).as_actor().partnerships == ("Stoke-on-Trent",)
    refused(ledger, InvalidInput, lambda: ledger.set_user_partnerships(
        AS_MANAGER, user, partnerships=["W"]), "partnerships")
    ledger.set_user_partnerships(AS_MANAGER, user,
                                 partnerships=["Stoke-on-Trent", "Staffordshire"])
    assert ledger.get_user(user).partnerships == ["Stoke-on-Trent", "Staffordshire"]


def test_a_ledger_without_registered_partnerships_keeps_its_labels(ledger: Any) -> None:
    Scenario(ledger).agency("Police", partnerships=("SSSCB",))
    assert ledger.list_partnerships() == []
