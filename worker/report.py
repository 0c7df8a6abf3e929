"""`balcao report`: the month's figures (DESIGN §10) as a summary, CSV, HTML page and PNG chart; read-only, no SQL.

The data comes from one journal query (``Journal.report_rows``), which holds no name, e-mail
or phone. Everything between those rows and the files is pure: ``now`` is a parameter and only
the CLI reads the clock.

Definitions (the README's report section explains them to the office):
- the month's requests: every row whose form timestamp (``recebido_em``) falls in the calendar
  month in office time, duplicates and flagged rows included; a row without a usable
  timestamp counts in the month balcao took it in, with ``recebido_em`` empty;
- ``respondido_em``: when the first confirmation e-mail (the first that gives a date and
  time) was sent: the request's ``answered_at``, else its first confirmation effect sent;
- ``no_prazo``: ``sim`` on or before ``prazo``, ``não`` after it or none and ``prazo``
  passed, ``pendente`` none yet and ``prazo`` ahead, empty for duplicates and rows never
  valid. A journal rebuilt by ``recover`` knows that a confirmation went out but not
  when: such rows have ``respondido_em`` and ``no_prazo`` empty and are counted apart;
- response time: ``respondido_em − recebido_em``, median and 90th percentile (linear
  interpolation between the two nearest values, pandas' ``quantile``).

pandas, jinja2 and matplotlib are imported inside the functions: every other command (and
the daemon) starts without them.
"""

from __future__ import annotations

import calendar
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.lifecycle import StaffAction, Status
from worker.model import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from worker.journal import Journal

EXIT_OK, EXIT_FAIL = 0, 1
MONTHS_PT = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
             "setembro", "outubro", "novembro", "dezembro")
CSV_HEADER = ("protocolo", "recebido_em", "prazo", "respondido_em", "no_prazo", "canal",
              "servico", "situacao", "atendimento", "duplicado_de")
IN_TIME, LATE, PENDING = "sim", "não", "pendente"
# The lifecycle's final statuses (DESIGN §7): the `Situação` text staff choose, stored as is.
HELD, NO_SHOW, CANCELLED = (
    StaffAction.DONE.value, StaffAction.NO_SHOW.value, StaffAction.CANCELLED.value
)
NOT_GIVEN = "(não informado)"
# The journal stores the channel's code; the Corregedoria reads the product's name.
CHANNEL_NAMES = {"meet": "Google Meet", "whatsapp": "WhatsApp"}
_PROTOCOL = re.compile(r"^BV-\d{4}-\d{6,}$")
_REQUEST_FIELDS = ("protocol", "submitted", "received_at", "deadline", "status", "channel",
                   "service", "valid", "duplicate_of", "slot_start", "event_state", "conf_state",
                   "answered_at")


# --------------------------------------------------------------------------- the month


@dataclass(frozen=True)
class Month:
    """A calendar month in office time: ``Month(2026, 3)`` is ``2026-03``, "março de 2026"."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2026-03"`` → ``Month(2026, 3)``; anything else is a usage error (exit 2)."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
            raise ConfigError(
                f"--month: expected YYYY-MM with a year 2000-2100 (e.g. 2026-03), found {text!r}"
            )
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo) -> Month:
        local = moment.astimezone(tz)
        return cls(local.year, local.month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{MONTHS_PT[self.month - 1]} de {self.year}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[first day 00:00, first day of the next month 00:00) in office time."""
        start = datetime(self.year, self.month, 1, tzinfo=tz)
        nxt = datetime(self.year + self.month // 12, self.month % 12 + 1, 1, tzinfo=tz)
        return start, nxt


# --------------------------------------------------------------------------- the table


def _times(values: Any, tz: tzinfo) -> pd.Series:
    """ISO 8601 strings with any offset (or None) → office-time timestamps of one unit.

    Journals mix precisions (a recovered journal stores ``now`` with microseconds, ticks may
    not): pandas would infer a different unit per column and refuse to mix them, so every
    column is brought to microseconds. A cell that does not parse becomes NaT."""
    import pandas as pd

    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.as_unit("us").dt.tz_convert(tz)
    parsed = pd.to_datetime(series.astype(object), utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.as_unit("us").dt.tz_convert(tz)


def request_table(
    requests: list[dict[str, Any]], confirmations: list[dict[str, Any]], month: Month,
    tz: tzinfo, now: datetime,
) -> pd.DataFrame:
    """One row per request of ``month``, in protocol order: the CSV's columns as values
    (times as office-time timestamps) plus ``valid``, ``duplicate``, ``untimed`` (a
    confirmation went out at an unknown time) and ``day`` (day of the month)."""
    import pandas as pd

    req = pd.DataFrame.from_records(requests, columns=list(_REQUEST_FIELDS))
    for col in ("submitted", "received_at", "deadline", "slot_start", "answered_at"):
        req[col] = _times(req[col], tz)
    # The request's own answered_at is the record; the first confirmation effect stands in
    # where it is empty.
    conf = pd.DataFrame.from_records(confirmations, columns=["protocol", "sent_at"])
    conf["sent_at"] = _times(conf["sent_at"], tz)
    first = conf.groupby("protocol")["sent_at"].min().rename("first_sent")
    req = req.merge(first, left_on="protocol", right_index=True, how="left")
    req["answered"] = req["answered_at"].fillna(_times(req["first_sent"], tz))

    start, end = month.bounds(tz)
    since = req["submitted"].fillna(req["received_at"])
    req = req[(since >= start) & (since < end)].reset_index(drop=True)
    since = req["submitted"].fillna(req["received_at"])

    status = req["status"].fillna("").astype(str)
    duplicate = (status == Status.DUPLICATE.value) | req["duplicate_of"].notna()
    valid = (pd.to_numeric(req["valid"], errors="coerce").fillna(0) == 1) & ~duplicate
    conf_state = req["conf_state"].fillna("").astype(str)
    untimed = valid & req["answered"].isna() & conf_state.isin(["sent", "resent"])
    dup_of = req["duplicate_of"].fillna("").astype(str)
    live = ~req["event_state"].fillna("").isin(["cancelled", "failed"])
    return pd.DataFrame({
        "protocolo": req["protocol"].astype(str),
        "recebido_em": req["submitted"],
        "prazo": req["deadline"],
        "respondido_em": req["answered"],
        "no_prazo": _in_time(req["answered"], req["deadline"], valid & ~untimed, now),
        "canal": req["channel"].fillna("").astype(str).map(lambda c: CHANNEL_NAMES.get(c, c)),
        "servico": req["service"].fillna("").astype(str),
        "situacao": status,
        "atendimento": req["slot_start"].where(live),
        "duplicado_de": dup_of.where(dup_of.str.match(_PROTOCOL.pattern), ""),
        "valid": valid,
        "duplicate": duplicate,
        "untimed": untimed,
        "day": since.dt.day,
    })


def _in_time(answered: pd.Series, deadline: pd.Series, judged: pd.Series,
             now: datetime) -> pd.Series:
    """``sim`` / ``não`` / ``pendente`` per DESIGN §10; empty where it is not judged."""
    import pandas as pd

    out = pd.Series("", index=answered.index, dtype=object)
    has = judged & answered.notna() & deadline.notna()
    out[has & (answered <= deadline)] = IN_TIME
    out[has & (answered > deadline)] = LATE
    waiting = judged & answered.isna() & deadline.notna()
    out[waiting & (deadline < now)] = LATE
    out[waiting & (deadline >= now)] = PENDING
    return out


def csv_text(table: pd.DataFrame) -> str:
    """The CSV for the Corregedoria: the agreed header, times ISO 8601 with the office's
    offset to the second, empty cells where there is no value."""
    out = table[list(CSV_HEADER)].copy()
    for col in ("recebido_em", "prazo", "respondido_em", "atendimento"):
        out[col] = out[col].map(_iso)
    text: str = out.to_csv(index=False, lineterminator="\n")
    return text


def _iso(value: Any) -> str:
    """A timestamp → ``2026-03-10T09:55:00-03:00``; NaT → empty."""
    if value is None or value != value:  # NaT and NaN are not equal to themselves
        return ""
    return str(value.to_pydatetime().isoformat(timespec="seconds"))


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Breakdown:
    """One channel or service: requests received, answered in time, late."""

    name: str
    received: int
    in_time: int
    late: int

    @property
    def share(self) -> float | None:
        judged = self.in_time + self.late
        return self.in_time / judged if judged else None


@dataclass(frozen=True)
class Figures:
    """Every figure of DESIGN §10 for one month."""

    received: int
    valid: int
    duplicates: int
    attention: int
    in_time: int
    late: int
    pending: int
    untimed: int
    timed: int
    median_s: float | None
    p90_s: float | None
    held: int
    no_shows: int
    cancelled: int
    by_channel: tuple[Breakdown, ...]
    by_service: tuple[Breakdown, ...]

    @property
    def share(self) -> float | None:
        """sim ÷ (sim + não); None when nothing was judged yet."""
        judged = self.in_time + self.late
        return self.in_time / judged if judged else None


def figures(table: pd.DataFrame) -> Figures:
    status, verdict = table["situacao"], table["no_prazo"]
    waits = (table["respondido_em"] - table["recebido_em"]).dt.total_seconds()
    waits = waits[table["valid"]].dropna()
    return Figures(
        received=len(table),
        valid=int(table["valid"].sum()),
        duplicates=int(table["duplicate"].sum()),
        attention=int((status == Status.ATTENTION.value).sum()),
        in_time=int((verdict == IN_TIME).sum()),
        late=int((verdict == LATE).sum()),
        pending=int((verdict == PENDING).sum()),
        untimed=int(table["untimed"].sum()),
        timed=len(waits),
        median_s=float(waits.median()) if len(waits) else None,
        p90_s=float(waits.quantile(0.9)) if len(waits) else None,
        held=int((status == HELD).sum()),
        no_shows=int((status == NO_SHOW).sum()),
        cancelled=int((status == CANCELLED).sum()),
        by_channel=_breakdown(table, "canal"),
        by_service=_breakdown(table, "servico"),
    )


def _breakdown(table: pd.DataFrame, column: str) -> tuple[Breakdown, ...]:
    names = table[column].where(table[column].str.strip() != "", NOT_GIVEN)
    rows = []
    for name, part in table.groupby(names, sort=True):
        verdict = part["no_prazo"]
        rows.append(Breakdown(str(name), len(part), int((verdict == IN_TIME).sum()),
                              int((verdict == LATE).sum())))
    # Most requested first, ties in alphabetical order, the rows without a value last.
    return tuple(sorted(rows, key=lambda b: (b.name == NOT_GIVEN, -b.received, b.name)))


def daily(table: pd.DataFrame, month: Month) -> pd.DataFrame:
    """Per day of the month (1..last): requests received, sim, não, and the share in time
    (NaN on a day with nothing judged)."""
    import pandas as pd

    days = pd.Index(range(1, month.days + 1), name="day")
    grouped = table.groupby("day")
    out = pd.DataFrame(index=days)
    out["requests"] = grouped.size().reindex(days, fill_value=0).astype(int)
    for name, value in (("in_time", IN_TIME), ("late", LATE)):
        counts = table[table["no_prazo"] == value].groupby("day").size()
        out[name] = counts.reindex(days, fill_value=0).astype(int)
    judged = out["in_time"] + out["late"]
    out["share"] = (out["in_time"] / judged.where(judged > 0)).astype(float)
    return out


# --------------------------------------------------------------------------- formatting


def duration(seconds: float) -> str:
    """``5400`` → ``1 h 30 min``; ``93784`` → ``1 d 2 h 3 min`` (rounded to the minute)."""
    minutes = round(seconds / 60)
    d, rem = divmod(minutes, 24 * 60)
    h, m = divmod(rem, 60)
    parts = ([f"{d} d"] if d else []) + ([f"{h} h"] if h else []) + [f"{m} min"]
    return " ".join(parts)



def percent(share: float | None) -> str:
    """``0.875`` → ``87.5%``; None (nothing judged) → ``–``."""
    if share is None:
        return "–"
    return f"{100 * share:.1f}%"


# Why a month may show no figures (``Report.state``), for the operator; the page says it in pt-BR.
STATES = {
    "future": "{key} has not started yet: nothing to report",
    "empty": "no request was submitted in {key}",
    "flagged": "{key} has only duplicates or rows that were never valid: no deadline to judge",
    "": "",
}


def state_of(month: Month, table: pd.DataFrame, tz: tzinfo, now: datetime) -> str:
    """``future``, ``empty``, ``flagged`` (nothing valid to judge) or ``""`` (figures)."""
    start, _ = month.bounds(tz)
    if now < start:
        return "future"
    if table.empty:
        return "empty"
    if not table["valid"].any():
        return "flagged"
    return ""


def summary(figs: Figures, month: Month, tz_name: str, now: datetime, state: str) -> list[str]:
    """The operator's text summary (English); the HTML carries the same figures in pt-BR."""
    local = now.astimezone(ZoneInfo(tz_name))
    lines = [f"balcao report for {month.key} ({month.label}), {tz_name}, "
             f"as of {local:%d/%m/%Y %H:%M}"]
    if state:
        lines.append("  " + STATES[state].format(key=month.key))
    judged = figs.in_time + figs.late
    rows = [
        ("received", figs.received, "every request submitted in the month"),
        ("valid", figs.valid, "not a duplicate, not rejected"),
        ("duplicates", figs.duplicates, ""),
        ("needing attention", figs.attention, "Requer atenção now"),
        ("answered in time", figs.in_time,
         f"{percent(figs.share)} of {judged} (in time + late)"),
        ("late", figs.late, "confirmation after the deadline, or none and the deadline passed"),
        ("pending", figs.pending, "no confirmation yet, deadline ahead"),
    ]
    if figs.untimed:
        rows.append(("answered, time unknown", figs.untimed,
                     "confirmation sent before a `balcao recover`: not judged"))
    rows += [
        ("held", figs.held, "Realizado"),
        ("no-shows", figs.no_shows, "Não compareceu"),
        ("cancellations", figs.cancelled, "Cancelado"),
    ]
    lines += [f"  {name:<24}{value:>6}   {what}".rstrip() for name, value, what in rows]
    if figs.median_s is not None and figs.p90_s is not None:
        lines.append(f"  response time: median {duration(figs.median_s)}, p90 "
                     f"{duration(figs.p90_s)} ({figs.timed} answered)")
    else:
        lines.append("  response time: no confirmation with a known sending time this month")
    for title, parts in (("by channel", figs.by_channel), ("by service", figs.by_service)):
        if parts:
            lines.append(f"  {title}:")
            lines += [f"    {b.name:<40}{b.received:>6}   in time {b.in_time}, late {b.late}"
                      f" ({percent(b.share)})" for b in parts]
    return lines


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class Report:
    """A month computed from the journal: everything the files and the summary need."""

    month: Month
    table: pd.DataFrame
    figures: Figures
    daily: pd.DataFrame
    state: str


def compute(journal: Journal, month: Month, tz: tzinfo, now: datetime) -> Report:
    start, end = month.bounds(tz)
    requests, confirmations = journal.report_rows(start, end)
    table = request_table(requests, confirmations, month, tz, now)
    return Report(month, table, figures(table), daily(table, month),
                  state_of(month, table, tz, now))


def write_files(report: Report, s: Settings, out_dir: Path, now: datetime) -> list[Path]:
    """``balcao-YYYY-MM.csv``, ``.html`` and ``.png`` in ``out_dir`` (created if missing)."""
    from worker.reportpage import chart_png, render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"balcao-{report.month.key}"
    png = chart_png(report.daily, report.month)
    paths = [base.with_suffix(".csv"), base.with_suffix(".html"), base.with_suffix(".png")]
    paths[0].write_text(csv_text(report.table), encoding="utf-8", newline="")
    paths[1].write_text(render_html(report, s, png, now), encoding="utf-8")
    paths[2].write_bytes(png)
    return paths


def run_report(
    settings: Settings, *, now: datetime, month: str | None = None,
    out_dir: str | Path | None = None, out: TextIO | None = None,
) -> int:
    """The `balcao report` command: 0 with the summary (and the files with ``out_dir``),
    1 when the journal is missing or unreadable or the files cannot be written."""
    from worker.journal import Journal, JournalError

    stream = out or sys.stdout
    tz = ZoneInfo(settings.office.timezone)
    chosen = Month.parse(month) if month else Month.of(now, tz)
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
        report = compute(journal, chosen, tz, now)
        sent = journal.mails_since(now - timedelta(hours=24))
    except JournalError as exc:
        print(f"balcao: {exc}", file=stream)
        return EXIT_FAIL
    finally:
        journal.close()
    lines = summary(report.figures, chosen, settings.office.timezone, now, report.state)
    limit = settings.mail.daily_limit
    share = f" ({100 * sent / limit:.0f}%)" if limit else ""
    lines.append(f"E-mails in the last 24 h: {sent} of mail.daily_limit {limit}{share}")
    if limit and sent >= limit:
        lines.append("  the cap is reached: new e-mails wait until the oldest of these is 24 h old")
    print("\n".join(lines), file=stream)
    if out_dir is None:
        return EXIT_OK
    try:
        written = write_files(report, settings, Path(out_dir), now)
    except OSError as exc:
        print(f"balcao: cannot write the report files in {out_dir} (--out): {exc}", file=stream)
        return EXIT_FAIL
    print("written: " + ", ".join(str(p) for p in written), file=stream)
    return EXIT_OK
