"""A store that cannot be reached is a 503 problem with Retry-After on every path: commands,
Board reads (psycopg's own errors from the views' pool), and the export, which fails before
its status line rather than sending a 200 and a truncated body."""

from __future__ import annotations

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg_pool import PoolTimeout

AGENCY = {"name": "North Staffordshire CCG", "kind": "health", "statutory_partner": True,
          "partnerships": ["Stoke-on-Trent"]}


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("error", [psycopg.OperationalError("server closed the connection"),
                                   PoolTimeout("couldn't get a connection after 2.00 sec")])
def test_a_board_read_whose_store_is_away_is_503(api, monkeypatch, error):
    board = api.client.app.state.services.read_models.board

    def fail(*_, **__):
        raise error

    monkeypatch.setattr(board, "agencies", fail)
    assert_unavailable(api.get("scb_manager", "/board/agencies"))


def test_a_command_whose_store_is_away_is_503(api, monkeypatch):
    def fail(*_, **__):
        raise OperationalError("couldn't get a connection after 1.00 sec")

    monkeypatch.setattr(api.ledger, "save", fail)
    assert_unavailable(api.post("scb_manager", "/agencies", AGENCY))


def test_an_export_whose_store_is_away_fails_before_its_status_line(api, monkeypatch):
    integrity = api.client.app.state.services.integrity

    def lines():
        raise psycopg.OperationalError("consuming input failed")
        yield b""  # pragma: no cover - a generator

    monkeypatch.setattr(integrity, "export_lines", lines)
    assert_unavailable(api.get("auditor", "/integrity/export"))
