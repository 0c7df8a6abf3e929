"""The httplib2 transport of the Calendar and Gmail clients: keep-alive, a timeout, and no hidden retry of writes; no API knowledge."""

from __future__ import annotations

import http.client
import linecache
import select
from typing import Any

import google.auth.credentials
import google_auth_httplib2
import httplib2

# httplib2 imports pyparsing, which reads its own 6,000-line source into linecache at import
# (pyparsing's _trim_arity extracts a stack): ~0.6 MiB held for good that nothing needs.
linecache.clearcache()


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """True when an idle kept-alive socket can no longer carry a request: the server closed it
    (readable at EOF) or it is broken. An idle HTTP/1.1 connection never has data to read."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, broken = select.select([sock], [], [sock], 0)
    except (OSError, ValueError):
        return True
    return bool(readable or broken)


class NoRetryHttp(httplib2.Http):
    """httplib2 without its hidden retry of writes, keeping connections alive for every method.

    httplib2 resends a request once when the server closes the connection before answering
    (``_conn_request``: BadStatusLine / RemoteDisconnected on the first try), whatever the
    method: a dropped ``messages.send`` would go out twice. Reads keep that behaviour (safe,
    and it absorbs stale keep-alive connections). Writes get exactly one attempt, so a drop
    surfaces as an error the caller classifies as outcome-unknown; they reuse the open
    connection (one TCP and TLS handshake per adapter, not one per event or e-mail) unless the
    server has already closed it, which is checked before sending, so a stale socket costs a
    reconnect and never a lost write. The race left (the server closing in the same instant)
    is the one every keep-alive client has, and ends as an outcome-unknown error, not a resend."""

    def _conn_request(
        self, conn: Any, request_uri: str, method: str, body: Any, headers: Any
    ) -> tuple[httplib2.Response, bytes]:
        if method in ("GET", "HEAD"):
            response, content = super()._conn_request(conn, request_uri, method, body, headers)
            return response, content
        if _closed_by_peer(conn):
            conn.close()
        try:
            if conn.sock is None:
                conn.connect()
            conn.request(method, request_uri, body, headers)
            raw = conn.getresponse()
            content = raw.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        response = httplib2.Response(raw)
        content = httplib2._decompressContent(response, content, self.limit_kwargs)
        return response, content


def authorized_http(
    creds: google.auth.credentials.Credentials,
    *,
    api_endpoint: str | None,
    timeout: float,
) -> google_auth_httplib2.AuthorizedHttp:
    """The transport for googleapiclient: a timeout always set, no write retries, and with
    ``api_endpoint`` no proxy (traffic to the local sandbox must not go through one);
    production keeps httplib2's proxy-from-environment default."""
    if api_endpoint:
        http = NoRetryHttp(timeout=timeout, proxy_info=None)
    else:
        http = NoRetryHttp(timeout=timeout)
    return google_auth_httplib2.AuthorizedHttp(creds, http=http)


def set_timeout(http: object, seconds: float) -> None:
    """Shorten the timeout of a transport: new connections and the open keep-alive ones alike.
    Anything but an httplib2.Http (a unit-test mock) is left alone."""
    if not isinstance(http, httplib2.Http):
        return
    http.timeout = seconds
    for conn in list(getattr(http, "connections", {}).values()):
        conn.timeout = seconds
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.settimeout(seconds)


__all__ = ["NoRetryHttp", "authorized_http", "set_timeout"]
