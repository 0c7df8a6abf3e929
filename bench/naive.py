"""The naive baseline worker: what an office would otherwise run, kept for the benchmarks.

Every poll reads every record with gspread's ``get_all_records``; a row whose `Situação` is
empty is new. For each new row, in sheet order: one free/busy query, one ``events.insert``
(with a Meet for Meet requests), one confirmation e-mail through ``messages.send``, then one
``update_cell`` per status cell (Protocolo, Situação, Prazo de resposta, Atendimento, Link ou
canal, Atualizado em; Observação when there is a note). The sheet is its only memory.

It does the same job as balcao, with the same rules and the same messages: it reuses
balcao's pure code (office calendar and deadline, slot choice, e-mail rendering, MIME, event
body) and the same HTTP plumbing to reach the sandbox, so the benchmark compares only how
each one talks to Google. Run it alone with ``python bench/naive.py [--once]`` (config and
``BALCAO__*`` overrides as for balcao).
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gspread.client import Client

from worker import bootstrap, identity, slots, texts
from worker.adapters.google_auth import build_service
from worker.adapters.google_calendar import event_body
from worker.adapters.google_sheets import http_client_class
from worker.adapters.mime import build_message
from worker.config import Settings
from worker.messages import Renderer
from worker.model import Channel, EventSpec, Period

REPO = Path(__file__).resolve().parents[1]
DATE_TEXT = "%d/%m/%Y %H:%M"


class NaiveWorker:
    def __init__(self, s: Settings) -> None:
        self.s = s
        creds = bootstrap.credentials(s)
        ep, timeout = s.google.api_endpoint, s.google.timeout_seconds
        self.client = Client(auth=creds, http_client=http_client_class(ep, timeout))
        self.ws: Any = None
        self.calendar = build_service("calendar", "v3", creds, api_endpoint=ep,
                                      service_path="/calendar/v3/", timeout=timeout)
        self.gmail = build_service("gmail", "v1", creds, api_endpoint=ep, service_path="/",
                                   timeout=timeout)
        self.office = bootstrap.office_calendar(s)
        self.info = bootstrap.office_info(s)
        self.renderer = Renderer(bootstrap.templates_dir())
        self.sender = bootstrap.sender(s)
        self.tz = ZoneInfo(s.office.timezone)
        sc = s.scheduling
        self.rules = slots.SlotRules(
            slot_minutes=sc.slot_minutes, buffer_minutes=sc.buffer_minutes,
            lead_minutes=sc.lead_minutes, max_per_day=sc.max_per_day,
            horizon_days=sc.horizon_days, granularity_minutes=sc.granularity_minutes,
        )
        a = s.form.answers
        self.periods = {a.morning: Period.MORNING, a.afternoon: Period.AFTERNOON}

    def tick(self) -> dict[str, Any]:
        """One poll: returns what it did (new rows, events, e-mails, cells written)."""
        s = self.s
        now = datetime.now(self.tz)
        if self.ws is None:
            self.ws = self.client.open_by_key(s.form.spreadsheet_id).worksheet(s.form.worksheet)
        records = self.ws.get_all_records()
        done = {"new": 0, "events": 0, "emails": 0, "cells": 0}
        if not records:
            return done
        header = list(records[0])
        column = {title: i + 1 for i, title in enumerate(header)}
        cols = s.form.columns
        seq = max((identity.protocol_seq(r.get("Protocolo")) or 0 for r in records), default=0)
        for i, rec in enumerate(records):
            stamp = str(rec.get(cols.timestamp, "")).strip()
            if not stamp or str(rec.get("Situação", "")).strip():
                continue
            row = i + 2
            submitted = datetime.strptime(stamp, "%d/%m/%Y %H:%M:%S").replace(tzinfo=self.tz)
            seq += 1
            protocol = identity.protocol_for(submitted.year, seq)
            deadline = self.office.deadline(submitted)
            done["new"] += 1
            slot = self._free_slot(protocol, submitted, deadline,
                                   self.periods.get(str(rec.get(cols.period, "")), Period.ANY), now)
            cells: list[tuple[str, str]] = [("Protocolo", protocol)]
            if slot is None:
                cells += [("Situação", "Requer atenção"),
                          ("Prazo de resposta", f"{deadline:{DATE_TEXT}}"),
                          ("Observação", "Sem horário livre; agende manualmente")]
            else:
                meet = str(rec.get(cols.channel, "")) == s.form.answers.meet
                name, email = str(rec.get(cols.name, "")), str(rec.get(cols.email, ""))
                link = self._book(protocol, slot, meet, name, str(rec.get(cols.phone, "")),
                                  str(rec.get(cols.service, "")))
                done["events"] += 1
                self._mail(protocol, name, email, slot, meet, link, now)
                done["emails"] += 1
                cells += [("Situação", "Agendado"),
                          ("Prazo de resposta", f"{deadline:{DATE_TEXT}}"),
                          ("Atendimento", f"{slot.start:{DATE_TEXT}}"),
                          ("Link ou canal", link or "WhatsApp")]
                if slot.start >= deadline:
                    cells.append(("Observação", texts.REASON_AFTER_DEADLINE))
            cells.append(("Atualizado em", f"{now:{DATE_TEXT}}"))
            for title, value in cells:
                self.ws.update_cell(row, column[title], value)
                done["cells"] += 1
        return done

    def _free_slot(self, protocol: str, submitted: datetime, deadline: datetime,
                   period: Period, now: datetime) -> slots.Slot | None:
        start, end = slots.horizon(now, self.rules)
        calendars = list(self.s.scheduling.calendars)
        answer = self.calendar.freebusy().query(body={
            "timeMin": start.isoformat(), "timeMax": end.isoformat(),
            "items": [{"id": c} for c in calendars],
        }).execute(num_retries=0)
        busy = {
            c: [(datetime.fromisoformat(b["start"].replace("Z", "+00:00")),
                 datetime.fromisoformat(b["end"].replace("Z", "+00:00")))
                for b in answer.get("calendars", {}).get(c, {}).get("busy", [])]
            for c in calendars
        }
        request = slots.SlotRequest(key=protocol, receipt=self.office.receipt(submitted),
                                    deadline=deadline, period=period)
        chosen = slots.choose_slots([request], calendars, slots.Agenda(busy=busy), self.office,
                                    self.rules, now)
        return chosen[protocol]

    def _book(self, protocol: str, slot: slots.Slot, meet: bool, name: str, phone: str,
              service: str) -> str | None:
        first = name.split()[0] if name.split() else "cidadão"
        lines = [f"Protocolo: {protocol}", f"Serviço: {service or '-'}"]
        if not meet:
            lines.append(f"Telefone do cidadão: {phone}")
        spec = EventSpec(
            event_id=identity.event_id("naive", protocol), calendar_id=slot.calendar_id, protocol=protocol,
            summary=f"Balcão Virtual {protocol} – {first}" + ("" if meet else " (WhatsApp)"),
            description="\n".join(lines), start=slot.start, end=slot.end,
            timezone=self.s.office.timezone, meet=meet,
        )
        event = self.calendar.events().insert(
            calendarId=slot.calendar_id, body=event_body(spec), conferenceDataVersion=1,
            sendUpdates="none",
        ).execute(num_retries=0)
        link = event.get("hangoutLink")
        return str(link) if meet and link else None

    def _mail(self, protocol: str, name: str, email: str, slot: slots.Slot, meet: bool,
              link: str | None, now: datetime) -> None:
        spec = self.renderer.render_confirmation(
            office=self.info, protocol=protocol, name=name, to=email, start=slot.start,
            end=slot.end, channel=Channel.MEET if meet else Channel.WHATSAPP, meet_link=link,
            sender_domain=self.s.mail.message_id_domain, revision=0, stamp=now,
        )
        message = build_message(spec, sender=self.sender, date=now, reply_to=self.s.mail.reply_to)
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        self.gmail.users().messages().send(
            userId=self.s.mail.gmail_user, body={"raw": raw}
        ).execute(num_retries=0)


def main(argv: list[str] | None = None) -> int:
    from worker import config

    p = argparse.ArgumentParser(prog="naive", description=__doc__.splitlines()[0])
    p.add_argument("-c", "--config", default=str(REPO / "config.yaml"))
    p.add_argument("--once", action="store_true")
    args = p.parse_args(argv)
    s = config.load(args.config)
    worker = NaiveWorker(s)
    while True:
        print(worker.tick(), flush=True)
        if args.once:
            return 0
        time.sleep(timedelta(seconds=s.poll.interval_seconds).total_seconds())


if __name__ == "__main__":
    sys.exit(main())
