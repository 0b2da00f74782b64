"""Two partnerships sharing agencies over HTTP: each Board member sees only their
partnership's reviews, actions and challenges on the Board's views (and 403 for another's);
a user with no partnership reads all, or one with ?partnership=."""

from __future__ import annotations

from typing import Any

from tests.principals import AS_OPERATOR
from tests.scenarios import Scenario


def token_for(api: Any, name: str, partnerships: list[str]) -> str:
    user = api.ledger.register_user(AS_OPERATOR, name=name, role="board_member",
                                    partnerships=partnerships).id
    return api.ledger.issue_token(AS_OPERATOR, user).token


def get(api: Any, token: str, path: str, **params: Any) -> Any:
    return api.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_each_board_member_sees_only_their_partnership(api: Any) -> None:
    for name, la in (("Staffordshire", api.agency_a), ("Stoke-on-Trent", api.agency_b)):
        response = api.post("scb_manager", "/partnerships", {
            "name": name, "areas": [name], "safeguarding_partners": [str(la)]})
        assert response.status_code == 201, response.text
    scenario = Scenario(api.ledger)
    staffs = scenario.review([api.agency_a, api.agency_b], reference="STAFFS-01",
                             partnership="Staffordshire")
    stoke = scenario.review([api.agency_a, api.agency_b], reference="STOKE-01",
                            partnership="Stoke-on-Trent")
    for review in (staffs, stoke):
        action = scenario.assign(review, api.agency_a).id
        scenario.challenge(action, api.agency_a)
    position = api.ledger.head_position()
    tokens = {p: token_for(api, f"Board {p}", [p]) for p in ("Staffordshire", "Stoke-on-Trent")}
    expected = {"Staffordshire": staffs.review_id, "Stoke-on-Trent": stoke.review_id}
    for partnership, token in tokens.items():
        reviews = get(api, token, "/board/reviews", min_position=position).json()["items"]
        assert [r["review_id"] for r in reviews] == [str(expected[partnership])]
        actions = get(api, token, "/board/actions", min_position=position).json()["items"]
        assert {a["review_id"] for a in actions} == {str(expected[partnership])}
        challenges = get(api, token, "/board/challenges", min_position=position).json()
        assert len(challenges["items"]) == 1
        other = "Stoke-on-Trent" if partnership == "Staffordshire" else "Staffordshire"
        assert get(api, token, "/board/reviews", partnership=other).status_code == 403
    everyone = api.get("auditor", "/board/reviews", min_position=position).json()["items"]
    assert len(everyone) == 2
    one = api.get("auditor", "/board/reviews", partnership="Stoke-on-Trent").json()["items"]
    assert [r["review_id"] for r in one] == [str(stoke.review_id)]
    agencies = get(api, tokens["Stoke-on-Trent"], "/board/agencies").json()["items"]
    # Stoke's council serves Stoke; Staffordshire's police serves Staffordshire only, but
    # owes Stoke an action (and answers a challenge on it): listed, with Stoke's counts only.
    by_id = {a["agency_id"]: a for a in agencies}
    assert set(by_id) == {str(api.agency_b), str(api.agency_a)}
    assert (by_id[str(api.agency_a)]["open"], by_id[str(api.agency_a)]["challenges_open"]) == (
        1, 1)
    assert [p["name"] for p in api.get("auditor", "/partnerships").json()["items"]] == [
        "Staffordshire", "Stoke-on-Trent"]


def test_a_board_member_reads_single_records_of_their_partnership_only(api: Any) -> None:
    scenario = Scenario(api.ledger)
    stoke = scenario.review([api.agency_a], reference="STOKE-02", partnership="Stoke-on-Trent")
    staffs = scenario.review([api.agency_a], reference="STAFFS-02", partnership="Staffordshire")
    records = {}
    for name, review in (("Stoke-on-Trent", stoke), ("Staffordshire", staffs)):
        action = scenario.assign(review, api.agency_a).id
        records[name] = (review.review_id, action, scenario.challenge(action, api.agency_a))
    token = token_for(api, "Stoke Board", ["Stoke-on-Trent"])
    for partnership, (review, action, challenge) in records.items():
        status = 200 if partnership == "Stoke-on-Trent" else 403
        for path in (f"/reviews/{review}", f"/reviews/{review}/history",
                     f"/actions/{action}", f"/actions/{action}/history",
                     f"/challenges/{challenge}", f"/challenges/{challenge}/history"):
            assert get(api, token, path).status_code == status, path
