"""Start the real API (uvicorn in a subprocess) for integration tests; the settings and the
views most of these tests share (a test file may define its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import Settings
from domain.ledger import Ledger
from projections.readside import ReadSide
from tests.servers import running_server


@pytest.fixture
def start_server():
    """A function that starts the real API with given settings (a context manager)."""
    return running_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def side(ledger: Ledger, settings: Settings) -> Iterator[ReadSide]:
    """The views of the ledger under test, closed afterwards."""
    read_side = ReadSide(settings, ledger)
    yield read_side
    read_side.close()
