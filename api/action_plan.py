"""Action plans in and out of Excel (openpyxl): the partnership's existing plans come in as
actions of a review, and a review's plan (or the Board's list) goes back out in the same
columns.

Import: the heading row is found (the common headings recognised, in any order and wording
near enough), every row is previewed with what it will record and every problem (unknown
agency, unparseable date, empty action, a RAG not red/amber/green, a recommendation the
review does not have, anything the domain itself would refuse), and nothing is recorded
until the whole file is clean. Then each row records one fact: Action.Assigned, with the
file's name and row as its `source`, through the same use case as POST /actions. Each row's
command carries an Idempotency-Key made from the file's content and the row, so importing the
same file twice records nothing the second time.

What a row's other columns become: the RAG, agency response and evidence are the agency's own
report, which only its lead may record (domain/actors.py's grants: report_progress); they are
checked and shown in the preview, and are not recorded by the import. The completion column
is the action's measure of success. Critical-friend comments are shown, not recorded.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from domain import clock
from domain.action import Action, Rag
from domain.actors import Actor, Role
from domain.application import Context, Idempotency
from domain.errors import DomainError
from domain.ledger import Ledger
from domain.review import Review
from domain.use_cases.actions import ASSIGNABLE_STAGES

# The columns of a partnership's action plan, and the headings each is known by.
COLUMNS: dict[str, tuple[str, ...]] = {
    "recommendation": ("recommendation", "recommendations", "rec", "rec no",
                       "recommendation no", "recommendation number", "ref"),
    "action": ("action", "actions", "smart action", "action required", "actions required",
               "what will be done"),
    "agency": ("lead agency", "agency", "lead", "owner", "responsible agency",
               "lead organisation", "organisation"),
    "milestones": ("milestones", "milestone", "key milestones"),
    "due_on": ("target date", "due date", "due", "deadline", "date due", "target",
               "timescale", "completion date"),
    "rag": ("rag", "rag rating", "rag status", "status"),
    "response": ("agency response", "response", "progress", "update", "progress update"),
    "evidence": ("evidence", "evidence of progress", "evidence of impact"),
    "comments": ("critical friend comments", "critical-friend comments", "critical friend",
                 "comments"),
    "completion": ("completion", "measure of success", "success measure",
                   "what completion looks like", "outcome"),
    "assigned_on": ("date assigned", "date agreed", "assigned", "start date"),
}
TITLES = {"recommendation": "Recommendation", "action": "Action", "agency": "Lead agency",
          "milestones": "Milestones", "due_on": "Target date", "rag": "RAG",
          "response": "Agency response", "evidence": "Evidence",
          "comments": "Critical-friend comments", "completion": "Completion"}
EXPORT_COLUMNS = list(TITLES)
RAG_FILLS = {"red": "F4A6A6", "amber": "FFD68A", "green": "A8D5A2"}
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y",
                "%d %b %Y", "%B %Y", "%b %Y")
DEFAULT_MEASURE = "Completion as agreed in the action plan"


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text or "").casefold()).strip()


HEADINGS = {_norm(h): key for key, names in COLUMNS.items() for h in names}


@dataclass
class PlanRow:
    """One row of the plan: what it says, what it will record, and what is wrong with it."""

    row: int
    cells: dict[str, str]
    recommendation_id: UUID | None = None
    agency_id: UUID | None = None
    due_on: date | None = None
    assigned_on: date | None = None
    milestones: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    already: bool = False  # recorded by an earlier import of this file

    @property
    def records(self) -> str:
        if self.problems:
            return "nothing (see the problems)"
        if self.already:
            return "nothing: already recorded by an earlier import of this file"
        return (f"an action for {self.cells.get('agency')}, due {self.due_on:%-d %b %Y}"
                if self.due_on else "an action")


@dataclass
class Preview:
    file_name: str
    digest: str
    review_id: UUID | None
    review_reference: str
    columns: dict[str, str]  # our column -> the file's heading
    rows: list[PlanRow]
    problems: list[str] = field(default_factory=list)  # the whole file's
    unmapped: list[str] = field(default_factory=list)  # the file's headings not recognised

    @property
    def clean(self) -> bool:
        return not self.problems and not any(r.problems for r in self.rows)

    @property
    def bad_rows(self) -> list[PlanRow]:
        return [r for r in self.rows if r.problems]

    @property
    def to_record(self) -> list[PlanRow]:
        return [r for r in self.rows if not r.problems and not r.already]

    def source(self, row: PlanRow) -> str:
        return f"{self.file_name} row {row.row}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Any) -> date | None:
    """A cell's date: a date cell, or text in a common UK form; None when it is not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _lines(text: str) -> list[str]:
    return [p.strip(" •-\t") for p in re.split(r"[\n;]+", text) if p.strip(" •-\t")]


def read_preview(data: bytes, file_name: str, review: Review | None, review_reference: str,
                 agencies: dict[str, UUID], actor: Actor, ledger: Ledger | None = None,
                 today: date | None = None, mapping: dict[str, str] | None = None
                 ) -> Preview:
    """Every row of the workbook's first sheet, checked; nothing is recorded here.

    `agencies`: each agency's name (and former names), casefolded, to its id."""
    today = today or clock.today()
    digest = hashlib.sha256(data).hexdigest()
    preview = Preview(file_name, digest, review.id if review else None, review_reference, {},
                      [])
    if review is None:
        preview.problems.append(f"there is no review {review_reference}")
    elif str(review.stage) not in ASSIGNABLE_STAGES:
        preview.problems.append(
            f"review {review.reference} is at stage {review.stage}: actions can be assigned "
            "from reviewer_commissioned until the review is closed")
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:  # not a workbook
        preview.problems.append(f"{file_name} is not an Excel workbook (.xlsx): {error}")
        return preview
    rows = list(sheet.iter_rows(values_only=True))
    header_at, found = _find_headings(rows, mapping or {})
    if header_at is None:
        preview.problems.append(
            "no heading row found: the first rows should name the columns (e.g. "
            "Recommendation, Action, Lead agency, Target date, RAG)")
        return preview
    preview.columns = {key: _text(rows[header_at][i]) for key, i in found.items()}
    preview.unmapped = [_text(v) for v in rows[header_at]
                        if _text(v) and _text(v) not in preview.columns.values()]
    for missing in ("action", "agency", "due_on"):
        if missing not in found:
            preview.problems.append(f"no column for {TITLES[missing].lower()} (headings "
                                    f"recognised: {', '.join(COLUMNS[missing][:4])})")
    if preview.problems:
        return preview
    for offset, values in enumerate(rows[header_at + 1:], start=header_at + 2):
        raw = {key: values[i] if i < len(values) else None for key, i in found.items()}
        cells = {key: _text(v) for key, v in raw.items()}
        if not any(cells.values()):
            continue
        preview.rows.append(_check_row(offset, raw, cells, review, agencies, actor, today))
    if ledger is not None:
        importers = _importers(ledger, actor)
        for row in preview.rows:
            if not row.problems and _already(ledger, importers, preview, row):
                row.already = True
    return preview


def _importers(ledger: Ledger, actor: Actor) -> list[Actor]:
    """Who may have imported this file before: this person and every SCB manager (the
    Idempotency-Key is kept per user)."""
    others = [u.as_actor() for u in ledger.list_users()
              if u.role is Role.SCB_MANAGER and str(u.id) != actor.user_id]
    return [actor, *others]


def _already(ledger: Ledger, importers: list[Actor], preview: Preview, row: PlanRow) -> bool:
    key = _idempotency(preview, row)
    return any(ledger.replay_idempotent(a, key) is not None for a in importers)


def _find_headings(rows: list[tuple[Any, ...]], extra: dict[str, str]
                   ) -> tuple[int | None, dict[str, int]]:
    known = {**HEADINGS, **{_norm(h): key for h, key in extra.items() if key in COLUMNS}}
    for at, values in enumerate(rows[:15]):
        mapping: dict[str, int] = {}
        for i, value in enumerate(values):
            key = known.get(_norm(value))
            if key is not None and key not in mapping:
                mapping[key] = i
        if len(mapping) >= 3:
            return at, mapping
    return None, {}


def _check_row(row: int, raw: dict[str, Any], cells: dict[str, str], review: Review | None,
               agencies: dict[str, UUID], actor: Actor, today: date) -> PlanRow:
    plan = PlanRow(row, cells)
    if not cells.get("action"):
        plan.problems.append("the action is empty")
    agency = cells.get("agency", "")
    plan.agency_id = agencies.get(agency.casefold())
    if not agency:
        plan.problems.append("no lead agency")
    elif plan.agency_id is None:
        plan.problems.append(f"unknown agency '{agency}'")
    if not cells.get("due_on"):
        plan.problems.append("no target date")
    else:
        plan.due_on = parse_date(raw.get("due_on"))
        if plan.due_on is None:
            plan.problems.append(f"'{cells['due_on']}' is not a date (e.g. 31/03/2026)")
    plan.assigned_on = today
    if cells.get("assigned_on"):
        plan.assigned_on = parse_date(raw.get("assigned_on"))
        if plan.assigned_on is None:
            plan.problems.append(f"date assigned '{cells['assigned_on']}' is not a date")
    rag = cells.get("rag", "").casefold()
    if rag and rag not in {r.value for r in Rag}:
        plan.problems.append(f"RAG '{cells['rag']}' is not red, amber or green")
    if review is not None:
        plan.recommendation_id = _recommendation(review, cells.get("recommendation", ""))
        if plan.recommendation_id is None:
            plan.problems.append(
                f"review {review.reference} has no recommendation "
                f"'{cells.get('recommendation', '')}' (give its number, e.g. 1 or R1, or its "
                "text; record the recommendation first)")
    plan.milestones = _lines(cells.get("milestones", ""))
    if not plan.problems and review is not None:  # what the domain itself would refuse
        try:
            Action.assign(actor=actor, occurred_on=plan.assigned_on or today,
                          review_id=review.id, recommendation_id=plan.recommendation_id,  # type: ignore[arg-type]
                          agency_id=plan.agency_id, description=cells["action"],  # type: ignore[arg-type]
                          measure_of_success=cells.get("completion") or DEFAULT_MEASURE,
                          due_on=plan.due_on, milestones=plan.milestones,  # type: ignore[arg-type]
                          source=f"row {row}")
        except DomainError as error:
            plan.problems.append(error.detail.replace("due_on", "target date")
                                 .replace("occurred_on", "date assigned"))
    return plan


def _recommendation(review: Review, cell: str) -> UUID | None:
    live = [r for r in review.recommendations if not getattr(r, "retracted", False)]
    if not cell:
        return live[0].id if len(live) == 1 else None
    number = re.fullmatch(r"(?:r|rec|recommendation)?\s*\.?\s*(\d+)", cell.casefold().strip())
    if number and 1 <= int(number.group(1)) <= len(review.recommendations):
        return review.recommendations[int(number.group(1)) - 1].id
    wanted = _norm(cell)
    for r in live:
        if _norm(r.text) == wanted:
            return r.id
    return None


def _idempotency(preview: Preview, row: PlanRow) -> Idempotency:
    """The row's command key: the file's content and the row, whoever imports it."""
    return Idempotency(key=f"import:{preview.digest[:40]}:{row.row}",
                       fingerprint=hashlib.sha256(repr(sorted(row.cells.items())).encode())
                       .hexdigest())


def record(ledger: Ledger, actor: Actor, preview: Preview) -> list[UUID]:
    """Record a clean preview: one Action.Assigned per row not already recorded."""
    if not preview.clean:
        raise ValueError("the file has problems: nothing may be recorded")
    made = []
    importers = _importers(ledger, actor)
    for row in preview.to_record:
        ctx = Context(actor=actor, idempotency=_idempotency(preview, row))
        if _already(ledger, importers, preview, row):
            continue
        outcome = ledger.assign_action(
            ctx, review_id=preview.review_id, recommendation_id=row.recommendation_id,  # type: ignore[arg-type]
            agency_id=row.agency_id, description=row.cells["action"],  # type: ignore[arg-type]
            measure_of_success=row.cells.get("completion") or DEFAULT_MEASURE,
            due_on=row.due_on, milestones=row.milestones,  # type: ignore[arg-type]
            occurred_on=row.assigned_on, source=preview.source(row))
        made.append(outcome.id)
    return made


def saved_mapping(path: Path) -> dict[str, str]:
    """The partnership's own headings (heading -> column), saved by an earlier import."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(h): str(c) for h, c in data.items() if str(c) in COLUMNS} \
        if isinstance(data, dict) else {}


def save_mapping(path: Path, mapping: dict[str, str]) -> dict[str, str]:
    """Add headings to the saved mapping (unknown columns ignored); returns the whole."""
    merged = {**saved_mapping(path), **{h.strip(): c for h, c in mapping.items()
                                        if h.strip() and c in COLUMNS}}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)
    return merged


def agency_lookup(directory: Iterable[dict[str, Any]]) -> dict[str, UUID]:
    """Names (and former names) of the agency directory's rows, casefolded, to ids."""
    names: dict[str, UUID] = {}
    for a in directory:
        for name in [a.get("name"), *(a.get("former_names") or [])]:
            if name:
                names.setdefault(str(name).casefold(), UUID(str(a["agency_id"])))
    return names


# ---- export ---------------------------------------------------------------------------------

def plan_rows(ledger: Ledger, action_ids: Iterable[UUID], names: dict[str, str]
              ) -> list[dict[str, Any]]:
    """Each action as a row of the plan's columns (the ledger's current state)."""
    out = []
    reviews: dict[UUID, Review] = {}
    for action_id in action_ids:
        a = ledger.get_action(action_id)
        review = reviews.get(a.review_id) or reviews.setdefault(
            a.review_id, ledger.get_review(a.review_id))
        numbers = {r.id: n for n, r in enumerate(review.recommendations, 1)}
        last = a.progress[-1] if a.progress else None
        out.append({
            "recommendation": f"R{numbers.get(a.recommendation_id, '?')}",
            "action": a.description,
            "agency": names.get(str(a.agency_id), str(a.agency_id)),
            "milestones": "\n".join(a.milestones),
            "due_on": a.due_on,
            "rag": last.rag if last else "",
            "response": last.narrative if last else "",
            "evidence": "\n".join(last.evidence) if last else "",
            "comments": getattr(a, "assurance_comments", None) or "",
            "completion": a.measure_of_success,
        })
    return out


def to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    """The rows as a workbook in the plan's columns: dates as dates, RAG as its word in a
    cell coloured red, amber or green."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([TITLES[c] for c in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(c, "") for c in EXPORT_COLUMNS])
        rag_cell = sheet.cell(row=sheet.max_row, column=EXPORT_COLUMNS.index("rag") + 1)
        fill = RAG_FILLS.get(str(rag_cell.value or "").casefold())
        if fill:
            rag_cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
        due = sheet.cell(row=sheet.max_row, column=EXPORT_COLUMNS.index("due_on") + 1)
        due.number_format = "DD/MM/YYYY"
    for i, width in enumerate((14, 50, 28, 30, 12, 8, 40, 30, 30, 30), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def generated_plan(agencies: list[str], rows: int, recommendations: int = 3,
                   bad: dict[int, str] | None = None, start: date | None = None) -> bytes:
    """A realistic action plan (benchmarks and tests): `bad` puts a problem in some rows
    (row index -> 'agency', 'date', 'action' or 'rag')."""
    bad = bad or {}
    start = start or clock.today()
    book = Workbook()
    sheet = book.active
    sheet.append(["Safeguarding partnership action plan"])
    sheet.append(["Recommendation", "Action", "Lead agency", "Milestones", "Target date",
                  "RAG", "Agency response", "Evidence", "Critical friend comments",
                  "Completion"])
    for i in range(rows):
        due: Any = start + timedelta(days=30 + i % 300)
        agency, action, rag = agencies[i % len(agencies)], f"Action {i + 1}: {uuid4().hex[:8]}", \
            ("red", "amber", "green")[i % 3]
        problem = bad.get(i)
        if problem == "agency":
            agency = "Ministry of Nowhere"
        elif problem == "date":
            due = "next spring"
        elif problem == "action":
            action = ""
        elif problem == "rag":
            rag = "purple"
        sheet.append([f"R{i % recommendations + 1}", action, agency,
                      "Plan agreed; training delivered", due, rag, "Under way",
                      "Training register", "Check the audit sample", "90% of staff trained"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
