"""An API client on each store, with one user and token per role and two agencies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from domain.actors import Role
from domain.ledger import Ledger
from tests.principals import AS_OPERATOR, bearer_token


@dataclass
class Api:
    client: TestClient
    ledger: Ledger
    agency_a: UUID
    agency_b: UUID
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        """who: a role name, or lead_a / lead_b for the two agencies' leads."""
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def post(self, who: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(who, **headers))

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(who))


@pytest.fixture
def api(ledger: Ledger, store: str, tmp_path: Path) -> Iterator[Api]:
    a = ledger.register_agency(AS_OPERATOR, name="Staffordshire Police", kind="police",
                               statutory_partner=True, partnerships=["Staffordshire"]).id
    b = ledger.register_agency(AS_OPERATOR, name="Stoke-on-Trent City Council",
                               kind="local_authority", statutory_partner=True,
                               partnerships=["Stoke-on-Trent"]).id
    tokens = {role.value: bearer_token(ledger, role.value)
              for role in (Role.SCB_MANAGER, Role.BOARD_MEMBER, Role.SCRUTINEER, Role.AUDITOR)}
    tokens["lead_a"] = bearer_token(ledger, "agency_lead", a, name="Lead A")
    tokens["lead_b"] = bearer_token(ledger, "agency_lead", b, name="Lead B")
    tokens["agency_lead"] = tokens["lead_a"]
    app = create_app(Settings(store=store, data_dir=tmp_path), ledger=ledger)
    with TestClient(app) as client:
        yield Api(client=client, ledger=ledger, agency_a=a, agency_b=b, tokens=tokens)
