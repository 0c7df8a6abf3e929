"""Erasure of requests everywhere balcao reaches (sheet row, calendar event, journal) as one resumable elimination, and the daily retention job that erases old requests the same way; the imperative shell of DESIGN §9, no decisions of its own (planners.retention decides).

An elimination is committed as an intent (its register line, state 'intent', and every request
marked) before anything is touched; a crash halfway leaves it open and the next `privacy erase`
or retention run completes it, repeating only idempotent steps (a patch, a delete, constant
cells) and the cancellation e-mail exactly once (Executor.send_once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from worker import identity, intake, texts
from worker.adapters.a1 import col_letter
from worker.deps import Deps
from worker.effects import Executor
from worker.identity import ColumnCells, locate, ts_ident
from worker.lifecycle import EventState, MailState, Problem
from worker.model import (
    AdapterError,
    BalcaoError,
    Channel,
    Elimination,
    EmailSpec,
    RequestRecord,
    TickReport,
)
from worker.packed import IdentityIndex
from worker.planners import retention, writeback
from worker.ports import CellValue, CellWrite
from worker.snapshot import PROTOCOL, column

log = logging.getLogger("balcao.erasure")

REASON_SUBJECT = "pedido do titular"
REASON_RETENTION = "retenção"
CANCELLATION = "cancellation"
ROWS_PER_READ = 100
STATUS_CANCELLED = "Cancelado"
# What balcao cannot reach: printed by `erase` and `register` for the operator to do by hand.
UNREACHABLE = (
    "the Google Form's own stored responses (Forms > Responses: delete the subject's responses "
    "there by hand; the sheet is only a copy)",
    "the sender's Sent folder (Gmail > Sent: delete the messages to the subject by hand)",
)


class ErasureBlocked(BalcaoError):
    """An erasure could not finish now (a cancellation e-mail could not leave): it stays open
    and is completed by the next `privacy erase` or retention run."""


@dataclass
class Located:
    """Where requests sit in the sheet this moment (rows by identity, never row numbers)."""

    header: list[CellValue]
    hmap: intake.HeaderMap
    row_of: dict[str, int]
    emails: dict[int, object] = field(default_factory=dict)  # sheet row → e-mail cell

    @property
    def keep(self) -> set[int]:
        """Columns never erased: the timestamp and balcao's own."""
        return {self.hmap.fields["timestamp"], *self.hmap.owned.values()}


class SheetRows:
    """Reads and writes whole rows of known requests, placed by identity."""

    def __init__(self, deps: Deps, exe: Executor) -> None:
        self.d = deps
        self.exe = exe

    def locate(self, *, with_emails: bool = False) -> Located:
        """One header read, then one read of the timestamp, protocol (and e-mail) columns."""
        header_cols = self.exe.call(lambda: self.d.sheet.read(["1:1"], by_column=True))[0]
        header = [col[0] if col else "" for col in header_cols]
        hmap = intake.build_header_map(header, self.d.settings.form.columns)
        keys = [hmap.fields["timestamp"], hmap.owned_index(PROTOCOL)]
        if with_emails:
            keys.append(hmap.fields["email"])
        ranges = [f"{col_letter(c + 1)}2:{col_letter(c + 1)}" for c in keys if c is not None]
        if len(ranges) < len(keys):  # no `Protocolo` column yet: no request is in the sheet
            return Located(header, hmap, {})
        res = self.exe.call(lambda: self.d.sheet.read(ranges, by_column=True))
        ts, proto = ColumnCells(column(res[0])), ColumnCells(column(res[1]))
        index = IdentityIndex.load(self.d.journal.identity_pairs())
        view = locate(ts, proto, index.known, index.by_ts, twins=index.twins)
        emails = dict(ColumnCells(column(res[2]))) if with_emails else {}
        return Located(header, hmap, dict(view.row_of), emails)

    def rows(self, at: Located, protocols: Sequence[str], *, displayed: bool) -> dict[str, list[Any]]:
        """The whole row of each protocol found (as stored, or as staff see it)."""
        found = [(p, at.row_of[p]) for p in protocols if p in at.row_of]
        last = col_letter(max(len(at.header), 1))
        out: dict[str, list[Any]] = {}
        # batchGet is a GET: its ranges travel in the URL, so a retention run over a year of
        # rows reads them in groups.
        for i in range(0, len(found), ROWS_PER_READ):
            group = found[i : i + ROWS_PER_READ]
            ranges = [f"A{r}:{last}{r}" for _, r in group]
            res = self._read(ranges, displayed)
            for (p, _), rows in zip(group, res, strict=True):
                out[p] = list(rows[0]) if rows else []
        return out


    def _read(self, ranges: list[str], displayed: bool) -> list[Any]:
        if displayed:
            return self.exe.call(lambda: self.d.sheet.read_displayed(ranges), "sheets read")
        return self.exe.call(lambda: self.d.sheet.read(ranges), "sheets read")


@dataclass
class Outcome:
    elimination: int
    reason: str
    protocols: tuple[str, ...]
    sheet: int = 0
    calendar: int = 0
    journal: int = 0
    cancelled: list[str] = field(default_factory=list)


class Eraser:
    """Carries out eliminations through the executor (retries, auth pause, exactly-once mail)."""

    def __init__(self, deps: Deps, now: datetime) -> None:
        self.d = deps
        self.j = deps.journal
        self.now = now
        self.exe = Executor(deps, now, TickReport(started=now))
        self.store = deps.journal.privacy
        self.rows = SheetRows(deps, self.exe)

    def resume(self) -> list[Outcome]:
        """Complete every elimination a crash or a refused e-mail left open."""
        return [self._complete(el) for el in self.store.eliminations(state="intent")]

    def erase(self, protocols: Sequence[str], reason: str) -> Outcome:
        with self.j.tx():
            eid = self.store.begin(self.now, reason, protocols)
        self.d.crash("after_erasure_intent")
        el = next(e for e in self.store.eliminations(state="intent") if e.id == eid)
        return self._complete(el)

    def _complete(self, el: Elimination) -> Outcome:
        out = Outcome(el.id, el.reason, el.protocols)
        recs = [r for r in (self.j.get(p) for p in el.protocols) if r is not None]
        for rec in recs:
            cal = self._strip(rec)
            out.calendar += cal is not None
            if retention.needs_cancelling(rec, self.now):
                self._cancel(rec, cal, out)
        self.d.crash("after_erasure_calendar")
        with self.j.tx():
            for rec in recs:
                if rec.problem == Problem.EMAIL and rec.reason != texts.REASON_EMAIL_ERASED:
                    # Its note may quote the address (email_validator names the domain).
                    self.j.update(rec, reason=texts.REASON_EMAIL_ERASED)
        out.sheet = self._sheet(recs)
        self.d.crash("after_erasure_sheet")
        with self.j.tx():
            out.journal = self.store.scrub(el.protocols, self.now)
            for rec in recs:
                # Unsent effects die with the data: nothing is ever sent to an erased request.
                self.store.drop_intents(rec.protocol, self.now)
                self.j.audit(self.now, rec.protocol, "erased", f"{el.reason} (eliminação {el.id})")
            self.store.finish(el.id, out.sheet, out.calendar, out.journal)
        self.store.compact()
        log.info("elimination %d (%s): %d requests, %d rows, %d events", el.id, el.reason,
                 out.journal, out.sheet, out.calendar)
        return out

    # ------------------------------------------------------------- calendar

    def _strip(self, rec: RequestRecord) -> str | None:
        """Strip the event to its bare title, telling no one (``sendUpdates=none``); the
        calendar it was found in, None when there is none."""
        if not rec.event_id or not rec.calendar_id or rec.event_state in ("", EventState.FAILED):
            return None
        eid, title = rec.event_id, texts.ERASED_EVENT_SUMMARY.format(protocol=rec.protocol)
        calendars = [rec.calendar_id, *(
            c for c in self.d.settings.scheduling.calendars if c != rec.calendar_id
        )]
        for cal in calendars:  # staff may have moved it to another attendant
            try:
                self.exe.call(lambda c=cal: self.d.calendar.patch_event(  # type: ignore[misc]
                    c, eid, summary=title, strip_personal=True, send_updates="none",
                ), "calendar events.patch")
            except AdapterError as exc:
                if exc.status in (404, 410):
                    continue
                raise
            return cal
        return None

    def _cancel(self, rec: RequestRecord, cal: str | None, out: Outcome) -> None:
        """DESIGN §7's cancellation, inside the erasure: the e-mail (only if an
        acknowledgement or confirmation went out) leaves exactly once before the address is
        erased, then the event is deleted (it stays readable at Google, stripped)."""
        p = rec.protocol
        if rec.email and MailState.SENT in (rec.ack_state, rec.conf_state):
            revision = rec.conf_revision if rec.conf_revision is not None else rec.revision
            key = self.j.effect_key(p, CANCELLATION, revision) or identity.mail_id(
                self.d.office_key, p, CANCELLATION, revision, self.d.settings.mail.message_id_domain
            )
            self._settle(key)
            if not self.exe.send_once(p, CANCELLATION, revision, key,
                                      lambda: self._render(rec, key, revision)):
                raise ErasureBlocked(
                    f"{p}: the cancellation e-mail could not be sent now (daily cap or a Gmail "
                    "error); the erasure stays open: run the same command again later"
                )
        changes: dict[str, object] = {}
        if cal is not None and rec.event_id:
            eid = rec.event_id
            self.exe.call(lambda: self.d.calendar.delete_event(cal, eid, send_updates="none"),
                          "calendar events.delete")
            changes["event_state"] = EventState.CANCELLED.value
        with self.j.tx():
            self.j.update(rec, status=STATUS_CANCELLED, reason="", problem="",
                          updated_at=self.now.isoformat(), **changes)
            self.j.audit(self.now, p, "cancelled", "erasure")
        out.cancelled.append(p)

    def _settle(self, key: str) -> None:
        """An intent of this e-mail left open by a crash: looked up in sent mail first, so
        send_once resends only what never left."""
        eff = self.j.effect(key)
        if eff is None or eff.state != "intent":
            return
        if self.d.mailer.can_search_sent:
            found = self.exe.call(lambda: self.d.mailer.find_sent(key), "mail find_sent")
            if found:
                with self.j.tx():
                    self.j.record_done(key, found, self.now)
                return
        self.exe.unsent.add(key)

    def _render(self, rec: RequestRecord, key: str, revision: int) -> EmailSpec:
        confirmed = rec.conf_state == MailState.SENT and rec.slot_start and rec.slot_end
        return self.d.renderer.render_cancellation(
            office=self.d.office_info, protocol=rec.protocol, name=rec.name, to=rec.email,
            sender_domain=self.d.settings.mail.message_id_domain, revision=revision,
            start=rec.slot_start_dt if confirmed else None,
            end=rec.slot_end_dt if confirmed else None,
            channel=Channel(rec.channel) if confirmed and rec.channel else None,
            stamp=self.now, message_id=key,
        )

    # ------------------------------------------------------------- sheet

    def _sheet(self, recs: Sequence[RequestRecord]) -> int:
        """Every answer cell of each row becomes ``[removido]`` (the timestamp and balcao's
        columns stay, with the request's current values); one write. Rows are re-checked
        by identity right before the write: a sort in between reads again."""
        by_protocol = {r.protocol: r for r in recs}
        for _attempt in range(3):
            at = self.rows.locate()
            rows = self.rows.rows(at, list(by_protocol), displayed=False)
            ts_c, p_c = at.hmap.fields["timestamp"], at.hmap.owned_index(PROTOCOL)
            moved = [
                p for p, row in rows.items()
                if not _same_request(row, ts_c, p_c, p, by_protocol[p].ts_key)
            ]
            if not moved:
                break
        else:
            raise AdapterError("the sheet kept changing during the erasure", True)
        cells, written = self._cells(at, rows, by_protocol)
        if cells:
            self.exe.call(lambda: self.d.sheet.write(cells), "sheets write")
        with self.j.tx():
            for rec, digest in written:
                self.j.update(rec, in_sheet=1, written=digest)
        return len(rows)

    def _cells(
        self, at: Located, rows: dict[str, list[Any]], recs: dict[str, RequestRecord]
    ) -> tuple[list[CellWrite], list[tuple[RequestRecord, str]]]:
        info = self.d.state.info or self.exe.call(self.d.sheet.info, "sheets info")
        updated = intake.datetime_to_serial(self.now, info.timezone)
        cells: list[CellWrite] = []
        written: list[tuple[RequestRecord, str]] = []
        for p, row in rows.items():
            r = at.row_of[p]
            for c in retention.answer_columns(at.header, row, at.keep):
                if c >= len(row) or row[c] != texts.ERASED_CELL:
                    cells.append(CellWrite(r, c + 1, texts.ERASED_CELL))
            rec = recs[p]
            values = writeback.owned_values(rec, self.d.settings.scheduling.mode, info.timezone)
            cells.extend(writeback.cells(r, values, at.hmap.owned, updated))
            written.append((rec, values.digest()))
        return cells, written


def _same_request(
    row: Sequence[CellValue], ts_c: int, p_c: int | None, protocol: str, ts_key: str | None
) -> bool:
    shown = row[p_c] if p_c is not None and p_c < len(row) else ""
    if isinstance(shown, str) and shown.strip() == protocol:
        return True
    ts = row[ts_c] if ts_c < len(row) else None
    return not shown and ts_ident(ts) == identity.key_ident(ts_key)


def with_duplicates(deps: Deps, protocols: Sequence[str]) -> list[str]:
    """The protocols and the `Duplicado` requests linked to them, in claim order."""
    out = list(dict.fromkeys(protocols))
    for dup in deps.journal.privacy.duplicates_of(out):
        if dup not in out:
            out.append(dup)
    return out


# Requests erased by one run of the retention job; the rest go in the next runs.
RETENTION_BATCH = 200
RETENTION_MORE = "retention_more"  # journal meta: "1" while a backlog of old requests remains


def run_retention(deps: Deps, now: datetime) -> None:
    """The daily retention job: open eliminations completed first, then every request whose
    last activity is older than the retention, with no open work and not on legal hold, erased
    in one elimination (`retenção`)."""
    eraser = Eraser(deps, now)
    eraser.resume()
    store = deps.journal.privacy
    days = deps.settings.retention_days
    candidates = store.idle_before(now - timedelta(days=days))
    intents = {e.protocol for e in deps.journal.open_intents()}
    hold = {p.strip() for p in deps.settings.privacy.legal_hold}
    due = retention.retention_due(candidates, now, days, hold, intents)
    # A bounded batch per run (an office upgrading with years of history must not spend one
    # run on thousands of Calendar patches): the job stays due until none is left.
    more = len(due) > RETENTION_BATCH
    with deps.journal.tx():
        deps.journal.set_meta(RETENTION_MORE, "1" if more else "0")
    if not due:
        return
    out = eraser.erase(due[:RETENTION_BATCH], REASON_RETENTION)
    log.info("retention: personal data of %d requests erased (sheet rows %d, events %d)",
             out.journal, out.sheet, out.calendar)
