"""The scheduled e-mail jobs (reminders, the staff digest, deadline alerts) and the bounce check: journal reads → pure planners → the executor; no decisions of their own.

Every e-mail goes through ``Executor.send_once`` with a deterministic Message-ID stored with
its intent, so a job interrupted anywhere (kill -9 included) sends each e-mail at most once
when it runs again; reminders and staff e-mails never use the last 10 % of
``mail.daily_limit`` (``reserve``). Effects-table identities (protocol, kind, revision):
reminder (P, ``reminder-<h>h``, appointment revision); digest ("", ``digest-<who>``,
YYYYMMDD); alert (P, ``alerta-<who>``, 0), ``<who>`` a short hash of the staff address, so
each recipient's copy is its own effect and its own Message-ID.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from worker import identity, texts
from worker.config import Settings
from worker.deps import Deps
from worker.effects import Executor
from worker.journal import Journal
from worker.journal.jobqueries import JobQueries
from worker.lifecycle import Problem
from worker.model import Channel, EmailSpec, RequestRecord, TickReport
from worker.officetime import OfficeCalendar
from worker.planners import alerts, bounces, digest, reminders
from worker.planners.schedule import FINAL_STATUSES

log = logging.getLogger("balcao.jobs")

FINAL = sorted(FINAL_STATUSES)
# Bounce reports are searched from the newest one already read, by the mailbox's own clock
# (never ours: a skewed or moved clock must not hide one), less this overlap; handled ones are
# skipped. Before any report was read: from the start of the Balcão Virtual (CNJ Res. 372/2021).
BOUNCE_OVERLAP = timedelta(hours=1)
BOUNCE_START = datetime(2021, 1, 1, tzinfo=UTC)
BOUNCE_MARK = "bounces_newest"  # meta key: received time of the newest report read
BOUNCE_EVENTS = ("bounced", "bounce_staff")


class Deferred(Exception):
    """A job could not finish for a reason that is no failure (the daily cap, Gmail's
    throttling): it stays due and runs again at the next check."""


def staff_tag(address: str) -> str:
    """A short hash of a staff address: its copy's own effect and Message-ID, never in clear."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:8]


def reminder_key(s: Settings, protocol: str, revision: int, hours: int) -> str:
    return identity.mail_id(
        s.form.spreadsheet_id, protocol, "reminder", revision, s.mail.message_id_domain,
        hours=hours,
    )


def staff_key(s: Settings, kind: str, subject: str, to: str) -> str:
    """A staff e-mail's Message-ID: ``kind`` "digest" with the day, "alerta" with the protocol."""
    return identity.staff_mail_id(
        s.form.spreadsheet_id, kind, f"{subject}.{staff_tag(to)}", s.mail.message_id_domain
    )


def _executor(deps: Deps, now: datetime) -> Executor:
    """An executor for one job run; intents a crash left open are settled first (found in
    sent mail → done; otherwise resent with the same Message-ID when asked for again)."""
    exe = Executor(deps, now, TickReport(started=now))
    exe.reconcile()
    return exe


def _tz(deps: Deps) -> ZoneInfo:
    return ZoneInfo(deps.settings.office.timezone)


# --------------------------------------------------------------------------- reminders


def run_reminders(deps: Deps, now: datetime) -> None:
    """Send every reminder owed now (DESIGN §8); one not sent for the cap is owed again at
    the next run, until the appointment starts."""
    leads = deps.settings.reminders.hours_before
    if not leads:
        return
    rows = JobQueries(deps.journal).confirmed_appointments(
        now, now + timedelta(hours=max(leads)), FINAL, [Problem.BOUNCED.value]
    )
    recs = {rec.protocol: rec for rec, _ in rows}
    appts = [
        reminders.Appointment(
            rec.protocol, rec.revision, datetime.fromisoformat(rec.slot_start),
            datetime.fromisoformat(at) if at else None,
        )
        for rec, at in rows if rec.slot_start
    ]
    owed = reminders.due(appts, leads, now, _tz(deps))
    if not owed:
        return
    exe = _executor(deps, now)
    waiting = 0
    for r in owed:
        if deps.stop.is_set():
            break
        rec = recs[r.protocol]
        key = reminder_key(deps.settings, rec.protocol, r.revision, r.hours)
        sent = exe.send_once(
            rec.protocol, f"reminder-{r.hours}h", r.revision, key,
            partial(_render_reminder, deps, rec, r.hours, key),
            reserve=True,
        )
        waiting += not sent
    if waiting:
        log.info("reminders: %d wait (daily cap, Gmail throttling or an error above)", waiting)


def _render_reminder(deps: Deps, rec: RequestRecord, hours: int, key: str) -> EmailSpec:
    assert rec.slot_start and rec.slot_end
    return deps.renderer.render_reminder(
        office=deps.office_info, protocol=rec.protocol, name=rec.name, to=rec.email,
        start=datetime.fromisoformat(rec.slot_start), end=datetime.fromisoformat(rec.slot_end),
        channel=Channel(rec.channel), meet_link=rec.meet_link,
        sender_domain=deps.settings.mail.message_id_domain, hours_before=hours,
        revision=rec.revision, phone=rec.phone, message_id=key,
    )


# --------------------------------------------------------------------------- digest


def run_digest(deps: Deps, now: datetime) -> None:
    """Today's digest to each of ``digest.recipients``; Deferred while one could not go."""
    s = deps.settings
    tz = _tz(deps)
    day = now.astimezone(tz).date()
    lo, hi = digest.day_bounds(day, tz)
    records = JobQueries(deps.journal).day_records(lo, hi, FINAL)
    content = digest.build(records, day, now, tz)
    exe = _executor(deps, now)
    waiting = 0
    for to in (a.strip() for a in s.digest.recipients):
        key = staff_key(s, "digest", day.isoformat(), to)
        sent = exe.send_once(
            "", f"digest-{staff_tag(to)}", _day_number(day), key,
            partial(
                deps.renderer.render_digest, office=deps.office_info, digest=content, to=to,
                sender_domain=s.mail.message_id_domain, message_id=key,
            ),
            reserve=True,
        )
        waiting += not sent
    if waiting:
        raise Deferred(f"{waiting} of {len(s.digest.recipients)} copies wait (daily cap or "
                       "Gmail throttling)")
    log.info("digest of %s sent: %d appointments, %d need attention, %d deadlines",
             day.isoformat(), len(content.appointments), len(content.attention),
             len(content.deadlines))


def _day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


# --------------------------------------------------------------------------- alerts


def run_alerts(deps: Deps, now: datetime) -> None:
    """One alert per request and staff address when its deadline nears unanswered."""
    s = deps.settings
    if not s.digest.recipients:
        return
    recs = JobQueries(deps.journal).unanswered(now, FINAL)
    candidates = [
        alerts.Unanswered(rec.protocol, datetime.fromisoformat(rec.deadline), rec.status,
                          rec.reason)
        for rec in recs if rec.deadline
    ]
    owed = alerts.due(candidates, s.alerts.before_deadline_minutes, now, deps.office)
    if not owed:
        return
    exe = _executor(deps, now)
    for u in owed:
        for to in (a.strip() for a in s.digest.recipients):
            if deps.stop.is_set():
                return
            key = staff_key(s, "alerta", u.protocol, to)
            exe.send_once(
                u.protocol, f"alerta-{staff_tag(to)}", 0, key,
                partial(
                    deps.renderer.render_deadline_alert, office=deps.office_info,
                    protocol=u.protocol, deadline=u.deadline, to=to,
                    sender_domain=s.mail.message_id_domain, status=u.status, note=u.note,
                    message_id=key,
                ),
                reserve=True,
            )


# --------------------------------------------------------------------------- bounces


def run_bounces(deps: Deps, now: datetime) -> None:
    """Read failed-delivery reports since the last check and flag their requests."""
    if not deps.settings.mail.bounce_check:
        return
    mark = deps.journal.get_meta(BOUNCE_MARK)
    since = datetime.fromisoformat(mark) - BOUNCE_OVERLAP if mark else BOUNCE_START
    exe = Executor(deps, now, TickReport(started=now))
    reports = exe.call(lambda: deps.mailer.find_bounces(since), "gmail bounces")
    if not reports:
        return
    newest = max(b.received_at for b in reports)
    q = JobQueries(deps.journal)
    keys = sorted({b.message_id for b in reports})
    sent = {k: bounces.SentMail(k, p, kind) for k, (p, kind) in q.sent_mail(keys).items()}
    statuses: dict[str, str] = {}
    for mail in sent.values():
        rec = exe.rec(mail.protocol) if mail.protocol else None
        if rec is not None and not rec.purged_at:
            statuses[rec.protocol] = rec.status
    for m in bounces.match(reports, sent, statuses, q.handled_bounces(keys, BOUNCE_EVENTS)):
        _apply_bounce(exe, m)
    if mark is None or newest > datetime.fromisoformat(mark):
        with deps.journal.tx():
            deps.journal.set_meta(BOUNCE_MARK, newest.isoformat())


def _apply_bounce(exe: Executor, m: bounces.Match) -> None:
    j = exe.j
    with j.tx():
        if m.outcome is bounces.Outcome.LOG:
            log.warning("bounce: a staff e-mail (%s) was not delivered: check "
                        "digest.recipients", m.kind.split("-", 1)[0])
            j.audit(exe.now, None, "bounce_staff", m.key)
            return
        rec = exe.rec(m.protocol)
        assert rec is not None
        log.warning("%s: its %s e-mail was not delivered; flagged for staff", m.protocol, m.kind)
        j.audit(exe.now, m.protocol, "bounced", m.key)
        if m.outcome is bounces.Outcome.NOTE:
            if rec.reason != texts.REASON_BOUNCED:
                j.update(rec, reason=texts.REASON_BOUNCED, updated_at=exe.now.isoformat())
        else:
            exe.commit(rec, problem=Problem.BOUNCED.value)


# --------------------------------------------------------------------------- housekeeping

JOB_KINDS = ("reminder-", "digest-", "alerta-")
# An open intent of a job e-mail is asked for again at the job's next check; one still open a
# day later never will be (its appointment started, its day or deadline passed): it is closed,
# so that no tick keeps looking it up in sent mail.
STALE_INTENT = timedelta(days=1)


def expire_stale_intents(journal: Journal, now: datetime) -> int:
    n = 0
    with journal.tx():
        for eff in journal.open_intents():
            if eff.kind.startswith(JOB_KINDS) and (
                datetime.fromisoformat(eff.created_at) < now - STALE_INTENT
            ):
                journal.record_failed(eff.key, now)
                journal.audit(now, eff.protocol or None, "expired",
                              f"{eff.kind} {eff.key}: outcome unknown, no longer due")
                n += 1
    return n


# --------------------------------------------------------------------------- after recovery


def settle_recovered(journal: Journal, s: Settings, office: OfficeCalendar, now: datetime) -> int:
    """After `balcao recover` (DESIGN §4): the reminders and alerts whose time has passed
    count as sent, so nothing the lost journal had sent goes out again; returns how many.
    Runs inside the caller's transaction."""
    q = JobQueries(journal)
    n = 0
    leads = s.reminders.hours_before
    if leads:
        rows = q.confirmed_appointments(now, now + timedelta(hours=max(leads)), FINAL, [])
        for rec, _ in rows:
            start = datetime.fromisoformat(rec.slot_start or "")
            for h in leads:
                if start - timedelta(hours=h) <= now < start:
                    n += _settle(journal, reminder_key(s, rec.protocol, rec.revision, h),
                                 rec.protocol, f"reminder-{h}h", rec.revision, now)
    minutes = s.alerts.before_deadline_minutes
    for rec in q.unanswered(now, FINAL) if s.digest.recipients else []:
        deadline = datetime.fromisoformat(rec.deadline or "")
        if not deadline > now >= alerts.alert_at(deadline, minutes, office):
            continue
        for to in (a.strip() for a in s.digest.recipients):
            n += _settle(journal, staff_key(s, "alerta", rec.protocol, to), rec.protocol,
                         f"alerta-{staff_tag(to)}", 0, now)
    return n


def _settle(journal: Journal, key: str, protocol: str, kind: str, revision: int,
            now: datetime) -> int:
    if journal.effect_key(protocol, kind, revision) is not None:
        return 0
    journal.record_intent(key, protocol, kind, revision, now)
    journal.record_done(key, "recovered", now)
    return 1
