"""A deterministic, realistic demo ledger: two areas, the statutory partners and relevant
agencies (the CCG becomes the ICB on 1 July 2022), eight reviews from 2023 to 2026 at every
stage, about 80 actions and a dozen challenges.

Steps are stamped with a simulated clock at their business time (some entered days late, so
backdating shows), in time order, so "as of 1 March 2025" answers as the ledger stood then.
Every fact is invented; references are pseudonyms and no child is described.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from domain import clock
from domain.actors import Actor, Role
from domain.application import Context
from domain.ledger import Ledger

SEED = 20260301
STOKE, STAFFS = "Stoke-on-Trent", "Staffordshire"
BOTH = [STOKE, STAFFS]

AGENCIES = [  # key, name, kind, statutory partner, partnerships
    ("stoke_cc", "Stoke-on-Trent City Council", "local_authority", True, [STOKE]),
    ("staffs_cc", "Staffordshire County Council", "local_authority", True, [STAFFS]),
    ("police", "Staffordshire Police", "police", True, BOTH),
    ("ccg", "North Staffordshire Clinical Commissioning Group", "health", True, BOTH),
    ("uhnm", "University Hospitals of North Midlands NHS Trust", "health", False, BOTH),
    ("mpft", "Midlands Partnership University NHS Foundation Trust", "health", False, BOTH),
    ("nscht", "North Staffordshire Combined Healthcare NHS Trust", "health", False, [STOKE]),
    ("schools", "Stoke-on-Trent Schools Partnership", "education", False, [STOKE]),
    ("probation", "Probation Service (Staffordshire and Stoke-on-Trent)", "other", False, BOTH),
    ("housing", "Stoke-on-Trent Housing Services", "other", False, [STOKE]),
    ("wmas", "West Midlands Ambulance Service", "health", False, BOTH),
]

# A merger (key -> successor key, effective date): its open actions and challenges pass on.
MERGERS = {"nscht": ("mpft", date(2026, 4, 1))}

THEMES = ["information-sharing", "voice-of-the-child", "neglect-recognition",
          "safe-sleep", "professional-curiosity", "domestic-abuse", "mental-health-transition",
          "exploitation-pathway", "think-family", "escalation-culture"]

FINDINGS = [
    "Information held by one agency about risk was not shared at the strategy discussion",
    "Practitioners did not record the child's own account of daily life",
    "Cumulative neglect was assessed episode by episode, not as a pattern",
    "Safe sleep advice was given but not checked at later contacts",
    "Professional curiosity about a new adult in the household was limited",
    "Domestic abuse risk assessments were not refreshed after a change of address",
    "Transition between child and adult mental health services left a gap of months",
    "Indicators of criminal exploitation were seen as choices the young person made",
    "Assessments focused on the child without considering the parents' own needs",
    "Disagreements between professionals were not escalated under the procedure",
]

RECOMMENDATIONS = [
    "Agencies strengthen information sharing at strategy discussions",
    "Assessments record the voice of the child at every statutory visit",
    "Neglect is assessed with the graded care profile across episodes",
    "Safe sleep conversations are repeated and recorded at every health contact",
    "Practitioners are trained in professional curiosity about household members",
    "Domestic abuse risk is re-assessed on every change of address",
    "Transition protocols between child and adult mental health services are agreed",
    "The exploitation pathway is applied consistently across agencies",
    "A think-family approach is embedded in assessments",
    "The escalation procedure is re-launched and its use audited",
]

ACTION_TEMPLATES = [
    ("Deliver multi-agency briefings to frontline staff on {topic}",
     "80% of frontline staff attend a briefing within the period"),
    ("Revise the {topic} guidance and issue it to all teams",
     "Guidance issued and acknowledged by every team manager"),
    ("Audit a sample of 20 case files for {topic}",
     "Audit completed and findings reported to the sub-committee"),
    ("Add {topic} prompts to the case recording system",
     "Prompts live and used in 90% of new assessments"),
]


@dataclass
class Plan:
    """Steps to run, ordered by their recorded time."""

    counter: itertools.count = field(default_factory=itertools.count)
    queue: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)

    def at(self, day: date, step: Callable[[], None], *, hour: int = 10,
           late_by: int = 0) -> None:
        moment = datetime.combine(day + timedelta(days=late_by), time(hour), tzinfo=UTC)
        heapq.heappush(self.queue, (moment, next(self.counter), step))

    def run(self, until: datetime) -> int:
        done = 0
        while self.queue:
            moment, _, step = heapq.heappop(self.queue)
            if moment > until:
                continue  # never stamp an event in the future
            with clock.frozen_at(moment):
                step()
            done += 1
        return done


@dataclass
class Demo:
    ledger: Ledger
    today: date
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    plan: Plan = field(default_factory=Plan)
    agencies: dict[str, UUID] = field(default_factory=dict)
    users: dict[str, Actor] = field(default_factory=dict)
    user_ids: dict[str, UUID] = field(default_factory=dict)
    reviews: dict[str, UUID] = field(default_factory=dict)
    recs: dict[str, list[UUID]] = field(default_factory=dict)
    actions: list[UUID] = field(default_factory=list)

    def ctx(self, who: str) -> Context:
        return Context(self.users[who])

    def lead(self, agency: str) -> str:
        return f"lead_{agency}"

    def lead_now(self, agency: str) -> str:
        """The lead who answers for `agency`'s records today: after a merger, the
        successor's (the merger passed its open actions and challenges on)."""
        merged = MERGERS.get(agency)
        if merged is not None and clock.today() >= merged[1]:
            return self.lead(merged[0])
        return self.lead(agency)


OPERATOR = Context(Actor("operator:demo", Role.OPERATOR, name="demo loader"))


def load_demo(ledger: Ledger, today: date | None = None) -> dict[str, Any]:
    """Write the demo ledger. Returns counts of what was written."""
    demo = Demo(ledger=ledger, today=today or clock.today())
    _agencies_and_users(demo)
    _reviews(demo)
    steps = demo.plan.run(until=clock.now())
    return {"steps": steps, "events": ledger.head_position(), "agencies": len(demo.agencies),
            "reviews": len(demo.reviews), "actions": len(demo.actions)}


def demo_user_ids(ledger: Ledger) -> dict[str, UUID]:
    """The demo's user for each role (by name), so fresh tokens can be issued on each run."""
    wanted = {name: role for name, role in _DEMO_PEOPLE}
    found: dict[str, UUID] = {}
    for user in ledger.list_users():
        if user.name in wanted and user.active and user.role.value == wanted[user.name]:
            found.setdefault(wanted[user.name], user.id)
    return found


_DEMO_PEOPLE = [("Carole Preston (demo)", "scb_manager"), ("Board Chair (demo)", "board_member"),
                ("Independent Scrutineer (demo)", "scrutineer"), ("Auditor (demo)", "auditor"),
                ("Police safeguarding lead (demo)", "agency_lead")]


def _agencies_and_users(demo: Demo) -> None:
    ledger = demo.ledger

    def register_all() -> None:
        for key, name, kind, partner, partnerships in AGENCIES:
            demo.agencies[key] = ledger.register_agency(
                OPERATOR, name=name, kind=kind, statutory_partner=partner,
                partnerships=partnerships, occurred_on=date(2019, 4, 1)).id
        for name, role in _DEMO_PEOPLE:
            agency = demo.agencies["police"] if role == "agency_lead" else None
            user_id = ledger.register_user(OPERATOR, name=name, role=role, agency_id=agency).id
            demo.user_ids[role] = user_id
            demo.users[role] = ledger.get_user(user_id).as_actor()
        for key, *_ in AGENCIES:
            if key == "police":
                demo.users[demo.lead(key)] = demo.users["agency_lead"]
                continue
            user_id = ledger.register_user(OPERATOR, name=f"Safeguarding lead, {key} (demo)",
                                           role="agency_lead", agency_id=demo.agencies[key]).id
            demo.users[demo.lead(key)] = ledger.get_user(user_id).as_actor()

    def register_partnerships() -> None:
        # Since the joint board, each area runs its own partnership; they share one ICB (a
        # CCG until July 2022) and one police force.
        for name, la in ((STOKE, "stoke_cc"), (STAFFS, "staffs_cc")):
            ledger.register_partnership(
                OPERATOR, name=name, areas=[name],
                safeguarding_partners=[demo.agencies[k] for k in (la, "police", "ccg")],
                occurred_on=date(2019, 4, 1))
            # A Board member of each partnership sees that partnership's records only.
            ledger.register_user(OPERATOR, name=f"Board member, {name} (demo)",
                                 role="board_member", partnerships=[name])

    demo.plan.at(date(2019, 4, 1), register_all, hour=9)
    demo.plan.at(date(2019, 4, 1), register_partnerships, hour=9)
    for key, (successor, effective) in MERGERS.items():
        demo.plan.at(effective, lambda key=key, successor=successor, effective=effective:
                     ledger.merge_agency(
                         OPERATOR, demo.agencies[key], into_agency_id=demo.agencies[successor],
                         reason="The two NHS trusts merged; the successor answers for the "
                                "open actions", occurred_on=effective), hour=9)
    demo.plan.at(date(2022, 7, 1), lambda: ledger.rename_agency(
        OPERATOR, demo.agencies["ccg"],
        name="Staffordshire and Stoke-on-Trent Integrated Care Board",
        reason="Health and Care Act 2022: Integrated Care Boards took over the CCGs' duties",
        occurred_on=date(2022, 7, 1)), hour=9)


@dataclass(frozen=True)
class Scenario:
    ref: str
    area: str
    la: str  # agency key of the local authority
    aware: date
    steps: dict[str, date]  # step name -> business date (absent: not reached)
    conduct: bool = True
    category: str = "neglect"
    harm: str = "serious_harm"
    age_band: str = "1_to_4"
    legal_status: str = "child_in_need"
    agencies: tuple[str, ...] = ("police", "ccg", "uhnm")
    late_entry: int = 0  # days after the business date that steps were entered


D = date
SCENARIOS = [
    Scenario("SSSCB-2023-01", STOKE, "stoke_cc", D(2023, 1, 9), {
        "notify": D(2023, 1, 12), "rapid": D(2023, 1, 27), "decide": D(2023, 2, 6),
        "commission": D(2023, 3, 1), "findings": D(2023, 5, 15), "report": D(2023, 6, 20),
        "scrutiny": D(2023, 7, 5), "sign_off": D(2023, 7, 12), "send": D(2023, 7, 14),
        "publish": D(2023, 7, 28), "close": D(2024, 9, 30)},
        category="non_accidental_injury", age_band="under_1",
        agencies=("police", "ccg", "uhnm", "stoke_cc")),
    Scenario("SSSCB-2023-02", STAFFS, "staffs_cc", D(2023, 5, 15), {
        "notify": D(2023, 5, 24), "rapid": D(2023, 6, 2), "decide": D(2023, 6, 12),
        "commission": D(2023, 7, 3), "findings": D(2023, 10, 2), "report": D(2023, 12, 1),
        "scrutiny": D(2023, 12, 20), "sign_off": D(2024, 1, 17), "send": D(2024, 1, 19),
        "publish": D(2024, 1, 25)},
        category="suspected_suicide", harm="death", age_band="16_to_17",
        legal_status="looked_after", agencies=("police", "mpft", "staffs_cc", "probation"),
        late_entry=3),
    Scenario("SSSCB-2024-01", STOKE, "stoke_cc", D(2024, 2, 5), {
        "notify": D(2024, 2, 14), "rapid": D(2024, 2, 23), "decide": D(2024, 3, 4),
        "panel": D(2024, 3, 11), "close": D(2024, 3, 15)},
        conduct=False, category="sudden_unexpected_death_in_infancy", harm="death",
        age_band="under_1", legal_status="none", agencies=("police", "uhnm", "wmas")),
    Scenario("SSSCB-2024-02", STAFFS, "staffs_cc", D(2024, 3, 25), {
        "notify": D(2024, 3, 28), "rapid": D(2024, 4, 16), "decide": D(2024, 4, 22),
        "commission": D(2024, 5, 13), "findings": D(2024, 7, 8), "report": D(2024, 9, 16),
        "scrutiny": D(2024, 10, 1), "sign_off": D(2024, 10, 9), "send": D(2024, 10, 10),
        "publish": D(2024, 10, 21)},
        category="exploitation", age_band="10_to_15", legal_status="child_protection_plan",
        agencies=("police", "staffs_cc", "mpft", "probation")),
    Scenario("SSSCB-2024-03", STOKE, "stoke_cc", D(2024, 12, 16), {
        "notify": D(2024, 12, 20), "rapid": D(2025, 1, 20), "decide": D(2025, 1, 27),
        "commission": D(2025, 2, 17), "findings": D(2025, 4, 7), "report": D(2025, 6, 2),
        "scrutiny": D(2025, 6, 20), "sign_off": D(2025, 7, 9), "send": D(2025, 7, 11),
        "defer": D(2025, 7, 21)},
        category="non_accidental_injury", age_band="1_to_4",
        legal_status="child_protection_plan",
        agencies=("police", "stoke_cc", "nscht", "housing", "schools")),
    Scenario("SSSCB-2025-01", STAFFS, "staffs_cc", D(2025, 3, 3), {
        "notify": D(2025, 3, 6), "rapid": D(2025, 3, 21), "decide": D(2025, 3, 31),
        "commission": D(2025, 4, 22), "findings": D(2025, 7, 1), "report": D(2025, 9, 15),
        "scrutiny": D(2025, 10, 1)},
        category="neglect", age_band="5_to_9", agencies=("police", "staffs_cc", "ccg", "mpft")),
    Scenario("SSSCB-2025-02", STOKE, "stoke_cc", D(2025, 6, 9), {
        "notify": D(2025, 6, 12), "rapid": D(2025, 6, 27), "decide": D(2025, 7, 7),
        "commission": D(2025, 8, 4), "findings": D(2025, 10, 13), "report": D(2026, 1, 12)},
        category="exploitation", age_band="10_to_15", legal_status="child_in_need",
        agencies=("police", "stoke_cc", "schools", "nscht")),
    Scenario("SSSCB-2026-01", STAFFS, "staffs_cc", D(2026, 5, 11), {
        "notify": D(2026, 5, 14), "rapid": D(2026, 5, 29), "decide": D(2026, 6, 8),
        "commission": D(2026, 7, 6), "findings": D(2026, 9, 14)},
        category="neglect", age_band="under_1", agencies=("police", "ccg", "staffs_cc", "uhnm")),
    Scenario("SSSCB-2026-02", STOKE, "stoke_cc", D(2026, 11, 10), {"notify": D(2026, 11, 13)},
             category="other", age_band="5_to_9", agencies=("police", "stoke_cc")),
    Scenario("SSSCB-2026-03", STAFFS, "staffs_cc", D(2026, 11, 19), {},
             category="non_accidental_injury", age_band="1_to_4", agencies=("police", "ccg")),
]


def _reviews(demo: Demo) -> None:
    for number, scenario in enumerate(SCENARIOS):
        _schedule_review(demo, number, scenario)
    _schedule_free_challenges(demo)


def _schedule_review(demo: Demo, number: int, s: Scenario) -> None:
    ledger, plan, steps = demo.ledger, demo.plan, s.steps
    mgr = lambda: demo.ctx("scb_manager")
    rid = lambda: demo.reviews[s.ref]
    late = s.late_entry

    plan.at(s.aware + timedelta(days=1), lambda: demo.reviews.__setitem__(s.ref, ledger.record_incident(
        mgr(), reference=s.ref, partnership=s.area, local_authority_area=s.area,
        age_band=s.age_band, harm=s.harm, category=s.category, legal_status=s.legal_status,
        agencies_involved=[demo.agencies[a] for a in s.agencies], occurred_on=s.aware).id))
    simple = {
        "notify": lambda d: ledger.notify_panel(mgr(), rid(), occurred_on=d),
        "rapid": lambda d: ledger.complete_rapid_review(
            mgr(), rid(), summary="Rapid review completed with all partners; immediate "
            "safety actions agreed for siblings", occurred_on=d),
        "decide": lambda d: ledger.record_local_decision(
            mgr(), rid(), conduct_review=s.conduct,
            criteria=(["improvements_needed", "multi_agency_concerns"] if s.conduct else []),
            rationale=("The case raises concerns about agencies working together and may "
                       "highlight improvements needed" if s.conduct else
                       "Single-agency learning already captured; criteria not met"),
            occurred_on=d),
        "panel": lambda d: ledger.record_panel_decision(
            mgr(), rid(), national_review=False, criteria=[],
            rationale="The Panel agreed a national review is not required", occurred_on=d),
        "commission": lambda d: ledger.commission_reviewer(
            mgr(), rid(), reviewer="Independent reviewer (demo)", occurred_on=d),
        "report": lambda d: ledger.submit_report(
            mgr(), rid(), summary="Overarching independent report submitted", occurred_on=d),
        "sign_off": lambda d: ledger.sign_off(
            demo.ctx("board_member"), rid(), meeting=f"Full Board meeting {d:%d %B %Y}",
            occurred_on=d),
        "send": lambda d: ledger.send_to_panel(mgr(), rid(), occurred_on=d),
        "publish": lambda d: ledger.publish(
            mgr(), rid(), location=f"Partnership website, reviews page ({s.ref})",
            occurred_on=d),
        "defer": lambda d: ledger.defer_publication(
            mgr(), rid(), reason="Publication deferred until criminal proceedings conclude",
            occurred_on=d),
        "close": lambda d: ledger.close_review(
            mgr(), rid(), reason=("All actions assured and impact evaluated" if s.conduct
                                  else "No local or national review; learning shared"),
            occurred_on=d),
    }
    for name, step in simple.items():
        if name in steps:
            plan.at(steps[name], lambda step=step, d=steps[name]: step(d), late_by=late)
    if "findings" in steps:
        plan.at(steps["findings"], lambda: _findings(demo, number, s), late_by=late)
    if "scrutiny" in steps:
        plan.at(steps["scrutiny"], lambda: _scrutiny(demo, number, s))


def _findings(demo: Demo, number: int, s: Scenario) -> None:
    ledger, rng, day = demo.ledger, demo.rng, s.steps["findings"]
    review_id = demo.reviews[s.ref]
    picks = rng.sample(range(len(FINDINGS)), 3 if number % 2 else 4)
    demo.recs[s.ref] = []
    for n, i in enumerate(picks):
        themes = [THEMES[i]] + ([THEMES[(i + 3) % len(THEMES)]] if rng.random() < 0.4 else [])
        finding = ledger.record_finding(demo.ctx("scb_manager"), review_id, text=FINDINGS[i],
                                        themes=themes, occurred_on=day)
        rec = ledger.record_recommendation(demo.ctx("scb_manager"), review_id,
                                           text=RECOMMENDATIONS[i],
                                           finding_ids=[finding.item_id], occurred_on=day)
        demo.recs[s.ref].append(rec.item_id)
        if number == 1 and n == 0:  # a finding minuted wrongly, corrected a fortnight on
            later, version = day + timedelta(days=14), finding.outcome.version
            demo.plan.at(later, lambda later=later, version=version, text=FINDINGS[i]:
                         ledger.correct_review_entry(
                             demo.ctx("scb_manager"), review_id, corrects_version=version,
                             field="text", corrected=f"{text} (as agreed with the reviewer)",
                             reason="The finding was minuted before the reviewer's final "
                             "wording was agreed", approved_by="Significant Incident "
                             "sub-committee", occurred_on=later), hour=15)
        owners = [a for a in s.agencies if a != "wmas"][: 3 + (i % 2)]
        assign_on = s.steps.get("sign_off", day) + timedelta(days=7)
        for owner in owners:
            demo.plan.at(assign_on, lambda owner=owner, rec_id=rec.item_id, i=i, on=assign_on:
                         _action(demo, s, rec_id, owner, i, on))


def _scrutiny(demo: Demo, number: int, s: Scenario) -> None:
    ledger, day = demo.ledger, s.steps["scrutiny"]
    review_id = demo.reviews[s.ref]
    if number % 2 == 0:  # every other review is challenged at scrutiny
        challenge = ledger.raise_challenge(
            demo.ctx("scrutineer"), subject_type="report", subject_id=review_id,
            grounds="The report does not show how the voice of the child was sought",
            addressed_to=demo.agencies[s.la], occurred_on=day)
        ledger.record_scrutiny(demo.ctx("scb_manager"), review_id, outcome="challenged",
                               challenge_id=challenge.id,
                               notes="SSSPG challenge recorded before sign-off", occurred_on=day)
        _challenge_path(demo, challenge.id, s.la, day, target_stage=2 + number % 3,
                        resolve=s.steps.get("sign_off") is not None)
    else:
        ledger.record_scrutiny(demo.ctx("scb_manager"), review_id, outcome="no_challenge",
                               challenge_id=None, notes="SSSPG satisfied with the report",
                               occurred_on=day)


PROFILES = ["assured", "assured", "rejected_then_assured", "in_progress", "overdue_stalled",
            "escalated", "due_revised", "withdrawn", "in_progress", "assured"]
CLOSED_PROFILES = ["assured", "assured", "rejected_then_assured", "assured", "withdrawn"]


def _action(demo: Demo, s: Scenario, rec_id: UUID, owner: str, i: int, on: date) -> None:
    ledger, rng = demo.ledger, demo.rng
    due = on + timedelta(days=rng.randint(150, 540))  # SMART actions run 5-18 months
    topic = THEMES[i].replace("-", " ")
    template = ACTION_TEMPLATES[rng.randrange(len(ACTION_TEMPLATES))]
    action_id = ledger.assign_action(
        demo.ctx("scb_manager"), review_id=demo.reviews[s.ref], recommendation_id=rec_id,
        agency_id=demo.agencies[owner], description=template[0].format(topic=topic),
        measure_of_success=template[1], due_on=due,
        milestones=["Plan agreed", "Delivery started", "Evidence collected"], occurred_on=on).id
    demo.actions.append(action_id)
    # A closed review's actions were all completed (or withdrawn) before it closed.
    profiles = CLOSED_PROFILES if "close" in s.steps else PROFILES
    profile = profiles[rng.randrange(len(profiles))]
    _action_life(demo, action_id, owner, on, due, profile)


def _action_life(demo: Demo, action_id: UUID, owner: str, start: date, due: date,
                 profile: str) -> None:
    ledger, rng, plan = demo.ledger, demo.rng, demo.plan
    lead = lambda: demo.ctx(demo.lead_now(owner))
    mgr = lambda: demo.ctx("scb_manager")
    claim = due - timedelta(days=rng.randint(0, 20))
    # Updates stop when the agency claims completion, stalls, or the action is withdrawn.
    updates_until = {"overdue_stalled": start + timedelta(days=70),
                     "withdrawn": start + timedelta(days=59),
                     "assured": claim, "rejected_then_assured": claim,
                     # still reporting, late or not: overdue but not stalled
                     "in_progress": demo.today}.get(profile, due)
    day, n = start + timedelta(days=rng.randint(20, 45)), 0
    while day < updates_until and day <= demo.today:
        rag = "green" if profile in ("assured", "in_progress") else rng.choice(
            ["amber", "amber", "red", "green"])
        plan.at(day, lambda d=day, rag=rag, n=n: ledger.report_progress(
            lead(), action_id, narrative=f"Update {n + 1}: delivery continuing as planned"
            if rag == "green" else f"Update {n + 1}: delivery delayed by staffing pressures",
            rag=rag, evidence=[f"Briefing register {d:%Y-%m-%d}"], occurred_on=d), hour=14)
        day += timedelta(days=rng.randint(35, 60))
        n += 1
    if profile in ("assured", "rejected_then_assured"):
        plan.at(claim, lambda c=claim: ledger.claim_completion(
            lead(), action_id, narrative="All milestones delivered",
            evidence=["Training attendance report", "Audit summary"], occurred_on=c),
            hour=15)
        if profile == "rejected_then_assured":
            rejected = claim + timedelta(days=10)
            plan.at(rejected, lambda: ledger.reject_completion(
                mgr(), action_id, reason="Evidence shows delivery, not impact on practice; "
                "audit findings are needed", occurred_on=rejected), hour=16)
            claim = claim + timedelta(days=45)
            plan.at(claim, lambda c=claim: ledger.claim_completion(
                lead(), action_id, narrative="Case file audit completed and reported",
                evidence=["Case file audit report"], occurred_on=c), hour=15)
        assured = claim + timedelta(days=rng.randint(10, 30))
        plan.at(assured, lambda: ledger.assure_completion(
            mgr(), action_id, comments="Sub-committee assured by the evidence provided",
            occurred_on=assured), hour=16)
        if rng.random() < 0.5:
            later = assured + timedelta(days=180)
            plan.at(later, lambda: ledger.evaluate_impact(
                mgr(), action_id, impact=rng.choice(["limited", "demonstrable"]),
                narrative="Re-audit six months on shows the change embedded in most teams",
                occurred_on=later), hour=16)
    elif profile == "escalated":
        # Up the ladder, three weeks a rung: the sub-group, the delegated then the lead
        # safeguarding partners; some stop part-way, some reach the Board.
        esc = due + timedelta(days=30)
        levels = 1 + rng.randrange(3)
        reasons = ["Overdue with no credible plan to complete",
                   "No recovery plan after the sub-group's request",
                   "Delegated partners could not agree a recovery plan with the agency"]
        for rung in range(levels):
            when = esc + timedelta(days=21 * rung)
            plan.at(when, lambda when=when, rung=rung: ledger.escalate_action(
                mgr(), action_id, reason=reasons[rung], occurred_on=when), hour=11)
        if levels == 3 and rng.random() < 0.5:
            board = esc + timedelta(days=63)
            # The SCB manager minutes the Board's outcome.
            plan.at(board, lambda: ledger.hold_to_account(
                mgr(), action_id,
                outcome="Agency to present a recovery plan to the next Board",
                meeting=f"Full Board meeting {board:%d %B %Y}", occurred_on=board), hour=11)
    elif profile == "due_revised":
        when = due - timedelta(days=14)
        plan.at(when, lambda: ledger.revise_due_date(
            mgr(), action_id, due_on=due + timedelta(days=90),
            reason="Dependent on a regional procedure not yet published",
            approved_by="Significant Incident sub-committee", occurred_on=when), hour=12)
    elif profile == "withdrawn":
        when = start + timedelta(days=60)
        plan.at(when, lambda: ledger.withdraw_action(
            mgr(), action_id, reason="Superseded by a regional action owned by the partnership",
            occurred_on=when), hour=12)


def _challenge_path(demo: Demo, challenge_id: UUID, addressed: str, day: date, *,
                    target_stage: int, resolve: bool) -> None:
    ledger, plan = demo.ledger, demo.plan
    plan.at(day + timedelta(days=5), lambda: ledger.respond_to_challenge(
        demo.ctx(demo.lead_now(addressed)), challenge_id,
        response="The agency has reviewed the grounds and sets out its position",
        occurred_on=day + timedelta(days=5)), hour=13)
    for stage in range(2, target_stage + 1):
        when = day + timedelta(days=7 * stage)
        plan.at(when, lambda stage=stage, when=when: ledger.escalate_challenge(
            demo.ctx("scrutineer"), challenge_id, to_stage=stage,
            reason="No agreement at the previous stage within the expected time",
            occurred_on=when), hour=13)
    if resolve:
        when = day + timedelta(days=7 * target_stage + 10)
        # Stage 4 is the Board's to resolve; before it the SCB manager records the agreed
        # outcome (DOMAIN.md: who may do what).
        resolver = "board_member" if target_stage == 4 else "scb_manager"
        plan.at(when, lambda: ledger.resolve_challenge(
            demo.ctx(resolver), challenge_id,
            outcome=["upheld", "not_upheld"][target_stage % 2],
            reason="Decision recorded with the partnership's written outcome",
            occurred_on=when), hour=13)


def _schedule_free_challenges(demo: Demo) -> None:
    """Challenges against action updates and decisions, at every stage, some still open."""
    specs = [  # (day, target stage, resolve, subject review ref)
        (D(2024, 3, 20), 2, True, "SSSCB-2024-01"), (D(2024, 11, 4), 1, True, "SSSCB-2024-02"),
        (D(2025, 2, 10), 3, True, "SSSCB-2024-02"), (D(2025, 9, 1), 4, True, "SSSCB-2023-02"),
        (D(2026, 2, 2), 4, False, "SSSCB-2024-02"), (D(2026, 6, 1), 3, False, "SSSCB-2025-01"),
        (D(2026, 9, 7), 2, False, "SSSCB-2024-03"), (D(2026, 10, 19), 1, False, "SSSCB-2025-02"),
        (D(2026, 11, 2), 1, False, "SSSCB-2024-02"), (D(2026, 10, 5), 2, True, "SSSCB-2024-03"),
    ]
    for day, stage, resolve, ref in specs:
        demo.plan.at(day, lambda day=day, stage=stage, resolve=resolve, ref=ref:
                     _free_challenge(demo, day, stage, resolve, ref), hour=12)


def _free_challenge(demo: Demo, day: date, stage: int, resolve: bool, ref: str) -> None:
    ledger = demo.ledger
    review_id = demo.reviews[ref]
    mine = [a for a in demo.actions if ledger.get_action(a).review_id == review_id]
    if mine:
        action = ledger.get_action(mine[demo.rng.randrange(len(mine))])
        owner = next(k for k, v in demo.agencies.items() if v == action.agency_id)
        subject_type, subject_id = "action_update", action.id
        grounds = "The update reports activity but no evidence of impact on practice"
    else:
        owner, subject_type, subject_id = "stoke_cc", "review_decision", review_id
        grounds = "The decision not to conduct a review does not address criterion (b)"
    raiser = "scrutineer" if stage % 2 else "scb_manager"
    challenge_id = ledger.raise_challenge(
        demo.ctx(raiser), subject_type=subject_type, subject_id=subject_id, grounds=grounds,
        addressed_to=demo.agencies[owner], occurred_on=day).id
    _challenge_path(demo, challenge_id, owner, day, target_stage=stage, resolve=resolve)
