"""What several pages (and the Board pack) read: every page of an API list through its cursor,
agency names, actions counted by their derived status, the latest checkpoint at a point in
time, and a record's history or version cut at that point. Each is the query the API's route
calls, scoped as the API scopes it."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from api.routes.board import answering, paging, partnerships_for, scope
from api.schemas.common import HistoryEntryOut
from api.web import Page, When
from domain.application import HistoryEntry
from domain.errors import NotFound
from domain.ledger import Ledger
from projections.board import Board


def all_actions(board: Board, page: Page, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """Every action matching the filters, read page by page with the API's cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    position = 0
    with paging():
        while True:
            body = board.actions(at=page.when.at, limit=10_000, cursor=cursor,
                                 agency_id=scope(page.actor, filters.get("agency")),
                                 partnerships=partnerships(page),
                                 **{k: v for k, v in filters.items() if k != "agency"})
            items += body["items"]
            position = body["position"]
            cursor = body["next_cursor"]
            if not cursor:
                return items, position


def all_reviews(board: Board, page: Page) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor = None
    with paging():
        while True:
            body = board.reviews(at=page.when.at, agency_id=scope(page.actor, None),
                                 limit=1000, cursor=cursor, partnerships=partnerships(page))
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                return items, body["position"]


def agency_names(board: Board, page: Page) -> dict[str, str]:
    with answering():
        body = board.agency_directory(at=page.when.at)
    return {str(a["agency_id"]): a["name"] for a in body["items"]}


def rag_counts(actions: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for a in actions:
        counts.setdefault(str(a["agency_id"]), Counter())[a["rag"]] += 1
    return counts


def latest_checkpoint(integrity: Any, board: Board, page: Page) -> dict[str, Any] | None:
    """The latest checkpoint (at the page's point in time, by its log size)."""
    log = integrity.integrity_log()
    if log is None or not log.checkpoints:
        return None
    checkpoints = list(log.checkpoints)
    if page.when.past:
        head = _position_of(board, page.when)
        checkpoints = [cp for cp in checkpoints if cp.size <= head]
        if not checkpoints:
            return None
    cp = checkpoints[-1]
    return {"origin": integrity.origin, "size": cp.size, "root_hash": cp.root_hash,
            "occurred_on": cp.occurred_on, "reason": cp.reason,
            "requested_by": cp.actor.name or cp.actor.user_id,
            "requested_role": str(cp.actor.role),
            "cosignatures": [c.witness for c in log.cosignatures_of(cp.size)],
            "note": cp.note + "".join(c.signature + "\n" for c in log.cosignatures_of(cp.size))}


def _position_of(board: Board, when: When) -> int:
    if when.position is not None:
        return when.position
    if when.as_of is not None:
        return board.point_in_time.position_at(when.as_of)
    return board.read_side.ledger.head_position()


def history_until(entries: list[HistoryEntry], when: When) -> list[HistoryEntryOut]:
    """A record's history as the API gives it, cut at the page's point in time."""
    out = [HistoryEntryOut.of(e) for e in entries]
    if when.as_of is not None:
        out = [e for e in out if e.recorded_at <= when.as_of]
    elif when.position is not None:
        out = [e for e in out if e.position is not None and e.position <= when.position]
    return out


def version_at(ledger: Ledger, record_id: UUID, when: When) -> int | None:
    """The record's version at a log position (None: now, or as of a moment)."""
    if when.position is None:
        return None
    versions = [v for v, p in ledger.positions_of(record_id).items() if p <= when.position]
    if not versions:
        raise NotFound(f"record {record_id} did not exist at log position {when.position}")
    return max(versions)




def partnerships(page: Page) -> list[str] | None:
    """The partnerships the Board's queries are scoped to on this page, as the API scopes
    them: the one chosen, and for a Board member who belongs to partnerships only theirs
    (Forbidden, a 403 page, for another)."""
    return partnerships_for(page.actor, page.partnership)  # type: ignore[arg-type]
