"""The Calendar/Gmail transport: writes reuse the kept-alive connection but are never resent."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from worker.adapters.google_http import NoRetryHttp


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.posts = 0
        self.mode = "keep"  # "keep" | "close" (answer, then close) | "drop" (close, no answer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts += 1
        if self.server.mode == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = b'{"id": "1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.server.mode == "close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _post(transport: NoRetryHttp, srv: _Server) -> bytes:
    url = f"http://127.0.0.1:{srv.server_address[1]}/gmail/v1/users/me/messages/send"
    response, content = transport.request(
        url, "POST", body=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status == 200
    return bytes(content)


def test_consecutive_sends_share_one_connection(server: _Server) -> None:
    transport = NoRetryHttp(timeout=5, proxy_info=None)
    for _ in range(5):
        assert _post(transport, server) == b'{"id": "1"}'
    assert server.posts == 5
    assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced_before_the_next_send(server: _Server) -> None:
    transport = NoRetryHttp(timeout=5, proxy_info=None)
    server.mode = "close"
    _post(transport, server)
    server.mode = "keep"
    _post(transport, server)
    _post(transport, server)
    assert server.posts == 3  # nothing lost, nothing sent twice
    assert server.connections == 2


def test_a_send_whose_answer_is_lost_is_not_sent_again(server: _Server) -> None:
    transport = NoRetryHttp(timeout=5, proxy_info=None)
    _post(transport, server)
    server.mode = "drop"
    with pytest.raises((OSError, http.client.HTTPException)):
        _post(transport, server)
    assert server.posts == 2  # the dropped one reached the server once, and only once
