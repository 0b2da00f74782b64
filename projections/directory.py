"""Directory: agencies under their current name, and users (never token hashes).

Other read models show an agency's name by joining this table at query time, so a rename
(CCG -> ICB) shows everywhere at once without rewriting any other view.
"""

from __future__ import annotations

import json
from typing import Any

from projections.base import Changes, Table, ViewProjection, iso, on, uid
from projections.db import Tx

AGENCIES = Table(
    "view_agencies",
    (("agency_id", "TEXT"), ("name", "TEXT NOT NULL"), ("kind", "TEXT NOT NULL"),
     ("statutory_partner", "INTEGER NOT NULL"), ("partnerships", "TEXT NOT NULL"),
     ("status", "TEXT NOT NULL"), ("merged_into", "TEXT"), ("registered_on", "TEXT NOT NULL"),
     ("named_on", "TEXT NOT NULL")),
    key=("agency_id",), indexes=("name",),
)
USERS = Table(
    "view_users",
    (("user_id", "TEXT"), ("name", "TEXT NOT NULL"), ("role", "TEXT NOT NULL"),
     ("agency_id", "TEXT"), ("active", "INTEGER NOT NULL"), ("registered_on", "TEXT NOT NULL")),
    key=("user_id",), indexes=("agency_id",),
)

AGENCY = "domain.agency:Agency."
USER = "domain.user:User."


class Directory(ViewProjection):
    name = "directory"
    version = 1
    tables = (AGENCIES, USERS)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        ids = [uid(e.originator_id) for e in events]
        changes.prefetch(AGENCIES.name, ids)
        changes.prefetch(USERS.name, ids)

    @on(AGENCY + "Registered")
    def registered(self, ch: Changes, e: Any) -> None:
        ch.put(AGENCIES.name, {
            "agency_id": uid(e.originator_id), "name": e.name, "kind": str(e.kind),
            "statutory_partner": int(bool(e.statutory_partner)),
            "partnerships": json.dumps(list(e.partnerships)), "status": "active",
            "merged_into": None, "registered_on": iso(e.occurred_on),
            "named_on": iso(e.occurred_on),
        })

    @on(AGENCY + "Renamed")
    def renamed(self, ch: Changes, e: Any) -> None:
        ch.update(AGENCIES.name, uid(e.originator_id), name=e.name, named_on=iso(e.occurred_on))

    @on(AGENCY + "Merged")
    def merged(self, ch: Changes, e: Any) -> None:
        ch.update(AGENCIES.name, uid(e.originator_id), status="merged",
                  merged_into=uid(e.into_agency_id))

    @on(AGENCY + "Retired")
    def retired(self, ch: Changes, e: Any) -> None:
        ch.update(AGENCIES.name, uid(e.originator_id), status="retired")

    @on(USER + "Registered")
    def user_registered(self, ch: Changes, e: Any) -> None:
        ch.put(USERS.name, {
            "user_id": uid(e.originator_id), "name": e.name, "role": str(e.role),
            "agency_id": uid(e.agency_id), "active": 1, "registered_on": iso(e.occurred_on),
        })

    @on(USER + "Deactivated")
    def user_deactivated(self, ch: Changes, e: Any) -> None:
        ch.update(USERS.name, uid(e.originator_id), active=0)


# ---- queries --------------------------------------------------------------------------------

def _agency(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "statutory_partner": bool(row["statutory_partner"]),
            "partnerships": json.loads(row["partnerships"])}


def list_agencies(tx: Tx, *, agency_id: str | None = None) -> list[dict[str, Any]]:
    if agency_id is not None:
        rows = tx.query("SELECT * FROM {view_agencies} WHERE agency_id = ?", (agency_id,))
    else:
        rows = tx.query("SELECT * FROM {view_agencies} ORDER BY name, agency_id")
    return [_agency(r) for r in rows]


def list_users(tx: Tx, *, agency_id: str | None = None) -> list[dict[str, Any]]:
    if agency_id is not None:
        rows = tx.query("SELECT * FROM {view_users} WHERE agency_id = ? ORDER BY name, user_id",
                        (agency_id,))
    else:
        rows = tx.query("SELECT * FROM {view_users} ORDER BY name, user_id")
    return [{**r, "active": bool(r["active"])} for r in rows]
