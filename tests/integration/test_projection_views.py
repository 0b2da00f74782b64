"""Each read model answers the Board's questions from the events, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger
from projections.board import Board
from projections.readside import ReadSide
from projections.runner import Runner

D0 = date(2025, 1, 6)  # a Monday
MANAGER = Context(Actor("u-manager", Role.SCB_MANAGER, name="SCB Manager"))
BOARD = Context(Actor("u-board", Role.BOARD_MEMBER, name="Board Member"))
SCRUTINEER = Context(Actor("u-scrutineer", Role.SCRUTINEER, name="Scrutineer"))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    """The view logic on two stores here; test_projection_postgres.py checks that PostgreSQL
    gives the same answers (its schema setup costs ~0.5 s a test)."""
    return str(request.param)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


class World:
    """Records through the Ledger's use cases, then brings the views up to date."""

    def __init__(self, ledger: Ledger, tmp_path: Path) -> None:
        self.ledger = ledger
        self.settings = Settings(data_dir=tmp_path)
        self.side = ReadSide(self.settings, ledger)
        self.board = Board(self.side)

    def catch_up(self) -> Board:
        Runner(self.side).catch_up()
        return self.board

    def agency(self, name: str) -> UUID:
        return self.ledger.register_agency(MANAGER, name=name, kind="health",
                                           statutory_partner=True, partnerships=["SSSCB"],
                                           occurred_on=D0).id

    def lead(self, agency: UUID) -> Context:
        return Context(Actor(f"u-lead-{agency.hex[:6]}", Role.AGENCY_LEAD, agency, "Lead"))

    def review(self, agencies: list[UUID], reference: str = "SSSCB-2025-03",
               themes: tuple[str, ...] = ("information-sharing",)) -> tuple[UUID, UUID]:
        """A review with a finding and a recommendation; returns (review, recommendation)."""
        led = self.ledger
        review = led.record_incident(
            MANAGER, reference=reference, partnership="SSSCB", local_authority_area="Stoke",
            age_band="under_1", harm="serious_harm", category="neglect",
            legal_status="none", agencies_involved=agencies, occurred_on=D0).id
        led.notify_panel(MANAGER, review, occurred_on=day(1))
        led.complete_rapid_review(MANAGER, review, summary="facts", occurred_on=day(2))
        led.record_local_decision(MANAGER, review, conduct_review=True,
                                  criteria=["multi_agency_concerns"], rationale="r",
                                  occurred_on=day(3))
        led.commission_reviewer(MANAGER, review, reviewer="Reviewer", occurred_on=day(4))
        finding = led.record_finding(MANAGER, review, text="Referral not escalated",
                                     themes=list(themes), occurred_on=day(5)).item_id
        rec = led.record_recommendation(MANAGER, review, text="Train staff",
                                        finding_ids=[finding], occurred_on=day(5)).item_id
        return review, rec

    def action(self, review: tuple[UUID, UUID], agency: UUID, due: date,
               assigned: date = D0 + timedelta(days=6)) -> UUID:
        return self.ledger.assign_action(
            MANAGER, review_id=review[0], recommendation_id=review[1], agency_id=agency,
            description="Deliver training", measure_of_success="90% trained", due_on=due,
            occurred_on=assigned).id


@pytest.fixture
def world(ledger: Ledger, tmp_path: Path) -> Iterator[World]:
    w = World(ledger, tmp_path)
    yield w
    w.board.close()
    w.side.close()


def only(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [i for i in items if all(i[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


def test_rag_is_derived_from_today_at_query_time(world: World) -> None:
    a = world.agency("Hospital")
    review = world.review([a])
    action = world.action(review, a, due=day(60))
    board = world.catch_up()
    rag = lambda today: board.actions(today=today)["items"][0]["rag"]
    assert rag(day(7)) == "on_track"
    assert rag(day(50)) == "at_risk"  # due within 14 days, no update for 44
    assert rag(day(61)) == "overdue"
    world.ledger.claim_completion(world.lead(a), action, narrative="done", occurred_on=day(55))
    assert world.catch_up().actions(today=day(61))["items"][0]["rag"] == (
        "complete_awaiting_assurance")
    world.ledger.assure_completion(MANAGER, action, comments="evidence seen", occurred_on=day(62))
    assert world.catch_up().actions(today=day(70))["items"][0]["rag"] == "assured"


def test_progress_update_resets_days_since_update(world: World) -> None:
    a = world.agency("Hospital")
    action = world.action(world.review([a]), a, due=day(60))
    world.ledger.report_progress(world.lead(a), action, narrative="half", rag="amber",
                                 occurred_on=day(40))
    item = world.catch_up().actions(today=day(50))["items"][0]
    assert (item["last_progress_on"], item["days_since_update"], item["rag"]) == (
        day(40).isoformat(), 10, "on_track")


def test_agency_rename_shows_everywhere_under_the_current_name(world: World) -> None:
    a = world.agency("North Staffordshire CCG")
    world.action(world.review([a]), a, due=day(60))
    world.ledger.rename_agency(MANAGER, a, name="Staffordshire and Stoke-on-Trent ICB",
                               reason="CCGs replaced by ICBs", occurred_on=day(20))
    board = world.catch_up()
    new = "Staffordshire and Stoke-on-Trent ICB"
    assert board.actions(today=day(21))["items"][0]["agency_name"] == new
    assert board.agencies(today=day(21))["items"][0]["agency_name"] == new


def test_withdrawn_action_is_shown_withdrawn_and_counted_nowhere(world: World) -> None:
    a = world.agency("Hospital")
    review = world.review([a])
    world.action(review, a, due=day(30))
    gone = world.action(review, a, due=day(10))
    world.ledger.withdraw_action(MANAGER, gone, reason="superseded", occurred_on=day(8))
    board = world.catch_up()
    assert only(board.actions(today=day(40))["items"], action_id=str(gone))["rag"] == "withdrawn"
    row = board.agencies(today=day(40))["items"][0]
    assert (row["open"], row["overdue"]) == (1, 1)


def test_accountability_counts_open_overdue_stalled_and_on_time(world: World) -> None:
    a, b = world.agency("Hospital"), world.agency("Police")
    review = world.review([a, b])
    late = world.action(review, a, due=day(20))
    on_time = world.action(review, a, due=day(40))
    world.action(review, b, due=day(200))
    world.ledger.claim_completion(world.lead(a), on_time, narrative="done", occurred_on=day(30))
    world.ledger.assure_completion(MANAGER, on_time, comments="ok", occurred_on=day(31))
    world.ledger.escalate_action(MANAGER, late, reason="no progress", occurred_on=day(25))
    world.ledger.hold_to_account(BOARD, late, outcome="plan by March", meeting="Board 1",
                                 occurred_on=day(26))
    world.ledger.raise_challenge(SCRUTINEER, subject_type="action_update", subject_id=late,
                                 grounds="evidence thin", addressed_to=a, occurred_on=day(26))
    rows = world.catch_up().agencies(today=day(100), stalled_days=60)["items"]
    hospital = only(rows, agency_id=str(a))
    assert {k: hospital[k] for k in ("open", "overdue", "stalled", "completed",
                                     "completed_on_time_pct", "escalated", "held_to_account",
                                     "challenges_open")} == {
        "open": 1, "overdue": 1, "stalled": 1, "completed": 1, "completed_on_time_pct": 100.0,
        "escalated": 0, "held_to_account": 1, "challenges_open": 1}
    assert only(rows, agency_id=str(b))["stalled"] == 1  # assigned day 6, no update since


@pytest.mark.parametrize("store", ["memory", "sqlite", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)
def test_accountability_overdue_and_stalled_agree_with_the_action_list_on_every_day(
        world: World) -> None:
    """The rollup's sums (months ahead plus part of a month, either side of the day) against
    the action list's row-by-row filters, for every day across four month ends, due today and
    stale today included; on PostgreSQL too (its text collation orders the dates)."""
    a = world.agency("Hospital")
    review = world.review([a])
    for n in range(18, 90, 3):
        action = world.action(review, a, due=day(n))
        if n % 2:
            world.ledger.report_progress(world.lead(a), action, narrative="n", rag="green",
                                         occurred_on=day(n - 10))
    board = world.catch_up()
    for n in range(130):
        today = day(n)
        overdue = len(board.actions(today=today, limit=1000, overdue=True)["items"])
        for stalled_days in (7, 60):
            row = board.agencies(today=today, stalled_days=stalled_days)["items"][0]
            stalled = board.actions(today=today, limit=1000, stalled_days=stalled_days)
            assert (row["overdue"], row["stalled"]) == (overdue, len(stalled["items"])), (
                n, stalled_days)


def test_action_filters_and_cursor(world: World) -> None:
    a, b = world.agency("Hospital"), world.agency("Police")
    review = world.review([a, b])
    ids = [world.action(review, a, due=day(10 + i)) for i in range(5)]
    world.action(review, b, due=day(100))
    board = world.catch_up()
    today = day(13)
    assert len(board.actions(today=today, agency_id=str(b))["items"]) == 1
    assert len(board.actions(today=today, overdue=True)["items"]) == 3
    assert len(board.actions(today=today, rag="overdue")["items"]) == 3
    assert len(board.actions(today=today, stalled_days=7)["items"]) == 6
    first = board.actions(today=today, limit=4)
    rest = board.actions(today=today, limit=4, cursor=first["next_cursor"])
    seen = [i["action_id"] for i in first["items"] + rest["items"]]
    assert seen[:5] == [str(i) for i in ids] and rest["next_cursor"] is None


def test_review_register_shows_deadlines_from_the_corrected_dates(world: World) -> None:
    a = world.agency("Hospital")
    review = world.ledger.record_incident(
        MANAGER, reference="SSSCB-2025-07", partnership="SSSCB", local_authority_area="Stoke",
        age_band="under_1", harm="death", category="neglect", legal_status="none",
        agencies_involved=[a], occurred_on=D0).id
    world.ledger.notify_panel(MANAGER, review, occurred_on=day(14))  # 10 working days: late
    row = world.catch_up().reviews(today=day(15))["items"][0]
    notification = only(row["deadlines"], name="panel_notification")
    assert (row["stage"], notification["status"], notification["working_days_late"]) == (
        "panel_notified", "missed", 5)
    world.ledger.correct_date(MANAGER, review, field="notified_on", corrected=day(3),
                              reason="typo", occurred_on=day(15))
    row = world.catch_up().reviews(today=day(15))["items"][0]
    assert only(row["deadlines"], name="panel_notification")["status"] == "met"


def test_challenge_register_shows_stage_wait_in_working_days(world: World) -> None:
    a = world.agency("Hospital")
    review, _ = world.review([a])
    challenge = world.ledger.raise_challenge(
        SCRUTINEER, subject_type="review_decision", subject_id=review, grounds="why not?",
        addressed_to=a, occurred_on=day(7)).id  # a Monday
    world.ledger.escalate_challenge(SCRUTINEER, challenge, to_stage=2, reason="no answer",
                                    occurred_on=day(14))
    item = world.catch_up().challenges(today=day(18))["items"][0]
    assert (item["stage"], item["age_working_days"], item["stage_waited_working_days"],
            item["awaiting_response"], item["addressed_to_name"]) == (2, 9, 4, True, "Hospital")


def test_theme_recurs_when_two_reviews_carry_it(world: World) -> None:
    a = world.agency("Hospital")
    world.review([a], "SSSCB-2025-01", themes=("information-sharing", "neglect"))
    world.review([a], "SSSCB-2025-02", themes=("information-sharing",))
    board = world.catch_up()
    themes = {t["theme"]: t for t in board.themes()["items"]}
    assert (themes["information-sharing"]["recurrent"], themes["neglect"]["recurrent"]) == (
        True, False)
    detail = board.themes(theme="information-sharing")["items"][0]
    assert sorted(r["reference"] for r in detail["reviews"]) == ["SSSCB-2025-01",
                                                                  "SSSCB-2025-02"]


def test_audit_trail_gives_recorded_times_in_utc_and_filters_by_them(world: World) -> None:
    a = world.agency("Hospital")
    world.action(world.review([a]), a, due=day(60))
    board = world.catch_up()
    trail = board.audit()["items"]
    stored = [world.ledger.mapper.to_domain_event(n).timestamp
              for n in world.ledger.store.stored(0, len(trail))]
    assert all(e["recorded_at"].endswith("+00:00") for e in trail)
    assert [datetime.fromisoformat(e["recorded_at"]) for e in trail] == stored
    middle = stored[len(stored) // 2]
    assert [e["position"] for e in board.audit(since=middle)["items"]] == [
        e["position"] for e, at in zip(trail, stored, strict=True) if at >= middle]
    assert [e["position"] for e in board.audit(until=middle)["items"]] == [
        e["position"] for e, at in zip(trail, stored, strict=True) if at <= middle]


def test_audit_trail_filters_and_pages_by_position(world: World) -> None:
    a = world.agency("Hospital")
    action = world.action(world.review([a]), a, due=day(60))
    world.ledger.report_progress(world.lead(a), action, narrative="n", rag="green",
                                 occurred_on=day(8))
    board = world.catch_up()
    trail = board.audit(entity_id=str(action))["items"]
    assert [e["event_type"] for e in trail] == ["Action.Assigned", "Action.ProgressReported"]
    assert trail[1]["actor_role"] == "agency_lead" and trail[1]["agency_id"] == str(a)
    assert len(board.audit(agency_id=str(a))["items"]) == 3  # registered, assigned, progress
    page = board.audit(limit=3)
    assert [e["position"] for e in board.audit(limit=3, cursor=page["next_cursor"])["items"]] \
        == [4, 5, 6]


@pytest.mark.parametrize("store", ["memory", "sqlite",
                                   pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_agencys_trail_holds_what_its_staff_did_about_another_agency(world: World) -> None:
    a, b = world.agency("Hospital"), world.agency("Police")
    action = world.action(world.review([a, b]), b, due=day(60))
    world.ledger.raise_challenge(world.lead(a), subject_type="action_update", subject_id=action,
                                 grounds="evidence thin", addressed_to=b, occurred_on=day(9))
    board = world.catch_up()
    ours = board.audit(agency_id=str(a))["items"]
    (raised,) = [e for e in ours if e["event_type"] == "Challenge.Raised"]
    assert (raised["agency_id"], raised["actor_agency_id"]) == (str(b), str(a))
    assert len({e["position"] for e in ours}) == len(ours)
    theirs = board.audit(agency_id=str(b))["items"]
    assert raised["position"] in [e["position"] for e in theirs]
    assert "Action.Assigned" not in [e["event_type"] for e in ours]  # b's, by the manager


def test_user_directory_never_shows_token_hashes(world: World) -> None:
    operator = Context(Actor("cli:test", Role.OPERATOR))
    user = world.ledger.register_user(operator, name="Auditor", role="auditor").id
    world.ledger.issue_token(operator, user)
    board = world.catch_up()
    (row,) = board.user_directory()["items"]
    assert row["name"] == "Auditor" and "hash" not in " ".join(row).lower()
    assert all("token_hash" not in str(e) for e in board.audit()["items"])
