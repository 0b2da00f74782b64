"""Two partnerships sharing an agency (the real case: Stoke-on-Trent and Staffordshire share
one ICB): a Board member of each sees on /board/agencies the shared agency's counts of their
partnership's actions and challenges only (an action belongs to its review's partnership, a
challenge to its subject's), each equal to a direct count of that partnership's action and
challenge rows; the list of all partnerships is their sum; the yearly report agrees. And
/board/themes is filtered the same way. On each store (the `api` fixture's)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain import clock
from tests.principals import AS_MANAGER, AS_OPERATOR, as_lead_of
from tests.scenarios import Recommended, Scenario

STAFFS, STOKE = "Staffordshire", "Stoke-on-Trent"
COUNTS = ("open", "overdue", "stalled", "completed", "completed_on_time", "escalated",
          "held_to_account", "challenges_open", "challenges_total")


def token_for(api: Any, partnership: str) -> str:
    user = api.ledger.register_user(AS_OPERATOR, name=f"Board {partnership}",
                                    role="board_member", partnerships=[partnership]).id
    return api.ledger.issue_token(AS_OPERATOR, user).token


def get(api: Any, token: str, path: str, **params: Any) -> Any:
    response = api.client.get(path, params=params,
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def two_partnerships(api: Any) -> tuple[UUID, dict[str, list[Recommended]]]:
    """The shared ICB with actions in both partnerships' reviews, in every state the agency
    list counts; and a challenge or two on each side. Returns the ICB and the reviews."""
    on = clock.today() - timedelta(days=200)
    ledger = api.ledger
    scenario = Scenario(ledger, on=on)
    icb = scenario.agency("Staffordshire and Stoke-on-Trent ICB", "health",
                          statutory_partner=True, partnerships=(STAFFS, STOKE))
    for name, la in ((STAFFS, api.agency_a), (STOKE, api.agency_b)):
        assert api.post("scb_manager", "/partnerships", {
            "name": name, "areas": [name],
            "safeguarding_partners": [str(la), str(icb)]}).status_code == 201
    reviews = {p: [scenario.review([icb, la], reference=f"{p[:5].upper()}-0{i}",
                                   partnership=p) for i in (1, 2)]
               for p, la in ((STAFFS, api.agency_a), (STOKE, api.agency_b))}
    lead = as_lead_of(icb)

    def assign(review: Recommended, agency: UUID, due_in: int) -> UUID:
        return scenario.assign(review, agency, due_on=on + timedelta(days=due_in)).id

    # Staffordshire: the ICB's overdue action, an escalated one not yet due, one assured on
    # time, one overdue and held to account (the open three with no update for 200 days:
    # stalled); the police's overdue one; a challenge open on each of two actions.
    s1, s2 = reviews[STAFFS]
    assign(s1, icb, 30)
    escalated = assign(s1, icb, 400)
    ledger.escalate_action(AS_MANAGER, escalated, reason="No plan", occurred_on=on
                           + timedelta(days=10))
    done = assign(s2, icb, 100)
    ledger.claim_completion(lead, done, narrative="Done", evidence=["audit.pdf"],
                            occurred_on=on + timedelta(days=50))
    ledger.assure_completion(AS_MANAGER, done, comments="Seen", occurred_on=on
                             + timedelta(days=60))
    held = assign(s2, icb, 20)
    ledger.escalate_action(AS_MANAGER, held, reason="Late", occurred_on=on
                           + timedelta(days=30))
    ledger.hold_to_account(AS_MANAGER, held, outcome="Recovery plan by the next Board",
                           meeting="Board", occurred_on=on + timedelta(days=40))
    police = assign(s1, api.agency_a, 50)
    scenario.challenge(police, api.agency_a)
    scenario.challenge(escalated, icb)
    # Stoke-on-Trent: the ICB's overdue action with a recent update (not stalled), one not
    # yet due (stalled), one withdrawn; a challenge on a review decision, resolved, and one
    # open on an action.
    t1, t2 = reviews[STOKE]
    recent = assign(t1, icb, 60)
    ledger.report_progress(lead, recent, narrative="Under way", rag="amber",
                           occurred_on=clock.today() - timedelta(days=5))
    assign(t2, icb, 400)
    withdrawn = assign(t2, icb, 90)
    ledger.withdraw_action(AS_MANAGER, withdrawn, reason="Superseded", occurred_on=on
                           + timedelta(days=5))
    resolved = scenario.challenge(t1.review_id, icb, subject_type="review_decision")
    ledger.resolve_challenge(AS_MANAGER, resolved, outcome="not_upheld", reason="Agreed",
                             occurred_on=on + timedelta(days=20))
    scenario.challenge(recent, icb)
    return icb, reviews


def direct_counts(actions: list[dict[str, Any]], challenges: list[dict[str, Any]],
                  review_ids: set[str], stalled_days: int) -> dict[str, Counter[str]]:
    """Per agency, the counts of /board/agencies counted row by row from the action and
    challenge lists (not from the rollups) of the actions of these reviews."""
    ours = [a for a in actions if a["review_id"] in review_ids and a["status"] != "withdrawn"]
    action_ids = {a["action_id"] for a in actions if a["review_id"] in review_ids}
    out: dict[str, Counter[str]] = {}
    for a in ours:
        c = out.setdefault(a["agency_id"], Counter())
        c["open"] += a["status"] != "assured"
        c["overdue"] += a["overdue"]
        c["stalled"] += a["status"] == "open" and a["days_since_update"] >= stalled_days
        c["completed"] += a["status"] == "assured"
        c["completed_on_time"] += a["status"] == "assured" and (
            a["claimed_on"] or a["assured_on"]) <= a["due_on"]
        c["escalated"] += a["escalated"]
        c["held_to_account"] += a["held_to_account"] > 0
    for ch in challenges:
        if ch["subject_id"] in review_ids | action_ids:
            c = out.setdefault(ch["addressed_to"], Counter())
            c["challenges_open"] += ch["status"] == "open"
            c["challenges_total"] += 1
    return out


def test_each_board_member_sees_their_partnerships_counts_of_a_shared_agency(
        api: Any) -> None:
    icb, reviews = two_partnerships(api)
    position = api.ledger.head_position()
    actions = api.get("auditor", "/board/actions", limit=1000,
                      min_position=position).json()["items"]
    challenges = api.get("auditor", "/board/challenges", limit=1000,
                         min_position=position).json()["items"]
    everyone = {a["agency_id"]: a for a in api.get(
        "auditor", "/board/agencies", min_position=position).json()["items"]}
    seen: dict[str, dict[str, dict[str, Any]]] = {}
    tokens = {p: token_for(api, p) for p in (STAFFS, STOKE)}
    for partnership, token in tokens.items():
        review_ids = {str(r.review_id) for r in reviews[partnership]}
        body = get(api, token, "/board/agencies", min_position=position)
        rows = {a["agency_id"]: a for a in body["items"]}
        expected = direct_counts(actions, challenges, review_ids, body["stalled_days"])
        for agency_id, row in rows.items():
            want = expected.get(agency_id, Counter())
            assert {k: row[k] for k in COUNTS} == {k: want[k] for k in COUNTS}, (
                partnership, row["agency_name"])
            assert {e["level"]: e["actions"] for e in row["escalations"]} == Counter(
                a["escalation_level"] for a in actions if a["review_id"] in review_ids
                and a["agency_id"] == agency_id and a["escalated"]
                and a["status"] != "withdrawn")
        assert set(expected) <= set(rows)  # every agency answering for something is listed
        # The same as the auditor's ?partnership= and the dashboard's (the same endpoint).
        assert api.get("auditor", "/board/agencies", partnership=partnership).json()[
            "items"] == body["items"]
        seen[partnership] = rows
    staffs, stoke = seen[STAFFS][str(icb)], seen[STOKE][str(icb)]
    # What the scenario made, by hand: not vacuous.
    assert {k: staffs[k] for k in COUNTS} == {
        "open": 3, "overdue": 2, "stalled": 3, "completed": 1, "completed_on_time": 1,
        "escalated": 1, "held_to_account": 1, "challenges_open": 1, "challenges_total": 1}
    assert {k: stoke[k] for k in COUNTS} == {
        "open": 2, "overdue": 1, "stalled": 1, "completed": 0, "completed_on_time": 0,
        "escalated": 0, "held_to_account": 0, "challenges_open": 1, "challenges_total": 2}
    # The list of all partnerships is the sum of the two, for the shared agency.
    assert {k: everyone[str(icb)][k] for k in COUNTS} == {
        k: staffs[k] + stoke[k] for k in COUNTS}
    # Each agency serving one partnership only is not in the other's list.
    assert str(api.agency_b) not in seen[STAFFS] and str(api.agency_a) not in seen[STOKE]
    # The yearly report (its actions are the same rows) agrees with each list.
    for partnership, rows in seen.items():
        report = get(api, tokens[partnership], "/reports/yearly", min_position=position)
        reported = [a for r in report["reviews"] for rec in r["recommendations"]
                    for a in rec["actions"] if a["status"] != "withdrawn"]
        for agency_id, row in rows.items():
            mine = [a for a in reported if a["agency_id"] == agency_id]
            assert row["open"] == sum(a["status"] != "assured" for a in mine)
            assert row["overdue"] == sum(a["rag"] == "overdue" for a in mine)


def test_a_board_member_sees_their_partnerships_themes(api: Any) -> None:
    _, reviews = two_partnerships(api)
    # Every scenario review carries "bruising-in-non-mobile-babies"; neglect is Stoke's (two
    # reviews: recurrent there), housing one Staffordshire review's (not recurrent).
    for recommended, theme in ((reviews[STOKE][0], "neglect"), (reviews[STOKE][1], "neglect"),
                               (reviews[STAFFS][0], "housing")):
        api.ledger.record_finding(AS_MANAGER, recommended.review_id, text="Found",
                                  themes=[theme])
    position = api.ledger.head_position()
    themes = {t["theme"]: (t["review_count"], t["finding_count"], t["recurrent"])
              for t in api.get("auditor", "/board/themes", min_position=position).json()[
                  "items"]}
    assert themes == {"bruising-in-non-mobile-babies": (4, 4, True), "neglect": (2, 2, True),
                      "housing": (1, 1, False)}
    expected = {STOKE: {"bruising-in-non-mobile-babies": (2, 2, True), "neglect": (2, 2, True)},
                STAFFS: {"bruising-in-non-mobile-babies": (2, 2, True),
                         "housing": (1, 1, False)}}
    for partnership, want in expected.items():
        token = token_for(api, partnership)
        body = get(api, token, "/board/themes", min_position=position)
        assert {t["theme"]: (t["review_count"], t["finding_count"], t["recurrent"])
                for t in body["items"]} == want
        assert api.get("auditor", "/board/themes", partnership=partnership).json()[
            "items"] == body["items"]
        recurrent = get(api, token, "/board/themes", recurrent="true")["items"]
        assert {t["theme"] for t in recurrent} == {t for t, v in want.items() if v[2]}
        [detail] = get(api, token, "/board/themes", theme="bruising-in-non-mobile-babies")[
            "items"]
        ours = {str(r.review_id) for r in reviews[partnership]}
        assert {r["review_id"] for r in detail["reviews"]} == ours
        assert {f["review_id"] for f in detail["findings"]} == ours
        assert detail["review_count"] == 2
        other = STAFFS if partnership == STOKE else STOKE
        only_other = "neglect" if other == STOKE else "housing"
        assert get(api, token, "/board/themes", theme=only_other)["items"] == []
        refused = api.client.get("/board/themes", params={"partnership": other},
                                 headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403
