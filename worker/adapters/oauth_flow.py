"""The installed-app OAuth flow (google-auth-oauthlib, loopback redirect) for `balcao auth`; no files written here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Authorised:
    """What Google granted: the authorised-user JSON (with ``type``) and the scopes."""

    token: dict[str, Any]
    granted: list[str]
    has_refresh_token: bool


def run_loopback_flow(
    config: dict[str, Any],
    scopes: Sequence[str],
    *,
    port: int,
    prompt: str,
    success_message: str,
    timeout_seconds: float | None,
    trust_env: bool,
) -> Authorised:
    """Print ``prompt`` (with ``{url}``), wait for Google's redirect on localhost:``port``.

    The out-of-band copy-the-code flow no longer exists at Google and ``run_console`` is gone
    from the library: the loopback redirect is the only installed-app flow. Raises OSError
    when the port cannot be bound; other library errors propagate unchanged."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_config(config, scopes=list(scopes))
    flow.oauth2session.trust_env = trust_env
    creds = flow.run_local_server(
        host="localhost",
        bind_addr="127.0.0.1",
        port=port,
        open_browser=False,
        authorization_prompt_message=prompt,
        success_message=success_message,
        timeout_seconds=timeout_seconds,
        prompt="consent",  # always return a refresh token, even on a second run
    )
    # to_json() has no "type"; balcao's loader (and google.auth.load_credentials_from_file)
    # decide by it, so add it.
    token = {"type": "authorized_user", **json.loads(creds.to_json())}
    return Authorised(
        token=token,
        granted=list(creds.granted_scopes or creds.scopes or []),
        has_refresh_token=bool(creds.refresh_token),
    )
