"""A write whose commit is acknowledged to nobody: a proxy between the API and its private
PostgreSQL forwards the insert of the events and its COMMIT, lets the server commit and
answer, then drops the answer and the connection. The library retries the insert, which the unique key refuses;
the write was recorded, and the client is told so (2xx, once), never 409."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from domain.ledger import Ledger
from tests.principals import bearer_token

# One private PostgreSQL per xdist worker: the fault tests all run on one.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]

AGENCY = {"kind": "health", "statutory_partner": False, "partnerships": ["Staffordshire"]}


class DroppingProxy:
    """A TCP proxy; when armed, the server's answer to the next insert into the events
    table is swallowed and both connections are closed."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            victim = {"insert": False}
            threading.Thread(target=self.upstream, args=(client, server, victim),
                             daemon=True).start()
            threading.Thread(target=self.downstream, args=(server, client, victim),
                             daemon=True).start()

    def upstream(self, client: socket.socket, server: socket.socket, victim: dict) -> None:
        try:
            while data := client.recv(65536):
                if self.armed.is_set() and b"INSERT INTO" in data and b"ledger_events" in data:
                    self.armed.clear()
                    victim["insert"] = True
                server.sendall(data)
        except OSError:
            pass
        finally:
            _close(server)

    def downstream(self, server: socket.socket, client: socket.socket, victim: dict) -> None:
        try:
            while data := server.recv(65536):
                # The server's CommandComplete for the COMMIT: recorded for sure. Dropped,
                # with everything after it, and the connection closed.
                if victim["insert"] and b"COMMIT\x00" in data:
                    self.dropped.set()
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(server)

    def close(self) -> None:
        self.closing = True
        self.listener.close()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def proxied(private_pg, fault_schema, tmp_path) -> Iterator[tuple[TestClient, DroppingProxy,
                                                                   Ledger, str]]:
    proxy = DroppingProxy(private_pg.port)
    env = {**private_pg.env(fault_schema), "LEDGER_POSTGRES_PORT": str(proxy.port)}
    settings = Settings(**{k.removeprefix("LEDGER_").lower(): v for k, v in env.items()},
                        data_dir=tmp_path)
    ledger = Ledger(env=settings.eventsourcing_env())
    token = bearer_token(ledger, "scb_manager")
    try:
        with TestClient(create_app(settings, ledger=ledger)) as client:
            yield client, proxy, ledger, token
    finally:
        ledger.close()
        proxy.close()


@pytest.mark.parametrize("key", [None, "lost-ack-1"])
def test_a_write_whose_acknowledgement_is_lost_is_answered_as_recorded(proxied, key):
    client, proxy, ledger, token = proxied
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
    proxy.armed.set()
    response = client.post("/agencies", json={**AGENCY, "name": "Lost Ack Agency"},
                           headers=headers)
    assert proxy.dropped.is_set(), "the proxy did not drop the commit's answer"
    assert response.status_code == 201, response.text
    agency_id = response.json()["id"]
    names = [e.name for e in ledger.events.get(_uuid(agency_id))
             if type(e).__name__ == "Registered"]
    assert names == ["Lost Ack Agency"]
    if key:  # the client's retry gets the same answer, and records nothing more
        again = client.post("/agencies", json={**AGENCY, "name": "Lost Ack Agency"},
                            headers=headers)
        assert again.status_code == 201
        assert again.json()["id"] == agency_id
        assert again.headers["X-Ledger-Position"] == response.headers["X-Ledger-Position"]


def _uuid(value: str):
    from uuid import UUID

    return UUID(value)
