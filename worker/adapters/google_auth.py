"""Google credentials (service account or authorised user), least-privilege scopes and the no-retry transport; no API calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import google.auth.credentials
import google.oauth2.credentials
from google.oauth2 import service_account

from worker.adapters.errors import classify
from worker.model import ConfigError

_AUTH = "https://www.googleapis.com/auth/"


class SCOPES:
    """The scopes balcao may ask for (each checked against the discovery documents)."""

    # values.batchGet / batchUpdate and spreadsheets.get / batchUpdate.
    SPREADSHEETS = _AUTH + "spreadsheets"
    # events.insert/get/delete/list; covers attendees and Meet creation.
    CALENDAR_EVENTS = _AUTH + "calendar.events"
    # freebusy.query does not accept calendar.events: it needs a free/busy or read scope, and
    # calendar.freebusy is the narrowest one.
    CALENDAR_FREEBUSY = _AUTH + "calendar.freebusy"
    # users.messages.send only.
    GMAIL_SEND = _AUTH + "gmail.send"
    # messages.list with q= (rfc822msgid:), messages.get, users.getProfile; restricted scope.
    GMAIL_READONLY = _AUTH + "gmail.readonly"


# With google.api_endpoint set and no credentials file: any bearer token is accepted by the
# sandbox. No expiry and no refresh fields, so google-auth never tries to refresh it.
SANDBOX_TOKEN = "sandbox-dummy-token"


def scopes_for(mail_transport: str, sent_check: bool, invite: bool) -> list[str]:
    """Least-privilege scopes for a configuration.

    ``scopes_for("gmail", False, False)`` → spreadsheets, calendar.events, calendar.freebusy,
    gmail.send. ``sent_check`` adds gmail.readonly (the ``rfc822msgid:`` search; restricted).
    ``invite`` adds nothing: attendees ride on calendar.events (it needs delegation or OAuth,
    not a wider scope). With ``"smtp"`` no Gmail scope is asked unless ``sent_check``."""
    if mail_transport not in ("gmail", "smtp"):
        raise ConfigError(f"mail.transport: expected 'gmail' or 'smtp', found {mail_transport!r}")
    del invite  # documented above: no extra scope
    scopes = [SCOPES.SPREADSHEETS, SCOPES.CALENDAR_EVENTS, SCOPES.CALENDAR_FREEBUSY]
    if mail_transport == "gmail":
        scopes.append(SCOPES.GMAIL_SEND)
    if sent_check:
        scopes.append(SCOPES.GMAIL_READONLY)
    return scopes


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"google.credentials_file: expected a readable JSON file, found no file at {path}"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"google.credentials_file: cannot read {path} ({exc.strerror or type(exc).__name__})"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"google.credentials_file: {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"google.credentials_file: {path} is not a JSON object")
    return data


def load_credentials(
    credentials_file: str | None,
    scopes: Sequence[str],
    *,
    api_endpoint: str | None,
    delegated_user: str | None,
) -> google.auth.credentials.Credentials:
    """Credentials for every Google adapter.

    The file's JSON ``type`` decides: ``service_account`` (optionally impersonating
    ``delegated_user`` through domain-wide delegation) or ``authorized_user`` (a token file
    written by ``balcao auth``). With ``api_endpoint`` set the token exchange goes to
    ``api_endpoint + "/token"``, so real-looking credentials run against the sandbox; with
    ``api_endpoint`` set and no file, a dummy bearer token that never refreshes.
    Raises ConfigError naming the file for a missing, unreadable or unknown file."""
    base = api_endpoint.rstrip("/") if api_endpoint else None
    if not credentials_file:
        if base:
            return google.oauth2.credentials.Credentials(token=SANDBOX_TOKEN)
        raise ConfigError(
            "google.credentials_file: expected the path of a service-account JSON or an "
            "authorised-user token file (balcao auth), found null"
        )
    info = _read_json(credentials_file)
    kind = info.get("type")
    if base:
        info["token_uri"] = base + "/token"
    if kind == "service_account":
        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
        except (ValueError, KeyError) as exc:
            # The message may quote key material: name the problem, not the content.
            raise ConfigError(
                f"google.credentials_file: {credentials_file} is a service-account file that "
                f"cannot be used ({type(exc).__name__}: a field is missing or the private key "
                "does not parse)"
            ) from None
        if delegated_user:
            creds = creds.with_subject(delegated_user)
        return creds
    if kind == "authorized_user":
        if delegated_user:
            raise ConfigError(
                f"google.delegated_user: applies only to a service account, but "
                f"{credentials_file} is an authorised-user token; set it to null"
            )
        try:
            user = google.oauth2.credentials.Credentials.from_authorized_user_info(
                info, scopes=list(scopes)
            )
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"google.credentials_file: {credentials_file} is an authorised-user token that "
                f"cannot be used ({exc}); run `balcao auth` again"
            ) from None
        # from_authorized_user_info always sets Google's token endpoint, whatever the file says.
        return user.with_token_uri(base + "/token") if base else user
    raise ConfigError(f"google.credentials_file: {not_credentials(credentials_file, info)}")


def not_credentials(path: str, info: object) -> str:
    """Why a JSON file is not usable credentials, in plain words, and what to put there.

    The shipped ``credentials.example.json`` (a wrapper of two examples) is named as such
    rather than reported as "type None"; a file without ``type`` is "not a Google credentials
    file"; OAuth client secrets point to ``balcao auth``.
    """
    wanted = ("expected the service-account key downloaded from Google Cloud (IAM → Service "
              "accounts → Keys) or the token file `balcao auth` writes")
    if not isinstance(info, dict):
        return f"{path} is not a JSON object: {wanted}"
    if "service_account_example" in info or "authorized_user_example" in info:
        return (f"{path} is the shipped example (credentials.example.json), not real credentials: "
                f"{wanted}, and point google.credentials_file at that file")
    if "installed" in info or "web" in info:
        return (f"{path} is not a token but OAuth client secrets: run `balcao auth "
                f"--client-secrets {path}` and point google.credentials_file at the token it writes")
    kind = info.get("type")
    if kind is None:
        return f"{path} has no \"type\" field, so it is not a Google credentials file: {wanted}"
    return f"{path} is a {str(kind)[:40]!r} file, not a service-account key or a token: {wanted}"


def authorized_http(
    creds: google.auth.credentials.Credentials,
    *,
    api_endpoint: str | None,
    timeout: float,
) -> Any:
    """The transport for googleapiclient (see google_http.authorized_http): keep-alive, a
    timeout always set, no write retries, no proxy for the sandbox."""
    # Imported here: httplib2 (~5 MiB) is only for the Calendar and Gmail clients, and a
    # process that only reads the sheet never needs them.
    from worker.adapters import google_http

    return google_http.authorized_http(creds, api_endpoint=api_endpoint, timeout=timeout)


def build_service(
    api: str,
    version: str,
    creds: google.auth.credentials.Credentials,
    *,
    api_endpoint: str | None,
    service_path: str,
    timeout: float,
    http: Any = None,
) -> Any:
    """A googleapiclient service from the shipped discovery document (no network at build).

    With ``api_endpoint`` the base becomes ``api_endpoint + service_path`` (Calendar needs
    ``/calendar/v3/``, Gmail ``/``). ``http`` is for unit tests only (``HttpMockSequence``)."""
    # Imported here: the discovery machinery is the heaviest import of the worker, and a
    # process that only reads the sheet never needs it.
    from googleapiclient.discovery import build

    options = {"api_endpoint": api_endpoint.rstrip("/") + service_path} if api_endpoint else None
    transport = http or authorized_http(creds, api_endpoint=api_endpoint, timeout=timeout)
    return build(
        api,
        version,
        http=transport,
        client_options=options,
        static_discovery=True,
        cache_discovery=False,
    )


def set_http_timeout(service: Any, seconds: float) -> None:
    """Shorten the timeout of a googleapiclient service's transport, for the requests still
    needed while stopping: new connections and the open keep-alive ones alike. A transport
    without these attributes (a unit-test mock) is left alone."""
    from worker.adapters import google_http

    google_http.set_timeout(getattr(getattr(service, "_http", None), "http", None), seconds)


def execute(operation: str, write: bool, request: Any) -> dict[str, Any]:
    """Run a googleapiclient request once (``num_retries=0``: the library's retries resend
    POSTs) and translate any failure into AdapterError; ``write`` as in errors.classify."""
    try:
        answer: dict[str, Any] = request.execute(num_retries=0)
    except Exception as exc:  # every vendor error is translated here, at the edge
        raise classify(exc, operation=operation, write=write) from exc
    return answer
