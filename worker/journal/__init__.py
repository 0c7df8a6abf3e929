"""SQLite journal (the only package that runs SQL): request state, effect intents, audit trail, read cursor, migrations; no Google, no clock.

WAL mode with ``synchronous=FULL``: a committed intent survives a power cut. The writes of
one tick phase are grouped in one transaction (``with journal.tx():``), never one fsync per
row. Every timestamp is passed in by the caller and stored as ISO 8601 with offset.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.journal.identity import IdentityQueries, file_id
from worker.journal.queries import JournalQueries
from worker.journal.schema import _MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    from worker.journal.privacy import PrivacyStore
from worker.model import BalcaoError, LockHeldError, RequestRecord

# Room a tick must find in the journal before it touches Google (probe_writable): far more
# than one tick's intents and results take.
PROBE_ROOM_BYTES = 64 * 1024



class JournalError(BalcaoError):
    """The journal cannot be opened, checked or written: effects must stop."""



class JournalReplacedError(JournalError):
    """The journal file at the configured path is no longer the one this process opened
    (deleted, or replaced by another file): every write would go to a file nobody will read."""


_COLUMNS = [f.name for f in fields(RequestRecord)]
# Fields the owned sheet cells are derived from (service._owned_values).
_SHOWN = frozenset(
    {"status", "reason", "deadline", "slot_start", "event_state", "meet_link", "channel"}
)


@dataclass(frozen=True)
class Effect:
    key: str
    protocol: str
    kind: str
    revision: int
    state: str
    provider_id: str | None
    created_at: str
    done_at: str | None


class Journal(JournalQueries, IdentityQueries):
    """One open journal. Not thread-safe: the worker is one thread touching it."""

    def __init__(self, path: str, *, readonly: bool = False, max_page_count: int | None = None):
        self.path = path
        self.readonly = readonly
        try:
            if path != ":memory:" and not readonly:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            if readonly:
                uri = f"file:{path}?mode=ro" if path != ":memory:" else "file::memory:"
                self.db = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                _create_private(path)
                self.db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
            self.db.row_factory = sqlite3.Row
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            # Freed cells and pages are zeroed, so an erased name or e-mail never lingers in
            # the file's free space (DESIGN §9).
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.execute("PRAGMA foreign_keys=ON")
            if max_page_count is not None:
                # Lets tests emulate a full disk without touching the file system.
                self.db.execute(f"PRAGMA max_page_count={int(max_page_count)}")
            ok = self.db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            raise JournalError(f"journal {path}: cannot open or check it: {exc}") from None
        if ok != "ok":
            raise JournalError(
                f"journal {path}: integrity check failed ({ok}); move it aside and run "
                "`balcao recover` to rebuild it from Google"
            )
        self._in_tx = False
        self._file_id = file_id(path)
        if not readonly:
            self._migrate()

    def check_same_file(self) -> None:
        """Raise JournalReplacedError when the path no longer names the file opened (the
        inode and device of the path against those seen at open)."""
        if self._file_id is None:
            return
        now = file_id(self.path)
        if now != self._file_id:
            what = "deleted" if now is None else "replaced by another file"
            raise JournalReplacedError(
                f"journal {self.path} was {what} while balcao runs; effects stopped. To fix: "
                "stop balcao; put the journal back, or run `balcao recover` to rebuild it "
                "from Google; then start balcao again"
            )

    # ----------------------------------------------------------------- plumbing

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction (one fsync); nested calls join the outer one."""
        if self._in_tx:
            yield
            return
        if self.readonly:
            raise JournalError("journal opened read-only (dry run): nothing may be written")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: cannot write: {exc}") from None
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._in_tx = False
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        self._in_tx = False
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise JournalError(f"journal {self.path}: cannot write: {exc}") from None

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise JournalError(f"journal {self.path}: {exc}") from None

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path}: schema version {version} is newer than this balcao "
                f"({SCHEMA_VERSION}); upgrade balcao"
            )
        for target in range(version, SCHEMA_VERSION):
            # executescript commits on its own: the whole step and its version in one script.
            try:
                self.db.executescript(
                    "BEGIN IMMEDIATE;" + _MIGRATIONS[target]
                    + f"PRAGMA user_version={target + 1}; COMMIT;"
                )
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise JournalError(f"journal {self.path}: migration {target + 1}: {exc}") from None
        if version < 5 <= SCHEMA_VERSION:
            self.backfill_mailboxes()
        if self.get_meta("secret") is None:
            with self.tx():
                self.set_meta("secret", secrets.token_hex(32))

    def probe_writable(self, room_bytes: int = PROBE_ROOM_BYTES) -> None:
        """Raise JournalError when the journal cannot take a write (disk full, read-only).

        Two checks, both before any Google call of a tick: a committed one-row update (a
        read-only file or a WAL that cannot grow fails here), then ``room_bytes`` of new pages
        allocated and rolled back (a database at its size limit fails here: ``max_page_count``
        in tests, a quota in production); the rollback leaves nothing behind."""
        with self.tx():
            self._exec(
                "INSERT INTO meta(key, value) VALUES('probe', '1') "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
        if room_bytes <= 0:
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES('probe-room', zeroblob(?))", (room_bytes,)
            )
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: cannot write: {exc}") from None
        finally:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")

    # ----------------------------------------------------------------- meta

    def get_meta(self, key: str) -> str | None:
        row = self._exec("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def secret(self) -> bytes:
        value = self.get_meta("secret")
        if value is None:  # a read-only journal that was never initialised (dry run)
            return b"dry-run"
        return bytes.fromhex(value)

    @property
    def cursor(self) -> int:
        """The last sheet row read in full (1 = only the header)."""
        return int(self.get_meta("cursor") or 1)

    def set_cursor(self, row: int) -> None:
        self.set_meta("cursor", str(max(1, row)))

    # ----------------------------------------------------------------- requests

    def is_empty(self) -> bool:
        return self._exec("SELECT 1 FROM requests LIMIT 1").fetchone() is None

    def max_seq(self) -> int:
        row = self._exec("SELECT MAX(seq) FROM requests").fetchone()
        return int(row[0] or 0)

    def insert(self, rec: RequestRecord) -> None:
        cols = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        self._exec(
            f"INSERT INTO requests({cols}) VALUES({marks})",
            [getattr(rec, c) for c in _COLUMNS],
        )

    def update(self, rec: RequestRecord, **changes: Any) -> None:
        """Apply ``changes`` to the record and the row; ``updated_at`` must be among them
        when the change is visible to staff.

        A change to anything the sheet shows marks the record not written (``in_sheet = 0``)
        in the same transaction, so a write-back that fails or never happens (a crash, a lost
        answer, a deleted row) is retried on the next tick that sees the row."""
        if "in_sheet" not in changes and any(
            k in _SHOWN and getattr(rec, k) != v for k, v in changes.items()
        ):
            changes["in_sheet"] = 0
        for k, v in changes.items():
            setattr(rec, k, v)
        sets = ", ".join(f"{k} = ?" for k in changes)
        self._exec(
            f"UPDATE requests SET {sets} WHERE protocol = ?", [*changes.values(), rec.protocol]
        )

    def get(self, protocol: str) -> RequestRecord | None:
        row = self._exec("SELECT * FROM requests WHERE protocol = ?", (protocol,)).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[RequestRecord]:
        return [_record(r) for r in self._exec("SELECT * FROM requests ORDER BY seq")]

    def by_fingerprint(self, fingerprint: str) -> list[RequestRecord]:
        rows = self._exec(
            "SELECT * FROM requests WHERE fingerprint = ? ORDER BY seq", (fingerprint,)
        )
        return [_record(r) for r in rows]

    def open_for_email(self, email: str, now: datetime) -> int:
        """Requests of this address still open: valid, not a duplicate, not yet past their
        appointment."""
        row = self._exec(
            "SELECT COUNT(*) FROM requests WHERE email = ? AND valid = 1 AND duplicate_of IS NULL "
            "AND (slot_end IS NULL OR slot_end > ?)",
            (email, now.isoformat()),
        ).fetchone()
        return int(row[0])

    def bookings_per_day(self, tz: Any) -> dict[tuple[str, Any], int]:
        out: dict[tuple[str, Any], int] = {}
        rows = self._exec(
            "SELECT calendar_id, slot_start FROM requests WHERE slot_start IS NOT NULL "
            "AND event_state IN ('intent', 'pending', 'created')"
        )
        for r in rows:
            day = datetime.fromisoformat(r["slot_start"]).astimezone(tz).date()
            key = (str(r["calendar_id"]), day)
            out[key] = out.get(key, 0) + 1
        return out

    # ----------------------------------------------------------------- effects

    def record_intent(
        self, key: str, protocol: str, kind: str, revision: int, at: datetime
    ) -> None:
        # A key that failed before (a refused send, a 429) is opened again: the new attempt is
        # an intent like the first, and must be reconciled like one if it is interrupted.
        self._exec(
            "INSERT INTO effects(key, protocol, kind, revision, state, created_at) "
            "VALUES(?, ?, ?, ?, 'intent', ?) ON CONFLICT(key) DO UPDATE SET state = 'intent', "
            "done_at = NULL WHERE effects.state = 'failed'",
            (key, protocol, kind, revision, at.isoformat()),
        )

    def record_done(self, key: str, provider_id: str | None, at: datetime) -> None:
        self._exec(
            "UPDATE effects SET state = 'done', provider_id = ?, done_at = ? WHERE key = ?",
            (provider_id, at.isoformat(), key),
        )

    def record_failed(self, key: str, at: datetime) -> None:
        self._exec(
            "UPDATE effects SET state = 'failed', done_at = ? WHERE key = ?", (at.isoformat(), key)
        )

    def effect(self, key: str) -> Effect | None:
        row = self._exec("SELECT * FROM effects WHERE key = ?", (key,)).fetchone()
        return None if row is None else Effect(**dict(row))

    def open_intents(self) -> list[Effect]:
        rows = self._exec("SELECT * FROM effects WHERE state = 'intent' ORDER BY created_at")
        return [Effect(**dict(r)) for r in rows]

    def mails_since(self, since: datetime) -> int:
        """Messages sent or attempted since ``since`` (the rolling daily cap)."""
        row = self._exec(
            "SELECT COUNT(*) FROM effects WHERE kind != 'event' AND state != 'failed' "
            "AND created_at >= ?",
            (since.isoformat(),),
        ).fetchone()
        return int(row[0])

    # ----------------------------------------------------------------- audit and retention

    def audit(self, at: datetime, protocol: str | None, event: str, detail: str = "") -> None:
        self._exec(
            "INSERT INTO audit(at, protocol, event, detail) VALUES(?, ?, ?, ?)",
            (at.isoformat(), protocol, event, detail),
        )

    def audit_trail(self, protocol: str | None = None) -> list[dict[str, Any]]:
        if protocol is None:
            rows = self._exec("SELECT * FROM audit ORDER BY id")
        else:
            rows = self._exec("SELECT * FROM audit WHERE protocol = ? ORDER BY id", (protocol,))
        return [dict(r) for r in rows]

    @property
    def privacy(self) -> PrivacyStore:
        from worker.journal.privacy import PrivacyStore

        return PrivacyStore(self)

    def stats(self) -> dict[str, int]:
        rows = self._exec("SELECT status, COUNT(*) AS n FROM requests GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

def _create_private(path: str) -> None:
    """Create the journal file with mode 0600 whatever the umask: it holds names, e-mails,
    phones and the fingerprint secret (SQLite gives its -wal and -shm files the same mode)."""
    if path == ":memory:":
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # reported by sqlite3.connect in its own words
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def _record(row: sqlite3.Row) -> RequestRecord:
    return RequestRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118


# --------------------------------------------------------------------------- single instance


class InstanceLock:
    """flock on a file beside the journal: a second instance fails at once (exit 3)."""

    def __init__(self, journal_path: str) -> None:
        self.path = journal_path + ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise LockHeldError(
                f"another balcao instance{who} holds the journal lock {self.path}; "
                "stop it first (systemctl stop balcao) or point journal.path elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
