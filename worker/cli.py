"""The `balcao` command line: argparse sub-commands, logging set-up and exit codes; no business logic.

Exit codes: 0 success · 1 runtime failure · 2 usage or configuration error · 3 another
instance holds the journal lock. Heavy modules are imported inside each command so that
`balcao --help` stays fast.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from worker.config import Settings
    from worker.officeconfig import OfficeConfig

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one clear line instead of a usage dump on bad input."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"balcao: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="balcao",
        description="Balcão Virtual worker: Google Form responses → deadlines, "
        "Meet/WhatsApp appointments and confirmation e-mails.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def cfg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "-c", "--config", default="config.yaml", metavar="FILE",
            help="configuration file (default: ./config.yaml)",
        )

    r = sub.add_parser("run", help="run the worker (the daemon)")
    cfg(r)
    r.add_argument("--once", action="store_true", help="one tick, then exit (non-zero if it failed)")
    r.add_argument(
        "--dry-run", action="store_true",
        help="read and plan only: no writes, no e-mail, journal untouched; prints the plan",
    )
    r.add_argument(
        "--accept-backlog", action="store_true",
        help="act on a first backlog larger than intake.max_first_backlog",
    )

    d = sub.add_parser("demo", help="run the worker against the embedded sandbox with sample data")
    d.add_argument("--out", default="demo-out", metavar="DIR", help="where e-mails are written")
    cfg(d)

    dl = sub.add_parser("deadline", help="print the response deadline of each timestamp")
    dl.add_argument(
        "timestamps", nargs="+", metavar="TIMESTAMP",
        help="ISO 8601 (naive = office time zone, Z allowed) or dd/mm/aaaa HH:MM",
    )
    cfg(dl)

    cal = sub.add_parser("calendar", help="print the closed and reduced days of a year")
    cal.add_argument("year", metavar="YEAR", help="a year between 1900 and 2100")
    cfg(cal)

    sb = sub.add_parser(
        "sandbox", help="serve the local Google stand-in (Sheets, Calendar, Gmail, OAuth)",
        add_help=False,
    )
    sb.add_argument("args", nargs=argparse.REMAINDER)

    ck = sub.add_parser("check", help="check configuration, credentials and Google access")
    cfg(ck)
    ck.add_argument("--probe", action="store_true", help="also create and delete a test event")

    au = sub.add_parser("auth", help="authorise balcao with a Google account (OAuth, loopback)")
    cfg(au)
    au.add_argument("--client-secrets", metavar="FILE", help="OAuth client JSON (Desktop app)")
    au.add_argument("--port", type=int, default=8765, help="loopback port for the redirect")

    rc = sub.add_parser("recover", help="rebuild the journal from Google without sending anything")
    cfg(rc)

    rp = sub.add_parser(
        "report", help="the month's figures; with --out also CSV, HTML page and PNG chart"
    )
    cfg(rp)
    rp.add_argument(
        "--month", metavar="YYYY-MM", help="the month to report (default: the current month, "
        "office time)",
    )
    rp.add_argument(
        "--out", metavar="DIR", help="write balcao-YYYY-MM.csv, .html and .png into DIR",
    )
    _privacy_parser(sub, cfg)
    return p


def _privacy_parser(sub: Any, cfg: Any) -> None:
    pv = sub.add_parser("privacy", help="personal data: export, erase, register, record")
    actions = pv.add_subparsers(dest="privacy_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    for name, text in (("export", "a data subject's data as JSON"),
                       ("erase", "erase a data subject's data (dry run without --yes)")):
        a = actions.add_parser(name, help=text)
        who = a.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", metavar="ADDR", help="the subject's e-mail (aliases fold)")
        who.add_argument("--protocol", metavar="BV-AAAA-NNNNNN", help="one request")
        if name == "export":
            a.add_argument("--out", metavar="FILE", help="write the JSON here (default: stdout)")
        else:
            a.add_argument("--yes", action="store_true", help="really erase")
        cfg(a)
    rg = actions.add_parser("register", help="the elimination register (CSV)")
    rg.add_argument("--since", metavar="DATE", help="first day, YYYY-MM-DD")
    rg.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD")
    cfg(rg)
    rec = actions.add_parser("record", help="the record of processing (pt-BR Markdown)")
    cfg(rec)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The sandbox has its own parser (and its own --help); hand it everything after the verb.
    if args_list[:1] == ["sandbox"]:
        from worker.sandbox.cli import main as sandbox_main

        return sandbox_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    # Imported once the arguments parse: `balcao --help` never loads the settings' types.
    from worker.settingtypes import BalcaoError, ConfigError, LockHeldError

    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"balcao: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LockHeldError as exc:
        print(f"balcao: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except BalcaoError as exc:
        print(f"balcao: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `balcao calendar 2027 | head`: the reader left early. Not worth a traceback; stdout
        # goes to /dev/null so the interpreter's own flush at exit does not fail again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL


def _dispatch(args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd == "deadline":
        return cmd_deadline(_office(args.config), args.timestamps)
    if cmd == "calendar":
        return cmd_calendar(_office(args.config), args.year)
    if cmd == "demo":
        from worker.demo import run_demo

        return run_demo(config_path=args.config, out_dir=args.out)
    if cmd == "run":
        from worker.runner import run

        return run(
            _settings(args.config), once=args.once, dry_run=args.dry_run,
            accept_backlog=args.accept_backlog,
        )
    if cmd == "check":
        from worker.check import run_check

        return run_check(_settings(args.config), probe=args.probe, config_path=args.config)
    if cmd == "auth":
        from worker.auth import run_auth

        return run_auth(_settings(args.config), client_secrets=args.client_secrets, port=args.port)
    if cmd == "recover":
        from worker.runner import recover

        return recover(_settings(args.config))
    if cmd == "report":
        from worker.adapters.system import SystemClock
        from worker.report import run_report

        return run_report(
            _settings(args.config), now=SystemClock().now(), month=args.month, out_dir=args.out
        )
    if cmd == "privacy":
        from worker import privacy

        return privacy.run(_settings(args.config), args.privacy_command, args)
    from worker.settingtypes import ConfigError

    raise ConfigError(f"unknown command {cmd!r}")


def _settings(path: str) -> Settings:
    from worker import config

    return config.load(path)


def _office(path: str) -> OfficeConfig:
    """The office and its calendar alone (the rest of the settings' schema is ~20 ms of
    start-up); defaults when the default file is absent."""
    from pathlib import Path

    from worker import officeconfig

    return officeconfig.load(None if path == "config.yaml" and not Path(path).exists() else path)


# --------------------------------------------------------------------------- deadline / calendar

_BR_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_timestamp(text: str, tz_name: str) -> datetime:
    """``2028-02-25T11:00`` (office time), ``2028-02-25T14:00:00Z``, ``…-03:00`` or
    ``25/02/2028 11:00`` → an aware datetime. Raises ConfigError (exit 2) otherwise."""
    from zoneinfo import ZoneInfo

    from worker.settingtypes import ConfigError

    tz = ZoneInfo(tz_name)
    s = text.strip()
    m = _BR_RE.match(s)
    try:
        if m:
            d, mo, y, h, mi, sec = m.groups()
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=tz)
        dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError:
        dt = None
    if dt is None or ("T" not in s and " " not in s and not m):
        raise ConfigError(
            f"timestamp {text!r}: expected ISO 8601 like 2028-02-25T11:00 or 2028-02-25T14:00Z, "
            "or dd/mm/aaaa HH:MM"
        )
    if not 1900 <= dt.year <= 2100:
        raise ConfigError(f"timestamp {text!r}: expected a year between 1900 and 2100")
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt


def cmd_deadline(settings: OfficeConfig, timestamps: Sequence[str]) -> int:
    from worker.bootstrap import office_calendar

    office = office_calendar(settings)
    instants = [parse_timestamp(t, settings.office.timezone) for t in timestamps]
    for instant in instants:
        print(office.deadline(instant).isoformat())
    return EXIT_OK


def cmd_calendar(settings: OfficeConfig, year_text: str) -> int:
    from worker.bootstrap import office_calendar
    from worker.settingtypes import ConfigError, DayKind
    from worker.textfmt import weekday_pt

    if not re.fullmatch(r"\d{4}", year_text.strip()) or not 1900 <= int(year_text) <= 2100:
        raise ConfigError(f"YEAR: expected a year between 1900 and 2100, found {year_text!r}")
    office = office_calendar(settings)
    for info in office.special_days(int(year_text)):
        if info.kind is DayKind.CLOSED:
            hours = "closed"
        else:
            assert info.open_from is not None and info.open_until is not None
            hours = f"open {info.open_from:%H:%M}-{info.open_until:%H:%M}"
        if info.weekend:
            hours += " (weekend)"
        print(
            f"{info.day.isoformat()}  {weekday_pt(info.day):<13}  {info.name or '':<45}  "
            f"{hours:<22}  {info.source or ''}".rstrip()
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
