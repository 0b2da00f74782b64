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


def test_readyz_says_which_process_answered(api):
    import os

    body = api.client.get("/readyz").json()
    assert body["process"]["pid"] == os.getpid() and body["process"]["host"]
    assert body["down"] == []


def test_readyz_is_503_when_the_in_process_projections_stopped(api):
    api.client.app.state.services.read_models.background.stop()
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert "in-process projections" in response.json()["down"]


def test_readyz_is_503_when_a_view_lags_beyond_the_bound(api):
    services = api.client.app.state.services
    services.read_models.background.stop()
    object.__setattr__(services, "settings", services.settings.model_copy(
        update={"ready_max_lag": 0}))
    api.post("scb_manager", f"/agencies/{api.agency_a}/rename",
             {"name": "Renamed while the views stand still", "reason": "test"})
    down = api.client.get("/readyz").json()["down"]
    assert any(item.startswith("view directory lags") for item in down), down


def test_readyz_is_503_without_an_external_worker(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from projections.locks import ViewLocks

    settings = Settings(store="sqlite", data_dir=tmp_path, projections="external")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "projection worker" in response.json()["down"]
        side = client.app.state.services.read_models.read_side
        with ViewLocks(side.db, side.view_names):  # as a running worker holds them
            assert client.get("/readyz").status_code == 200
