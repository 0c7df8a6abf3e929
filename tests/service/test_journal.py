"""The SQLite journal: durability settings, migrations, retention, the instance lock."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from worker.journal import SCHEMA_VERSION, InstanceLock, Journal, JournalError, RequestRecord
from worker.model import LockHeldError

from .harness import BAHIA

NOW = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)


def record(protocol: str, seq: int, received: datetime, slot_end: datetime | None = None) -> RequestRecord:
    return RequestRecord(
        protocol=protocol, seq=seq, fingerprint="f" * 64, submitted=received.isoformat(),
        ts_key="1.0", received_at=received.isoformat(), deadline=None, status="Agendado",
        email="ana@example.com", name="Ana Souza", phone="+5571998765432", service="Escritura",
        slot_end=slot_end.isoformat() if slot_end else None, updated_at=received.isoformat(),
    )


def test_new_journal_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    j = Journal(str(tmp_path / "j.sqlite3"))
    assert j.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    secret = j.secret
    assert len(secret) == 32
    j.close()
    again = Journal(str(tmp_path / "j.sqlite3"))
    assert again.secret == secret  # the fingerprint secret survives restarts


def test_journal_from_a_newer_balcao_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(JournalError, match="newer"):
        Journal(str(path))


def test_corrupted_journal_is_refused_with_the_recovery_command(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError, match=r"j\.sqlite3"):
        Journal(str(path))


def test_a_tick_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    j = Journal(str(tmp_path / "j.sqlite3"))
    with pytest.raises(RuntimeError), j.tx():
        j.insert(record("BV-2028-000001", 1, NOW))
        raise RuntimeError("crash inside the tick")
    assert j.is_empty()


def test_full_disk_makes_writes_fail_with_a_journal_error(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite3")
    Journal(path).close()
    j = Journal(path, max_page_count=1)
    with pytest.raises(JournalError), j.tx():
        for i in range(200):
            j.insert(record(f"BV-2028-{i:06d}", i, NOW))


def test_second_instance_lock_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite3")
    with InstanceLock(path), pytest.raises(LockHeldError, match="pid"):
        InstanceLock(path).acquire()
    with InstanceLock(path):  # released: free again
        pass


def test_identity_index_keeps_protocols_sharing_a_timestamp_apart() -> None:
    from worker.identity import locate
    from worker.packed import IdentityIndex

    index = IdentityIndex()
    index.add("BV-2028-000001", 46818.5)
    index.add("BV-2028-000002", 46818.5)  # two submissions in the same second
    index.add("BV-2028-000003", 46819.0)
    view = locate({2: 46818.5, 3: 46818.5, 4: 46819.0}, {}, index.known, index.by_ts)
    assert sorted(view.row_of.items()) == [
        ("BV-2028-000001", 2), ("BV-2028-000002", 3), ("BV-2028-000003", 4)]
    index.move("BV-2028-000001", 46820.0)  # the respondent edited the first one
    assert index.by_ts[46818.5] == "BV-2028-000002"
    assert index.by_ts[46820.0] == "BV-2028-000001"
    index.move("BV-2028-000002", None)
    assert 46818.5 not in index.by_ts and index.known["BV-2028-000002"] is None
