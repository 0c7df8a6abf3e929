"""`balcao report`: a short summary for the operator read from the journal (read-only, pandas); no writes.

Sections: requests by status; deadlines of this month's requests kept vs missed; median time
from submission to booking; e-mails in the last 24 h against ``mail.daily_limit``.

Definitions (printed with the report so nobody has to guess):
- "this month" = valid, non-duplicate requests submitted in the current calendar month, office
  time zone;
- kept = booked (the Calendar event created) at or before the deadline; missed = booked after
  it, or not booked and the deadline has passed; open = not booked, deadline still ahead;
- the appointment itself may still fall after the deadline (no earlier free slot): counted
  apart, as staff see it in `Observação`;
- booking time = when balcao's Calendar event for the request was created (first one), or,
  for a request marked `Agendado` without an event record, its last update.

pandas is imported inside the functions: the CLI stays quick for every other command.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.lifecycle import Status

EXIT_OK, EXIT_FAIL = 0, 1
MONTHS_PT = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
             "setembro", "outubro", "novembro", "dezembro")


def _duration(seconds: float) -> str:
    """``5400`` → ``1 h 30 min``; ``93784`` → ``1 d 2 h 3 min``."""
    minutes = round(seconds / 60)
    d, rem = divmod(minutes, 24 * 60)
    h, m = divmod(rem, 60)
    parts = ([f"{d} d"] if d else []) + ([f"{h} h"] if h else []) + [f"{m} min"]
    return " ".join(parts)


def frames(journal: Any) -> tuple[Any, Any]:
    """(requests, first booking per protocol) as pandas DataFrames, times as UTC timestamps."""
    import pandas as pd

    req = pd.read_sql_query(
        "SELECT protocol, status, valid, duplicate_of, submitted, received_at, deadline, "
        "updated_at, slot_start FROM requests",
        journal.db,
    )
    events = pd.read_sql_query(
        "SELECT protocol, MIN(done_at) AS booked_at FROM effects "
        "WHERE kind = 'event' AND state = 'done' AND done_at IS NOT NULL GROUP BY protocol",
        journal.db,
    )
    for col in ("submitted", "received_at", "deadline", "updated_at", "slot_start"):
        req[col] = pd.to_datetime(req[col], utc=True, format="ISO8601")
    events["booked_at"] = pd.to_datetime(events["booked_at"], utc=True, format="ISO8601")
    return req, events


def build_report(journal: Any, s: Settings, now: datetime) -> str:
    import pandas as pd

    tz = ZoneInfo(s.office.timezone)
    local_now = now.astimezone(tz)
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    req, events = frames(journal)
    out: list[str] = []
    out.append(f"balcao report: journal {journal.path}")
    out.append(f"as of {local_now:%d/%m/%Y %H:%M} ({s.office.timezone})")
    out.append("")

    out.append("Requests by status")
    counts = req["status"].value_counts()
    order = [st.value for st in Status] + sorted(set(counts.index) - {st.value for st in Status})
    for status in order:
        out.append(f"  {status:<18}{int(counts.get(status, 0)):>6}")
    out.append(f"  {'total':<18}{len(req):>6}")
    out.append("")

    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    df = req.merge(events, on="protocol", how="left")
    booked = df["status"] == Status.BOOKED.value
    df.loc[booked & df["booked_at"].isna(), "booked_at"] = df["updated_at"]
    df["since"] = df["submitted"].fillna(df["received_at"])
    month = df[(df["valid"] == 1) & df["duplicate_of"].isna()
               & (df["since"] >= pd.Timestamp(month_start).tz_convert("UTC"))]
    is_booked = month["booked_at"].notna()
    has_deadline = month["deadline"].notna()
    kept = int((is_booked & has_deadline & (month["booked_at"] <= month["deadline"])).sum())
    late = int((is_booked & has_deadline & (month["booked_at"] > month["deadline"])).sum())
    overdue = int((~is_booked & has_deadline & (month["deadline"] < now_ts)).sum())
    open_ = int((~is_booked & (~has_deadline | (month["deadline"] >= now_ts))).sum())
    label = f"{MONTHS_PT[local_now.month - 1]} {local_now.year}"
    out.append(f"Deadlines this month ({label}: {len(month)} requests submitted)")
    out.append(f"  kept      {kept:>5}   booked on or before the deadline")
    out.append(f"  missed    {late + overdue:>5}   booked late: {late}; not booked and past "
               f"the deadline: {overdue}")
    out.append(f"  open      {open_:>5}   not booked yet, deadline ahead")
    slot_late = int((is_booked & has_deadline & (month["slot_start"] > month["deadline"])).sum())
    out.append(f"  of the booked, {slot_late} have their appointment itself after the deadline "
               "(no earlier free slot)")
    waits = (month.loc[is_booked, "booked_at"] - month.loc[is_booked, "since"]).dt.total_seconds()
    waits = waits.dropna()
    if len(waits):
        out.append(f"  median time from submission to booking: {_duration(float(waits.median()))}"
                   f" ({len(waits)} booked)")
    else:
        out.append("  median time from submission to booking: no booking this month")
    out.append("")

    sent = journal.mails_since(now - timedelta(hours=24))
    limit = s.mail.daily_limit
    share = f" ({100 * sent / limit:.0f}%)" if limit else ""
    out.append(f"E-mails in the last 24 h: {sent} of mail.daily_limit {limit}{share}")
    if limit and sent >= limit:
        out.append("  the cap is reached: new e-mails wait until the oldest of these is 24 h old")
    return "\n".join(out)


def run_report(settings: Settings, *, out: TextIO | None = None, now: datetime | None = None) -> int:
    from worker.journal import Journal, JournalError

    stream = out or sys.stdout
    path = settings.journal.path
    if not Path(path).exists():
        print(f"balcao: no journal at {path} (journal.path): balcao has not run here yet, or "
              "the path is wrong", file=stream)
        return EXIT_FAIL
    try:
        journal = Journal(path, readonly=True)
    except JournalError as exc:
        print(f"balcao: {exc}", file=stream)
        return EXIT_FAIL
    try:
        from worker.adapters.system import SystemClock

        moment = now or SystemClock().now().astimezone(ZoneInfo(settings.office.timezone))
        print(build_report(journal, settings, moment), file=stream)
    finally:
        journal.close()
    return EXIT_OK
