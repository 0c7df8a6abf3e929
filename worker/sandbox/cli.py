"""``balcao sandbox``: serve the Google stand-in until SIGINT/SIGTERM (DESIGN §3).

The first line of stdout is the base URL (``http://127.0.0.1:PORT``), flushed at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from worker.sandbox.serial import LOCALES
from worker.sandbox.state import (
    DEFAULT_LOCALE,
    DEFAULT_SPREADSHEET_ID,
    DEFAULT_TIMEZONE,
    DEFAULT_WORKSHEET,
)


def _zone(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an IANA time zone such as America/Bahia, got {text!r}") from None
    return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="balcao sandbox", description="Serve a local stand-in for Sheets, Calendar, Gmail and OAuth.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 (the default) takes a free port")
    p.add_argument("--responses", metavar="FILE.csv", help="response rows to load (default: bundled sample)")
    p.add_argument("--spreadsheet-id", default=DEFAULT_SPREADSHEET_ID)
    p.add_argument("--worksheet", default=DEFAULT_WORKSHEET)
    p.add_argument("--locale", default=DEFAULT_LOCALE, choices=sorted(LOCALES),
                   help="the spreadsheet's locale: how typed (USER_ENTERED) text is read and values are shown")
    p.add_argument("--time-zone", default=DEFAULT_TIMEZONE, metavar="ZONE", type=_zone,
                   help="the spreadsheet's and calendars' IANA time zone (default %(default)s)")
    p.add_argument("--meet-pending-gets", type=int, default=0, metavar="N",
                   help="Meet creation reads back 'pending' for the first N insert/get answers")
    p.add_argument("--quota", action="store_true", help="enforce per-minute quotas (Sheets 60/min/user)")
    p.add_argument("--rewrite-message-id", action="store_true", help="Gmail replaces the client's Message-ID")
    p.add_argument("--search-lag-s", type=float, default=0, metavar="N",
                   help="a sent message is found by messages.list only after N seconds")
    p.add_argument("--bounce-recipient", action="append", default=[], metavar="ADDR",
                   help="a message sent to ADDR is answered by a failed-delivery report (repeatable)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from worker.sandbox import server

    try:
        sb = server.start(
            host=args.host, port=args.port, responses_csv=args.responses,
            spreadsheet_id=args.spreadsheet_id, worksheet=args.worksheet,
            locale=args.locale, time_zone=args.time_zone,
            meet_pending_gets=args.meet_pending_gets, quota=args.quota,
            rewrite_message_id=args.rewrite_message_id, search_lag_s=args.search_lag_s,
            bounce_recipients=args.bounce_recipient,
        )
    except (OSError, ValueError) as exc:
        print(f"balcao sandbox: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise SystemExit(0)
        stop.set()

    # handlers first, URL second: whoever reads the URL may signal us at once
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(sb.url, flush=True)
    print(f"spreadsheet {args.spreadsheet_id!r}, worksheet {args.worksheet!r}; state at {sb.url}/_sandbox/state",
          file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sb.stop()
        for s, h in old.items():
            signal.signal(s, h)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
