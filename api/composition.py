"""The composition root: everything a process needs, built from settings in one place.

`open_services(settings, ...)` opens, in this order, the Ledger, the Merkle log, the read
models (views, the Board's queries and, in-process, the runner thread that keeps the views and
the Merkle log current) and the integrity service (signing key, append-only guard); it closes
them in the reverse order, and if a part fails to open, it closes what was already open
before raising. The API's lifespan opens everything; each `ledger` command opens only the
parts it needs (api/cli_common.services); no route or command constructs a part itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from api.data_protection import FieldCipher, open_field_cipher
from api.integrity_service import IntegrityService
from api.sessions import SessionSigner
from api.settings import ProjectionMode, Settings, Store
from domain.guard import IdentifyingDataGuard
from domain.ledger import Ledger
from projections.db import advisory_key
from projections.merkle_log import MerkleLog
from projections.runner import run_projections
from projections.service import ReadModels, open_read_models

T = TypeVar("T")


class NotOpened(RuntimeError):
    """A part this process did not open was asked for (a programming error)."""


def build_ledger(settings: Settings) -> Ledger:
    """The Ledger, with its text cipher when LEDGER_PROTECT_TEXT is on (its key store is
    closed with the ledger)."""
    cipher = open_field_cipher(settings)
    try:
        ledger = _build_ledger(settings, cipher)
    except BaseException:
        if cipher is not None:
            cipher.close()
        raise
    if cipher is not None:
        close = ledger.close

        def close_both() -> None:
            close()
            cipher.close()
        ledger.close = close_both  # type: ignore[method-assign]
    return ledger


def guard_of(settings: Settings) -> IdentifyingDataGuard:
    return IdentifyingDataGuard(reference_pattern=settings.reference_pattern,
                                names=tuple(settings.forbidden_names))


def _build_ledger(settings: Settings, cipher: FieldCipher | None) -> Ledger:
    env = settings.eventsourcing_env()
    if settings.store is not Store.POSTGRES:
        return Ledger(env=env, text_cipher=cipher, guard=guard_of(settings))
    # The library creates (or replaces) its table, type and function on every start: two
    # processes doing so at once (the API's workers and the projection worker, started
    # together) fail with "tuple concurrently updated". One at a time, per schema.
    import psycopg

    key = advisory_key(f"ledger-start:{settings.postgres_schema}@{settings.postgres_dbname}")
    with psycopg.connect(host=settings.postgres_host, port=settings.postgres_port,
                         dbname=settings.postgres_dbname, user=settings.postgres_user,
                         password=settings.postgres_password.get_secret_value(),
                         connect_timeout=settings.postgres_connect_timeout,
                         autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        # the lock goes with the session, when the connection closes
        ledger = Ledger(env=env, text_cipher=cipher, guard=guard_of(settings))
    # How long a statement waits for a pooled connection (the library takes the connect
    # timeout, whole seconds): with the server away, each of a statement's two tries costs
    # this, so a request answers 503 in about twice it.
    ledger.recorder.datastore.pool.timeout = settings.postgres_pool_timeout  # type: ignore[attr-defined]
    return ledger


@dataclass(frozen=True)
class Services:
    """What one process opened. Asking for a part it did not open raises NotOpened."""

    settings: Settings
    ledger: Ledger
    opened_read_models: ReadModels | None = None
    opened_merkle: MerkleLog | None = None
    opened_integrity: IntegrityService | None = None
    opened_sessions: SessionSigner | None = None

    @property
    def read_models(self) -> ReadModels:
        return _opened(self.opened_read_models, "the read models (views=True)")

    @property
    def merkle(self) -> MerkleLog:
        return _opened(self.opened_merkle, "the Merkle log (merkle=True)")

    @property
    def integrity(self) -> IntegrityService:
        return _opened(self.opened_integrity, "the integrity service (integrity=True)")

    @property
    def sessions(self) -> SessionSigner:
        return _opened(self.opened_sessions, "the pages' session signer (pages=True)")

    def run_worker(self, stop: threading.Event) -> None:
        """The projection worker's loop in the foreground (`ledger project`): these views and
        the Merkle log if it is open, until `stop` is set. Raises ViewBusy if another worker
        runs one of them."""
        run_projections(self.settings, self.ledger, stop,
                        read_side=self.read_models.read_side, merkle_log=self.opened_merkle)


def _opened(part: T | None, name: str) -> T:
    if part is None:
        raise NotOpened(f"this process did not open {name}")
    return part


@contextmanager
def open_services(settings: Settings, *, ledger: Ledger | None = None, views: bool = True,
                  integrity: bool = True, merkle: bool | None = None,
                  run_projections: bool | None = None,
                  pages: bool = False) -> Iterator[Services]:
    """Open the parts a process needs, and close them in reverse order on exit.

    ledger: a ready Ledger to use (its owner closes it); by default one is built here.
    views: the read models. merkle: the Merkle log (default: as integrity), alone e.g. to
    verify without creating a key. integrity: the signing key and the append-only guard,
    over the Merkle log. run_projections: keep the views (and the Merkle log, if open)
    current in a thread of this process; default: as settings.projections says, when views
    are open. pages: the key that signs the pages' session cookies (the API serves pages).
    """
    if run_projections is None:
        run_projections = views and settings.projections == ProjectionMode.IN_PROCESS
    if merkle is None:
        merkle = integrity
    if run_projections and not views:
        raise ValueError("run_projections needs views=True")
    if integrity and not merkle:
        raise ValueError("integrity needs the Merkle log (merkle=True)")
    with ExitStack() as stack:
        if ledger is None:
            ledger = build_ledger(settings)
            stack.callback(ledger.close)
        merkle_log = None
        if merkle:
            merkle_log = MerkleLog(settings, ledger)
            stack.callback(merkle_log.close)
        read_models = None
        if views:  # its runner thread, if any, stops before the Merkle log it feeds closes
            read_models = open_read_models(settings, ledger, run_in_process=run_projections,
                                           merkle_log=merkle_log)
            stack.callback(read_models.close)
        service = None
        if integrity:
            service = IntegrityService(settings, ledger, merkle=merkle_log)
            stack.callback(service.close)
        signer = SessionSigner(settings) if pages else None
        yield Services(settings, ledger, read_models, merkle_log, service, signer)
