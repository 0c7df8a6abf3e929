"""The one exactly-once executor: every effect (event insert, Meet poll, e-mail, sheet write) as intent committed → call → outcome committed, one effect at a time; no decisions of its own.

Crash points, lost answers, the reconciliation of intents a crash left open, the daily mail
cap, the stop after a Gmail 429 and the pause when Google refuses the credentials live here
once, for every kind of effect. After a kill -9 at any moment at most the one effect in flight
is repeated, with the same event id or Message-ID (stored with the intent, never recomputed).
A status is derived again in the same transaction as every outcome, so what staff see never
lags what happened (DESIGN §4 "Effects, exactly once").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from worker import identity, lifecycle, texts
from worker.deps import Deps
from worker.lifecycle import EventState, MailKind, MailState, Problem, Status
from worker.model import AdapterError, Channel, EmailSpec, EventSpec, RequestRecord, TickReport
from worker.planners.actions import Book, Flag
from worker.textfmt import mask_email

log = logging.getLogger("balcao.effects")
_T = TypeVar("_T")

# Gmail's answers that mean "no more sending now": the rest of the tick's e-mails wait.
_THROTTLED_REASONS = ("rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded")


class AuthPaused(Exception):
    """Raised inside a tick when Google refuses the credentials: every effect stops."""

    def __init__(self, error: AdapterError) -> None:
        super().__init__(error.message)
        self.error = error


class Executor:
    """Carries out one tick's effects against the ports, journalling each one."""

    def __init__(self, deps: Deps, now: datetime, report: TickReport) -> None:
        self.d = deps
        self.j = deps.journal
        self.s = deps.settings
        self.now = now
        self.report = report
        self.mode = self.s.scheduling.mode
        self.recs: dict[str, RequestRecord] = {}  # the tick's records, changed in place
        # Message-IDs of open mail intents that reconciliation looked up in sent mail and did
        # not find: only those are resent (same Message-ID) when search is possible.
        self.unsent: set[str] = set()
        self.mail_block: str | None = None  # a Problem: no further send in this tick
        self._mail_used: int | None = None

    def reconcile(self) -> None:
        """Settle the intents a crash or a lost answer left open, before any new work."""
        Reconciler(self).run()

    # ------------------------------------------------------------- records and commits

    def rec(self, protocol: str) -> RequestRecord | None:
        rec = self.recs.get(protocol)
        if rec is None:
            rec = self.j.get(protocol)
            if rec is not None:
                self.recs[protocol] = rec
        return rec

    def commit(self, rec: RequestRecord, **changes: object) -> None:
        """Apply ``changes`` and the status they imply (inside the caller's transaction)."""
        if changes:
            self.j.update(rec, **changes)
        derived = lifecycle.status_changes(rec, self.mode)
        if derived or changes:
            self.j.update(rec, **derived, updated_at=self.now.isoformat())
        if derived:
            if derived.get("status") == Status.ATTENTION:
                self.report.flagged += 1
            self.j.audit(self.now, rec.protocol, "status", f"{rec.status}: {rec.reason}")
            log.info(
                "%s %s → %s%s", rec.protocol, mask_email(rec.email), rec.status,
                f" ({rec.reason})" if rec.reason else "",
            )

    def flag(self, action: Flag) -> None:
        rec = self.rec(action.protocol)
        if rec is None:
            return
        changes: dict[str, object] = {"problem": action.problem}
        if action.reason is not None:
            changes["reason"] = action.reason
        if action.staff_serial is not None:
            changes["staff_serial"] = action.staff_serial
        with self.j.tx():
            self.commit(rec, **changes)
            if action.audit:
                self.j.audit(self.now, rec.protocol, action.audit, action.reason or "")

    def poison(self, rec: RequestRecord, exc: BaseException, where: str) -> None:
        """Flag a request whose processing raised something unexpected (a bug or an input
        nobody foresaw); logged with its protocol and the exception type only."""
        log.error("%s: unexpected %s during %s; flagged for staff", rec.protocol,
                  type(exc).__name__, where)
        with self.j.tx():
            self.j.update(
                rec, problem=Problem.POISON.value, status=Status.ATTENTION.value,
                reason=texts.REASON_POISON, updated_at=self.now.isoformat(),
            )
            self.j.audit(self.now, rec.protocol, "poison", f"{where}: {type(exc).__name__}")

    # ------------------------------------------------------------- calls

    def call(self, fn: Callable[[], _T], what: str = "google", *, retry: bool = True) -> _T:
        """One Google request (retried when ``retry``: only requests safe to repeat); an
        authorisation error pauses every effect (AuthPaused)."""
        try:
            return self.retry(what, fn) if retry else fn()
        except AdapterError as exc:
            if exc.auth:
                raise AuthPaused(exc) from None
            raise

    def retry(self, what: str, fn: Callable[[], _T]) -> _T:
        assert self.d.retrier is not None
        return self.d.retrier.call(what, fn)

    def stopping(self) -> bool:
        """True once a stop was asked for (SIGTERM): no new effect starts, and the requests
        still needed to flush the tick (the write-back) run with short timeouts."""
        if not self.d.stop.is_set():
            return False
        state = self.d.state
        if not state.timeouts_shortened:
            state.timeouts_shortened = True
            t = self.s.retry.stop_timeout_seconds
            for adapter in (self.d.sheet, self.d.calendar, self.d.mailer):
                shorten = getattr(adapter, "set_timeout", None)
                if callable(shorten):
                    shorten(t)
            log.info("stopping: no new effects; flushing the sheet with %gs timeouts", t)
        return True

    # ------------------------------------------------------------- events

    def book(self, rec: RequestRecord, action: Book, spec_for: Callable[[RequestRecord], EventSpec]) -> None:
        """Commit the event intent (id stored now, never recomputed), then insert it."""
        slot = action.slot
        eid = rec.event_id or identity.event_id(self.d.office_key, rec.protocol)
        with self.j.tx():
            self.j.update(
                rec, calendar_id=slot.calendar_id, event_id=eid,
                slot_start=slot.start.isoformat(), slot_end=slot.end.isoformat(),
                event_state=EventState.INTENT.value, problem="",
                staff_serial=action.staff_serial if action.staff_serial is not None
                else rec.staff_serial,
                updated_at=self.now.isoformat(),
            )
            self.j.record_intent(eid, rec.protocol, "event", rec.revision, self.now)
        self.d.crash("after_event_intent")
        self.insert_event(rec, spec_for)

    def insert_event(self, rec: RequestRecord, spec_for: Callable[[RequestRecord], EventSpec]) -> None:
        """Insert the event of an open intent (safe to repeat: a repeat answers 409 and is
        read back) and commit its outcome."""
        try:
            spec = spec_for(rec)
        except Exception as exc:  # a poison request never blocks the others
            self.poison(rec, exc, "booking")
            return
        try:
            res = self.retry(
                "calendar events.insert", lambda: self.d.calendar.create_event(spec)
            )
        except AdapterError as exc:
            outcome = self._effect_error(rec, exc, "Google Agenda", keep_state=EventState.INTENT)
        else:
            self.d.crash("after_event_insert")
            outcome = self._event_outcome(rec, res.status, res.meet_status, res.meet_link)
        with self.j.tx():
            self._apply_event_result(rec, *outcome)

    def poll_meet(self, rec: RequestRecord, spec_for: Callable[[RequestRecord], EventSpec]) -> None:
        """Read back an event whose Meet link was still being created."""
        assert rec.calendar_id and rec.event_id
        cal, eid = rec.calendar_id, rec.event_id
        try:
            res = self.retry("calendar events.get", lambda: self.d.calendar.get_event(cal, eid))
        except AdapterError as exc:
            outcome = self._effect_error(rec, exc, "Google Agenda", keep_state=EventState.PENDING)
        else:
            if res is None:  # gone without a trace: created again with the same id
                self.insert_event(rec, spec_for)
                return
            outcome = self._event_outcome(rec, res.status, res.meet_status, res.meet_link)
        with self.j.tx():
            self._apply_event_result(rec, *outcome)

    def _apply_event_result(
        self, rec: RequestRecord, state: str, link: str | None, problem: str | None
    ) -> None:
        """Record one event outcome and the status it implies (inside a transaction)."""
        changes: dict[str, object] = {"updated_at": self.now.isoformat(), "problem": problem or ""}
        if state:
            changes["event_state"] = state
        if link:
            changes["meet_link"] = link
        self.commit(rec, **changes)
        if state in (EventState.CREATED, EventState.PENDING, EventState.CANCELLED) and rec.event_id:
            self.j.record_done(rec.event_id, rec.event_id, self.now)
        elif state == EventState.FAILED and rec.event_id:
            self.j.record_failed(rec.event_id, self.now)
        if state == EventState.CREATED:
            self.report.events_created += 1
            self.j.audit(self.now, rec.protocol, "event_created", rec.event_id or "")
        elif state in (EventState.CANCELLED, EventState.FAILED):
            self.j.audit(self.now, rec.protocol, f"event_{state}", problem or "")

    def _event_outcome(
        self, rec: RequestRecord, status: str, meet_status: str | None, link: str | None
    ) -> tuple[str, str | None, str | None]:
        if status == "cancelled":
            log.warning("%s: event deleted by staff; it is never recreated", rec.protocol)
            return EventState.CANCELLED, None, Problem.EVENT_DELETED
        if rec.channel == Channel.MEET.value:
            if meet_status == "failure":
                return EventState.FAILED, None, Problem.MEET_FAILED
            if meet_status == "pending" or not link:
                return EventState.PENDING, None, Problem.MEET_PENDING
            return EventState.CREATED, link, None
        return EventState.CREATED, None, None

    def _effect_error(
        self, rec: RequestRecord, exc: AdapterError, what: str, keep_state: str
    ) -> tuple[str, str | None, str | None]:
        if exc.auth:
            raise AuthPaused(exc)
        if exc.transient:
            log.warning("%s: %s temporarily failed (%s); retrying next tick", rec.protocol, what,
                        exc.status or exc.reason or "error")
            return keep_state, None, Problem.TRANSIENT
        log.error("%s: %s refused the request: %s", rec.protocol, what, exc.message)
        with self.j.tx():
            self.j.audit(self.now, rec.protocol, "permanent_error", f"{what}: {exc.message}")
        return EventState.FAILED, None, Problem.PERMANENT

    # ------------------------------------------------------------- mail

    def mail_key(self, rec: RequestRecord, kind: str, revision: int) -> str:
        """The Message-ID of this e-mail: the one stored with an earlier intent, else a new
        deterministic one (office key, protocol, kind, revision)."""
        stored = self.j.effect_key(rec.protocol, kind, revision)
        if stored is not None:
            return stored
        return identity.mail_id(
            self.d.office_key, rec.protocol, kind, revision, self.s.mail.message_id_domain
        )

    def _mail_room(self) -> int:
        if self._mail_used is None:
            self._mail_used = self.j.mails_since(self.now - timedelta(hours=24))
        return self.s.mail.daily_limit - self._mail_used

    def send(self, rec: RequestRecord, kind: MailKind, render: Callable[[], EmailSpec]) -> None:
        """Send one e-mail of a request exactly once: intent → send → outcome.

        An intent left open by a crash or a lost answer (``<kind>_state == "intent"``) is
        resent with the same Message-ID only when sent-mail search is impossible or found
        nothing this tick; mailboxes collapse the copies."""
        field = "ack_state" if kind == MailKind.ACK else "conf_state"
        unknown = getattr(rec, field) == MailState.INTENT
        revision = rec.conf_revision if unknown and kind == MailKind.CONFIRMATION else rec.revision
        revision = revision if revision is not None else rec.revision
        if not unknown and self.mail_block is not None:
            self._wait(rec, self.mail_block)
            return
        if not unknown and self._mail_room() <= 0:
            self.mail_block = Problem.MAIL_CAP
            self._wait(rec, Problem.MAIL_CAP)
            return
        try:
            spec = render()
        except Exception as exc:  # a poison request never blocks the others
            self.poison(rec, exc, f"{kind} e-mail")
            return
        key = self.mail_key(rec, kind, revision)
        if unknown and self.d.mailer.can_search_sent and key not in self.unsent:
            return  # its sent-mail lookup failed this tick: look again next tick
        with self.j.tx():
            if unknown:
                self.j.audit(self.now, rec.protocol, "resent",
                             f"{kind} {key}: outcome unknown, same Message-ID")
            else:
                changes: dict[str, object] = {field: MailState.INTENT.value}
                if kind == MailKind.CONFIRMATION:
                    changes["conf_revision"] = rec.revision
                self.j.update(rec, **changes)
                self.j.record_intent(key, rec.protocol, kind, revision, self.now)
        if not unknown:
            assert self._mail_used is not None
            self._mail_used += 1
            self.d.crash("after_mail_intent")
        self._deliver(rec, kind, field, dataclasses.replace(spec, message_id=key))

    def _deliver(self, rec: RequestRecord, kind: str, field: str, spec: EmailSpec) -> None:
        key = spec.message_id
        try:
            # Never retried here or in any library: a lost answer is settled by the intent.
            provider_id = self.d.mailer.send(spec)
        except AdapterError as exc:
            self._send_failed(rec, kind, field, key, exc)
            return
        self.d.crash("after_send")
        with self.j.tx():
            self._mark_sent(rec, kind, field, key, provider_id)
        self.report.emails_sent += 1

    def _mark_sent(
        self, rec: RequestRecord, kind: str, field: str, key: str, provider_id: str | None
    ) -> None:
        # Only the mail's own waiting reasons end here: "no slot" and the like stay, and so
        # does a transient problem of an event still to be created.
        keep = rec.problem not in (Problem.MAIL_CAP, Problem.TRANSIENT) or (
            rec.problem == Problem.TRANSIENT and rec.event_state == EventState.INTENT
        )
        changes: dict[str, object] = {field: MailState.SENT.value}
        changes["problem"] = rec.problem if keep else ""
        if kind == MailKind.CONFIRMATION and not rec.answered_at:
            changes["answered_at"] = self.now.isoformat()
        self.commit(rec, **changes)
        self.j.record_done(key, provider_id or "", self.now)
        self.j.audit(self.now, rec.protocol, f"{kind}_sent", key)

    def _send_failed(
        self, rec: RequestRecord, kind: str, field: str, key: str, exc: AdapterError
    ) -> None:
        if exc.auth:  # refused before acting: certainly not sent, released
            with self.j.tx():
                self.j.update(rec, **{field: MailState.NONE.value})
                self.j.record_failed(key, self.now)
            raise AuthPaused(exc) from None
        throttled = exc.status == 429 or (exc.reason or "") in _THROTTLED_REASONS
        with self.j.tx():
            if exc.outcome_unknown:
                # The intent stays open: next tick looks it up or resends the same Message-ID.
                self.commit(rec, problem=Problem.TRANSIENT.value)
            elif exc.transient:
                self.commit(rec, **{field: MailState.NONE.value}, problem=Problem.TRANSIENT.value)
                self.j.record_failed(key, self.now)
            else:
                log.error("%s: %s e-mail refused: %s", rec.protocol, kind, exc.message)
                self.commit(
                    rec, **{field: MailState.FAILED.value}, problem=Problem.MAIL_FAILED.value
                )
                self.j.record_failed(key, self.now)
        if throttled:
            log.warning("Gmail is throttling (%s): no further e-mail this tick",
                        exc.status or exc.reason)
            self.mail_block = Problem.TRANSIENT

    def send_once(
        self, protocol: str, kind: str, revision: int, key: str,
        render: Callable[[], EmailSpec], *, reserve: bool = False,
    ) -> bool:
        """Send an e-mail whose state lives only in the effects table (reminders, the
        cancellation and no-show notes, the staff digest and alerts): once per (protocol,
        kind, revision), whatever crashes happen. ``key`` is used only when no earlier intent
        stored one. ``reserve``: a reminder or staff e-mail, which never uses the last 10 %
        of ``mail.daily_limit`` (citizens' answers go first). True when it is sent (now or
        before)."""
        key = self.j.effect_key(protocol, kind, revision) or key
        eff = self.j.effect(key)
        if eff is not None and eff.state == "done":
            return True
        unknown = eff is not None and eff.state == "intent"
        if not unknown:
            floor = self.s.mail.daily_limit // 10 if reserve else 0
            if self.mail_block is not None or self._mail_room() <= floor:
                return False
        try:
            spec = render()
        except Exception as exc:  # never blocks the others
            log.error("%s: unexpected %s rendering the %s e-mail", protocol or "-",
                      type(exc).__name__, kind)
            return False
        if unknown and self.d.mailer.can_search_sent and key not in self.unsent:
            return False  # its sent-mail lookup failed this tick: look again next time
        with self.j.tx():
            if unknown:
                self.j.audit(self.now, protocol or None, "resent",
                             f"{kind} {key}: outcome unknown, same Message-ID")
            else:
                self.j.record_intent(key, protocol, kind, revision, self.now)
        if not unknown:
            assert self._mail_used is not None
            self._mail_used += 1
            self.d.crash("after_mail_intent")
        try:
            provider_id = self.d.mailer.send(dataclasses.replace(spec, message_id=key))
        except AdapterError as exc:
            self._send_once_failed(protocol, kind, key, exc)
            return False
        self.d.crash("after_send")
        with self.j.tx():
            self.j.record_done(key, provider_id or "", self.now)
            self.j.audit(self.now, protocol or None, f"{kind}_sent", key)
        self.report.emails_sent += 1
        return True

    def _send_once_failed(self, protocol: str, kind: str, key: str, exc: AdapterError) -> None:
        with self.j.tx():
            if exc.auth or not exc.outcome_unknown:
                self.j.record_failed(key, self.now)
            if not exc.transient and not exc.auth:
                self.j.audit(self.now, protocol or None, f"{kind}_failed", exc.message[:200])
        if exc.auth:
            raise AuthPaused(exc) from None
        if exc.status == 429 or (exc.reason or "") in _THROTTLED_REASONS:
            log.warning("Gmail is throttling (%s): no further e-mail this tick",
                        exc.status or exc.reason)
            self.mail_block = Problem.TRANSIENT

    def _wait(self, rec: RequestRecord, problem: str) -> None:
        if rec.problem == problem:
            return
        with self.j.tx():
            self.commit(rec, problem=problem)


class Reconciler:
    """Settles the intents a crash or a lost answer left open, through the executor."""

    def __init__(self, exe: Executor) -> None:
        self.exe = exe

    def run(self) -> None:
        """Settle the intents a crash or a lost answer left open, before any new work.

        An event is read by its id: missing → still to create (booking inserts it with the
        same id); found → recorded as created/pending; ``cancelled`` → staff deleted it: the
        request is flagged and the event never recreated. A message is looked up by its
        Message-ID when sent mail can be searched (found → sent; not found → resent with the
        same Message-ID this tick); without that scope it is resent with the same Message-ID
        (mailboxes collapse the copies) and the audit trail says so. These reads are counted
        in ``report.reconcile_requests``; none happen when no intent is open."""
        for eff in self.exe.j.open_intents():
            if self.exe.stopping():
                return
            rec = self.exe.rec(eff.protocol) if eff.protocol else None
            if rec is None and eff.kind in ("event", MailKind.ACK, MailKind.CONFIRMATION):
                continue
            if eff.kind in ("event-patch", "event-delete"):
                # Safe to repeat: the staff choice still in the sheet carries it out again
                # (a delete of a deleted event is done; a patch sets the time again).
                with self.exe.j.tx():
                    self.exe.j.record_failed(eff.key, self.exe.now)
                continue
            try:
                if rec is None:
                    self._reconcile_once(eff.key)
                elif eff.kind == "event":
                    self._reconcile_event(rec, eff.key)
                else:
                    self._reconcile_mail(rec, eff.key, eff.kind)
            except AdapterError as exc:
                log.warning("%s: open %s intent not checked (%s); again next tick",
                            eff.protocol or "-", eff.kind, exc.status or exc.reason or "error")

    def _reconcile_read(self, what: str, fn: Callable[[], _T]) -> _T:
        self.exe.report.reconcile_requests += 1
        self.exe.d.state.reconcile_requests += 1
        return self.exe.call(fn, what)

    def _reconcile_event(self, rec: RequestRecord, key: str) -> None:
        if rec.event_id != key:
            with self.exe.j.tx():  # an intent of an older revision: superseded
                self.exe.j.record_failed(key, self.exe.now)
            return
        if rec.event_state in (EventState.CREATED, EventState.PENDING, EventState.CANCELLED):
            with self.exe.j.tx():  # the request knows; only the effect row lagged
                self.exe.j.record_done(key, key, self.exe.now)
            return
        if rec.event_state != EventState.INTENT or not rec.calendar_id:
            return
        cal = rec.calendar_id
        found = self._reconcile_read(
            "calendar events.get", lambda: self.exe.d.calendar.get_event(cal, key)
        )
        if found is None:
            return  # never created: the tick inserts it with the same id
        outcome = self.exe._event_outcome(rec, found.status, found.meet_status, found.meet_link)
        with self.exe.j.tx():
            self.exe._apply_event_result(rec, *outcome)
            self.exe.j.audit(self.exe.now, rec.protocol, "reconciled", f"event {outcome[0]}")

    def _reconcile_mail(self, rec: RequestRecord, key: str, kind: str) -> None:
        if kind not in (MailKind.ACK, MailKind.CONFIRMATION):
            self._reconcile_once(key)
            return
        field = "ack_state" if kind == MailKind.ACK else "conf_state"
        flagged = rec.problem in lifecycle.FLAGGED or not rec.valid or rec.status in lifecycle.FINAL
        if getattr(rec, field) != MailState.INTENT:
            with self.exe.j.tx():  # the request moved on (sent, or reset after a refusal)
                if getattr(rec, field) == MailState.SENT:
                    self.exe.j.record_done(key, None, self.exe.now)
                else:
                    self.exe.j.record_failed(key, self.exe.now)
            return
        found: str | None = None
        if self.exe.d.mailer.can_search_sent:
            found = self._reconcile_read("mail find_sent", lambda: self.exe.d.mailer.find_sent(key))
        if found:
            with self.exe.j.tx():
                self.exe._mark_sent(rec, kind, field, key, found)
                self.exe.j.audit(self.exe.now, rec.protocol, "reconciled", f"{kind} found in sent mail")
            return
        if flagged:
            # Staff took the request over: an unknown outcome is never resent for it.
            with self.exe.j.tx():
                self.exe.j.update(rec, **{field: MailState.NONE.value})
                self.exe.j.record_failed(key, self.exe.now)
                self.exe.j.audit(self.exe.now, rec.protocol, f"{kind}_unknown",
                             f"{key}: outcome unknown, request flagged, not resent")
            return
        self.exe.unsent.add(key)

    def _reconcile_once(self, key: str) -> None:
        """An e-mail kept only in the effects table: found in sent mail → done; otherwise
        resent with the same Message-ID the next time its job or tick asks for it."""
        if self.exe.d.mailer.can_search_sent:
            found = self._reconcile_read(
                "mail find_sent", lambda: self.exe.d.mailer.find_sent(key)
            )
            if found:
                with self.exe.j.tx():
                    self.exe.j.record_done(key, found, self.exe.now)
                return
        self.exe.unsent.add(key)
