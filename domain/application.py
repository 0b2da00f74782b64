"""The core of the Ledger application: persistence, saving with the command's context,
loading by id (now, at a version, or as of a time) and per-aggregate history.

Use cases live in one mixin per aggregate (domain/use_cases/) and are composed in
domain/ledger.py, so each file stays about one thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Mapper,
    Notification,
    OperationalError,
)

from domain import clock
from domain.actors import Actor
from domain.base import LedgerAggregate
from domain.errors import (
    ConcurrentWrite,
    IdempotencyKeyReused,
    NotFound,
    NotSent,
    OutcomeUnknown,
    StaleVersion,
)
from domain.group_commit import GroupCommit
from domain.guard import IdentifyingDataGuard
from domain.idempotency import IdempotencyRecord, record_id
from domain.protection import SealingMapper, TextCipher
from domain.store import EventStore, store_of
from domain.transcodings import ActorAsDict, DateAsISO

A = TypeVar("A", bound=LedgerAggregate)


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Context:
    """Who issues a command, and the HTTP preconditions that come with it."""

    actor: Actor
    expected_version: int | None = None  # from If-Match
    idempotency: Idempotency | None = None


@dataclass(frozen=True)
class Outcome:
    """What a command returns: the record it touched, its new version, and the log position of
    its last event (a client can ask a read model to catch up to it)."""

    id: UUID
    version: int
    position: int
    replayed: bool = False
    events: int = 0  # how many events this command appended (0 for a replay)
    # The record as this command left it (None for a replay): its answer is rendered from
    # it, not loaded again.
    saved: LedgerAggregate | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class HistoryEntry:
    event: Any
    position: int | None
    extra: dict[str, Any] = field(default_factory=dict)


class LedgerCore(Application[UUID]):
    name = "Ledger"

    def __init__(self, env: Any = None, *, text_cipher: TextCipher | None = None,
                 guard: IdentifyingDataGuard | None = None) -> None:
        """text_cipher: seals free text per review (domain/protection.py); None stores it
        as given (clear, or under the whole-store cipher if CIPHER_TOPIC is set).
        guard: refuses identifying data in free text (domain/guard.py)."""
        self.text_cipher = text_cipher
        self.guard = guard or IdentifyingDataGuard()
        super().__init__(env=env)
        # Concurrent commands' saves written in one transaction (domain/group_commit.py);
        # through `self.save` looked up at each call.
        self.group_commit = GroupCommit(lambda *events: self.save(*events))
        # The read side decodes with a mapper that leaves the tokens sealed (the views hold
        # them; the presentation reveals them).
        self.view_mapper: Mapper[UUID] = (
            self.mapper if text_cipher is None else self._sealing_mapper(unseal=False))

    def construct_mapper(self) -> Mapper[UUID]:
        if self.text_cipher is None:
            return super().construct_mapper()
        return self._sealing_mapper(unseal=True)

    def _sealing_mapper(self, *, unseal: bool) -> Mapper[UUID]:
        assert self.text_cipher is not None
        plain = self.factory.mapper(transcoder=self.construct_transcoder())
        return SealingMapper(plain.transcoder, compressor=plain.compressor,
                             cipher=plain.cipher, text_cipher=self.text_cipher,
                             unseal=unseal, resolve=self._review_of)

    def _review_of(self, originator_id: UUID) -> UUID | None:
        """The review an action or challenge belongs to, from its first stored event (for
        those recorded before text protection was on)."""
        rows = self.recorder.select_events(originator_id, lte=1)
        if not rows:
            return None
        first = vars(self.view_mapper.to_domain_event(rows[0]))
        if "review_id" in first:
            return UUID(str(first["review_id"]))
        if first.get("subject_type") == "action_update":
            return self._review_of(first["subject_id"])
        return first.get("subject_id")

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(ActorAsDict())

    # ---- saving -------------------------------------------------------------------------
    def _save(self, ctx: Context, subject: LedgerAggregate, *others: Aggregate) -> Outcome:
        """Save the subject (and any others) atomically, with the idempotency record if any.

        A conflicting concurrent save raises ConcurrentWrite and records nothing (the library
        inserts all events of one save in one transaction). Saves of concurrent commands are
        written together (domain/group_commit.py), each still checked against its versions."""
        extra: list[Aggregate] = list(others)
        for aggregate in (subject, *others):
            self.guard.check_events(aggregate.pending_events)
        if ctx.idempotency is not None:
            extra.append(
                IdempotencyRecord(
                    actor=ctx.actor, occurred_on=clock.today(), key=ctx.idempotency.key,
                    fingerprint=ctx.idempotency.fingerprint, subject_id=subject.id,
                    subject_version=subject.version,
                )
            )
        # The events are taken here, so that if the save's outcome is uncertain (the
        # acknowledgement of its commit lost, and the library's retry refused by the unique
        # key) they can be looked for in the store.
        events = [e for aggregate in (subject, *extra) for e in aggregate.collect_events()]
        try:
            recordings = self.group_commit.save(events)
        except IntegrityError as error:
            if self.already_recorded(events):
                return self._recorded(subject, events)
            raise ConcurrentWrite(
                "another write to this record was saved first; reload it and try again"
            ) from error
        except NotSent:
            raise  # no connection was had: nothing was recorded
        except (OperationalError, InterfaceError) as error:
            # Refused or lost on the way: recorded only if the store has these very events.
            try:
                recorded = self.already_recorded(events)
            except (OperationalError, InterfaceError):
                raise OutcomeUnknown(
                    "the store could not be reached to confirm this write; retry with the "
                    "same Idempotency-Key to be sure it is recorded once") from error
            if recorded:
                return self._recorded(subject, events)
            raise
        position = max((r.notification.id for r in recordings), default=0)
        return Outcome(id=subject.id, version=subject.version, position=position,
                       events=len(events), saved=subject)

    def already_recorded(self, events: list[Any]) -> bool:
        """Whether the store holds exactly these events (same aggregate, version and state):
        a save whose commit was acknowledged to nobody may still have been recorded."""
        if not events:
            return False
        mapper = self.mapper
        for event in events:
            stored = list(self.events.get(event.originator_id, gt=event.originator_version - 1,
                                          lte=event.originator_version))
            # Compared as a stored event reads back (tuples become lists, and so on).
            if len(stored) != 1 or stored[0] != mapper.to_domain_event(
                    mapper.to_stored_event(event)):
                return False
        return True

    def _recorded(self, subject: LedgerAggregate, events: list[Any]) -> Outcome:
        """The outcome of a save found in the store: the position of its last event, as the
        save itself would have answered."""
        last = events[-1]
        position = self.positions_of(last.originator_id).get(last.originator_version, 0)
        return Outcome(id=subject.id, version=subject.version, position=position,
                       events=len(events), saved=subject)

    def replay_idempotent(self, actor: Actor, idem: Idempotency) -> Outcome | None:
        """The earlier outcome of this key, or None if it is new. Refuse a different request."""
        try:
            record: IdempotencyRecord = self.repository.get(record_id(actor.user_id, idem.key))
        except AggregateNotFoundError:
            return None
        if record.fingerprint != idem.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request",
                field="Idempotency-Key",
            )
        # The first answer named the position of the last event it appended, this record's
        # (saved last, in the same transaction): the replay names the same.
        position = self.positions_of(record.id).get(record.version, 0)
        return Outcome(
            id=record.subject_id, version=record.subject_version, position=position,
            replayed=True,
        )

    # ---- loading ------------------------------------------------------------------------
    def _load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} with id {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {what} with id {aggregate_id}")
        return aggregate

    def _load_for_change(
        self, cls: type[A], aggregate_id: UUID, what: str, ctx: Context,
        authorize: Callable[[A], None] | None = None,
    ) -> A:
        """Load a record to change it: authorize (agency scope) first, then check If-Match,
        so a stale If-Match never tells an outsider whether a version is current."""
        aggregate = self._load(cls, aggregate_id, what)
        if authorize is not None:
            authorize(aggregate)
        if ctx.expected_version is not None and aggregate.version != ctx.expected_version:
            raise StaleVersion(
                f"{what} is at version {aggregate.version}, not {ctx.expected_version}",
                field="If-Match",
            )
        return aggregate

    def _load_at(
        self, cls: type[A], aggregate_id: UUID, what: str, *,
        version: int | None = None, as_of: datetime | None = None,
    ) -> A:
        """The aggregate now, at a version, or as it stood at a moment (by recorded time)."""
        if version is None and as_of is None:
            return self._load(cls, aggregate_id, what)
        if version is not None:
            if version < 1:
                raise NotFound(f"{what} {aggregate_id} has no version {version}")
            try:
                aggregate = self.repository.get(aggregate_id, version=version)
            except AggregateNotFoundError:
                raise NotFound(f"no {what} with id {aggregate_id}") from None
            if not isinstance(aggregate, cls) or aggregate.version != version:
                raise NotFound(f"{what} {aggregate_id} has no version {version}")
            return aggregate
        state: Any = None
        for domain_event in self.events.get(aggregate_id):
            if domain_event.timestamp > as_of:  # type: ignore[operator]
                break
            state = domain_event.mutate(state)
        if state is None:
            raise NotFound(f"no {what} with id {aggregate_id} existed at {as_of.isoformat()}")
        if not isinstance(state, cls):
            raise NotFound(f"no {what} with id {aggregate_id}")
        return state

    def _history(self, cls: type[A], aggregate_id: UUID, what: str) -> list[HistoryEntry]:
        return self._with_history(cls, aggregate_id, what)[1]

    def _with_history(self, cls: type[A], aggregate_id: UUID,
                      what: str) -> tuple[A, list[HistoryEntry]]:
        """The aggregate now and its history, each event with its log position, from one
        read of its events (404 for unknown ids and wrong types)."""
        state: Any = None
        entries = []
        for stored, position in self.store.events_of(aggregate_id):
            event = self.mapper.to_domain_event(stored)
            state = event.mutate(state)
            entries.append(HistoryEntry(event, position))
        if not isinstance(state, cls):
            raise NotFound(f"no {what} with id {aggregate_id}")
        return state, entries

    @cached_property
    def store(self) -> EventStore:
        """The event store's adapter (domain/store.py): what the recorders do not offer."""
        return store_of(self.recorder)

    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        """Log position of each version of one aggregate (the library's select_events does
        not return notification ids)."""
        return self.store.positions_of(aggregate_id)

    def position_at(self, as_of: datetime, head: int | None = None) -> int:
        """The position of the last event recorded at or before `as_of` (0 if none)."""
        to_domain_event = self.mapper.to_domain_event
        return self.store.position_at(as_of, lambda row: to_domain_event(row).timestamp,
                                      head)

    def head_position(self) -> int:
        return self.store.head_position()

    def iter_notifications(self, start: int = 1, batch: int = 1000,
                           stop: int | None = None) -> Iterator[Notification]:
        """Every stored event in log order, read in batches (never the whole log at once)."""
        return self.store.iter_stored(start, batch, stop)

    def ping(self) -> None:
        """Raise if the store cannot be reached (for /readyz)."""
        self.store.head_position()


