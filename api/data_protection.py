"""The adapter behind domain/protection.py's `TextCipher` port: AES-GCM data keys, one per
review (and one per agency or user), wrapped by a master key held outside the database, kept
in a key store that is not the event log (docs/data-protection.md).

- `KeyWrapper` is the small interface a KMS can implement later; `LocalKeyWrapper` wraps with
  AES-GCM under a 32-byte master key read from LEDGER_MASTER_KEY or a 0600 file.
- `KeyStore` holds wrapped data keys: a SQLite file of its own beside the views, or a table
  of its own in the PostgreSQL schema (never the events table). Destroying a key overwrites its wrapped bytes
  and keeps a tombstone with the date, so the text shows as "[erased on <date>]".
- `FieldCipher` seals and unseals tokens; a destroyed or unknown key reveals the erased marker,
  never an error. Unwrapped keys are cached for a few seconds only, so a key destroyed by one
  worker is gone from the others within that time.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.integrity_keys import KeyFileError
from api.settings import Settings, Store
from domain import clock
from domain.errors import WrongStage
from domain.protection import TOKEN_PATTERN, TOKEN_PREFIX

log = logging.getLogger("ledger.data_protection")

NONCE = 12
CACHE_SECONDS = 5.0
TEXTS_KEPT = 20_000
ERASED = "[erased on {day}]"
UNREADABLE = "[erased]"


class MasterKeyError(KeyFileError):
    """The master key is missing, unsafe or malformed (the CLI says so and exits 2)."""


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys (a KMS can implement this later)."""

    def wrap(self, key_id: UUID, data_key: bytes) -> bytes: ...

    def unwrap(self, key_id: UUID, wrapped: bytes) -> bytes: ...


class LocalKeyWrapper:
    """AES-GCM under a master key; the key id is the associated data, so a wrapped key cannot
    be moved to another subject."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise MasterKeyError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(master_key)

    def wrap(self, key_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data_key, key_id.bytes)

    def unwrap(self, key_id: UUID, wrapped: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE], wrapped[NONCE:], key_id.bytes)


def _decode_master(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"the master key in {where} is not base64") from None


def load_master_key(settings: Settings, *, create: bool = True) -> bytes:
    """LEDGER_MASTER_KEY, else the file (mode 0600; created on first use if `create`)."""
    if settings.master_key is not None:
        return _decode_master(settings.master_key.get_secret_value(), "LEDGER_MASTER_KEY")
    path = settings.master_key_file
    if not path.exists():
        if not create:
            raise MasterKeyError(f"no master key at {path} and LEDGER_MASTER_KEY is unset")
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private temporary file linked into place: the link is atomic and fails if the
        # key exists, so racing workers never read a half-written key nor overwrite one.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            temporary.unlink()
    if os.stat(path).st_mode & 0o077:
        raise MasterKeyError(f"the master key {path} is readable by others: chmod 600 it")
    return _decode_master(path.read_text(), str(path))


# ---- the key store ----------------------------------------------------------------------
class KeyStore(ABC):
    """Wrapped data keys; not the event log."""

    @abstractmethod
    def get(self, key_id: UUID) -> tuple[bytes | None, date | None] | None:
        """(wrapped key, destroyed on), or None if there is no such key."""

    @abstractmethod
    def put(self, key_id: UUID, wrapped: bytes) -> bytes:
        """Store a new key; returns the stored one (another process may have won)."""

    @abstractmethod
    def destroy(self, key_id: UUID, on: date) -> None:
        """Overwrite the wrapped key, keep a tombstone with the date."""

    @abstractmethod
    def destroyed(self) -> dict[UUID, date]: ...

    def close(self) -> None:
        return None


class SqliteKeyStore(KeyStore):
    """A SQLite file of its own (or in memory), with secure_delete so a destroyed key's bytes
    are overwritten in the file, and no WAL holding old pages."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.execute("PRAGMA journal_mode = DELETE")
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._conn.execute("CREATE TABLE IF NOT EXISTS data_keys (key_id TEXT PRIMARY KEY, "
                           "wrapped BLOB, created_on TEXT NOT NULL, destroyed_on TEXT)")

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            yield self._conn.cursor()

    def get(self, key_id: UUID) -> tuple[bytes | None, date | None] | None:
        with self._cursor() as c:
            row = c.execute("SELECT wrapped, destroyed_on FROM data_keys WHERE key_id = ?",
                            (key_id.hex,)).fetchone()
        if row is None:
            return None
        return row[0], date.fromisoformat(row[1]) if row[1] else None

    def put(self, key_id: UUID, wrapped: bytes) -> bytes:
        with self._cursor() as c:
            c.execute("INSERT OR IGNORE INTO data_keys VALUES (?, ?, ?, NULL)",
                      (key_id.hex, wrapped, clock.today().isoformat()))
            row = c.execute("SELECT wrapped FROM data_keys WHERE key_id = ?",
                            (key_id.hex,)).fetchone()
        return row[0]

    def destroy(self, key_id: UUID, on: date) -> None:
        with self._cursor() as c:
            c.execute("INSERT OR IGNORE INTO data_keys VALUES (?, NULL, ?, ?)",
                      (key_id.hex, on.isoformat(), on.isoformat()))
            c.execute("UPDATE data_keys SET wrapped = NULL, destroyed_on = COALESCE("
                      "destroyed_on, ?) WHERE key_id = ?", (on.isoformat(), key_id.hex))
            c.execute("VACUUM")

    def destroyed(self) -> dict[UUID, date]:
        with self._cursor() as c:
            rows = c.execute("SELECT key_id, destroyed_on FROM data_keys "
                             "WHERE destroyed_on IS NOT NULL").fetchall()
        return {UUID(k): date.fromisoformat(d) for k, d in rows}

    def close(self) -> None:
        self._conn.close()


class PostgresKeyStore(KeyStore):
    """A table of its own in the ledger's schema (`ledger_data_keys`), never the events
    table; VACUUM after a destruction so the old row
    version does not linger in the table's pages."""

    def __init__(self, settings: Settings) -> None:
        import psycopg

        self._lock = threading.Lock()
        self._conn = psycopg.connect(
            host=settings.postgres_host, port=settings.postgres_port,
            dbname=settings.postgres_dbname, user=settings.postgres_user,
            password=settings.postgres_password.get_secret_value(),
            connect_timeout=settings.postgres_connect_timeout, autocommit=True)
        schema = '"' + settings.postgres_schema.replace('"', '""') + '"'
        self._keys = f"{schema}.ledger_data_keys"
        with self._lock:
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {self._keys} (key_id uuid PRIMARY "
                               "KEY, wrapped bytea, created_on date NOT NULL, destroyed_on date)")

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def get(self, key_id: UUID) -> tuple[bytes | None, date | None] | None:
        row = self._one(f"SELECT wrapped, destroyed_on FROM {self._keys} WHERE key_id = %s",
                        (key_id,))
        return None if row is None else (None if row[0] is None else bytes(row[0]), row[1])

    def put(self, key_id: UUID, wrapped: bytes) -> bytes:
        with self._lock:
            self._conn.execute(f"INSERT INTO {self._keys} VALUES (%s, %s, %s, NULL) "
                               "ON CONFLICT DO NOTHING", (key_id, wrapped, clock.today()))
            row = self._conn.execute(f"SELECT wrapped FROM {self._keys} WHERE key_id = %s",
                                     (key_id,)).fetchone()
        return bytes(row[0]) if row[0] is not None else b""

    def destroy(self, key_id: UUID, on: date) -> None:
        with self._lock:
            self._conn.execute(f"INSERT INTO {self._keys} VALUES (%s, NULL, %s, %s) "
                               "ON CONFLICT DO NOTHING", (key_id, on, on))
            self._conn.execute(f"UPDATE {self._keys} SET wrapped = NULL, destroyed_on = "
                               "COALESCE(destroyed_on, %s) WHERE key_id = %s", (on, key_id))
            self._conn.execute(f"VACUUM {self._keys}")

    def destroyed(self) -> dict[UUID, date]:
        with self._lock:
            rows = self._conn.execute(f"SELECT key_id, destroyed_on FROM {self._keys} "
                                      "WHERE destroyed_on IS NOT NULL").fetchall()
        return {row[0]: row[1] for row in rows}

    def close(self) -> None:
        self._conn.close()


# ---- the cipher -------------------------------------------------------------------------
class FieldCipher:
    """Implements domain.protection.TextCipher."""

    def __init__(self, keys: KeyStore, wrapper: KeyWrapper) -> None:
        self.keys = keys
        self.wrapper = wrapper
        self._cache: dict[UUID, tuple[float, AESGCM | date | None]] = {}
        self._aliases: dict[UUID, UUID] = {}
        self._texts: dict[str, tuple[UUID, str]] = {}  # token -> (key, text) while live
        self._lock = threading.Lock()

    # keys
    def _data_key(self, key_id: UUID, *, create: bool) -> AESGCM | date | None:
        """The key's AEAD, its destruction date, or None if unknown (and not created)."""
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        found = self.keys.get(key_id)
        value: AESGCM | date | None
        if found is None and create:
            wrapped = self.keys.put(key_id, self.wrapper.wrap(key_id, AESGCM.generate_key(256)))
            found = self.keys.get(key_id) if not wrapped else (wrapped, None)
        if found is None:
            value = None
        elif found[1] is not None or not found[0]:
            value = found[1] or clock.today()
        else:
            value = AESGCM(self.wrapper.unwrap(key_id, found[0]))
        if value is not None:
            with self._lock:
                self._cache[key_id] = (now, value)
        return value

    def seal(self, key_id: UUID, text: str) -> str:
        aead = self._data_key(key_id, create=True)
        if not isinstance(aead, AESGCM):
            # Text for a review already erased is still recorded (e.g. a late correction):
            # sealed under a fresh key that is destroyed at once would lose it silently, so
            # it is refused instead.
            raise ErasedSubject(f"the text of {key_id} was erased on {aead}")
        nonce = os.urandom(NONCE)
        sealed = nonce + aead.encrypt(nonce, text.encode(), key_id.bytes)
        return f"{TOKEN_PREFIX}{key_id.hex}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def unseal(self, token: str) -> str:
        """The text; "[erased on <date>]" for a destroyed key, "[erased]" for an unknown
        one. Texts already revealed are kept (bounded) while their key is live: the key is
        checked first, so a destroyed key hides them at once here, within CACHE_SECONDS in
        other processes."""
        kept = self._texts.get(token)
        if kept is not None and isinstance(self._data_key(kept[0], create=False), AESGCM):
            return kept[1]
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            return token
        key_id = UUID(match.group(1))
        try:
            key = self._data_key(key_id, create=False)
        except InvalidTag:  # another master key wrapped it: unreadable here, not an error
            log.error("the master key does not unwrap data key %s (a wrong LEDGER_MASTER_KEY "
                      "or key file?)", key_id)
            return UNREADABLE
        if isinstance(key, date):
            return ERASED.format(day=key.isoformat())
        if key is None:
            return UNREADABLE
        body = match.group(2)
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            text = key.decrypt(sealed[:NONCE], sealed[NONCE:], key_id.bytes).decode()
        except (InvalidTag, ValueError):
            return UNREADABLE
        if len(self._texts) >= TEXTS_KEPT:
            self._texts.clear()
        self._texts[token] = (key_id, text)
        return text

    def alias(self, subject_id: UUID) -> UUID | None:
        """Kept in memory only: an action's or challenge's review is in its first event
        (the mapper reads it there once per process), so nothing needs to be stored."""
        return self._aliases.get(subject_id)

    def set_alias(self, subject_id: UUID, key_id: UUID) -> None:
        self._aliases[subject_id] = key_id

    def destroy(self, key_id: UUID, reason: str) -> None:
        self.keys.destroy(key_id, clock.today())
        with self._lock:
            self._cache.pop(key_id, None)
            self._texts.clear()

    def destroyed(self) -> dict[UUID, date]:
        return self.keys.destroyed()

    def reveal(self, value: Any) -> Any:
        from domain.protection import reveal_all

        return reveal_all(value, self.unseal)

    def close(self) -> None:
        self.keys.close()


class ErasedSubject(WrongStage):
    """New text for a subject whose key was destroyed."""


def open_field_cipher(settings: Settings) -> FieldCipher | None:
    """The cipher for the configured store, or None when text protection is off."""
    if not settings.text_protected:
        return None
    wrapper = LocalKeyWrapper(load_master_key(settings))
    keys: KeyStore
    if settings.store is Store.POSTGRES:
        keys = PostgresKeyStore(settings)
    elif settings.store is Store.MEMORY and settings.keys_sqlite_path is None:
        keys = SqliteKeyStore(":memory:")
    else:
        path = Path(settings.keys_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = SqliteKeyStore(str(path))
    return FieldCipher(keys, wrapper)


def reconcile(cipher: FieldCipher, erased: list[tuple[UUID, date]]) -> list[UUID]:
    """Destroy every key the log says was erased but the key store still holds (after a key
    store is restored from a backup taken before the erasure). Returns those destroyed."""
    done = cipher.destroyed()
    again = [(key_id, on) for key_id, on in erased if key_id not in done]
    for key_id, on in again:
        cipher.keys.destroy(key_id, on)
    return [key_id for key_id, _ in again]
