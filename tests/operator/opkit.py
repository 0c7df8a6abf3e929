"""Helpers shared by the operator tests (a unique module name: tests/operator has no __init__)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
SA_EMAIL = "balcao-check@demo-project-123456.iam.gserviceaccount.com"
ALL_SCOPES = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/gmail.send",
]


@lru_cache(maxsize=1)
def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def write_secret(path: Path, data: dict[str, Any], mode: int = 0o600) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


def sandbox_refresh_token(base: str, scopes: list[str]) -> str:
    """A refresh token the sandbox issued through its authorization_code grant for ``scopes``."""
    session = requests.Session()
    session.trust_env = False
    redirect = "http://localhost:1/"
    r = session.get(base + "/o/oauth2/auth", params={
        "response_type": "code", "client_id": "c", "redirect_uri": redirect,
        "scope": " ".join(scopes)}, allow_redirects=False, timeout=5)
    code = requests.utils.urlparse(r.headers["Location"]).query.split("code=")[1].split("&")[0]
    code = requests.utils.unquote(code)
    t = session.post(base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": "c", "client_secret": "s"}, timeout=5)
    t.raise_for_status()
    return str(t.json()["refresh_token"])


def seed_journal(journal: Any, now: Any) -> None:
    """A small journal: two bookings (one in time, one late), one waiting in time, one waiting
    past its deadline, one flagged past its deadline, a duplicate and an invalid row (neither
    counts as late), and three e-mails (two within 24 h)."""
    from datetime import timedelta

    from worker.journal import RequestRecord

    def rec(n: int, status: str, submitted: Any, deadline: Any, **kw: Any) -> RequestRecord:
        return RequestRecord(
            protocol=f"BV-2026-{n:06d}", seq=n, fingerprint=f"fp{n}",
            submitted=submitted.isoformat(), ts_key=None, received_at=submitted.isoformat(),
            deadline=deadline.isoformat(), status=status, updated_at=now.isoformat(), **kw,
        )

    h = timedelta(hours=1)
    rows = [
        rec(1, "Agendado", now - 50 * h, now - 26 * h, event_id="ev1", event_state="created",
            slot_start=(now - 27 * h).isoformat(), answered_at=(now - 46 * h).isoformat()),
        rec(2, "Recebido", now - 2 * h, now + 22 * h),
        rec(3, "Pendente", now - 30 * h, now - 6 * h),
        rec(4, "Requer atenção", now - 25 * h, now - 1 * h),
        rec(5, "Duplicado", now - 49 * h, now - 25 * h, duplicate_of="BV-2026-000001"),
        rec(6, "Requer atenção", now - 40 * h, now - 16 * h, valid=0),
        rec(7, "Agendado", now - 60 * h, now - 36 * h, event_id="ev7", event_state="created",
            slot_start=(now - 20 * h).isoformat(), answered_at=(now - 30 * h).isoformat()),
    ]
    with journal.tx():
        for r in rows:
            journal.insert(r)
        # Booked 4 h after receipt (in time) and 30 h after receipt (6 h late).
        journal.record_intent("ev1", "BV-2026-000001", "event", 0, now - 46 * h)
        journal.record_done("ev1", "ev1", now - 46 * h)
        journal.record_intent("ev7", "BV-2026-000007", "event", 0, now - 30 * h)
        journal.record_done("ev7", "ev7", now - 30 * h)
        for key, at in (("m1", now - 46 * h), ("m2", now - 3 * h), ("m3", now - 1 * h)):
            journal.record_intent(f"<{key}@balcao>", "BV-2026-000002", "ack", 0, at)
