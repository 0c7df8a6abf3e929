"""`make report-screenshot` and the report's timing: a synthetic month in a journal, then the
real `balcao report --out` on it in a subprocess; prints requests, wall time and file sizes.

The month (March 2026 by default) is built through the Journal API with a seeded random
generator, so every run gives the same journal: requests on working days at office and
after-hours times, R24-BA deadlines from the office calendar, most answered in time, some
late, duplicates and rows never valid, and the lifecycle's final statuses.

Usage: ``python bench/report_month.py [--requests 300] [--month 2026-03] [--out DIR]
[--journal PATH]`` (``--journal`` keeps the journal there instead of a temporary file).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from worker import bootstrap, config
from worker.journal import Journal, RequestRecord
from worker.officetime import OfficeCalendar

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("America/Bahia")
SERVICES = ["Certidão de nascimento", "Certidão de casamento", "Procuração",
            "Reconhecimento de firma", "Escritura pública", "Ata notarial"]


def submitted_times(rng: random.Random, year: int, month: int, n: int) -> list[datetime]:
    """``n`` form timestamps in the month: nine in ten on working days, a few at night."""
    start = datetime(year, month, 1, tzinfo=TZ)
    days = [start + timedelta(days=d) for d in range(31) if (start + timedelta(days=d)).month == month]
    weekdays = [d for d in days if d.weekday() < 5]
    out = []
    for _ in range(n):
        day = rng.choice(weekdays if rng.random() < 0.9 else days)
        hour = rng.uniform(8, 17) if rng.random() < 0.8 else rng.uniform(0, 24)
        out.append(day + timedelta(hours=hour))
    return sorted(t.replace(microsecond=0) for t in out)


def answer_delay(rng: random.Random, submitted: datetime, deadline: datetime) -> timedelta | None:
    """When the confirmation left after submission: mostly within hours; one in twelve late;
    one in forty never (the request waits for staff)."""
    roll = rng.random()
    if roll < 0.025:
        return None
    if roll < 0.11:
        return deadline - submitted + timedelta(minutes=rng.randint(10, 20 * 60))
    return timedelta(minutes=rng.randint(3, 300)) if deadline - submitted > timedelta(hours=6) \
        else timedelta(minutes=rng.randint(3, 120))


def final_status(rng: random.Random) -> str:
    roll = rng.random()
    return ("Realizado" if roll < 0.75 else "Não compareceu" if roll < 0.85
            else "Cancelado" if roll < 0.93 else "Agendado")


def build(path: Path, year: int, month: int, n: int, office: OfficeCalendar) -> None:
    rng = random.Random(f"balcao-report-{year}-{month}-{n}")
    j = Journal(str(path))
    with j.tx():
        for seq, sub in enumerate(submitted_times(rng, year, month, n), start=1):
            proto = f"BV-{year}-{seq:06d}"
            deadline = office.deadline(sub)
            roll = rng.random()
            rec = RequestRecord(
                protocol=proto, seq=seq, fingerprint=f"fp{seq}", submitted=sub.isoformat(),
                ts_key=None, received_at=(sub + timedelta(minutes=1)).isoformat(),
                deadline=deadline.isoformat(), status="Recebido",
                channel="meet" if rng.random() < 0.7 else "whatsapp",
                service=rng.choice(SERVICES), updated_at=sub.isoformat(),
            )
            if roll < 0.04 and seq > 1:
                rec.status, rec.duplicate_of = "Duplicado", f"BV-{year}-{seq - 1:06d}"
            elif roll < 0.07:
                rec.status, rec.valid, rec.deadline, rec.channel = "Requer atenção", 0, None, ""
            else:
                delay = answer_delay(rng, sub, deadline)
                if delay is None:
                    rec.status = "Requer atenção"
                else:
                    sent = sub + delay
                    slot = (sent + timedelta(days=rng.randint(1, 3))).replace(
                        hour=rng.randint(8, 16), minute=0, second=0)
                    rec.status, rec.conf_state = final_status(rng), "sent"
                    rec.slot_start, rec.event_state = slot.isoformat(), (
                        "cancelled" if rec.status == "Cancelado" else "created")
                    key = f"<{proto.lower()}.confirmation.r0@balcao.example>"
                    j.record_intent(key, proto, "confirmation", 0, sent)
                    j.record_done(key, "id", sent)
            j.insert(rec)
    j.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--month", default="2026-03")
    ap.add_argument("--out", default=str(REPO / "demo-out" / "report"))
    ap.add_argument("--journal", default=None)
    args = ap.parse_args(argv)
    year, month = (int(x) for x in args.month.split("-"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.journal or Path(tmp) / "journal.sqlite3")
        if path.exists():
            path.unlink()
        t0 = time.perf_counter()
        build(path, year, month, args.requests, bootstrap.office_calendar(config.load(None)))
        built = time.perf_counter() - t0
        env = {**os.environ, "BALCAO__JOURNAL__PATH": str(path)}
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "worker", "report", "--month", args.month, "--out", args.out,
             "-c", str(REPO / "config.yaml")],
            env=env, capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - t0
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
        return done.returncode
    sizes = ", ".join(
        f"{p.suffix[1:]} {p.stat().st_size / 1024:.0f} KiB"
        for p in sorted(Path(args.out).glob(f"balcao-{args.month}.*"))
    )
    print(f"{args.requests} requests in {args.month}: journal built in {built:.2f} s; "
          f"`balcao report --out` took {wall:.2f} s (whole process); {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
