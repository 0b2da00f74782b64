"""A save whose outcome is uncertain: the Ledger looks for its events in the store. Found
(same record, versions and content): recorded, and answered so. Not found: refused (409 for
a conflict, the store's error for an outage)."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from domain.errors import ConcurrentWrite
from tests.principals import AS_OPERATOR

AGENCY = {"name": "North Staffordshire CCG", "kind": "health", "statutory_partner": True,
          "partnerships": ["Stoke-on-Trent"]}


def lose_the_acknowledgement(ledger, monkeypatch, error: type[Exception]):
    """The save is recorded, then the caller is told it failed (as a retried insert that hit
    the unique key, or a connection lost after the commit, would)."""
    real = type(ledger).save

    def save(self, *objs, **kwargs):
        real(self, *objs, **kwargs)
        raise error("the acknowledgement was lost")

    monkeypatch.setattr(type(ledger), "save", save)


@pytest.mark.parametrize("error", [IntegrityError, OperationalError])
def test_a_recorded_save_whose_answer_was_lost_is_recorded(ledger, monkeypatch, error):
    lose_the_acknowledgement(ledger, monkeypatch, error)
    outcome = ledger.register_agency(AS_OPERATOR, **AGENCY)
    monkeypatch.undo()
    assert ledger.get_agency(outcome.id).name == AGENCY["name"]
    assert outcome.position == ledger.positions_of(outcome.id)[outcome.version]


def test_a_conflict_that_recorded_nothing_is_still_409(ledger, monkeypatch):
    def save(self, *objs, **kwargs):
        raise IntegrityError("another write saved first")

    monkeypatch.setattr(type(ledger), "save", save)
    with pytest.raises(ConcurrentWrite):
        ledger.register_agency(AS_OPERATOR, **AGENCY)


def test_a_write_that_was_never_sent_is_not_looked_for(ledger, monkeypatch):
    from domain.errors import NotSent

    def save(self, *objs, **kwargs):
        raise NotSent("couldn't get a connection after 1.00 sec")

    def looked(*_):
        raise AssertionError("nothing was sent: nothing to look for")

    monkeypatch.setattr(type(ledger), "save", save)
    monkeypatch.setattr(type(ledger), "already_recorded", looked)
    with pytest.raises(OperationalError):
        ledger.register_agency(AS_OPERATOR, **AGENCY)
