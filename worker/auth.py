"""`balcao auth`: the OAuth installed-app flow (loopback redirect) that writes the token file; operator tooling.

For offices without Workspace domain-wide delegation (a plain Gmail account, or a Workspace
that prefers a user token). Google removed the copy-the-code ("out-of-band") flow, so this
uses the loopback redirect of google-auth-oauthlib's ``InstalledAppFlow.run_local_server``
with ``open_browser=False``: balcao prints the consent URL, the operator opens it in any
browser, and Google redirects that browser to ``http://localhost:PORT/`` where balcao listens.
On a headless server the operator forwards that port first:
``ssh -L 8765:localhost:8765 user@server``.

The flow itself (google-auth-oauthlib) lives in ``worker.adapters.oauth_flow``; this module
keeps the messages, the client configuration and the token file. Scopes come from ``bootstrap.google_scopes`` (least
privilege: gmail.readonly only when ``mail.sent_check``). The token file is written atomically
(a 0600 temp file in the same folder, fsync, ``os.replace``) so a crash never leaves a
half-written token and the refresh token of the previous file survives until the new one is
complete.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from worker.config import Settings
from worker.model import ConfigError

EXIT_OK, EXIT_FAIL = 0, 1

# Client used when google.api_endpoint points at the sandbox and no client-secrets file is
# given: the sandbox accepts any client id, so the flow can be tried end to end offline.
SANDBOX_CLIENT = {"client_id": "balcao-sandbox.apps.googleusercontent.com",
                  "client_secret": "sandbox-secret"}

PROMPT = """\
Open this URL in a browser and allow access with the Google account that owns the sheet,
calendar(s) and mailbox balcao will use:

    {url}

After you allow it, Google sends the browser to http://localhost:{port}/ where this command
is waiting. If balcao runs on a headless server, forward that port from your own machine
first, in another terminal:

    ssh -L {port}:localhost:{port} user@server

then open the URL in the browser of your own machine."""

TESTING_WARNING = """\
Note: if the OAuth consent screen of your Google Cloud project is in "Testing" status, Google
expires this token after 7 days (balcao then stops with invalid_grant). Publish the app
(OAuth consent screen → Publish app → In production) or use an Internal app on Workspace."""


def is_loopback_http(url: str | None) -> bool:
    """``http://127.0.0.1:8080`` / ``http://localhost:9`` → True; https or another host → False."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_config(settings: Settings, client_secrets: str | None) -> dict[str, Any]:
    """The Google client-secrets mapping (``{"installed": {...}}``) for the flow.

    With ``google.api_endpoint`` set, auth_uri and token_uri point at it (the sandbox's
    ``/o/oauth2/auth`` and ``/token``); without a file there, a dummy sandbox client."""
    endpoint = settings.google.api_endpoint
    if client_secrets:
        try:
            data = json.loads(Path(client_secrets).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"--client-secrets: expected the OAuth client JSON downloaded from Google Cloud "
                f"(Desktop app), found no file at {client_secrets}"
            ) from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--client-secrets: cannot read {client_secrets} as JSON: {exc}") from None
        if not isinstance(data, dict) or not ("installed" in data or "web" in data):
            raise ConfigError(
                f"--client-secrets: {client_secrets} is not an OAuth client file (expected a "
                "top-level \"installed\" key: create an OAuth client of type Desktop app)"
            )
        kind = "installed" if "installed" in data else "web"
        data = {kind: dict(data[kind])}
    elif endpoint:
        data = {"installed": dict(SANDBOX_CLIENT)}
        kind = "installed"
    else:
        raise ConfigError(
            "--client-secrets: expected the OAuth client JSON (Google Cloud console → APIs & "
            "Services → Credentials → Create credentials → OAuth client ID → Desktop app → "
            "Download JSON), found none"
        )
    if endpoint:
        base = endpoint.rstrip("/")
        data[kind]["auth_uri"] = base + "/o/oauth2/auth"
        data[kind]["token_uri"] = base + "/token"
    else:
        data[kind].setdefault("auth_uri", "https://accounts.google.com/o/oauth2/auth")
        data[kind].setdefault("token_uri", "https://oauth2.googleapis.com/token")
    return data


def write_token_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 via a temp file in the same folder + os.replace."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already creates 0600; say it anyway
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename durable too
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def run_auth(
    settings: Settings,
    client_secrets: str | None = None,
    port: int = 8765,
    *,
    timeout_seconds: float | None = 600,
) -> int:
    """Run the consent flow and write ``google.credentials_file``; 0 on success.

    ``port`` 0 takes a free port (tests). ``timeout_seconds``: how long to wait for the
    browser to come back before giving up (exit 1)."""
    from worker import bootstrap

    token_path = settings.google.credentials_file
    if not token_path:
        raise ConfigError(
            "google.credentials_file: expected the path where `balcao auth` writes the token "
            "(e.g. token.json beside config.yaml), found null"
        )
    existing = _existing_type(token_path)
    if existing == "service_account":
        raise ConfigError(
            f"google.credentials_file: {token_path} holds a service-account key; `balcao auth` "
            "would overwrite it. Point google.credentials_file at a new file (e.g. token.json)"
        )
    scopes = bootstrap.google_scopes(settings)
    config = client_config(settings, client_secrets)
    insecure = is_loopback_http(settings.google.api_endpoint)
    previous = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    if insecure:
        # oauthlib refuses plain-http token URLs; the sandbox on loopback is the one exception.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        return _flow(settings, config, scopes, token_path, port, timeout_seconds)
    finally:
        if insecure:
            if previous is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = previous


def _flow(
    settings: Settings,
    config: dict[str, Any],
    scopes: list[str],
    token_path: str,
    port: int,
    timeout_seconds: float | None,
) -> int:
    stream = sys.stdout
    from worker.adapters.oauth_flow import run_loopback_flow

    print("balcao will ask Google for these scopes (least privilege for this config):", file=stream)
    for scope in scopes:
        print(f"  - {scope}", file=stream)
    print(file=stream, flush=True)
    if port == 0:
        port = _free_port()
    # The library prints this to stdout after .format(url=...): keep {url}, fill the port now.
    prompt = PROMPT.replace("{port}", str(port))
    try:
        result = run_loopback_flow(
            config, scopes, port=port, prompt=prompt,
            success_message="balcao is authorised. You can close this tab.",
            timeout_seconds=timeout_seconds,
            # Never send sandbox traffic through a proxy.
            trust_env=not settings.google.api_endpoint,
        )
    except OSError as exc:
        print(
            f"✗ cannot listen on localhost:{port} for Google's redirect ({exc.strerror or exc}): "
            "another program uses that port, or `balcao auth` ran less than a minute ago (the "
            "system holds the port briefly); wait a minute, or choose another port with --port "
            "(and forward that one)",
            file=stream,
        )
        return EXIT_FAIL
    except Exception as exc:  # oauthlib/requests errors: name them, never dump a token
        print(f"✗ authorisation failed: {type(exc).__name__}: {exc}", file=stream)
        return EXIT_FAIL
    if not result.has_refresh_token:
        print(
            "✗ Google returned no refresh token: remove balcao's access at "
            "https://myaccount.google.com/permissions and run `balcao auth` again",
            file=stream,
        )
        return EXIT_FAIL
    write_token_atomically(token_path, json.dumps(result.token, indent=2) + "\n")
    granted = set(result.granted)
    missing = [s for s in scopes if granted and s not in granted]
    print(f"✓ token written to {token_path} (mode 0600)", file=stream)
    if missing:
        print(
            "✗ the account did not grant every scope (unticked boxes on the consent screen?): "
            + ", ".join(missing) + "; run `balcao auth` again and allow all of them",
            file=stream,
        )
        return EXIT_FAIL
    if not settings.google.api_endpoint:
        print(TESTING_WARNING, file=stream)
    print("Next: `balcao check` (and `balcao check --probe`).", file=stream, flush=True)
    return EXIT_OK


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _existing_type(path: str) -> str | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return str(data.get("type")) if isinstance(data, dict) else None
