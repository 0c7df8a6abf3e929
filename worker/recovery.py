"""`balcao recover`: rebuild a lost, stale or corrupted journal from Google without sending or booking anything.

Protocols, statuses, notes and staff choices come from the sheet and stay as it shows them;
events from their private extended property (their revision is at least the event's
``sequence``, so a later reschedule never reuses a Message-ID); messages from a Message-ID
search where the scope allows, else from what the sheet shows. Every effect found is written
as done, each job's last run is the recovery time, and the old journal file, if any, is moved
aside, never deleted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from worker import identity, intake, texts
from worker.adapters.a1 import col_letter
from worker.config import Settings
from worker.journal import Journal, RequestRecord
from worker.lifecycle import EventState, MailKind, MailState, Problem, Status, fold
from worker.messages import message_id
from worker.model import AdapterError, Channel, mailbox_key
from worker.ports import Calendar, CellValue, Mailer, ResponseSheet

log = logging.getLogger("balcao.recover")

# Final choices of staff: kept exactly as the sheet shows them.
STAFF_FINAL = {fold(v): v for v in ("Cancelado", "Realizado", "Não compareceu")}
# `Observação` notes balcao writes, back to the problem they stand for (the status they imply
# is then derived again exactly as the sheet shows it).
_NOTE_PROBLEMS: tuple[tuple[str, Problem], ...] = (
    (texts.REASON_EDITED, Problem.EDITED),
    (texts.REASON_UNRECOGNISED, Problem.UNRECOGNISED),
    (texts.REASON_NO_SLOT, Problem.NO_SLOT),
    (texts.REASON_MEET_FAILED, Problem.MEET_FAILED),
    (texts.REASON_PERMANENT, Problem.PERMANENT),
    (texts.REASON_MAIL_FAILED, Problem.MAIL_FAILED),
    (texts.REASON_POISON, Problem.POISON),
    (texts.REASON_TOO_MANY.split("{", 1)[0], Problem.TOO_MANY_OPEN),
    (texts.REASON_BOUNCED, Problem.BOUNCED),
    (texts.REASON_CLOSED_DAY, Problem.CLOSED_DAY),
    (texts.REASON_NO_SLOT_RESCHEDULE, Problem.NO_SLOT_RESCHEDULE),
)
_BOOKED_LIKE = frozenset({Status.BOOKED.value, *STAFF_FINAL.values()})


def rebuild(s: Settings) -> int:
    from worker import bootstrap

    path = Path(s.journal.path)
    now = _now(s)
    if path.exists():
        aside = path.with_name(f"{path.name}.before-recover-{now:%Y%m%d-%H%M%S}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        print(f"old journal moved to {aside}")
    sheet, calendar, mailer = bootstrap.adapters(s)
    journal = Journal(str(path))
    try:
        counts = recover_into(journal, s, sheet, calendar, mailer, now=now)
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


@dataclass(frozen=True)
class _Context:
    s: Settings
    hmap: intake.HeaderMap
    tz: str
    secret: bytes
    now: datetime


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
    hmap = intake.build_header_map(header, s.form.columns, owned_titles=s.form.owned_columns)
    ctx = _Context(s, hmap, info.timezone, journal.secret, now)
    counts = {"requests": 0, "events": 0, "messages": 0}
    last_row = 1
    seen: set[str] = set()
    seqs: set[int] = set()
    with journal.tx():
        for i, cells in enumerate(rows):
            rec = _record_of(i + 2, cells, ctx)
            if rec is None:
                continue
            if rec.protocol in seen:
                # A protocol copied onto a second row: the first row keeps it; the next tick
                # sees this one as a stray copy.
                log.warning("row %d repeats %s: left to the next tick", i + 2, rec.protocol)
                continue
            seen.add(rec.protocol)
            if rec.seq <= 0 or rec.seq in seqs or rec.problem == Problem.UNRECOGNISED:
                rec.seq = journal.next_foreign_seq()  # typed by hand: never a number to issue
            seqs.add(rec.seq)
            last_row = i + 2
            if _at(cells, hmap.fields.get("email")) == texts.ERASED_CELL:
                # Erased before the journal was lost (DESIGN §9): it stays erased (0 = an
                # elimination whose register line went with the old journal).
                rec.erasure_id, rec.email, rec.mailbox = 0, "", ""
                rec.purged_at = now.isoformat()
            else:
                _recover_effects(rec, s, calendar, mailer, counts)
            if _sheet_behind(rec, info.timezone):
                rec.in_sheet = 0  # the write-back shows the calendar's time
            journal.insert(rec)
            _record_effects(journal, rec, ctx, _serial_dt(_at(cells, hmap.owned.get(
                "Atualizado em")), info.timezone))
            journal.audit(now, rec.protocol, "recovered", f"row {i + 2} {rec.status}")
            counts["requests"] += 1
        journal.set_cursor(last_row)
        journal.set_meta("columns", json.dumps({**hmap.fields, **hmap.owned}, sort_keys=True))
    from worker import bootstrap, jobs

    # Reminders and alerts whose time has passed count as sent; each job last ran now.
    jobs.settle_after_recovery(journal, s, bootstrap.office_calendar(s), now)
    return counts


def _sheet_behind(rec: RequestRecord, tz: str) -> bool:
    """True when the sheet's `Atendimento` is not the live event's time (staff moved it in
    the calendar and no tick saw it before the journal was lost)."""
    start = rec.slot_start_dt
    if start is None or rec.event_state not in (EventState.CREATED, EventState.PENDING):
        return False
    shown = rec.shown_appt
    return shown is None or abs(intake.datetime_to_serial(start, tz) - shown) > 1e-6


def _status_of(cells: Sequence[CellValue], hmap: intake.HeaderMap) -> tuple[str, str, str]:
    """(status, note, problem) as the sheet shows them."""
    shown = _text(_at(cells, hmap.owned.get("Situação")))
    note = _text(_at(cells, hmap.owned.get("Observação")))
    if fold(shown) in STAFF_FINAL:
        return STAFF_FINAL[fold(shown)], note, Problem.KEPT.value
    if shown == Status.DUPLICATE.value:
        return shown, note, Problem.DUPLICATE.value
    if shown == Status.ATTENTION.value:
        for prefix, problem in _NOTE_PROBLEMS:
            if note.startswith(prefix.strip()):
                return shown, note, problem.value
        return shown, note, Problem.KEPT.value
    if shown in (Status.BOOKED.value, Status.RECEIVED.value):
        return shown, note, ""
    # Pendente, an action staff chose (Cancelar, Remarcar: carried out by the next tick), or
    # an empty cell: balcao derives it again from what Google shows.
    return Status.PENDING.value, note, ""


def _record_of(r: int, cells: Sequence[CellValue], ctx: _Context) -> RequestRecord | None:
    hmap = ctx.hmap
    protocol = _text(_at(cells, hmap.owned.get("Protocolo")))
    if not identity.PROTOCOL_RE.match(protocol):
        return None  # never processed: the next tick takes it in
    parsed = intake.parse_row(
        r, cells, hmap, answers=ctx.s.form.answers, sheet_tz=ctx.tz, secret=ctx.secret,
        max_len=ctx.s.intake.max_field_length,
    )
    if parsed is None:
        return None
    status, reason, problem = _status_of(cells, hmap)
    a = parsed.answers
    if a is None and not problem:
        problem = parsed.problems[0].code if parsed.problems else Problem.KEPT.value
    deadline = _serial_dt(_at(cells, hmap.owned.get("Prazo de resposta")), ctx.tz)
    valid = a is not None and problem not in (Problem.DUPLICATE, Problem.TOO_MANY_OPEN)
    email = a.email if a else parsed.raw_email
    return RequestRecord(
        protocol=protocol,
        seq=identity.protocol_seq(protocol) or 0,
        fingerprint=parsed.fingerprint,
        submitted=parsed.submitted.isoformat() if parsed.submitted else None,
        ts_key=identity.ts_key(_at(cells, hmap.fields.get("timestamp"))),
        received_at=(parsed.submitted or ctx.now).isoformat(),
        deadline=deadline.isoformat() if deadline else None,
        status=status,
        reason=reason,
        problem=problem,
        email=email,
        name=a.name if a else "",
        phone=a.phone if a else "",
        channel=a.channel.value if a and a.channel else "",
        period=a.period.value if a else "",
        service=a.service if a else "",
        valid=1 if valid else 0,
        duplicate_of=_duplicate_of(reason) if problem == Problem.DUPLICATE else None,
        in_sheet=1,
        written="recovered",  # the sheet shows what it shows: never an orphan of a write
        updated_at=ctx.now.isoformat(),
        mailbox=mailbox_key(email),
        staff_note=parsed.note,
        # What the sheet shows now counts as shown: only a later change there is staff's.
        shown_status=_text(_at(cells, hmap.owned.get("Situação"))) or None,
        shown_appt=_serial(_at(cells, hmap.owned.get("Atendimento"))),
    )


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
        # Every change of time raised the event's SEQUENCE and sent a confirmation of a new
        # revision: the next one must take a number never used.
        rec.revision = max(rec.revision, ev.sequence)
        if ev.status == "cancelled":
            rec.event_state = EventState.CANCELLED.value
        elif rec.channel == Channel.MEET.value and ev.meet_status != "success":
            rec.event_state = EventState.PENDING.value
        else:
            rec.event_state = EventState.CREATED.value
        break
    if rec.valid or rec.problem == Problem.KEPT:
        _recover_mail(rec, s, mailer, counts)


def _recover_mail(rec: RequestRecord, s: Settings, mailer: Mailer, counts: dict[str, int]) -> None:
    """Which e-mails went out: by Message-ID in sent mail where the scope allows; the sheet
    is a witness too (staff saw the status balcao wrote right after sending, or chose one
    after it). An unsent one goes out later with the same Message-ID, which mailboxes
    collapse."""
    sent = _sent_revisions(rec, s, mailer, counts) if mailer.can_search_sent else {}
    if MailKind.ACK in sent or rec.status in (Status.RECEIVED.value, Status.ATTENTION.value):
        rec.ack_state = MailState.SENT.value
    confirmed = sent.get(MailKind.CONFIRMATION)
    if confirmed is None and rec.status in _BOOKED_LIKE and rec.event_state:
        confirmed = rec.revision  # no search, or nothing found: the sheet says it went out
    if confirmed is not None:
        # A move nobody saw before the journal was lost (SEQUENCE above the last
        # confirmation found) still owes the citizen its confirmation.
        rec.conf_state, rec.conf_revision = MailState.SENT.value, confirmed
        rec.revision = max(rec.revision, confirmed)


def _sent_revisions(
    rec: RequestRecord, s: Settings, mailer: Mailer, counts: dict[str, int]
) -> dict[MailKind, int]:
    """The highest revision found in sent mail for each kind."""
    domain = s.mail.message_id_domain
    out: dict[MailKind, int] = {}
    for kind in (MailKind.ACK, MailKind.CONFIRMATION):
        revisions = [0] if kind == MailKind.ACK else list(range(rec.revision + 1))
        for rev in revisions:
            # Today's Message-ID, and the first release's (without the office tag).
            ids = (
                identity.mail_id(s.form.spreadsheet_id, rec.protocol, kind, rev, domain),
                message_id(rec.protocol, kind, rev, domain),
            )
            if any(mailer.find_sent(key) is not None for key in ids):
                out[kind] = rev
        counts["messages"] += int(kind in out)
    return out


def _record_effects(
    journal: Journal, rec: RequestRecord, ctx: _Context, updated: datetime | None
) -> None:
    """The effects found, written as done: ids looked up later find them, and the daily cap
    counts the messages at about the time they left (the row's `Atualizado em`). When they
    left is not known: the report counts those answers apart, unjudged."""
    at = updated or rec.submitted_dt or ctx.now
    domain = ctx.s.mail.message_id_domain
    office = ctx.s.form.spreadsheet_id
    done: list[tuple[str, str, int]] = []
    if rec.event_id and rec.event_state:
        done.append((rec.event_id, "event", rec.revision))
    if rec.ack_state == MailState.SENT:
        done.append((identity.mail_id(office, rec.protocol, "ack", 0, domain), "ack", 0))
    if rec.conf_state == MailState.SENT and rec.conf_revision is not None:
        key = identity.mail_id(office, rec.protocol, "confirmation", rec.conf_revision, domain)
        done.append((key, "confirmation", rec.conf_revision))
    for key, kind, revision in done:
        journal.record_recovered_effect(key, rec.protocol, kind, revision, at)


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


def _serial(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _serial_dt(v: object, tz: str) -> datetime | None:
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            return intake.serial_to_datetime(float(v), tz)
        except ValueError:
            return None
    return None
