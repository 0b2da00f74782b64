"""/readyz: ready while the store answers and every view runs; a stopped view makes it 503
and names the view, the position and the error."""

from __future__ import annotations

from projections.tracking import mark_failed


def test_readyz_reports_every_view_running(api):
    body = api.client.get("/readyz").json()
    assert body["status"] == "ready"
    assert {v["view"] for v in body["views"]} >= {"actions", "audit", "reviews"}
    assert all(v["state"] == "running" for v in body["views"])


def test_readyz_names_a_stopped_view(api):
    models = api.client.app.state.services.read_models
    models.background.stop()  # hold the runner still so the failure stays as recorded
    mark_failed(models.read_side.db, "themes", 7, "KeyError: 'themes'")
    response = api.client.get("/readyz")
    assert response.status_code == 503
    stopped = [v for v in response.json()["views"] if v["failed"]]
    assert [(v["view"], v["failed_position"], v["error"]) for v in stopped] == [
        ("themes", 7, "KeyError: 'themes'")]


def test_the_merkle_log_follows_writes_without_being_asked(api):
    """With one worker the API keeps the Merkle log level with the events by itself."""
    import time

    api.post("scb_manager", f"/agencies/{api.agency_a}/rename",
             {"name": "Renamed for the log", "reason": "test"})
    merkle = api.client.app.state.services.integrity.merkle
    deadline = time.monotonic() + 10
    while merkle.tree_size() < len(list(api.ledger.iter_notifications())):
        assert time.monotonic() < deadline, "the Merkle log did not catch up by itself"
        time.sleep(0.05)
