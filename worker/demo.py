"""`balcao demo`: the worker's main job against the embedded sandbox with the bundled sample responses.

Starts the sandbox in-process on a free port, runs ticks until nothing is pending (at most
20), prints what staff would see and the agenda, and writes every e-mail sent (.eml, .html,
.ics) under the output folder. Uses its own temporary journal: never the operator's.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import logging
import re
import tempfile
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from worker import config as config_mod
from worker.lifecycle import Status
from worker.textfmt import fmt_datetime, mask_email, weekday_pt

MAX_TICKS = 20


def run_demo(config_path: str = "config.yaml", out_dir: str = "demo-out") -> int:
    from worker import bootstrap
    from worker.journal import Journal
    from worker.runner import setup_logging, tick
    from worker.sandbox.server import start

    base = config_mod.load(config_path if Path(config_path).exists() else None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        if old.is_file() and old.suffix in (".eml", ".html", ".ics", ".txt"):
            old.unlink()
    with start(port=0) as server, tempfile.TemporaryDirectory(prefix="balcao-demo-") as tmp:
        s = dataclasses.replace(
            base,
            google=dataclasses.replace(base.google, api_endpoint=server.url, credentials_file=None),
            form=dataclasses.replace(base.form, spreadsheet_id="sandbox-sheet", process_since=None),
            journal=dataclasses.replace(base.journal, path=str(Path(tmp) / "demo.sqlite3")),
            mail=dataclasses.replace(base.mail, transport="gmail", daily_limit=max(
                base.mail.daily_limit, 100)),
            scheduling=dataclasses.replace(base.scheduling, meet_poll_delay_seconds=0.05),
        )
        setup_logging(dataclasses.replace(s, log=dataclasses.replace(s.log, level="WARNING")))
        print(f"sandbox: {server.url}  (spreadsheet 'sandbox-sheet', calendars {', '.join(s.scheduling.calendars)})")
        journal = Journal(s.journal.path)
        deps = bootstrap.deps(s, journal, stop=threading.Event())
        ticks = 0
        for ticks in range(1, MAX_TICKS + 1):
            report = tick(deps, s, accept_backlog=True)
            if not report.ok:
                print(f"tick {ticks} failed: {report.error}")
                return 1
            if not _pending(journal):
                break
        _print_requests(journal, s, ticks)
        played = _play_staff(server.url, journal, s)
        if played:
            print("\nStaff act, as they would in the sheet and in Google Calendar:")
            for line in played:
                print(f"  {line}")
            for more in range(1, MAX_TICKS + 1):
                report = tick(deps, s)
                if not report.ok:
                    print(f"tick failed: {report.error}")
                    return 1
                if more > 1 and not _pending(journal):
                    break
            _print_requests(journal, s, ticks + more, title="after the staff's changes")
        state = _state(server.url)
        _print_agenda(state, s)
        n = _write_mail(state, out)
        requests_log = state.get("requests", [])
        print(
            f"\n{n} e-mails written to {out}/ (.eml, .html, .ics); "
            f"{len(requests_log)} Google API requests made."
        )
        journal.close()
    logging.getLogger().handlers.clear()
    return 0


def _pending(journal: Any) -> bool:
    return bool(journal.stats().get(Status.PENDING.value)) or bool(journal.open_intents())


def _call(url: str, method: str, path: str, body: Any) -> Any:
    import json
    import urllib.request

    req = urllib.request.Request(
        url + path, method=method, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer staff"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def _play_staff(url: str, journal: Any, s: config_mod.Settings) -> list[str]:
    """DESIGN §7 in the demo: staff cancel one appointment and ask to reschedule another in
    the sheet, and move a third in Google Calendar (a day later, same time)."""
    from datetime import timedelta
    from urllib.parse import quote

    booked = [r for r in journal.all() if r.status == Status.BOOKED.value and r.event_id]
    if len(booked) < 3:
        return []
    values = _state(url)["spreadsheets"]["sandbox-sheet"]["sheets"][s.form.worksheet]["values"]
    col = values[0].index("Protocolo")
    row_of = {str(r[col]): i + 1 for i, r in enumerate(values) if len(r) > col}
    lines = []
    for rec, choice in ((booked[0], "Cancelar"), (booked[1], "Remarcar")):
        _call(url, "POST", "/_sandbox/sheet/type",
              {"row": row_of[rec.protocol], "column": "Situação", "text": choice})
        lines.append(f"{rec.protocol}: Situação ← {choice}")
    moved = booked[2]
    assert moved.slot_start_dt is not None and moved.slot_end_dt is not None
    start = moved.slot_start_dt + timedelta(days=1)
    end = moved.slot_end_dt + timedelta(days=1)
    path = (f"/calendar/v3/calendars/{quote(str(moved.calendar_id), safe='')}/events/"
            f"{moved.event_id}")
    _call(url, "PATCH", path, {"start": {"dateTime": start.isoformat()},
                               "end": {"dateTime": end.isoformat()}})
    lines.append(f"{moved.protocol}: event moved in Google Calendar to "
                 f"{fmt_datetime(start, s.office.timezone)}")
    return lines


def _state(url: str) -> dict[str, Any]:
    import json
    import urllib.request

    with urllib.request.urlopen(url + "/_sandbox/state", timeout=10) as resp:
        return dict(json.loads(resp.read()))


def _print_requests(
    journal: Any, s: config_mod.Settings, ticks: int, title: str = "what staff see in the sheet"
) -> None:
    tz = s.office.timezone
    print(f"\nRequests after {ticks} tick(s) ({title}):")
    print(f"{'Protocolo':<16} {'E-mail':<24} {'Situação':<15} {'Prazo':<17} {'Atendimento':<17} Observação")
    for rec in journal.all():
        deadline = fmt_datetime(rec.deadline_dt, tz) if rec.deadline_dt else "-"
        live = rec.event_state in ("created", "pending")
        slot = fmt_datetime(rec.slot_start_dt, tz) if rec.slot_start_dt and live else "-"
        masked = mask_email(rec.email) if rec.email else "-"
        print(
            f"{rec.protocol:<16} {masked[:24]:<24} {rec.status:<15} {deadline:<17} {slot:<17} "
            f"{rec.reason[:70]}"
        )
    counts = journal.stats()
    print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def _print_agenda(state: dict[str, Any], s: config_mod.Settings) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(s.office.timezone)
    days: dict[Any, list[str]] = defaultdict(list)
    for cal_id, cal in state.get("calendars", {}).items():
        for ev in cal.get("events", []):
            if ev.get("status") == "cancelled":
                continue
            start = datetime.fromisoformat(ev["start"]["dateTime"]).astimezone(tz)
            end = datetime.fromisoformat(ev["end"]["dateTime"]).astimezone(tz)
            link = ev.get("hangoutLink") or "WhatsApp"
            days[start.date()].append(
                f"  {start:%H:%M}-{end:%H:%M}  {cal_id:<10} {ev.get('summary', '')}  {link}"
            )
    print("\nAgenda:")
    for day in sorted(days):
        print(f"{day:%d/%m/%Y} ({weekday_pt(day)})")
        for line in sorted(days[day]):
            print(line)


def _write_mail(state: dict[str, Any], out: Path) -> int:
    n = 0
    for mailbox in state.get("gmail", {}).values():
        for m in mailbox.get("messages", []):
            raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            subject = str(msg.get("Subject", ""))
            match = re.search(r"BV-\d{4}-\d{6}", subject)
            stem = f"{match.group(0) if match else m['id']}-{_kind(msg)}"
            (out / f"{stem}.eml").write_bytes(raw)
            html = msg.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
            if html is not None:
                (out / f"{stem}.html").write_text(html.get_content(), encoding="utf-8")
            for part in msg.iter_attachments():  # type: ignore[attr-defined]
                if part.get_content_type() == "text/calendar":
                    data = part.get_payload(decode=True)
                    if isinstance(data, bytes):
                        (out / f"{stem}.ics").write_bytes(data)
            n += 1
    return n


def _kind(msg: Any) -> str:
    mid = str(msg.get("Message-ID", ""))
    for kind in ("confirmation", "cancellation", "no-show", "ack"):
        if f".{kind}." in mid:
            return kind + (f"-r{m.group(1)}" if (m := re.search(r"\.r(\d+)", mid)) else "")
    return "mail"
