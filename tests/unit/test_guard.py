"""The guard against identifying data (domain/guard.py): a case per pattern, and what passes."""

from __future__ import annotations

import re

import pytest

from domain.errors import InvalidInput
from domain.guard import DEFAULT_REFERENCE_PATTERN, IdentifyingDataGuard, findings

GUARD = IdentifyingDataGuard(reference_pattern=DEFAULT_REFERENCE_PATTERN,
                             names=("Quixote", "Mary Ann Evans"))


@pytest.mark.parametrize("text, kind", [
    ("Seen at clinic, NHS no 943 476 5919.", "an NHS number"),
    ("ref 9434765919 on file", "an NHS number"),
    ("Lived at ST4 1AA with mother", "a UK postcode"),
    ("Moved to B1 1BB", "a UK postcode"),
    ("Child born 03/04/2019 at home", "a date of birth"),
    ("DOB: 3 March 2019", "a date of birth"),
    ("date of birth 2019-03-04", "a date of birth"),
    ("Spoke to Mr Quixote about the plan", "a name on the partnership's list"),
    ("mary ann evans attended", "a name on the partnership's list"),
])
def test_identifying_data_is_refused_naming_the_field_and_what(text: str, kind: str):
    with pytest.raises(InvalidInput) as refused:
        GUARD.check_text("narrative", text)
    assert refused.value.field == "narrative"
    assert kind in str(refused.value)
    assert not re.search(r"\d{3} \d{3} \d{4}|ST4 1AA|Quixote", str(refused.value))


@pytest.mark.parametrize("text", [
    "Training delivered on 03/04/2025 to 40 staff",  # a date, not near birth
    "NHS number check 943 476 5918 fails",  # fails modulus 11
    "Audit of 1234567890 records",  # not a valid NHS number either
    "Bruising in non-mobile babies protocol refreshed",
    "ISO 9001 and section 47 enquiries",
    "Quixotic plans",  # a listed name only as a whole word
])
def test_ordinary_text_passes(text: str):
    assert findings(text, GUARD.names) == []
    GUARD.check_text("narrative", text)


@pytest.mark.parametrize("reference, ok", [
    ("SSSCB-2025-03", True), ("Child A", True), ("STOKE-01", True), ("SSSCB/24/7", True),
    ("John Smith", False), ("JOHN-SMITH", False), ("Child Alice", False), ("child a", False),
])
def test_the_reference_must_match_the_partnerships_pattern(reference: str, ok: bool):
    if ok:
        GUARD.check_reference(reference)
    else:
        with pytest.raises(InvalidInput) as refused:
            GUARD.check_reference(reference)
        assert refused.value.field == "reference"


def test_lists_are_checked_item_by_item():
    with pytest.raises(InvalidInput, match="evidence contains a UK postcode"):
        GUARD.check_text("evidence", ["minutes of 3 May", "letter to ST4 1AA"])
