"""The composition root opens the parts a process asks for, in order, and closes them in the
reverse order: also when a later part fails to open, and never a Ledger it was handed."""

from __future__ import annotations

from typing import Any

import pytest

from api import composition
from api.composition import NotOpened, open_services
from api.settings import Settings


class Parts:
    """Stands in for every part's constructor: records each opening and closing, and the
    part named in `fail` raises instead of opening."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.fail: str | None = None

    def maker(self, name: str) -> Any:
        def make(*_: Any, **__: Any) -> Any:
            if name == self.fail:
                raise RuntimeError(f"{name} cannot open")
            self.log.append(f"open {name}")
            return Part(lambda: self.log.append(f"close {name}"))
        return make


class Part:
    def __init__(self, close: Any) -> None:
        self.close = self.stop = close


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Parts:
    parts = Parts()
    for attribute, name in [("build_ledger", "ledger"), ("open_read_models", "read models"),
                            ("MerkleLog", "merkle"), ("IntegrityService", "integrity")]:
        monkeypatch.setattr(composition, attribute, parts.maker(name))
    return parts


SETTINGS = Settings(store="memory", projections="in_process")
ORDER = ["ledger", "merkle", "read models", "integrity"]


def test_everything_opens_in_order_and_closes_in_reverse(parts: Parts):
    with open_services(SETTINGS) as services:
        assert parts.log == [f"open {name}" for name in ORDER]
        assert services.read_models is not None and services.integrity is not None
    assert parts.log[len(ORDER):] == [f"close {name}" for name in reversed(ORDER)]


@pytest.mark.parametrize("failing", ORDER[1:])
def test_a_part_that_fails_to_open_closes_those_opened_before_it(parts: Parts, failing: str):
    parts.fail = failing
    with pytest.raises(RuntimeError, match=f"{failing} cannot open"), open_services(SETTINGS):
        pytest.fail("nothing runs when a part failed to open")
    opened = ORDER[:ORDER.index(failing)]
    assert parts.log == ([f"open {name}" for name in opened]
                   + [f"close {name}" for name in reversed(opened)])


def test_an_error_in_the_body_closes_everything_in_reverse(parts: Parts):
    with pytest.raises(ValueError, match="boom"), open_services(SETTINGS):
        raise ValueError("boom")
    assert parts.log[len(ORDER):] == [f"close {name}" for name in reversed(ORDER)]


def test_a_ledger_handed_in_is_used_and_left_open(parts: Parts):
    given = object()
    with open_services(SETTINGS, ledger=given, views=False, integrity=False) as services:  # type: ignore[arg-type]
        assert services.ledger is given
    assert parts.log == []


def test_a_command_that_needs_only_the_ledger_opens_nothing_else(parts: Parts):
    with open_services(SETTINGS, views=False, integrity=False) as services:
        with pytest.raises(NotOpened, match="read models"):
            services.read_models  # noqa: B018 - the property raises
        with pytest.raises(NotOpened, match="integrity"):
            services.integrity  # noqa: B018
    assert parts.log == ["open ledger", "close ledger"]


@pytest.mark.parametrize(("mode", "runs"), [("in_process", True), ("external", False)])
def test_the_runner_thread_runs_only_with_in_process_projections_and_feeds_the_merkle_log(
        parts: Parts, monkeypatch: pytest.MonkeyPatch, mode: str, runs: bool):
    asked: dict[str, Any] = {}
    opens = parts.maker("read models")

    def open_read_models(*args: Any, **kwargs: Any) -> Any:
        asked.update(kwargs)
        return opens()

    monkeypatch.setattr(composition, "open_read_models", open_read_models)
    with open_services(Settings(store="memory", projections=mode)) as services:
        assert asked["run_in_process"] is runs
        assert asked["merkle_log"] is services.merkle


def test_verifying_opens_the_merkle_log_without_the_key_or_the_guard(parts: Parts):
    with open_services(SETTINGS, views=False, integrity=False, merkle=True) as services:
        assert services.merkle is not None
    assert parts.log == ["open ledger", "open merkle", "close merkle", "close ledger"]


def test_routes_open_nothing_themselves_without_the_lifespan_they_answer_503(parts: Parts):
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app(SETTINGS))  # not entered: the lifespan does not run
    response = client.get("/board/themes", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert "lifespan did not run" in response.json()["detail"]
    assert parts.log == []
