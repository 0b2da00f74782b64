"""Corrections over HTTP: a finding's text corrected and a progress narrative corrected, the
record and the themes view showing the corrected value with its marker, `as_of` before the
correction showing the original, and a bad correction refused with nothing written."""

from __future__ import annotations

from typing import Any

from domain import clock
from tests.principals import as_lead_of
from tests.scenarios import Scenario

HOW = {"reason": "Recorded in error", "approved_by": "Significant Incident sub-committee"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_finding_corrected_shows_in_the_record_and_the_themes_view(api: Any) -> None:
    recommended = Scenario(api.ledger).review([api.agency_a])
    review = recommended.review_id
    history = ok(api.get("auditor", f"/reviews/{review}/history"))["entries"]
    found = next(e["version"] for e in history if e["type"].endswith("FindingRecorded"))
    before = clock.now().isoformat()
    body = ok(api.post("scb_manager", f"/reviews/{review}/corrections", {
        "corrects_version": found, "field": "text",
        "corrected": "Bruising in a non-mobile baby was not escalated", **HOW}))
    [finding] = body["findings"]
    assert (finding["text"], finding["corrected_fields"]) == (
        "Bruising in a non-mobile baby was not escalated", ["text"])
    assert body["entry_corrections"][0]["previous"] == "Bruising was not escalated"
    then = ok(api.get("auditor", f"/reviews/{review}", as_of=before))
    assert then["findings"][0]["text"] == "Bruising was not escalated"
    theme = ok(api.get("board_member", "/board/themes", theme="bruising-in-non-mobile-babies",
                       min_position=api.ledger.head_position()))
    [row] = theme["items"][0]["findings"]
    assert (row["text"], row["correction"]) == (
        "Bruising in a non-mobile baby was not escalated", "corrected")
    types = [e["type"] for e in ok(api.get("auditor", f"/reviews/{review}/history"))["entries"]]
    assert types.count("Review.FindingRecorded") == 1 and types[-1] == "Review.EntryCorrected"


def test_a_progress_narrative_corrected_over_http(api: Any) -> None:
    scenario = Scenario(api.ledger)
    action = scenario.assign(scenario.review([api.agency_a]), api.agency_a).id
    api.ledger.report_progress(as_lead_of(api.agency_a), action, narrative="Delivered to 40",
                               rag="green", evidence=["Register"])
    reported = api.ledger.get_action(action).version
    body = ok(api.post("scb_manager", f"/actions/{action}/corrections", {
        "corrects_version": reported, "field": "narrative", "corrected": "Delivered to 14",
        **HOW}))
    assert (body["progress"][0]["narrative"], body["progress"][0]["corrected_fields"]) == (
        "Delivered to 14", ["narrative"])
    before = api.ledger.head_position()
    for who, payload, status in [
        ("lead_a", {"corrects_version": reported, "field": "narrative", "corrected": "x",
                    **HOW}, 403),
        ("scb_manager", {"corrects_version": 1, "field": "narrative", "corrected": "x",
                         **HOW}, 422),
        ("scb_manager", {"corrects_version": "2", "field": "narrative", "corrected": "x",
                         **HOW}, 422),
    ]:
        response = api.post(who, f"/actions/{action}/corrections", payload)
        assert response.status_code == status, response.text
    assert api.ledger.head_position() == before
