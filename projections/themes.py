"""Themes: each theme with the reviews and findings that carry it; a theme is recurrent when
it appears in two or more reviews (what the region shares and escalates nationally).

The list is one row per theme with its counts (bounded by the number of themes, not of
findings); one theme's reviews and findings come with `theme_detail`.
"""

from __future__ import annotations

from typing import Any

from projections.base import Changes, Table, ViewProjection, iso, on, uid
from projections.db import Tx, page_limit
from projections.reviews import in_partnerships

FINDINGS = Table(
    "view_theme_findings",
    (("theme", "TEXT"), ("finding_id", "TEXT"), ("review_id", "TEXT NOT NULL"),
     ("text", "TEXT NOT NULL"), ("recorded_on", "TEXT NOT NULL"),
     ("correction", "TEXT")),
    key=("theme", "finding_id"), indexes=("theme, recorded_on",),
)
THEME_REVIEWS = Table(
    "view_theme_reviews",
    (("theme", "TEXT"), ("review_id", "TEXT"), ("findings", "INTEGER NOT NULL"),
     ("first_on", "TEXT NOT NULL")),
    key=("theme", "review_id"), indexes=("review_id",),
)
THEMES = Table(
    "view_themes",
    (("theme", "TEXT"), ("reviews", "BIGINT NOT NULL"), ("findings", "BIGINT NOT NULL")),
    key=("theme",), counters=("reviews", "findings"),
)

REVIEW = "domain.review:Review."


class ThemesProjection(ViewProjection):
    name = "themes"
    version = 3  # 3: a finding's corrected text, marked; a retracted finding no longer counts
    tables = (FINDINGS, THEME_REVIEWS, THEMES)

    def prefetch(self, changes: Changes, events: list[Any]) -> None:
        changes.prefetch_where(THEME_REVIEWS.name, "review_id",
                               [uid(e.originator_id) for e in events])

    @on(REVIEW + "FindingRecorded")
    def finding(self, ch: Changes, e: Any) -> None:
        review_id = uid(e.originator_id)
        for theme in e.themes:
            ch.put(FINDINGS.name, {
                "theme": theme, "finding_id": uid(e.finding_id), "review_id": review_id,
                "text": e.text, "recorded_on": iso(e.occurred_on), "correction": None,
            })
            link = ch.get(THEME_REVIEWS.name, (theme, review_id))
            if link is None:
                ch.put(THEME_REVIEWS.name, {"theme": theme, "review_id": review_id,
                                            "findings": 1, "first_on": iso(e.occurred_on)})
                ch.add(THEMES.name, theme, reviews=1, findings=1)
            else:
                ch.put(THEME_REVIEWS.name, {**link, "findings": link["findings"] + 1})
                ch.add(THEMES.name, theme, findings=1)


    @on(REVIEW + "EntryCorrected")
    def corrected(self, ch: Changes, e: Any) -> None:
        if e.entry == "finding" and e.field == "text":
            for theme in e.themes:
                ch.update(FINDINGS.name, (theme, uid(e.item_id)), text=e.corrected,
                          correction="corrected")

    @on(REVIEW + "EntryRetracted")
    def retracted(self, ch: Changes, e: Any) -> None:
        """A retracted finding stays listed, marked, and no longer counts for its themes."""
        if e.entry != "finding":
            return
        review_id = uid(e.originator_id)
        for theme in e.themes:
            ch.update(FINDINGS.name, (theme, uid(e.item_id)), correction="retracted")
            link = ch.get(THEME_REVIEWS.name, (theme, review_id))
            if link is None:
                continue
            if link["findings"] <= 1:
                ch.delete(THEME_REVIEWS.name, (theme, review_id))
                ch.add(THEMES.name, theme, reviews=-1, findings=-1)
            else:
                ch.put(THEME_REVIEWS.name, {**link, "findings": link["findings"] - 1})
                ch.add(THEMES.name, theme, findings=-1)


def list_themes(tx: Tx, *, recurrent_only: bool = False,
                partnerships: list[str] | None = None) -> list[dict[str, Any]]:
    """Every theme with how many reviews and findings carry it, most widespread first.

    With `partnerships`: the themes of these partnerships' reviews only, counted over them
    (recurrent when two or more of their reviews carry it), from the theme-review links of
    those reviews (a partnership's reviews are hundreds, not the history)."""
    if partnerships is None:
        sql = "SELECT theme, reviews, findings FROM {view_themes}"
        params: list[Any] = []
        if recurrent_only:
            sql += " WHERE reviews >= 2"
    else:
        params = []
        ours = in_partnerships("review_id", partnerships, params)
        sql = ("SELECT theme, COUNT(*) AS reviews, SUM(findings) AS findings FROM "
               f"{{view_theme_reviews}} WHERE {ours} GROUP BY theme"
               + (" HAVING COUNT(*) >= 2" if recurrent_only else ""))
    rows = tx.query(sql + " ORDER BY reviews DESC, findings DESC, theme", params)
    return [{"theme": r["theme"], "review_count": int(r["reviews"]),
             "finding_count": int(r["findings"]), "recurrent": int(r["reviews"]) >= 2}
            for r in rows]


def theme_detail(tx: Tx, theme: str, *, limit: int = 500,
                 partnerships: list[str] | None = None) -> dict[str, Any] | None:
    """One theme: its reviews (with references) and findings, oldest first; with
    `partnerships`, those of these partnerships' reviews only (None if they have none)."""
    params: list[Any] = [theme]
    ours = in_partnerships("t.review_id", partnerships, params)
    mine = f" AND {ours}" if ours else ""
    head = tx.one("SELECT COUNT(*) AS reviews, SUM(t.findings) AS findings FROM "
                  f"{{view_theme_reviews}} t WHERE t.theme = ?{mine}", params)
    if head is None or not int(head["reviews"] or 0):
        return None
    reviews = tx.query(
        "SELECT t.review_id, r.reference, t.findings, t.first_on FROM {view_theme_reviews} t "
        f"LEFT JOIN {{view_reviews}} r ON r.review_id = t.review_id WHERE t.theme = ?{mine} "
        f"ORDER BY t.first_on, t.review_id {page_limit(limit)}", params)
    findings = tx.query(
        "SELECT t.finding_id, t.review_id, t.text, t.recorded_on, t.correction FROM "
        f"{{view_theme_findings}} t WHERE t.theme = ?{mine} "
        f"ORDER BY t.recorded_on, t.finding_id {page_limit(limit)}", params)
    return {"theme": theme, "review_count": int(head["reviews"]),
            "finding_count": int(head["findings"] or 0),
            "recurrent": int(head["reviews"]) >= 2, "reviews": reviews, "findings": findings}
