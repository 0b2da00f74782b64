"""Property: for random valid histories, every view built incrementally (in random batches,
interleaved with the commands) equals the same view rebuilt from scratch; on PostgreSQL the
views also equal a replay into SQLite (one logic, two stores)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.settings import Settings
from domain.actors import Actor, Role
from domain.application import Context
from domain.errors import DomainError
from domain.ledger import Ledger
from projections import runner
from projections.db import Db, SqliteDb
from projections.readside import ReadSide
from projections.rebuild import rebuild
from projections.runner import Runner

D0 = date(2024, 1, 8)
MANAGER = Context(Actor("u-manager", Role.SCB_MANAGER, name="Manager"))
BOARD = Context(Actor("u-board", Role.BOARD_MEMBER, name="Board"))
SCRUTINEER = Context(Actor("u-scrutineer", Role.SCRUTINEER, name="Scrutineer"))
OPERATOR = Context(Actor("operator:test", Role.OPERATOR, name="op"))
THEMES = ["information-sharing", "neglect", "bruising", "supervision"]
# Weighted so that histories reach actions, assurance and escalated challenges.
KINDS = (["agency"] * 2 + ["rename", "user", "challenge", "challenge"] + ["review"] * 2
         + ["advance"] * 10 + ["action"] * 4 + ["act"] * 8 + ["answer"] * 3 + ["project"] * 3)


class Driver:
    """Turns (kind, i, j, k) tuples into commands on existing records; a command the domain
    refuses records nothing and is simply passed over."""

    def __init__(self, ledger: Ledger, runner: Runner) -> None:
        self.ledger = ledger
        self.runner = runner
        self.agencies: list[UUID] = []
        self.reviews: list[UUID] = []
        self.actions: list[UUID] = []
        self.challenges: list[UUID] = []
        self.users: list[UUID] = []
        self.day = 0
        self.names = count()

    def on(self) -> date:
        return D0 + timedelta(days=self.day)

    def pick(self, items: list[UUID], i: int) -> UUID | None:
        return items[i % len(items)] if items else None

    def lead(self, agency: UUID) -> Context:
        return Context(Actor(f"lead-{agency.hex[:8]}", Role.AGENCY_LEAD, agency, "Lead"))

    def run(self, command: tuple[str, int, int, int]) -> None:
        kind, i, j, k = command
        self.day += k % 5
        try:
            getattr(self, f"do_{kind}")(i, j, k)
        except DomainError:
            pass

    def do_project(self, i: int, j: int, k: int) -> None:
        self.runner.step(limit=1 + k)

    def do_agency(self, i: int, j: int, k: int) -> None:
        self.agencies.append(self.ledger.register_agency(
            MANAGER, name=f"Agency {next(self.names)}", kind="health",
            statutory_partner=bool(j % 2), partnerships=["SSSCB"], occurred_on=self.on()).id)

    def do_rename(self, i: int, j: int, k: int) -> None:
        agency = self.pick(self.agencies, i)
        if agency is not None:
            self.ledger.rename_agency(MANAGER, agency, name=f"Renamed {next(self.names)}",
                                      reason="reorganised", occurred_on=self.on())

    def do_user(self, i: int, j: int, k: int) -> None:
        agency = self.pick(self.agencies, i)
        if j % 3 == 0 and self.users:
            self.ledger.deactivate_user(OPERATOR, self.pick(self.users, i), reason="left")
        elif agency is not None:
            self.users.append(self.ledger.register_user(
                OPERATOR, name=f"User {next(self.names)}", role="agency_lead",
                agency_id=agency).id)

    def do_review(self, i: int, j: int, k: int) -> None:
        if not self.agencies:
            return
        involved = sorted({self.pick(self.agencies, i), self.pick(self.agencies, j)}, key=str)
        self.reviews.append(self.ledger.record_incident(
            MANAGER, reference=f"SSSCB-{next(self.names):04d}", partnership="SSSCB",
            local_authority_area="Stoke", age_band="under_1", harm="death", category="neglect",
            legal_status="none", agencies_involved=involved, occurred_on=self.on()).id)

    def do_advance(self, i: int, j: int, k: int) -> None:
        review_id = self.pick(self.reviews, i)
        if review_id is None:
            return
        review = self.ledger.get_review(review_id)
        allowed = review.allowed_next()
        # Mostly the step that moves the review on; now and then a side step.
        step = allowed[0] if j % 4 else allowed[k % len(allowed)]
        if "record_recommendation" in allowed and (not review.recommendations or j % 3 == 0):
            step = "record_recommendation"
        elif "submit_report" in allowed and j % 3 == 1:
            step = "submit_report"
        led, on, r = self.ledger, self.on(), review_id
        match step:
            case "notify_panel":
                led.notify_panel(MANAGER, r, occurred_on=on)
            case "complete_rapid_review":
                led.complete_rapid_review(MANAGER, r, summary="s", occurred_on=on)
            case "record_local_decision":
                led.record_local_decision(MANAGER, r, conduct_review=k % 4 != 0,
                                          criteria=["recurrent_themes"], rationale="r",
                                          occurred_on=on)
            case "record_panel_decision":
                led.record_panel_decision(MANAGER, r, national_review=bool(k % 2),
                                          criteria=["recurrent_themes"], rationale="r",
                                          occurred_on=on)
            case "commission_reviewer":
                led.commission_reviewer(MANAGER, r, reviewer="Reviewer", occurred_on=on)
            case "record_finding":
                themes = sorted({THEMES[j % 4], THEMES[k % 4]})
                led.record_finding(MANAGER, r, text="finding", themes=themes, occurred_on=on)
            case "record_recommendation":
                finding = review.findings[k % len(review.findings)].id
                led.record_recommendation(MANAGER, r, text="rec", finding_ids=[finding],
                                          occurred_on=on)
            case "submit_report":
                led.submit_report(MANAGER, r, summary="report", occurred_on=on)
            case "record_scrutiny":
                led.record_scrutiny(MANAGER, r, outcome="no_challenge", occurred_on=on)
            case "sign_off":
                led.sign_off(BOARD, r, meeting="Board", occurred_on=on)
            case "send_to_panel":
                led.send_to_panel(MANAGER, r, occurred_on=on)
            case "publish":
                led.publish(MANAGER, r, location="https://example.org", occurred_on=on)
            case "defer_publication":
                led.defer_publication(MANAGER, r, reason="trial pending", occurred_on=on)
            case "close_review":
                led.close_review(MANAGER, r, reason="done", occurred_on=on)
            case "correct_date":
                led.correct_date(MANAGER, r, field="aware_on",
                                 corrected=review.aware_on - timedelta(days=1 + k % 3),
                                 reason="typo", occurred_on=on)

    def do_action(self, i: int, j: int, k: int) -> None:
        review_id, agency = self.pick(self.reviews, i), self.pick(self.agencies, j)
        if review_id is None or agency is None:
            return
        review = self.ledger.get_review(review_id)
        if not review.recommendations:
            return
        self.actions.append(self.ledger.assign_action(
            MANAGER, review_id=review_id, recommendation_id=review.recommendations[0].id,
            agency_id=agency, description="do it", measure_of_success="done",
            due_on=self.on() + timedelta(days=k * 3), occurred_on=self.on()).id)

    def do_act(self, i: int, j: int, k: int) -> None:
        action_id = self.pick(self.actions, i)
        if action_id is None:
            return
        action = self.ledger.get_action(action_id)
        allowed = action.allowed_next()
        if not allowed:
            return
        led, on, a, lead = self.ledger, self.on(), action_id, self.lead(action.agency_id)
        match allowed[j % len(allowed)]:
            case "report_progress":
                led.report_progress(lead, a, narrative="n", rag=["red", "amber", "green"][k % 3],
                                    occurred_on=on - timedelta(days=k % 3))
            case "claim_completion":
                led.claim_completion(lead, a, narrative="done", occurred_on=on)
            case "assure_completion":
                led.assure_completion(MANAGER, a, comments="ok", occurred_on=on)
            case "reject_completion":
                led.reject_completion(MANAGER, a, reason="no evidence", occurred_on=on)
            case "revise_due_date":
                led.revise_due_date(MANAGER, a, due_on=action.due_on + timedelta(days=1 + k),
                                    reason="delay", approved_by="Chair", occurred_on=on)
            case "escalate_action":
                led.escalate_action(MANAGER, a, reason="stalled", occurred_on=on)
            case "hold_to_account":
                led.hold_to_account(BOARD, a, outcome="plan", meeting="Board", occurred_on=on)
            case "evaluate_impact":
                led.evaluate_impact(MANAGER, a, impact="limited", narrative="n", occurred_on=on)
            case "withdraw_action":
                led.withdraw_action(MANAGER, a, reason="superseded", occurred_on=on)

    def do_challenge(self, i: int, j: int, k: int) -> None:
        agency = self.pick(self.agencies, j)
        subject = self.pick(self.actions, i) if k % 2 else self.pick(self.reviews, i)
        if agency is None or subject is None:
            return
        self.challenges.append(self.ledger.raise_challenge(
            SCRUTINEER, subject_type="action_update" if k % 2 else "review_decision",
            subject_id=subject, grounds="g", addressed_to=agency, occurred_on=self.on()).id)

    def do_answer(self, i: int, j: int, k: int) -> None:
        challenge_id = self.pick(self.challenges, i)
        if challenge_id is None:
            return
        challenge = self.ledger.get_challenge(challenge_id)
        allowed = challenge.allowed_next()
        if not allowed:
            return
        led, on, c = self.ledger, self.on(), challenge_id
        match allowed[j % len(allowed)]:
            case "respond_to_challenge":
                led.respond_to_challenge(self.lead(challenge.addressed_to), c, response="r",
                                         occurred_on=on)
            case "escalate_challenge":
                led.escalate_challenge(SCRUTINEER, c, to_stage=challenge.stage + 1,
                                       reason="no answer", occurred_on=on)
            case "resolve_challenge":
                led.resolve_challenge(MANAGER, c, outcome=["upheld", "not_upheld"][k % 2],
                                      reason="r", occurred_on=on)


def dump(side: ReadSide, db: Db | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every view table, in key order."""
    db = db or side.db
    out = {}
    for view in side.views.values():
        for table in view.projection_class.tables:
            out[table.name] = db.query(
                f"SELECT * FROM {{{table.name}}} ORDER BY {', '.join(table.key)}")
    return out


COMMANDS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 9), st.integers(0, 9),
              st.integers(0, 12)),
    min_size=20, max_size=90,
)
# Two agencies and a review with a recommendation and an action, so that every example
# has material for the action and challenge commands.
BOOTSTRAP = ([("agency", 0, 0, 0), ("agency", 0, 0, 0), ("review", 0, 1, 0)]
             + [("advance", 0, 1, 1)] * 6 + [("action", 0, 0, 5), ("action", 0, 1, 9)])


def fresh(ledger: Ledger, tmp_path: Path, n: int) -> Any:
    """A new empty store for each example (PostgreSQL: the test's schema, emptied)."""
    kind = ledger.store.kind
    if kind == "memory":
        return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    if kind == "sqlite":
        return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                           "SQLITE_DBNAME": str(tmp_path / f"example-{n}.sqlite3")})
    datastore = ledger.recorder.datastore
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(f'TRUNCATE "{datastore.schema}"."{ledger.recorder.events_table_name}" '
                       "RESTART IDENTITY")
    return ledger


@pytest.mark.parametrize("bounded", [False, True], ids=["whole", "bounded"])
@pytest.mark.parametrize("store", ["memory", "sqlite", pytest.param(
    "postgres", marks=pytest.mark.postgres)])
def test_incremental_views_equal_a_rebuild(ledger: Ledger, store: str, bounded: bool,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """`bounded`: the rebuild's batches of 7 events and its units of work written whenever
    they hold 10 rows together (what a large ledger's rebuild does every few batches)."""
    if bounded:
        monkeypatch.setattr(runner, "BULK_ROWS", 10)
    batch = 7 if bounded else runner.BULK_BATCH
    examples = count()
    side_holder: dict[str, ReadSide] = {}

    @settings(max_examples={"postgres": 4, "sqlite": 8}.get(store, 10), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(commands=COMMANDS)
    def check(commands: list[tuple[str, int, int, int]]) -> None:
        n = next(examples)
        app = fresh(ledger, tmp_path, n)
        config = Settings(data_dir=tmp_path / f"views-{n}")
        side = side_holder.get("pg") if store == "postgres" else None
        if side is None:
            side = ReadSide(config, app)
            if store == "postgres":
                side_holder["pg"] = side
        rebuild(config, app, read_side=side)  # empty: clears what an earlier example left
        try:
            driver = Driver(app, Runner(side))
            for command in BOOTSTRAP + commands:
                driver.run(command)
            Runner(side).catch_up()
            incremental = dump(side)
            caplog.clear()
            rebuild(config, app, read_side=side, batch_size=batch)
            assert dump(side) == incremental
            # in bulk, not by the fallback that takes over when a view raises
            assert "batch by batch" not in caplog.text
            if store == "postgres":
                copy = SqliteDb(":memory:")
                replica = ReadSide(config, app, db=copy)
                Runner(replica).catch_up()
                assert dump(replica, copy) == incremental
                copy.close()
        finally:
            if store != "postgres":
                side.close()
                if app is not ledger:
                    app.close()

    try:
        check()
    finally:
        for side in side_holder.values():
            side.close()
