"""Free text never carries control characters (a NUL recorded in an agency's name stopped
the views on PostgreSQL), and production refuses an empty or blank database password."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from api.settings import Settings
from domain.agency import Agency
from domain.errors import InvalidInput
from tests.principals import OPERATOR


@pytest.mark.parametrize("name", ["Evil\x00Agency", "Bell\x07", "Escape\x1b[31m", "Del\x7f"])
def test_an_agency_name_with_a_control_character_is_refused(name):
    with pytest.raises(InvalidInput) as refused:
        Agency.register(actor=OPERATOR, occurred_on=date(2024, 1, 1), name=name,
                        kind="health", statutory_partner=False, partnerships=["Staffordshire"])
    assert refused.value.field == "name"


def test_free_text_keeps_tabs_and_newlines():
    agency = Agency.register(actor=OPERATOR, occurred_on=date(2024, 1, 1),
                             name="North\tStaffs\nCCG", kind="health", statutory_partner=False,
                             partnerships=["Staffordshire"])
    assert agency.name == "North\tStaffs\nCCG"


@pytest.mark.parametrize("password", ["", "   ", "ledger"])
def test_production_refuses_an_empty_blank_or_default_password(password):
    with pytest.raises(ValidationError, match="LEDGER_POSTGRES_PASSWORD"):
        Settings(environment="production", store="postgres", postgres_password=password)


def test_production_accepts_a_real_password():
    assert Settings(environment="production", store="postgres", postgres_password="s3cret-pw")
