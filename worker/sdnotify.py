"""systemd notify protocol over NOTIFY_SOCKET in pure Python (READY, STATUS, WATCHDOG, STOPPING); no-op elsewhere."""

from __future__ import annotations

import contextlib
import os
import socket


class Notifier:
    """Sends datagrams to ``$NOTIFY_SOCKET`` (path or abstract ``@name``); silent without it,
    so the same code runs under systemd, Docker or a terminal."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, **fields: str | int) -> None:
        if self._sock is None or not self.address:
            return
        addr = self.address
        if addr.startswith("@"):
            addr = "\0" + addr[1:]
        payload = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
        # systemd gone or restarting: never let notification break the worker.
        with contextlib.suppress(OSError):
            self._sock.sendto(payload, addr)

    def ready(self, status: str) -> None:
        self.send(ready=1, status=status)

    def status(self, status: str) -> None:
        self.send(status=status)

    def watchdog(self) -> None:
        self.send(watchdog=1)

    def stopping(self) -> None:
        self.send(stopping=1)
