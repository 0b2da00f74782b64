"""A guard against identifying data (DOMAIN.md, "What the ledger must never hold").

Before anything is saved, every free-text field of the new events (domain/protection.py's
SEALED_FIELDS: rationales, findings, narratives, evidence, grounds, reasons) is refused when it
contains an NHS number (10 digits passing the modulus 11 check), a UK postcode, a date written
as a date of birth (near "born", "DOB", "date of birth"), or a name from the partnership's list;
a new review's reference must match the partnership's pattern. The refusal names the field and
what was found, never the value, and nothing is written.

A guard catches the common slips; it cannot prove text anonymous. Choosing pseudonyms and
keeping the mapping to the child stays outside the product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidInput
from domain.protection import event_name, is_sealed, sealed_fields

# Copied text (what a retraction or correction carries as "previous") was checked when it
# was first recorded.
_NOT_CHECKED = {"previous"}

NHS_NUMBER = re.compile(r"(?<![\d-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d-])")
POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR) ?[0-9][A-Z]{2}\b")
BIRTH_WORDS = re.compile(r"\b(?:born|birth|birthday|d\.?o\.?b\.?)\b", re.IGNORECASE)
_MONTHS = ("jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{2,4}}|"
    rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}})\b", re.IGNORECASE)
NEAR = 40  # characters either side of a birth word

# The default for new deployments (settings): SSSCB-2025-03, STOKE-01, Child A.
DEFAULT_REFERENCE_PATTERN = r"(?:[A-Z][A-Z0-9]{1,11}(?:[-/][A-Z0-9]{1,6})*[-/]\d{1,6}|Child [A-Z]{1,2})"


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check digit."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def findings(text: str, names: Iterable[str] = ()) -> list[str]:
    """What identifying data the text seems to hold, each said without the value."""
    found: list[str] = []
    for m in NHS_NUMBER.finditer(text):
        if nhs_number_valid("".join(m.groups())):
            found.append(f"an NHS number (10 digits passing the modulus 11 check) at "
                         f"character {m.start() + 1}")
    for m in POSTCODE.finditer(text):
        found.append(f"a UK postcode at character {m.start() + 1}")
    for m in BIRTH_WORDS.finditer(text):
        window = text[max(0, m.start() - NEAR):m.end() + NEAR]
        if DATE.search(window):
            found.append(f"a date of birth (a date near {m.group(0)!r}) at character "
                         f"{m.start() + 1}")
            break
    for name in names:
        match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        if match:
            found.append(f"a name on the partnership's list at character {match.start() + 1}")
    return found


@dataclass(frozen=True)
class IdentifyingDataGuard:
    """reference_pattern: None keeps the domain's own reference rule (domain/review.py);
    names: the partnership's list of names never to record."""

    reference_pattern: str | None = None
    names: tuple[str, ...] = field(default=())

    def check_reference(self, reference: Any) -> None:
        if self.reference_pattern is None or not isinstance(reference, str):
            return
        if not re.fullmatch(self.reference_pattern, reference):
            raise InvalidInput(
                f"reference {reference!r} is not a pseudonymous case reference of the form "
                "the partnership uses (e.g. SSSCB-2025-03 or Child A)", field="reference")

    def check_text(self, name: str, value: Any) -> None:
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, str) or is_sealed(item):
                continue
            found = findings(item, self.names)
            if found:
                raise InvalidInput(
                    f"{name} contains {'; '.join(found)}: the ledger must not hold "
                    "identifying data (DOMAIN.md); remove it and send again", field=name)

    def check_events(self, events: Iterable[Any]) -> None:
        for domain_event in events:
            cls = type(domain_event)
            name = event_name(f"{cls.__module__}:{cls.__qualname__}")
            if name == "Review.IncidentRecorded":
                self.check_reference(domain_event.reference)
            for f in sealed_fields(name, vars(domain_event)):
                if f not in _NOT_CHECKED and hasattr(domain_event, f):
                    self.check_text(f, getattr(domain_event, f))
