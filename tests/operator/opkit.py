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
