"""The composition root: builds the Ledger (and later the projections) from settings."""

from __future__ import annotations

from api.settings import Settings
from domain.ledger import Ledger


def build_ledger(settings: Settings) -> Ledger:
    return Ledger(env=settings.eventsourcing_env())
