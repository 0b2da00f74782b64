"""The RAG filter in SQL selects exactly the actions whose RAG, computed in Python for the
same day, has that value (the list filter and the column never disagree)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.actions import RAGS, Thresholds, rag_condition, rag_of
from projections.db import SqliteDb

TODAY = date(2025, 6, 2)
OFFSETS = st.integers(-120, 120)
ROWS = st.lists(st.tuples(st.sampled_from(["open", "completion_claimed", "assured",
                                           "withdrawn"]), OFFSETS, OFFSETS),
                min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, t=st.builds(Thresholds, st.integers(0, 30), st.integers(0, 90)))
def test_sql_filter_matches_python_rag(rows: list[tuple[str, int, int]],
                                       t: Thresholds) -> None:
    db = SqliteDb(":memory:")
    with db.transaction() as tx:
        tx.execute("CREATE TABLE view_actions (id INTEGER, status TEXT, due_on TEXT, "
                   "updated_on TEXT)")
        tx.executemany("INSERT INTO view_actions VALUES (?, ?, ?, ?)", [
            (i, s, (TODAY + timedelta(days=d)).isoformat(),
             (TODAY + timedelta(days=u)).isoformat()) for i, (s, d, u) in enumerate(rows)])
        stored = tx.query("SELECT * FROM view_actions")
        for rag in RAGS:
            where = rag_condition(rag, TODAY, t)
            chosen = {r["id"] for r in tx.query(f"SELECT a.id FROM view_actions a WHERE {where}")}
            assert chosen == {r["id"] for r in stored if rag_of(r, TODAY, t) == rag}, rag
    db.close()
