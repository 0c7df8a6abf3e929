"""Client factories for tests: the real gspread and googleapiclient pointed at a base URL.

Follows reference/google-apis.md §6: an HTTPClient subclass that rebases Google's hosts for
gspread, ``client_options={"api_endpoint": ...}`` for googleapiclient (Calendar needs the
``/calendar/v3/`` servicePath in it), no proxies from the environment, timeouts always set.
"""

from __future__ import annotations

from typing import Any

GOOGLE_PREFIXES = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def make_gspread_client(base_url: str, credentials: Any = None, timeout: float = 10) -> Any:
    """A ``gspread.Client`` whose requests go to ``base_url`` (token ``test`` unless given)."""
    import gspread
    from google.oauth2.credentials import Credentials

    base = base_url.rstrip("/")

    class Rebased(gspread.http_client.HTTPClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.session.trust_env = False

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for prefix in GOOGLE_PREFIXES:
                if endpoint.startswith(prefix):
                    endpoint = base + endpoint[len(prefix):]
                    break
            return super().request(method, endpoint, *args, **kwargs)

    client = gspread.Client(auth=credentials or Credentials(token="test"), http_client=Rebased)
    client.set_timeout(timeout)
    return client


def api_endpoint(api: str, base_url: str) -> str:
    base = base_url.rstrip("/")
    return {"calendar": base + "/calendar/v3/", "gmail": base + "/", "sheets": base + "/"}[api]


def make_google_service(api: str, version: str, base_url: str, credentials: Any = None, timeout: float = 10) -> Any:
    """``googleapiclient`` service for ``api`` against ``base_url`` (static discovery, no proxy)."""
    import httplib2
    from google.oauth2.credentials import Credentials
    from google_auth_httplib2 import AuthorizedHttp
    from googleapiclient.discovery import build

    http = AuthorizedHttp(credentials or Credentials(token="test"), http=httplib2.Http(timeout=timeout, proxy_info=None))
    return build(api, version, http=http, client_options={"api_endpoint": api_endpoint(api, base_url)},
                 static_discovery=True, cache_discovery=False)


def call_json(base_url: str, method: str, path: str, body: Any = None, timeout: float = 10,
              token: str | None = None) -> Any:
    """One JSON request to the sandbox's control surface (no proxies), its decoded answer;
    with ``token``, a Google path called as a person would (any bearer token is accepted)."""
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")
