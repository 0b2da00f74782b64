"""Field-level protection of free text: which fields are sealed, under whose key, and the
mapper that seals them on the way to the store (docs/data-protection.md).

The domain decides *what* is free text about people (rationales, findings, narratives,
evidence, grounds, reasons) and *whose* it is (a review's text, and that of the actions and
challenges of the review, is under the review's key; an agency's or a user's text under its
own). *How* it is sealed is a port, `TextCipher`, implemented outside the domain
(api/data_protection.py: AES-GCM data keys wrapped by a master key). A sealed field is stored
as an opaque token (`sealed:v1:<key id>:<nonce and ciphertext>`), so structured fields (dates,
stages, agencies, RAG, criteria, themes) stay in clear and the projections work unchanged.

Two mappers come out of `SealingMapper`: the application's (seals on the way in and unseals on
the way out, so commands and record reads see text, or "[erased on <date>]" once the key is
destroyed) and the read side's (`unseal=False`: the views keep the tokens, revealed only when a
page, a CSV or a response is rendered). Integrity hashes cover the stored bytes, so destroying
a key changes no hash.

Events stored before protection was turned on keep their clear text (nothing is rewritten);
`ledger retention --dry-run` lists them as "stored in clear".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

TOKEN_PREFIX = "sealed:v1:"
TOKEN_PATTERN = re.compile(r"sealed:v1:([0-9a-f]{32}):([A-Za-z0-9_-]+)")


class TextCipher(Protocol):
    """The port: seal text under a subject's data key, unseal a token, destroy a key."""

    def seal(self, key_id: UUID, text: str) -> str: ...

    def unseal(self, token: str) -> str:
        """The text, or "[erased on <date>]" when the key was destroyed (never raises for a
        destroyed or missing key)."""
        ...

    def alias(self, subject_id: UUID) -> UUID | None:
        """The key an action or challenge uses (its review's), if recorded."""
        ...

    def set_alias(self, subject_id: UUID, key_id: UUID) -> None: ...

    def destroy(self, key_id: UUID, reason: str) -> None: ...


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


# Free-text fields, by the event's class name within its aggregate. Names are what the
# stored topic ends with (`domain.review:Review.FindingRecorded`).
SEALED_FIELDS: dict[str, tuple[str, ...]] = {
    "Review.RapidReviewCompleted": ("summary",),
    "Review.LocalDecisionMade": ("rationale",),
    "Review.NationalPanelDecisionRecorded": ("rationale",),
    "Review.ReviewerCommissioned": ("reviewer",),
    "Review.FindingRecorded": ("text",),
    "Review.RecommendationRecorded": ("text",),
    "Review.ReportSubmitted": ("summary",),
    "Review.Scrutinised": ("notes",),
    "Review.PublicationDeferred": ("reason",),
    "Review.DateCorrected": ("reason",),
    "Review.EntryCorrected": ("previous", "corrected", "reason"),
    "Review.EntryRetracted": ("previous", "reason"),
    "Review.Closed": ("reason",),
    "Action.Assigned": ("description", "measure_of_success", "milestones"),
    "Action.ProgressReported": ("narrative", "evidence"),
    "Action.CompletionClaimed": ("narrative", "evidence"),
    "Action.CompletionAssured": ("comments",),
    "Action.CompletionRejected": ("reason",),
    "Action.DueDateRevised": ("reason",),
    "Action.Escalated": ("reason",),
    "Action.EscalatedToBoard": ("reason",),
    "Action.ImpactEvaluated": ("narrative",),
    "Action.Withdrawn": ("reason",),
    "Action.EntryCorrected": ("previous", "corrected", "reason"),
    "Action.EntryRetracted": ("reference", "reason"),
    "Action.OwnerTransferred": ("reason",),
    "Challenge.Raised": ("grounds",),
    "Challenge.Responded": ("response",),
    "Challenge.Escalated": ("reason",),
    "Challenge.Resolved": ("reason",),
    "Challenge.Readdressed": ("reason",),
    "Agency.Renamed": ("reason",),
    "Agency.Merged": ("reason",),
    "Agency.Retired": ("reason",),
    "User.TokenRevoked": ("reason",),
    "User.Deactivated": ("reason",),
    "User.SignedOut": ("reason",),
}

def sealed_fields(name: str, state: dict[str, Any]) -> tuple[str, ...]:
    """The free-text fields of one event (`name` as event_name gives it): a correction of a
    decision's criteria carries structured values, which stay in clear."""
    fields = SEALED_FIELDS.get(name, ())
    if name == "Review.EntryCorrected" and state.get("field") == "criteria":
        return ("reason",)
    return fields


# Challenges on these subjects are under the key of the review the subject belongs to.
_REVIEW_SUBJECTS = ("review_decision", "report")


def event_name(topic: str) -> str:
    """`domain.review:Review.FindingRecorded` -> `Review.FindingRecorded`."""
    return topic.rpartition(":")[2]


class SealingMapper(Mapper[UUID]):
    """Seals the free-text fields of each event before the library's transcoder (and, if
    configured, its whole-state cipher) runs; unseals them after decoding unless
    `unseal=False`."""

    def __init__(self, *args: Any, text_cipher: TextCipher, unseal: bool = True,
                 resolve: Callable[[UUID], UUID | None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text_cipher = text_cipher
        self.unseal = unseal
        self.resolve = resolve  # an action's or challenge's review, from its first event

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        name = event_name(_topic_of(domain_event))
        fields = sealed_fields(name, vars(domain_event))
        if fields:
            key_id = self._key_for(name, domain_event)
            sealed = {f: self._seal(key_id, getattr(domain_event, f)) for f in fields
                      if hasattr(domain_event, f)}
            original = dict(vars(domain_event))
            copy = object.__new__(type(domain_event))
            object.__setattr__(copy, "__dict__", {**original, **sealed})
            domain_event = copy
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        if not self.unseal:
            return domain_event
        state = vars(domain_event)
        fields = sealed_fields(event_name(stored_event.topic), state)
        if fields:
            for f in fields:
                if f in state:
                    state[f] = self._reveal(state[f])
        return domain_event

    # ---- keys ---------------------------------------------------------------------------
    def _key_for(self, name: str, domain_event: Any) -> UUID:
        originator: UUID = domain_event.originator_id
        aggregate = name.partition(".")[0]
        if aggregate == "Review":
            return originator
        if name == "Action.Assigned":
            review_id: UUID = domain_event.review_id
            self.text_cipher.set_alias(originator, review_id)
            return review_id
        if name == "Challenge.Raised":
            subject: UUID = domain_event.subject_id
            key = (subject if domain_event.subject_type in _REVIEW_SUBJECTS
                   else self._review_of(subject))
            self.text_cipher.set_alias(originator, key)
            return key
        if aggregate in ("Action", "Challenge"):
            return self._review_of(originator)
        return originator  # an agency's or a user's text: a key of its own

    def _review_of(self, subject: UUID) -> UUID:
        """The review an action or challenge belongs to: known in this process, else read
        from its first event (once); the subject itself if it has none."""
        key = self.text_cipher.alias(subject)
        if key is None and self.resolve is not None:
            key = self.resolve(subject)
            if key is not None:
                self.text_cipher.set_alias(subject, key)
        return key or subject

    def _seal(self, key_id: UUID, value: Any) -> Any:
        if isinstance(value, str):
            return value if is_sealed(value) else self.text_cipher.seal(key_id, value)
        if isinstance(value, list | tuple):
            return [self._seal(key_id, v) for v in value]
        return value

    def _reveal(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text_cipher.unseal(value) if is_sealed(value) else value
        if isinstance(value, list | tuple):
            return type(value)(self._reveal(v) for v in value)
        return value


def reveal_all(value: Any, unseal: Callable[[str], str]) -> Any:
    """Every token in a nested structure (dicts, lists, strings containing tokens) replaced
    by its text: how the presentation shows what the views hold. A structure without tokens
    is returned as it is (the same object, its type kept)."""
    if isinstance(value, str):
        if TOKEN_PREFIX not in value:
            return value
        return TOKEN_PATTERN.sub(lambda m: unseal(m.group(0)), value)
    if isinstance(value, dict):
        changed = {k: r for k, v in value.items() if (r := reveal_all(v, unseal)) is not v}
        if not changed:
            return value
        copy = value.copy()
        copy.update(changed)
        return copy
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        items = [reveal_all(v, unseal) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


def _topic_of(domain_event: Any) -> str:
    cls = type(domain_event)
    return f"{cls.__module__}:{cls.__qualname__}"
