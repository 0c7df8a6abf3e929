"""`balcao recover`: rebuild a lost or corrupted journal from Google without sending or booking anything.

Protocols and statuses come from the sheet, events from their private extended property,
messages from a Message-ID search where the scope allows (else from what the sheet shows).
The old journal file, if any, is moved aside, never deleted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from worker import identity, intake, texts
from worker.adapters.a1 import col_letter
from worker.config import Settings
from worker.journal import Journal, RequestRecord
from worker.lifecycle import Status
from worker.messages import message_id
from worker.model import AdapterError, Channel
from worker.ports import Calendar, CellValue, Mailer, ResponseSheet

log = logging.getLogger("balcao.recover")


def rebuild(s: Settings) -> int:
    from worker import bootstrap

    path = Path(s.journal.path)
    if path.exists():
        aside = path.with_name(f"{path.name}.before-recover-{_now(s):%Y%m%d-%H%M%S}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        print(f"old journal moved to {aside}")
    sheet, calendar, mailer = bootstrap.adapters(s)
    journal = Journal(str(path))
    try:
        counts = recover_into(journal, s, sheet, calendar, mailer, now=_now(s))
    except AdapterError as exc:
        print(f"balcao: recovery stopped: {exc.message}")
        return 1
    finally:
        journal.close()
    print(
        f"journal rebuilt: {counts['requests']} requests, {counts['events']} events found, "
        f"{counts['messages']} messages confirmed; nothing was sent or booked"
    )
    return 0


def _now(s: Settings) -> datetime:
    from worker.adapters.system import SystemClock

    return SystemClock().now().astimezone(ZoneInfo(s.office.timezone))


def recover_into(
    journal: Journal,
    s: Settings,
    sheet: ResponseSheet,
    calendar: Calendar,
    mailer: Mailer,
    *,
    now: datetime,
) -> dict[str, int]:
    info = sheet.info()
    last = col_letter(max(info.column_count, 1))
    header_rows, rows = sheet.read(["1:1", f"A2:{last}"])
    header: Sequence[CellValue] = header_rows[0] if header_rows else []
    titles = s.form.columns
    hmap = intake.build_header_map(header, titles)
    owned = hmap.owned
    counts = {"requests": 0, "events": 0, "messages": 0}
    last_row = 1
    with journal.tx():
        for i, cells in enumerate(rows):
            r = i + 2
            protocol = _text(_at(cells, owned.get("Protocolo")))
            if not identity.PROTOCOL_RE.match(protocol):
                continue  # never processed: the next tick takes it in
            last_row = r
            parsed = intake.parse_row(
                r, cells, hmap, answers=s.form.answers,
                sheet_tz=info.timezone, secret=journal.secret,
                max_len=s.intake.max_field_length,
            )
            if parsed is None:
                continue
            status = _text(_at(cells, owned.get("Situação"))) or Status.PENDING.value
            reason = _text(_at(cells, owned.get("Observação")))
            deadline = _serial_dt(_at(cells, owned.get("Prazo de resposta")), info.timezone)
            a = parsed.answers
            rec = RequestRecord(
                protocol=protocol,
                seq=identity.protocol_seq(protocol) or 0,
                fingerprint=parsed.fingerprint,
                submitted=parsed.submitted.isoformat() if parsed.submitted else None,
                ts_key=identity.ts_key(_at(cells, hmap.fields.get("timestamp"))),
                received_at=now.isoformat(),
                deadline=deadline.isoformat() if deadline else None,
                status=status,
                reason=reason,
                problem="" if a else "recovered_invalid",
                email=a.email if a else parsed.raw_email,
                name=a.name if a else "",
                phone=a.phone if a else "",
                channel=a.channel.value if a and a.channel else "",
                period=a.period.value if a else "",
                service=a.service if a else "",
                valid=1 if a and status != Status.DUPLICATE.value else 0,
                duplicate_of=_duplicate_of(reason) if status == Status.DUPLICATE.value else None,
                in_sheet=1,
                updated_at=now.isoformat(),
            )
            if _at(cells, hmap.fields.get("email")) == texts.ERASED_CELL:
                # Erased before the journal was lost (DESIGN §9): it stays erased (0 = an
                # elimination whose register line went with the old journal).
                rec.erasure_id, rec.email, rec.purged_at = 0, "", now.isoformat()
            if rec.valid:
                _recover_effects(rec, s, calendar, mailer, counts)
            journal.insert(rec)
            journal.audit(now, protocol, "recovered", f"row {r} {status}")
            counts["requests"] += 1
        journal.set_cursor(last_row)
    from worker import bootstrap, jobs

    jobs.settle_after_recovery(journal, s, bootstrap.office_calendar(s), now)
    return counts


def _recover_effects(
    rec: RequestRecord, s: Settings, calendar: Calendar, mailer: Mailer, counts: dict[str, int]
) -> None:
    for cal in s.scheduling.calendars:
        found = calendar.find_events(cal, rec.protocol)
        if not found:
            continue
        ev = found[0]
        counts["events"] += 1
        rec.calendar_id = cal
        rec.event_id = ev.event_id
        rec.slot_start = ev.start.isoformat() if ev.start else None
        rec.slot_end = ev.end.isoformat() if ev.end else None
        rec.meet_link = ev.meet_link
        if ev.status == "cancelled":
            rec.event_state = "cancelled"
        elif rec.channel == Channel.MEET.value and ev.meet_status != "success":
            rec.event_state = "pending"
        else:
            rec.event_state = "created"
        break
    domain = s.mail.message_id_domain
    for kind, field in (("ack", "ack_state"), ("confirmation", "conf_state")):
        sent: bool
        if mailer.can_search_sent:
            # Today's Message-ID, and the first release's (without the office tag).
            ids = (
                identity.mail_id(s.form.spreadsheet_id, rec.protocol, kind, 0, domain),
                message_id(rec.protocol, kind, 0, domain),
            )
            sent = any(mailer.find_sent(key) is not None for key in ids)
            counts["messages"] += int(sent)
        else:
            # Without gmail.readonly the sheet is the best witness: staff saw the status that
            # balcao wrote right after sending. An unsent one goes out later with the same
            # Message-ID, which mailboxes collapse.
            sent = (kind == "confirmation" and rec.status == Status.BOOKED.value) or (
                kind == "ack" and rec.status in (Status.RECEIVED.value, Status.ATTENTION.value)
            )
        if sent:
            setattr(rec, field, "sent")
            if kind == "confirmation":
                rec.conf_revision = 0


def _duplicate_of(reason: str) -> str | None:
    import re

    m = re.search(r"BV-\d{4}-\d{6,}", reason)
    return m.group(0) if m else "unknown"


def _at(cells: Sequence[CellValue], idx: int | None) -> CellValue | None:
    if idx is None or idx >= len(cells):
        return None
    return cells[idx]


def _text(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


def _serial_dt(v: object, tz: str) -> datetime | None:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return intake.serial_to_datetime(float(v), tz)
    return None
